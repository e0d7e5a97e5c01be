// calibrate_workload.h — runs a fio job's IO pattern against the simulator's
// SSD model (ModelDevice, the code replays use) in virtual time and reports
// what fio would have measured, so calibration fits the model itself and
// not a formula standing in for it.
//
// fio's pattern is a closed loop: `depth` IOs in flight, each completion
// answered by a new IO at once. Offsets are block-aligned, uniform over the
// job's span (random) or consecutive (sequential); a mixed job picks reads
// with its read share. A warm-up lets the queues and caps reach steady
// state before IOPS, bandwidth and mean latency are measured.
#pragma once

#include <cstdint>

#include "plan/calibrate_fio.h"
#include "ssd/ssd_presets.h"

namespace memext {

struct ModelRunOptions {
  uint64_t seed = 1;
  // IOs completed before / while measuring; 0 = chosen from the depth.
  uint64_t warmup_ios = 0;
  uint64_t measured_ios = 0;
};

// The model's figures for the job (FioSide with ios = IOs measured).
struct ModelledJob {
  FioSide read;
  FioSide write;
};

// Deterministic: same params, job and options give the same figures.
ModelledJob run_job_on_model(const SsdModelParams& params, const FioJob& job,
                             const ModelRunOptions& options = {});

}  // namespace memext
