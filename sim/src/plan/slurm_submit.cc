#include "plan/slurm_submit.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "plan/sweep_dir.h"

namespace memext {

namespace fs = std::filesystem;

namespace {

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

// Runs argv, returns its stdout; throws SweepError on a non-zero exit.
std::string run_capture(const std::vector<std::string>& args) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw SweepError(std::string("pipe: ") + std::strerror(errno));
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw SweepError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "memext-sim sweep: cannot run '%s': %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string command;
    for (const std::string& a : args) command += (command.empty() ? "" : " ") + a;
    throw SweepError("'" + command + "' failed (" +
                     (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                        : std::string("killed")) +
                     ")");
  }
  return out;
}

// `sbatch --parsable` prints "jobid" or "jobid;cluster".
std::string job_id(const std::string& parsable) {
  const size_t end = parsable.find_first_of(";\n");
  std::string id = parsable.substr(0, end);
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
    throw SweepError("sbatch printed '" + parsable + "', not a job id");
  }
  return id;
}

void write_script(const std::string& path, const std::string& text) {
  write_file_atomically(path, text);
  fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::add);
}

}  // namespace

size_t parse_max_array_size(const std::string& config) {
  std::istringstream lines(config);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line.compare(start, 12, "MaxArraySize") != 0) continue;
    const size_t eq = line.find('=', start + 12);
    if (eq == std::string::npos ||
        line.find_first_not_of(" \t", start + 12) != eq) {  // e.g. MaxArraySizeX
      continue;
    }
    std::string value = line.substr(eq + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r") + 1);
    if (value.empty() || value.size() > 9 ||
        value.find_first_not_of("0123456789") != std::string::npos) {
      return kSlurmDefaultMaxArraySize;
    }
    return static_cast<size_t>(std::stoul(value));
  }
  return kSlurmDefaultMaxArraySize;
}

std::vector<std::pair<size_t, size_t>> slurm_array_chunks(size_t cells, size_t max_array_size) {
  assert(max_array_size >= 1);
  std::vector<std::pair<size_t, size_t>> chunks;
  for (size_t begin = 0; begin < cells; begin += max_array_size) {
    chunks.emplace_back(begin, std::min(cells, begin + max_array_size));
  }
  return chunks;
}

std::string slurm_after_all(const std::vector<std::string>& job_ids) {
  assert(!job_ids.empty());
  std::string dependency = "afterany";
  for (const std::string& id : job_ids) dependency += ":" + id;
  return dependency;
}

SlurmSubmission submit_sweep_to_slurm(const std::string& dir_given, const SweepSpec& spec,
                                      const SlurmOptions& options) {
  const std::string dir = fs::absolute(dir_given).lexically_normal().string();
  SlurmSubmission submission;
  submission.script_dir = dir + "/slurm";
  std::error_code ec;
  fs::create_directories(submission.script_dir, ec);
  if (ec) throw SweepError("cannot create '" + submission.script_dir + "': " + ec.message());

  std::vector<std::string> cells;
  for (const SweepCell& cell : spec.cells) {
    if (!cell_finished(dir, cell)) cells.push_back(cell.id);
  }
  submission.cells = cells.size();
  if (cells.empty()) return submission;

  submission.max_array_size = options.max_array_size;
  if (submission.max_array_size == 0) {
    try {
      submission.max_array_size =
          parse_max_array_size(run_capture({options.scontrol, "show", "config"}));
    } catch (const SweepError& e) {
      std::fprintf(stderr, "sweep: %s; assuming Slurm's default MaxArraySize of %zu\n", e.what(),
                   kSlurmDefaultMaxArraySize);
      submission.max_array_size = kSlurmDefaultMaxArraySize;
    }
    if (submission.max_array_size == 0) {
      throw SweepError(
          "the cluster allows no job arrays (MaxArraySize = 0 in scontrol show config)");
    }
  }

  const std::string binary = shell_quote(options.sim_binary);
  std::vector<std::string> common;
  if (!options.partition.empty()) common.push_back("--partition=" + options.partition);
  common.insert(common.end(), options.sbatch_args.begin(), options.sbatch_args.end());

  // One array per chunk: its script lists that chunk's cells, indexed by
  // the task id from 0.
  const auto chunks = slurm_array_chunks(cells.size(), submission.max_array_size);
  for (size_t k = 0; k < chunks.size(); ++k) {
    const auto [begin, end] = chunks[k];
    std::string list;
    for (size_t i = begin; i < end; ++i) list += (i == begin ? "" : " ") + cells[i];
    const std::string script = submission.script_dir + "/cells-" + std::to_string(k) + ".sh";
    write_script(script,
                 "#!/bin/bash\n"
                 "# One sweep cell per array task; unfinished cells " +
                     std::to_string(begin) + ".." + std::to_string(end - 1) +
                     " when submitted.\n"
                     "cells=(" +
                     list +
                     ")\n"
                     "exec " +
                     binary + " sweep --cell " + shell_quote(dir) +
                     " \"${cells[$SLURM_ARRAY_TASK_ID]}\"\n");
    std::vector<std::string> array{options.sbatch, "--parsable", "--job-name=memext-sweep",
                                   "--array=0-" + std::to_string(end - begin - 1),
                                   "--output=" + submission.script_dir + "/cell-%A_%a.log"};
    array.insert(array.end(), common.begin(), common.end());
    array.push_back(script);
    submission.array_job_ids.push_back(job_id(run_capture(array)));
  }

  const std::string merge_script = submission.script_dir + "/merge.sh";
  write_script(merge_script,
               "#!/bin/bash\nexec " + binary + " sweep --merge " + shell_quote(dir) + "\n");
  std::vector<std::string> merge{options.sbatch, "--parsable", "--job-name=memext-sweep-merge",
                                 "--dependency=" + slurm_after_all(submission.array_job_ids),
                                 "--output=" + submission.script_dir + "/merge-%j.log"};
  merge.insert(merge.end(), common.begin(), common.end());
  merge.push_back(merge_script);
  submission.merge_job_id = job_id(run_capture(merge));
  return submission;
}

}  // namespace memext
