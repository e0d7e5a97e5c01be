// SSD model specs read from a file: comments, several lines, overrides after
// the path, the replay's --device model:@FILE, and errors naming the file.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "replay/sim_options.h"
#include "ssd/ssd_presets.h"
#include "ssd/ssd_spec_file.h"

namespace memext {
namespace {

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& text) {
    static int counter = 0;
    path = (std::filesystem::temp_directory_path() /
            ("memext-spec-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
               .string();
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

TEST_CASE("a spec file: comments and line breaks are dropped, lines joined") {
  TempFile file(
      "# calibrated drive\n"
      "model:sata-ssd,units=12,   # the units\n"
      "\n"
      "  read_us=55.5\n"
      "read_iops=42000,\n");
  std::string spec;
  REQUIRE(read_ssd_spec_file(file.path, &spec) == "");
  CHECK(spec == "model:sata-ssd,units=12,read_us=55.5,read_iops=42000");
  SsdModelParams params;
  REQUIRE(load_ssd_spec_file(file.path, &params) == "");
  CHECK(params.preset == "sata-ssd");
  CHECK(params.units == 12);
  CHECK(params.read_us == 55.5);
  CHECK(params.read_iops == 42000);
}

TEST_CASE("the canonical spec written to a file loads back exactly") {
  SsdModelParams params;
  REQUIRE(parse_ssd_model_spec("model:nvme-gen3,units=7,write_us=3.25,wa=1.5", &params) == "");
  TempFile file("# header\n" + format_ssd_model_spec(params) + "\n");
  SsdModelParams loaded;
  REQUIRE(load_ssd_spec_file(file.path, &loaded) == "");
  CHECK(format_ssd_model_spec(loaded) == format_ssd_model_spec(params));
}

TEST_CASE("@PATH expands in a spec, settings after it override the file's") {
  TempFile file("model:sata-ssd,units=12\n");
  std::string expanded;
  REQUIRE(expand_ssd_spec_file("model:@" + file.path + ",units=3,qd=8", &expanded) == "");
  CHECK(expanded == "model:sata-ssd,units=12,units=3,qd=8");
  REQUIRE(expand_ssd_spec_file("@" + file.path, &expanded) == "");
  CHECK(expanded == "model:sata-ssd,units=12");
  // A file without the model: prefix gets it.
  TempFile bare("units=5");
  REQUIRE(expand_ssd_spec_file("@" + bare.path, &expanded) == "");
  CHECK(expanded == "model:units=5");
  // No '@': unchanged.
  REQUIRE(expand_ssd_spec_file("model:nvme-gen4,units=2", &expanded) == "");
  CHECK(expanded == "model:nvme-gen4,units=2");
}

TEST_CASE("spec file errors name the file") {
  std::string spec;
  CHECK(read_ssd_spec_file("/nonexistent/drive.spec", &spec) ==
        "cannot open SSD spec file '/nonexistent/drive.spec'");
  TempFile empty("# nothing here\n\n");
  CHECK(read_ssd_spec_file(empty.path, &spec).find("holds no spec") != std::string::npos);
  TempFile bad("model:sata-ssd,units=zero\n");
  SsdModelParams params;
  const std::string error = load_ssd_spec_file(bad.path, &params);
  CHECK(error.find(bad.path) != std::string::npos);
  CHECK(error.find("bad value 'zero' for SSD model key 'units'") != std::string::npos);
  CHECK(expand_ssd_spec_file("model:@", &spec).find("needs a file path") != std::string::npos);
}

std::string parse_device(const std::string& device, SimOptions* options) {
  std::vector<const char*> argv = {"replay", "t.mxt", "--device", device.c_str()};
  return parse_sim_options(static_cast<int>(argv.size()), argv.data(), options);
}

TEST_CASE("replay --device model:@DRIVE.spec takes the file's spec") {
  TempFile file("# from calibrate\nmodel:sata-ssd,units=12,read_us=55.5,wa=1\n");
  SimOptions options;
  REQUIRE(parse_device("model:@" + file.path + ",qd=16", &options) == "");
  CHECK(options.model.units == 12);
  CHECK(options.model.read_us == 55.5);
  CHECK(options.model.queue_depth == 16);
  CHECK(options.model_spec.find("units=12") != std::string::npos);
  // The replay's wa=1 default still applies when the file gives no wa.
  TempFile no_wa("model:sata-ssd,op=0.07\n");
  SimOptions fresh;
  REQUIRE(parse_device("model:@" + no_wa.path, &fresh) == "");
  CHECK(fresh.model.wa == 1);

  SimOptions missing;
  const std::string error = parse_device("model:@/nonexistent/drive.spec", &missing);
  CHECK(error ==
        "--device 'model:@/nonexistent/drive.spec': cannot open SSD spec file "
        "'/nonexistent/drive.spec'");
}

TEST_CASE("a device spec preset in SimOptions longer than the string's inline buffer parses") {
  // parse_sim_options applies the preset spec first; apply_device used to
  // keep a view of out->device_spec across assigning it (use after free).
  TempFile file("model:sata-ssd,units=12,read_us=55.5\n");
  SimOptions options;
  options.device_spec = "model:@" + file.path + ",qd=16,read_iops=12345";
  std::vector<const char*> argv = {"replay", "t.mxt"};
  REQUIRE(parse_sim_options(static_cast<int>(argv.size()), argv.data(), &options) == "");
  CHECK(options.model.units == 12);
  CHECK(options.model.read_iops == 12345);
  CHECK(options.device_spec == "model:@" + file.path + ",qd=16,read_iops=12345");
}

}  // namespace
}  // namespace memext
