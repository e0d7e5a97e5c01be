// slurm_submit.h — a sweep's scale-out on Slurm: the unfinished cells become
// one job array (`sbatch --array=0-K`, task i runs `memext-sim sweep --cell
// DIR <id>`), and a merge job (`memext-sim sweep --merge DIR`) runs after the
// array whatever its tasks' outcome (`--dependency=afterany`). DIR, the trace
// and memext-sim must be at the same paths on every node.
#pragma once

#include <string>
#include <vector>

#include "plan/sweep_spec.h"

namespace memext {

struct SlurmOptions {
  std::string partition;                 // empty = the cluster's default
  std::vector<std::string> sbatch_args;  // passed to both sbatch calls
  std::string sim_binary;                // memext-sim as the nodes see it
  std::string sbatch = "sbatch";
};

struct SlurmSubmission {
  size_t cells = 0;          // array tasks submitted (0: all had finished)
  std::string array_job_id;  // empty when no array was needed
  std::string merge_job_id;  // empty when no array was needed
  std::string script_dir;    // DIR/slurm: batch scripts and task logs
};

// DIR must be prepared (prepare_sweep_dir). Throws SweepError when sbatch
// fails, with its exit status.
SlurmSubmission submit_sweep_to_slurm(const std::string& dir, const SweepSpec& spec,
                                      const SlurmOptions& options);

}  // namespace memext
