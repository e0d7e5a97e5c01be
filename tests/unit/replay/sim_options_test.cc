// memext-sim replay's command line: memcached flags via the engine's parser,
// device specs with the simulator's WA default, and errors that name the
// bad value.
#include <doctest/doctest.h>

#include "replay_test_util.h"

namespace memext {
using namespace replay_test;

TEST_CASE("memcached flags land in the engine config") {
  SimOptions o = options_from({"t.mxt", "-m", "128", "-I", "2m", "-f", "1.5", "-o",
                               "ext_path=/x:1g,ext_item_size=1024", "-o", "ext_max_frag=0.5",
                               "--seed", "9", "--interval", "30"});
  CHECK(o.trace_path == "t.mxt");
  CHECK(o.engine.memory_limit == 128ull << 20);
  CHECK(o.engine.item_size_max == 2u << 20);
  CHECK(o.engine.growth_factor == 1.5);
  REQUIRE(o.engine.ext.paths.size() == 1);
  CHECK(o.engine.ext.paths[0].size_bytes == 1ull << 30);
  CHECK(o.engine.ext.item_size == 1024);
  CHECK(o.engine.ext.max_frag == 0.5);
  CHECK(o.seed == 9);
  CHECK(o.interval_s == 30);
  CHECK(o.engine.phantom);
  CHECK(o.memcached_flags.size() == 10);
  CHECK(o.memcached_flags[0] == "-m");
}

TEST_CASE("model device: write amplification defaults to 1 unless given") {
  SimOptions o = options_from({"t.mxt"});
  CHECK(o.device_kind == SimDeviceKind::kModel);
  CHECK(o.model.wa == kSimDefaultWriteAmplification);
  CHECK(o.model.preset == "nvme-gen4");
  SimOptions w = options_from({"t.mxt", "--device", "model:sata-ssd,wa=3"});
  CHECK(w.model.wa == 3);
  CHECK(w.model.preset == "sata-ssd");
  SimOptions f = options_from({"t.mxt", "--device=file:/tmp/x", "-o", "ext_path=/y:64m"});
  CHECK(f.device_kind == SimDeviceKind::kFile);
  CHECK(f.file_path == "/tmp/x");
  CHECK_FALSE(f.engine.phantom);
}

TEST_CASE("--flusher-cost sets the modelled flusher's CPU time, defaulting to the calibrated one") {
  SimOptions d = options_from({"t.mxt"});
  CHECK(d.flusher_ns_per_object == kFlusherNsPerObject);
  CHECK(d.flusher_ns_per_kib == kFlusherNsPerKib);
  SimOptions o = options_from({"t.mxt", "--flusher-cost", "15000,5000"});
  CHECK(o.flusher_ns_per_object == 15000);
  CHECK(o.flusher_ns_per_kib == 5000);
  SimOptions z = options_from({"t.mxt", "--flusher-cost", "0"});
  CHECK(z.flusher_ns_per_object == 0);
  CHECK(z.flusher_ns_per_kib == 0);
  for (const char* bad : {"fast", "1,", "1,2,3", "-1", "1000000000"}) {
    CAPTURE(bad);
    CHECK(parse_error({"t", "--flusher-cost", bad}).find("NS_PER_OBJECT[,NS_PER_KIB]") !=
          std::string::npos);
  }
}

TEST_CASE("--flusher-pacing picks memcached 1.6.20's or 1.6.18's write thread") {
  CHECK(options_from({"t.mxt"}).flusher_pacing == FlusherPacing::k1_6_20);
  CHECK(options_from({"t.mxt", "--flusher-pacing", "1.6.18"}).flusher_pacing ==
        FlusherPacing::k1_6_18);
  CHECK(parse_error({"t", "--flusher-pacing", "1.6.19"}) ==
        "--flusher-pacing '1.6.19' is not allowed (allowed: 1.6.20, 1.6.18)");
}

TEST_CASE("--idle-before sets the idle stretch before the first request") {
  CHECK(options_from({"t.mxt"}).idle_before_s == 0);
  CHECK(options_from({"t.mxt", "--idle-before", "2.5"}).idle_before_s == 2.5);
  for (const char* bad : {"soon", "-1", "86401"}) {
    CAPTURE(bad);
    CHECK(parse_error({"t", "--idle-before", bad}).find("must be seconds, 0 to 86400") !=
          std::string::npos);
  }
}

TEST_CASE("bad arguments are named with what is allowed") {
  CHECK(parse_error({"t", "--fill-on-miss", "maybe"}).find("allowed: on, off, auto") !=
        std::string::npos);
  CHECK(parse_error({"t", "--device", "floppy"}).find("'floppy'") != std::string::npos);
  CHECK(parse_error({"t", "--device", "model:nvme-gen9"}).find("nvme-gen9") != std::string::npos);
  CHECK(parse_error({"t", "-m", "lots"}).find("lots") != std::string::npos);
  CHECK(parse_error({"t", "--interval", "0"}).find("> 0") != std::string::npos);
  CHECK(parse_error({"t", "--device", "file:/x"}).find("ext_path") != std::string::npos);
  CHECK(parse_error({"t", "--bogus", "1"}).find("--bogus") != std::string::npos);
  // An unknown flag last on the line once said "--bogus needs a value".
  CHECK(parse_error({"t", "--bogus"}) == "unknown option --bogus (see --help)");
  CHECK(parse_error({"--bogus", "t"}) == "unknown option --bogus (see --help)");
  CHECK(parse_error({"t", "-Z"}) == "unknown option -Z");
  CHECK(parse_error({"t", "--out"}) == "--out needs a value");
  CHECK(parse_error({}).find("no trace") != std::string::npos);
  CHECK(parse_error({"a", "b"}).find("'b'") != std::string::npos);
  CHECK(parse_error({"t", "-o", "ext_max_frag=7"}).find("ext_max_frag") != std::string::npos);
}

}  // namespace memext
