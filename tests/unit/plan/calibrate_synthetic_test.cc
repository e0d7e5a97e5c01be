// calibrate: a synthetic drive made by the SSD model from known parameters,
// written out as fio JSON, is fitted back to those parameters within 5%.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/calibrate.h"
#include "plan/calibrate_fio.h"
#include "plan/calibrate_workload.h"

namespace memext {
namespace {

struct JobShape {
  const char* name;
  const char* rw;
  const char* bs;
  int iodepth;
  int rwmixread = 50;
};

// The jobs bench/fio_calibrate.sh runs.
const JobShape kJobs[] = {
    {"read-4k-qd1", "randread", "4k", 1},       {"read-16k-qd1", "randread", "16k", 1},
    {"read-4k-qd2", "randread", "4k", 2},       {"read-4k-qd4", "randread", "4k", 4},
    {"read-4k-qd16", "randread", "4k", 16},     {"read-4k-qd64", "randread", "4k", 64},
    {"read-128k-qd16", "randread", "128k", 16}, {"write-4k-qd1", "write", "4k", 1},
    {"write-16k-qd1", "write", "16k", 1},       {"randwrite-4k-qd32", "randwrite", "4k", 32},
    {"write-1m-qd8", "write", "1m", 8},         {"mix70-4k-qd16", "randrw", "4k", 16, 70},
};

nlohmann::json side_json(const FioSide& side) {
  return {{"total_ios", side.ios},
          {"iops", side.iops},
          {"bw_bytes", side.bytes_per_s},
          {"bw", side.bytes_per_s / 1024},
          {"lat_ns", {{"mean", side.lat_mean_ns}}}};
}

// fio-shaped JSON of what the model with `truth` does under each job, run
// with another seed and four times the IOs the fit uses, so the fit sees
// different random offsets than it models with.
std::string synthetic_fio_json(const SsdModelParams& truth) {
  nlohmann::json jobs = nlohmann::json::array();
  for (const JobShape& shape : kJobs) {
    nlohmann::json options = {{"rw", shape.rw},
                              {"bs", shape.bs},
                              {"iodepth", std::to_string(shape.iodepth)},
                              {"rwmixread", std::to_string(shape.rwmixread)}};
    const FioJob job =
        parse_fio_json(
            nlohmann::json({{"global options", {{"ioengine", "libaio"}, {"size", "256M"}}},
                            {"jobs",
                             {{{"jobname", shape.name},
                               {"job options", options},
                               {"read", {{"total_ios", 1}}}}}}})
                .dump(),
            "shape")
            .front();
    ModelRunOptions run;
    run.seed = 7;
    run.measured_ios = 16 * std::max<uint64_t>(6000, 64 * job.depth);
    const ModelledJob model = run_job_on_model(truth, job, run);
    jobs.push_back({{"jobname", shape.name},
                    {"error", 0},
                    {"job options", options},
                    {"read", side_json(model.read)},
                    {"write", side_json(model.write)}});
  }
  return nlohmann::json({{"fio version", "memext synthetic"},
                         {"global options", {{"ioengine", "libaio"}, {"size", "256M"}}},
                         {"jobs", jobs}})
      .dump(2);
}

SsdModelParams sata_like_drive() {
  SsdModelParams p;
  REQUIRE(parse_ssd_model_spec("model:sata-ssd", &p) == "");
  p.units = 8;
  p.read_us = 60;
  p.write_us = 15;
  p.unit_read_mb_per_s = 300;
  p.unit_write_mb_per_s = 150;
  p.read_iops = 90000;
  p.write_iops = 50000;
  p.read_mb_per_s = 600;
  p.write_mb_per_s = 400;
  p.burst_us = 0;
  p.wa = 1;
  p.interference = true;
  return p;
}

void check_recovered(const SsdModelParams& fitted, const SsdModelParams& truth) {
  INFO("fitted: " << format_ssd_model_spec(fitted));
  CHECK(fitted.units == doctest::Approx(truth.units).epsilon(0.05));
  CHECK(fitted.read_us == doctest::Approx(truth.read_us).epsilon(0.05));
  CHECK(fitted.write_us == doctest::Approx(truth.write_us).epsilon(0.05));
  CHECK(fitted.unit_read_mb_per_s == doctest::Approx(truth.unit_read_mb_per_s).epsilon(0.05));
  CHECK(fitted.unit_write_mb_per_s == doctest::Approx(truth.unit_write_mb_per_s).epsilon(0.05));
  CHECK(double(fitted.read_iops) == doctest::Approx(double(truth.read_iops)).epsilon(0.05));
  CHECK(double(fitted.write_iops) == doctest::Approx(double(truth.write_iops)).epsilon(0.05));
  CHECK(fitted.read_mb_per_s == doctest::Approx(truth.read_mb_per_s).epsilon(0.05));
  CHECK(fitted.write_mb_per_s == doctest::Approx(truth.write_mb_per_s).epsilon(0.05));
  CHECK(fitted.interference == truth.interference);
}

TEST_CASE("a synthetic drive's parameters are recovered within 5%") {
  const SsdModelParams truth = sata_like_drive();
  const std::vector<FioJob> jobs = parse_fio_json(synthetic_fio_json(truth), "synthetic.json");
  REQUIRE(jobs.size() == std::size(kJobs));

  CalibrateOptions options;
  options.base_spec = "model:nvme-gen4";  // starts far from the truth
  const CalibrationResult result = calibrate_ssd_model(jobs, options);
  check_recovered(result.params, truth);
  CHECK(result.params.chunk_bytes == 16384);
  CHECK(result.params.wa == 1);

  // Every figure reproduced: one measurement per direction of each job. The
  // model runs sample random offsets and, in the mixed job, random reads and
  // writes: the 30% write side's IOPS varies by about 1.2% (one sigma)
  // between seeds at the fit's 24,000 IOs.
  CHECK(result.measurements.size() == std::size(kJobs) + 1);
  for (const MeasurementFit& m : result.measurements) {
    const std::string what = m.job + (m.read ? " read" : " write");
    INFO(what);
    CHECK(std::abs(m.iops_error()) < 0.03);
    CHECK(std::abs(m.lat_error()) < 0.03);
  }
  CHECK(result.rms_log_error < 0.02);
  CHECK(result.notes.empty());

  // The spec written parses back to the fitted parameters.
  SsdModelParams reparsed;
  REQUIRE(parse_ssd_model_spec(format_ssd_model_spec(result.params), &reparsed) == "");
  CHECK(format_ssd_model_spec(reparsed) == format_ssd_model_spec(result.params));
}

TEST_CASE("a drive without interference and with separate queues is told apart") {
  SsdModelParams truth = sata_like_drive();
  truth.interference = false;
  truth.units = 24;
  truth.read_iops = 120000;  // below the 600 MB/s cap's 146K 4k IOPS
  const std::vector<FioJob> jobs = parse_fio_json(synthetic_fio_json(truth), "synthetic.json");
  const CalibrationResult result = calibrate_ssd_model(jobs);
  check_recovered(result.params, truth);
}

TEST_CASE("the fit is deterministic") {
  const std::vector<FioJob> jobs =
      parse_fio_json(synthetic_fio_json(sata_like_drive()), "synthetic.json");
  std::vector<FioJob> few(jobs.begin(), jobs.begin() + 4);
  const CalibrationResult a = calibrate_ssd_model(few);
  const CalibrationResult b = calibrate_ssd_model(few);
  CHECK(calibration_spec_file(a, {"x"}) == calibration_spec_file(b, {"x"}));
  CHECK(calibration_to_json(a) == calibration_to_json(b));
}

}  // namespace
}  // namespace memext
