// slurm_submit.h — a sweep's scale-out on Slurm: the unfinished cells become
// job arrays (`sbatch --array=0-K`, task i runs `memext-sim sweep --cell
// DIR <id>`), as many as the cluster's MaxArraySize requires (an array's
// task indices stay below it), and a merge job (`memext-sim sweep --merge
// DIR`) runs after every array whatever its tasks' outcome
// (`--dependency=afterany:A:B...`). DIR, the trace and memext-sim must be at
// the same paths on every node.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "plan/sweep_spec.h"

namespace memext {

struct SlurmOptions {
  std::string partition;                 // empty = the cluster's default
  std::vector<std::string> sbatch_args;  // passed to both sbatch calls
  std::string sim_binary;                // memext-sim as the nodes see it
  std::string sbatch = "sbatch";
  std::string scontrol = "scontrol";
  // Tasks per array; 0 = the cluster's MaxArraySize (`scontrol show
  // config`), kSlurmDefaultMaxArraySize when scontrol cannot tell.
  size_t max_array_size = 0;
};

struct SlurmSubmission {
  size_t cells = 0;                        // array tasks submitted (0: all had finished)
  size_t max_array_size = 0;               // the limit the arrays were cut to
  std::vector<std::string> array_job_ids;  // one per array; empty when none was needed
  std::string merge_job_id;                // empty when no array was needed
  std::string script_dir;                  // DIR/slurm: batch scripts and task logs
};

// Slurm's default MaxArraySize (slurm.conf(5)).
constexpr size_t kSlurmDefaultMaxArraySize = 1001;

// MaxArraySize from `scontrol show config` output (a line "MaxArraySize =
// 1001"); kSlurmDefaultMaxArraySize when there is no such line or its value
// is not a number. 0 means the cluster allows no job arrays.
size_t parse_max_array_size(const std::string& scontrol_config);

// The cells [begin, end) of each array when `cells` cells go to arrays of at
// most max_array_size tasks (indices 0 .. max_array_size - 1); in order,
// every array full but the last. Needs max_array_size >= 1.
std::vector<std::pair<size_t, size_t>> slurm_array_chunks(size_t cells, size_t max_array_size);

// sbatch's --dependency value for a job that runs after all these jobs end,
// whatever their outcome: "afterany:12:13". Needs at least one id.
std::string slurm_after_all(const std::vector<std::string>& job_ids);

// DIR must be prepared (prepare_sweep_dir). Throws SweepError when sbatch
// fails, with its exit status, or when the cluster allows no job arrays.
SlurmSubmission submit_sweep_to_slurm(const std::string& dir, const SweepSpec& spec,
                                      const SlurmOptions& options);

}  // namespace memext
