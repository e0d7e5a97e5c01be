// Regression (found by tests/fuzz/fuzz_options): "nan" and "inf" parse as
// numbers with strtod, so -f nan passed `f <= 1.0` and crashed both programs
// building the slab class table. Every numeric option refuses them.
#include <doctest/doctest.h>

#include <string>

#include "memext/engine.h"
#include "memext/options.h"

using namespace memext;

TEST_CASE("nan and inf are refused like any other bad number, with the same message") {
  EngineConfig c;
  const OptionResult half = apply_memcached_option(c, "f", "0.5");
  REQUIRE(!half.ok());
  for (const char* bad : {"nan", "NaN", "inf", "-inf", "infinity"}) {
    CAPTURE(bad);
    const OptionResult r = apply_memcached_option(c, "f", bad);
    CHECK(r.status == OptionStatus::kInvalidValue);
    const std::string expected_tail = half.error.substr(half.error.find("0.5") + 3);
    CHECK(r.error.find(bad) != std::string::npos);
    CHECK(r.error.ends_with(expected_tail));
    CHECK(apply_memcached_option(c, "hot_max_factor", bad).status == OptionStatus::kInvalidValue);
    CHECK(apply_memcached_option(c, "warm_max_factor", bad).status == OptionStatus::kInvalidValue);
    CHECK(apply_memcached_option(c, "slab_automove_ratio", bad).status ==
          OptionStatus::kInvalidValue);
    CHECK(apply_memcached_option(c, "ext_max_frag", bad).status == OptionStatus::kInvalidValue);
  }
  CHECK(c.growth_factor == EngineConfig{}.growth_factor);
  CHECK(validate_config(c).empty());
}
