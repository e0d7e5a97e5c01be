#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "plan/cell_summary.h"
#include "plan/sweep.h"
#include "replay/replay_command.h"

namespace memext {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string describe_flags(const SweepCell& cell) {
  std::string text;
  for (const auto& [name, value] : cell.flags) {
    if (!text.empty()) text += " ";
    text += name + "=" + value;
  }
  return text;
}

std::string format_duration(double seconds) {
  const auto s = static_cast<uint64_t>(seconds + 0.5);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
  } else if (s >= 60) {
    std::snprintf(text, sizeof text, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%" PRIu64 "s", s);
  }
  return text;
}

// A sampled cell's estimate of the full trace's hit ratio, else its own.
std::optional<RankingHitRatio> cell_hit_ratio(const std::string& dir, const SweepCell& cell) {
  std::ifstream in(cell_report_path(dir, cell), std::ios::binary);
  try {
    return ranking_hit_ratio(nlohmann::json::parse(in));
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

// The best cell so far by (sample-adjusted) hit ratio (the first one on
// ties, so the line is the same whatever order the cells finish in).
struct BestCell {
  const SweepCell* cell = nullptr;
  size_t index = 0;
  RankingHitRatio hit_ratio{-1, false};

  void offer(const SweepCell& c, size_t i, std::optional<RankingHitRatio> ratio) {
    if (!ratio) return;
    if (ratio->value > hit_ratio.value || (ratio->value == hit_ratio.value && i < index)) {
      cell = &c;
      index = i;
      hit_ratio = *ratio;
    }
  }
};

// The last non-empty line of a cell's log, for a failure message.
std::string last_log_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

// Starts `binary replay ARGS --out TEMP` with stdout and stderr in the cell's
// log; the child dies with this process, so a killed sweep leaves no replay
// running (its cells simply never got their report).
pid_t spawn_cell(const std::string& binary, const std::string& dir, const SweepCell& cell) {
  std::vector<std::string> args{binary, "replay"};
  args.insert(args.end(), cell.args.begin(), cell.args.end());
  args.push_back("--out");
  args.push_back(cell_report_temp_path(dir, cell));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = cell_log_path(dir, cell);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw SweepError(std::string("cannot start a replay: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    ::execv(binary.c_str(), argv.data());
    std::fprintf(stderr, "memext-sim sweep: cannot run '%s': %s\n", binary.c_str(),
                 std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

std::string exit_description(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

std::string own_binary_path() {
  std::error_code ec;
  const fs::path path = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/proc/self/exe") : path.string();
}

SweepOutcome run_sweep(const SweepSpec& spec, const SweepRunOptions& options) {
  assert(options.jobs >= 1);
  const std::string& dir = options.out_dir;
  prepare_sweep_dir(dir, spec);
  const std::string binary = options.sim_binary.empty() ? own_binary_path() : options.sim_binary;

  SweepOutcome outcome;
  outcome.cells = spec.cells.size();
  BestCell best;
  std::deque<size_t> pending;
  for (size_t i = 0; i < spec.cells.size(); ++i) {
    const SweepCell& cell = spec.cells[i];
    if (cell_finished(dir, cell)) {
      ++outcome.resumed;
      if (options.progress) best.offer(cell, i, cell_hit_ratio(dir, cell));
    } else {
      pending.push_back(i);
    }
  }
  if (options.progress) {
    std::fprintf(stderr,
                 "sweep: %zu cells, %zu finished before, running %zu, %u at a time "
                 "(logs in %s/cells/<id>/replay.log)\n",
                 outcome.cells, outcome.resumed, pending.size(), options.jobs, dir.c_str());
  }

  const auto start = Clock::now();
  std::map<pid_t, size_t> running;
  while (!pending.empty() || !running.empty()) {
    while (!pending.empty() && running.size() < options.jobs) {
      const SweepCell& cell = spec.cells[pending.front()];
      std::error_code ec;
      fs::remove(cell_report_temp_path(dir, cell), ec);
      running.emplace(spawn_cell(binary, dir, cell), pending.front());
      pending.pop_front();
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      throw SweepError(std::string("waiting for replays: ") + std::strerror(errno));
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const size_t index = it->second;
    running.erase(it);
    const SweepCell& cell = spec.cells[index];
    std::error_code ec;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                    fs::exists(cell_report_temp_path(dir, cell), ec);
    if (ok) {
      fs::rename(cell_report_temp_path(dir, cell), cell_report_path(dir, cell), ec);
    }
    if (!ok || ec) {
      const std::string reason =
          ec ? "cannot rename its report: " + ec.message()
             : exit_description(status) + ": " + last_log_line(cell_log_path(dir, cell));
      outcome.failed.push_back(cell.id + " (" + describe_flags(cell) + "): " + reason + " (see " +
                               cell_log_path(dir, cell) + ")");
      if (options.progress) {
        std::fprintf(stderr, "sweep: cell %s failed: %s\n", cell.id.c_str(),
                     outcome.failed.back().c_str());
      }
      continue;
    }
    ++outcome.ran;
    if (!options.progress) continue;
    best.offer(cell, index, cell_hit_ratio(dir, cell));
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const size_t left = pending.size() + running.size();
    const double eta = elapsed / static_cast<double>(outcome.ran) * static_cast<double>(left);
    std::string best_text = "none";
    if (best.cell != nullptr) {
      char ratio[32];
      std::snprintf(ratio, sizeof ratio, "%.4f", best.hit_ratio.value);
      best_text = best.cell->id + " hit_ratio " + ratio +
                  (best.hit_ratio.sample_adjusted ? " sample-adjusted" : "") + " (" +
                  describe_flags(*best.cell) + ")";
    }
    std::fprintf(stderr, "sweep: %zu/%zu cells done, %s elapsed, ETA %s; best so far %s\n",
                 outcome.resumed + outcome.ran, outcome.cells, format_duration(elapsed).c_str(),
                 format_duration(eta).c_str(), best_text.c_str());
  }
  outcome.table = merge_sweep(dir, spec);
  return outcome;
}

int run_sweep_cell(const std::string& dir, const std::string& cell_name) {
  const SweepSpec spec = load_sweep_spec(dir);
  const SweepCell* cell = nullptr;
  for (const SweepCell& c : spec.cells) {
    if (c.id == cell_name) cell = &c;
  }
  if (cell == nullptr && !cell_name.empty() &&
      cell_name.find_first_not_of("0123456789") == std::string::npos) {
    const size_t index = std::stoul(cell_name);
    if (index < spec.cells.size()) cell = &spec.cells[index];
  }
  if (cell == nullptr) {
    throw SweepError("'" + cell_name + "' is not a cell of '" + dir + "' (allowed: an id " +
                     spec.cells.front().id + ".." + spec.cells.back().id + " or an index 0.." +
                     std::to_string(spec.cells.size() - 1) + ")");
  }
  if (cell_finished(dir, *cell)) {
    std::fprintf(stderr, "sweep: cell %s finished already (%s)\n", cell->id.c_str(),
                 cell_report_path(dir, *cell).c_str());
    return 0;
  }
  std::error_code ec;
  fs::create_directories(cell_dir(dir, *cell), ec);
  std::vector<std::string> args{"replay"};
  args.insert(args.end(), cell->args.begin(), cell->args.end());
  args.push_back("--out");
  args.push_back(cell_report_temp_path(dir, *cell));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int code = replay_main(static_cast<int>(args.size()), argv.data());
  if (code != 0) return code;
  fs::rename(cell_report_temp_path(dir, *cell), cell_report_path(dir, *cell), ec);
  if (ec) {
    throw SweepError("cannot rename '" + cell_report_temp_path(dir, *cell) + "': " + ec.message());
  }
  return 0;
}

}  // namespace memext
