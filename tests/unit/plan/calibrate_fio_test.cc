// calibrate's fio side: reading fio JSON (options, sizes, engines, errors)
// and calibrating against real fio output from the development machine.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "plan/calibrate.h"
#include "plan/calibrate_fio.h"
#include "ssd/ssd_presets.h"

namespace memext {
namespace {

const std::string kFixture = std::string(MEMEXT_SOURCE_DIR) + "/tests/fixtures/fio/vda-virtio.json";

std::string one_job(const nlohmann::json& options, const nlohmann::json& global = nullptr) {
  nlohmann::json doc = {
      {"fio version", "fio-3.33"},
      {"jobs",
       {{{"jobname", "j"},
         {"error", 0},
         {"job options", options},
         {"read",
          {{"total_ios", 1000}, {"iops", 5000.0}, {"bw_bytes", 2e7}, {"lat_ns", {{"mean", 2e5}}}}},
         {"write", {{"total_ios", 0}, {"iops", 0.0}}}}}}};
  if (!global.is_null()) doc["global options"] = global;
  return doc.dump();
}

TEST_CASE("fio sizes") {
  uint64_t v = 0;
  CHECK((parse_fio_size("4k", &v) && v == 4096));
  CHECK((parse_fio_size("128KiB", &v) && v == 131072));
  CHECK((parse_fio_size("1m", &v) && v == 1048576));
  CHECK((parse_fio_size("256M", &v) && v == 256ull << 20));
  CHECK((parse_fio_size("2g", &v) && v == 2ull << 30));
  CHECK((parse_fio_size("512", &v) && v == 512));
  CHECK_FALSE(parse_fio_size("4x", &v));
  CHECK_FALSE(parse_fio_size("k", &v));
  CHECK_FALSE(parse_fio_size("", &v));
}

TEST_CASE("a job's pattern comes from its options over the global ones") {
  auto jobs = parse_fio_json(one_job({{"rw", "randrw"}, {"rwmixread", "70"}, {"bs", "4k,64k"}},
                                     {{"ioengine", "libaio"}, {"iodepth", "16"}, {"size", "64M"}}),
                             "a.json");
  REQUIRE(jobs.size() == 1);
  FioJob job = jobs.front();
  CHECK(job.name == "j");
  CHECK(job.source == "a.json");
  CHECK(job.random);
  CHECK(job.read_fraction == doctest::Approx(0.7));
  CHECK(job.read_bs == 4096);
  CHECK(job.write_bs == 65536);
  CHECK(job.depth == 16);
  CHECK(job.span_bytes == 64ull << 20);
  CHECK(job.read.ios == 1000);
  CHECK(job.read.iops == 5000);
  CHECK(job.read.lat_mean_ns == 2e5);
  CHECK(job.write.ios == 0);

  // rwmixwrite alone, sequential, numjobs multiplies the depth.
  job = parse_fio_json(one_job({{"rw", "rw"},
                                {"rwmixwrite", "20"},
                                {"ioengine", "io_uring"},
                                {"iodepth", "4"},
                                {"numjobs", "2"}}),
                       "b")
            .front();
  CHECK_FALSE(job.random);
  CHECK(job.read_fraction == doctest::Approx(0.8));
  CHECK(job.depth == 8);
  // fio's default engine (psync) and other synchronous ones keep one IO in flight.
  CHECK(parse_fio_json(one_job({{"rw", "read"}, {"iodepth", "32"}}), "c").front().depth == 1);
  CHECK(parse_fio_json(one_job({{"rw", "read"}, {"iodepth", "32"}, {"ioengine", "pvsync2"}}), "c")
            .front()
            .depth == 1);
}

TEST_CASE("notes before the JSON are skipped") {
  const std::string text = "note: both iodepth >= 1 and synchronous I/O engine are selected\n" +
                           one_job({{"rw", "randread"}});
  CHECK(parse_fio_json(text, "n").size() == 1);
}

TEST_CASE("what calibrate cannot model is refused with the job and the reason") {
  CHECK_THROWS_WITH_AS(parse_fio_json(one_job({{"rw", "randtrim"}}), "t.json"),
                       doctest::Contains("t.json: job 'j': rw=randtrim is not modelled"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(
      parse_fio_json(one_job({{"rw", "randread"}, {"bssplit", "4k/50:64k/50"}}), "t"),
      doctest::Contains("bssplit is not modelled"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_fio_json(one_job({{"rw", "randread"}, {"rate_iops", "500"}}), "t"),
                       doctest::Contains("rate_iops=500 is not modelled"), std::invalid_argument);
  CHECK(parse_fio_json(one_job({{"rw", "randread"}, {"thinktime", "0"}}), "t").size() == 1);
  CHECK_THROWS_WITH_AS(parse_fio_json(one_job({{"bs", "4q"}}), "t"),
                       doctest::Contains("block size '4q'"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_fio_json(one_job({{"iodepth", "many"}, {"ioengine", "libaio"}}), "t"),
                       doctest::Contains("iodepth='many' is not an integer"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_fio_json("fio: terse output\n1;2;3", "t.json"),
                       doctest::Contains("--output-format=json"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_fio_json("{\"x\": 1}", "t.json"), doctest::Contains("no \"jobs\""),
                       std::invalid_argument);
  nlohmann::json failed = nlohmann::json::parse(one_job({{"rw", "read"}}));
  failed["jobs"][0]["error"] = 5;
  CHECK_THROWS_WITH_AS(parse_fio_json(failed.dump(), "t"), doctest::Contains("fio reports error 5"),
                       std::invalid_argument);
  nlohmann::json idle = nlohmann::json::parse(one_job({{"rw", "read"}}));
  idle["jobs"][0]["read"]["total_ios"] = 0;
  CHECK_THROWS_WITH_AS(parse_fio_json(idle.dump(), "t"), doctest::Contains("no reads or writes"),
                       std::invalid_argument);
  nlohmann::json clones = nlohmann::json::parse(one_job({{"rw", "read"}, {"numjobs", "2"}}));
  clones["jobs"].push_back(clones["jobs"][0]);
  CHECK_THROWS_WITH_AS(parse_fio_json(clones.dump(), "t"),
                       doctest::Contains("rerun fio with group_reporting"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(read_fio_file("/nonexistent/fio.json"),
                       doctest::Contains("cannot open fio output '/nonexistent/fio.json'"),
                       std::invalid_argument);
}

TEST_CASE("calibrating against real fio output from this machine's disk") {
  const std::vector<FioJob> jobs = read_fio_file(kFixture);
  REQUIRE(jobs.size() == 11);
  const CalibrationResult result = calibrate_ssd_model(jobs);

  SsdModelParams reparsed;
  REQUIRE(parse_ssd_model_spec(format_ssd_model_spec(result.params), &reparsed) == "");
  REQUIRE(result.measurements.size() == 12);  // the mixed job has two directions
  for (const MeasurementFit& m : result.measurements) {
    const std::string what = m.job + (m.read ? " read" : " write");
    INFO(what);
    REQUIRE(std::isfinite(m.model_iops));
    REQUIRE(std::isfinite(m.model_lat_us));
    // A virtual disk on a shared host is not one SSD: the model has no
    // combined read+write limit (the mixed job is off by ~40% in latency)
    // and the measurements are noisy (see tests/fixtures/fio/README.md). A
    // factor of 2 either way is what the fit must still reach on it.
    CHECK(std::abs(std::log(m.model_iops / m.measured_iops)) < std::log(2.0));
    CHECK(std::abs(std::log(m.model_lat_us / m.measured_lat_us)) < std::log(2.0));
  }
  // Most of the figures fit far better than that: the rms is well under 30%.
  CHECK(result.rms_log_error < 0.3);
  CHECK(std::isfinite(result.max_abs_rel_error));

  // Jobs whose figures the device cannot have produced together (a 4k
  // read slower than the 128k reads' bandwidth allows...) still fit: the
  // fit never produces a spec the parser rejects.
  const std::string file = calibration_spec_file(result, {kFixture});
  CHECK(file.find("# read-4k-qd1") != std::string::npos);
  CHECK(file.ends_with(format_ssd_model_spec(result.params) + "\n"));
}

}  // namespace
}  // namespace memext
