#include "plan/slurm_submit.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

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

SlurmSubmission submit_sweep_to_slurm(const std::string& dir_given, const SweepSpec& spec,
                                      const SlurmOptions& options) {
  const std::string dir = fs::absolute(dir_given).lexically_normal().string();
  SlurmSubmission submission;
  submission.script_dir = dir + "/slurm";
  std::error_code ec;
  fs::create_directories(submission.script_dir, ec);
  if (ec) throw SweepError("cannot create '" + submission.script_dir + "': " + ec.message());

  std::string cells;
  for (const SweepCell& cell : spec.cells) {
    if (cell_finished(dir, cell)) continue;
    cells += (cells.empty() ? "" : " ") + cell.id;
    ++submission.cells;
  }
  if (submission.cells == 0) return submission;

  const std::string binary = shell_quote(options.sim_binary);
  const std::string cells_script = submission.script_dir + "/cells.sh";
  write_script(cells_script,
               "#!/bin/bash\n"
               "# One sweep cell per array task; the unfinished cells when submitted.\n"
               "cells=(" +
                   cells +
                   ")\n"
                   "exec " +
                   binary + " sweep --cell " + shell_quote(dir) +
                   " \"${cells[$SLURM_ARRAY_TASK_ID]}\"\n");
  const std::string merge_script = submission.script_dir + "/merge.sh";
  write_script(merge_script,
               "#!/bin/bash\nexec " + binary + " sweep --merge " + shell_quote(dir) + "\n");

  std::vector<std::string> common;
  if (!options.partition.empty()) common.push_back("--partition=" + options.partition);
  common.insert(common.end(), options.sbatch_args.begin(), options.sbatch_args.end());

  std::vector<std::string> array{options.sbatch, "--parsable", "--job-name=memext-sweep",
                                 "--array=0-" + std::to_string(submission.cells - 1),
                                 "--output=" + submission.script_dir + "/cell-%A_%a.log"};
  array.insert(array.end(), common.begin(), common.end());
  array.push_back(cells_script);
  submission.array_job_id = job_id(run_capture(array));

  std::vector<std::string> merge{options.sbatch, "--parsable", "--job-name=memext-sweep-merge",
                                 "--dependency=afterany:" + submission.array_job_id,
                                 "--output=" + submission.script_dir + "/merge-%j.log"};
  merge.insert(merge.end(), common.begin(), common.end());
  merge.push_back(merge_script);
  submission.merge_job_id = job_id(run_capture(merge));
  return submission;
}

}  // namespace memext
