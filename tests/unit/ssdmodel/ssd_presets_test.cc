// The SSD model spec: presets, overrides, canonical form and error messages.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "ssd/ssd_model.h"
#include "ssd/ssd_presets.h"

namespace memext {
namespace {

bool same_params(const SsdModelParams& a, const SsdModelParams& b) {
  return a.preset == b.preset && a.units == b.units && a.chunk_bytes == b.chunk_bytes &&
         a.read_us == b.read_us && a.write_us == b.write_us &&
         a.unit_read_mb_per_s == b.unit_read_mb_per_s &&
         a.unit_write_mb_per_s == b.unit_write_mb_per_s && a.read_iops == b.read_iops &&
         a.write_iops == b.write_iops && a.read_mb_per_s == b.read_mb_per_s &&
         a.write_mb_per_s == b.write_mb_per_s && a.burst_us == b.burst_us && a.op == b.op &&
         a.wa == b.wa && a.interference == b.interference && a.queue_depth == b.queue_depth &&
         a.alignment == b.alignment;
}

std::string parse_error(const std::string& spec) {
  SsdModelParams p;
  return parse_ssd_model_spec(spec, &p);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("presets exist with their headline figures") {
  REQUIRE(ssd_presets().size() == 3);
  SsdModelParams p;
  REQUIRE(parse_ssd_model_spec("model:nvme-gen4", &p) == "");
  CHECK(p.preset == "nvme-gen4");
  CHECK(p.read_iops == 1'000'000);
  CHECK(p.read_mb_per_s == 7000);
  CHECK(p.write_mb_per_s == 5000);
  REQUIRE(parse_ssd_model_spec("model:nvme-gen3", &p) == "");
  CHECK(p.read_iops == 500'000);
  CHECK(p.read_mb_per_s == 3500);
  REQUIRE(parse_ssd_model_spec("sata-ssd", &p) == "");
  CHECK(p.read_iops == 95'000);
  CHECK(p.read_mb_per_s == 550);
  for (const SsdPreset& preset : ssd_presets()) {
    REQUIRE(parse_ssd_model_spec(preset.name, &p) == "");
    CHECK(same_params(p, preset.params));
  }
}

TEST_CASE("an empty spec or bare prefix is the default preset") {
  SsdModelParams p;
  REQUIRE(parse_ssd_model_spec("", &p) == "");
  CHECK(p.preset == kDefaultSsdPreset);
  REQUIRE(parse_ssd_model_spec("model:", &p) == "");
  CHECK(p.preset == kDefaultSsdPreset);
  REQUIRE(parse_ssd_model_spec("model:units=8", &p) == "");
  CHECK(p.preset == kDefaultSsdPreset);
  CHECK(p.units == 8);
}

TEST_CASE("every parameter can be overridden") {
  SsdModelParams p;
  REQUIRE(parse_ssd_model_spec(
              "model:nvme-gen4,units=64,read_us=70,write_us=20,read_iops=1000000,op=0.07", &p) ==
          "");
  CHECK(p.units == 64);
  CHECK(p.read_us == 70);
  CHECK(p.write_us == 20);
  CHECK(p.read_iops == 1'000'000);
  CHECK(p.op == 0.07);

  REQUIRE(parse_ssd_model_spec("model:sata-ssd,chunk_kb=4,unit_read_mb_per_s=200.5,"
                               "unit_write_mb_per_s=100,write_iops=0,read_mb_per_s=0,"
                               "write_mb_per_s=123.25,burst_us=12.5,wa=1.5,interference=off,"
                               "qd=32,align=4096",
                               &p) == "");
  CHECK(p.preset == "sata-ssd");
  CHECK(p.chunk_bytes == 4096);
  CHECK(p.unit_read_mb_per_s == 200.5);
  CHECK(p.unit_write_mb_per_s == 100);
  CHECK(p.write_iops == 0);
  CHECK(p.read_mb_per_s == 0);
  CHECK(p.write_mb_per_s == 123.25);
  CHECK(p.burst_us == 12.5);
  CHECK(p.wa == 1.5);
  CHECK_FALSE(p.interference);
  CHECK(p.queue_depth == 32);
  CHECK(p.alignment == 4096);
  CHECK(effective_write_amplification(p) == 1.5);
  // The rest is still the preset's.
  CHECK(p.read_iops == 95'000);
}

TEST_CASE("the canonical spec parses back to the same parameters") {
  for (const SsdPreset& preset : ssd_presets()) {
    SsdModelParams back;
    REQUIRE(parse_ssd_model_spec(format_ssd_model_spec(preset.params), &back) == "");
    CHECK(same_params(back, preset.params));
  }
  SsdModelParams p;
  REQUIRE(parse_ssd_model_spec("nvme-gen3,read_us=0.1,op=0.3333333333333333,interference=0,"
                               "unit_read_mb_per_s=1e-3",
                               &p) == "");
  std::string canonical = format_ssd_model_spec(p);
  CHECK(contains(canonical, "model:nvme-gen3,units=64,"));
  CHECK(contains(canonical, ",interference=0,"));
  SsdModelParams back;
  REQUIRE(parse_ssd_model_spec(canonical, &back) == "");
  CHECK(same_params(back, p));
}

TEST_CASE("errors name the bad key or value and what is allowed") {
  std::string e = parse_error("model:nvme-gen4,foo=1");
  CHECK(contains(e, "'foo'"));
  for (const char* key :
       {"units", "chunk_kb", "read_us", "write_us", "unit_read_mb_per_s", "unit_write_mb_per_s",
        "read_iops", "write_iops", "read_mb_per_s", "write_mb_per_s", "burst_us", "op", "wa",
        "interference", "qd", "align"}) {
    CAPTURE(key);
    CHECK(contains(e, key));
  }

  e = parse_error("model:nvme-gen4,units=abc");
  CHECK(contains(e, "'abc'"));
  CHECK(contains(e, "'units'"));
  CHECK(contains(e, "integer 1..65536"));

  CHECK(contains(parse_error("units=0"), "'0' for SSD model key 'units'"));
  CHECK(contains(parse_error("units=70000"), "'70000'"));
  CHECK(contains(parse_error("units=-1"), "'-1'"));
  CHECK(contains(parse_error("units=4x"), "'4x'"));
  CHECK(contains(parse_error("read_us=-5"), "number 0..1000000"));
  CHECK(contains(parse_error("read_us=nan"), "'nan'"));
  CHECK(contains(parse_error("unit_read_mb_per_s=0"), "number > 0"));
  CHECK(contains(parse_error("op=0"), "key 'op'"));
  CHECK(contains(parse_error("wa=0.5"), "0 (estimate from op) or number 1..1000"));
  CHECK(contains(parse_error("interference=maybe"), "0|1|on|off"));
  CHECK(contains(parse_error("align=3"), "power of two"));
  CHECK(contains(parse_error("read_iops="), "bad value '' for SSD model key 'read_iops'"));

  e = parse_error("model:nvme-gen9,units=4");
  CHECK(contains(e, "'nvme-gen9'"));
  CHECK(contains(e, "nvme-gen4, nvme-gen3, sata-ssd"));

  CHECK(contains(parse_error("units=4,sata-ssd"), "'sata-ssd' must come first"));
  CHECK(contains(parse_error("nvme-gen4,units"), "'units' has no value"));
  CHECK(contains(parse_error("nvme-gen4,,units=4"), "empty setting"));
  CHECK(contains(parse_error("nvme-gen4,"), "empty setting"));
}

TEST_CASE("make_model_device throws the parser's message") {
  try {
    make_model_device("model:sata-ssd,qd=lots", 1 << 20);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(contains(e.what(), "'lots'"));
    CHECK(contains(e.what(), "'qd'"));
  }
  auto dev = make_model_device("model:sata-ssd,units=4", 1 << 20);
  CHECK(dev->params().units == 4);
  CHECK(dev->size() == 1 << 20);
  CHECK(contains(dev->describe(), "model:sata-ssd,units=4,"));
}

TEST_CASE("the constructor rejects parameters the parser would refuse") {
  SsdModelParams p = ssd_presets()[0].params;
  p.units = 0;
  CHECK_THROWS_AS(ModelDevice(p, 1 << 20), std::invalid_argument);
  p = ssd_presets()[0].params;
  p.unit_write_mb_per_s = 0;
  CHECK_THROWS_AS(ModelDevice(p, 1 << 20), std::invalid_argument);
  p = ssd_presets()[0].params;
  p.op = 0;
  CHECK_THROWS_AS(ModelDevice(p, 1 << 20), std::invalid_argument);
  p.wa = 2;  // an explicit WA needs no op
  CHECK_NOTHROW(ModelDevice(p, 1 << 20));
}

TEST_CASE("help lists every preset and key") {
  std::string help = ssd_model_help();
  for (const SsdPreset& preset : ssd_presets()) CHECK(contains(help, std::string(preset.name)));
  for (const char* key : {"units", "chunk_kb", "read_iops", "write_mb_per_s", "op", "wa", "qd"}) {
    CHECK(contains(help, std::string("  ") + key + "  "));
  }
}

}  // namespace
}  // namespace memext
