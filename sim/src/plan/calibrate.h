// calibrate.h — fits the SSD model's parameters (per-IO service time, unit
// count and unit rates, IOPS and bandwidth caps) to fio measurements of a
// real device, for `memext-sim calibrate`.
//
// The fit, in the order the parameters are identified:
//  1. Service time: queue-depth-1 latencies are read_us + chunk / unit rate
//     (an IO of at most one chunk on an idle unit), linear in (fixed time,
//     1 / rate): least squares (Eigen) over the QD1 jobs' block sizes, per
//     direction.
//  2. Units: how IOPS grows with depth (random offsets collide on units) is
//     not linear in the unit count, so units is searched on a grid (1..4096,
//     ~5% steps, then every integer around the best), each candidate scored
//     by the model run without caps, with the caps of step 3 applied.
//  3. Caps: with the uncapped model throughput P of each job, min(P, cap)
//     in log space is fitted exactly for each cap (IOPS and MB/s, per
//     direction); a cap no measurement reaches stays off.
//  4. Refinement: a pattern search (steps of 20% down to 0.5%) over every
//     fitted parameter, scored by running the model on every job, so the
//     interplay the steps above approximate (caps and queueing, mixed jobs,
//     interference) is what gets minimised.
// The score is the sum over jobs and directions of squared log errors of
// IOPS and mean latency (relative errors, so fast and slow jobs count
// alike). Write amplification is left at 1: a fio run of seconds does not
// reach the steady-state garbage collection that op/wa describe.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "plan/calibrate_fio.h"
#include "ssd/ssd_presets.h"

namespace memext {

struct CalibrateOptions {
  // Preset the spec starts from: chunk size, over-provisioning, alignment
  // and whatever the measurements leave unidentified come from it.
  std::string base_spec = "model:nvme-gen4";
  uint64_t seed = 1;
};

// Measured against modelled figures for one direction of one job.
struct MeasurementFit {
  std::string job;
  std::string source;
  bool read = true;
  bool random = true;
  uint32_t block_size = 0;
  uint32_t depth = 0;
  double read_fraction = 1;
  double measured_iops = 0;
  double model_iops = 0;
  double measured_lat_us = 0;
  double model_lat_us = 0;
  double measured_mb_per_s = 0;
  double model_mb_per_s = 0;
  // (model - measured) / measured
  double iops_error() const { return model_iops / measured_iops - 1; }
  double lat_error() const { return model_lat_us / measured_lat_us - 1; }
};

struct CalibrationResult {
  SsdModelParams params;
  std::vector<MeasurementFit> measurements;
  double rms_log_error = 0;        // over every IOPS and latency figure
  double max_abs_rel_error = 0;    // largest |model / measured - 1|
  std::vector<std::string> notes;  // what the measurements could not identify
};

// Throws std::invalid_argument when there is nothing to fit (no jobs) or
// base_spec does not parse.
CalibrationResult calibrate_ssd_model(const std::vector<FioJob>& jobs,
                                      const CalibrateOptions& options = {});

// Model figures for every job at params (what the result's table holds).
std::vector<MeasurementFit> compare_with_model(const SsdModelParams& params,
                                               const std::vector<FioJob>& jobs, uint64_t seed);

// DRIVE.spec: comment lines (sources, the fit's error per measurement) and
// the canonical spec.
std::string calibration_spec_file(const CalibrationResult& result,
                                  const std::vector<std::string>& sources);

// The table printed on stdout: one line per measurement.
std::string calibration_table(const CalibrationResult& result);

nlohmann::json calibration_to_json(const CalibrationResult& result);

}  // namespace memext
