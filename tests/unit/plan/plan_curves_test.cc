// plan/curves: curves against RAM and flash size from sweep-like rows.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "plan/curves.h"

namespace memext {
namespace {

nlohmann::json row(const char* m, const char* flash, double hit, double ceiling) {
  return {{"id", std::string("c-") + m + "-" + flash},
          {"flags", {{"m", m}, {"ext_path_size", flash}}},
          {"hit_ratio", hit},
          {"byte_hit_ratio", hit / 2},
          {"ceiling_hit_ratio", ceiling}};
}

TEST_CASE("one RAM curve per flash size and one flash curve per RAM size, sorted by bytes") {
  const nlohmann::json rows = {row("128", "1g", 0.6, 0.9), row("64", "1g", 0.5, 0.9),
                               row("64", "4g", 0.55, 0.9), row("128", "4g", 0.7, 0.91),
                               row("256", "1g", 0.65, 0.9)};
  const nlohmann::json c = curves_from_sweep({{"rows", rows}});
  CHECK(c["schema"] == "memext-sim-curves/1");
  CHECK(c["ceiling_hit_ratio"].get<double>() == doctest::Approx(0.9));
  int ram_curves = 0, flash_curves = 0;
  for (const nlohmann::json& curve : c["curves"]) {
    const auto& points = curve["points"];
    for (size_t i = 1; i < points.size(); ++i) {
      CHECK(points[i - 1]["bytes"].get<double>() < points[i]["bytes"].get<double>());
    }
    if (curve["axis"] == "m") {
      ++ram_curves;
      if (curve["fixed"]["ext_path_size"] == "1g") {
        REQUIRE(points.size() == 3);
        CHECK(points[0]["bytes"].get<double>() == 64.0 * (1 << 20));
        CHECK(points[2]["hit_ratio"].get<double>() == 0.65);
      }
    } else {
      ++flash_curves;
      CHECK(curve["x"] == "flash_bytes");
    }
  }
  CHECK(ram_curves == 2);    // 1g and 4g
  CHECK(flash_curves == 2);  // 64 and 128 (256 has one flash size only)
}

TEST_CASE("axis sizes: -m in MB, ext_path sizes with suffixes; words are not sizes") {
  double b = 0;
  CHECK(axis_value_bytes("m", "64", &b));
  CHECK(b == 64.0 * (1 << 20));
  CHECK(axis_value_bytes("ext_path_size", "4g", &b));
  CHECK(b == 4.0 * (1ull << 30));
  CHECK_FALSE(axis_value_bytes("m", "lots", &b));
}

}  // namespace
}  // namespace memext
