#include "plan/curves.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

namespace memext {

namespace {

constexpr const char* kSizeAxes[] = {"m", "ext_path_size"};

double number_or_nan(const nlohmann::json& v) {
  return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

// NAME_estimate (a sampled cell's estimate of the full trace's ratio) when
// the row has it, else NAME.
nlohmann::json estimate(const nlohmann::json& row, const std::string& name) {
  for (const std::string& key : {name + "_estimate", name}) {
    const auto it = row.find(key);
    if (it != row.end() && it->is_number()) return *it;
  }
  return nullptr;
}

}  // namespace

bool axis_value_bytes(const std::string& axis, const std::string& value, double* bytes) {
  if (value.empty()) return false;
  size_t used = 0;
  double n = 0;
  try {
    n = std::stod(value, &used);
  } catch (const std::exception&) {
    return false;
  }
  std::string unit = value.substr(used);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double scale = axis == "m" ? double(1 << 20) : 1.0;
  if (unit == "k" || unit == "kb") {
    scale = 1024.0;
  } else if (unit == "m" || unit == "mb") {
    scale = double(1 << 20);
  } else if (unit == "g" || unit == "gb") {
    scale = double(1ull << 30);
  } else if (unit == "t" || unit == "tb") {
    scale = double(1ull << 40);
  } else if (!unit.empty()) {
    return false;
  }
  *bytes = n * scale;
  return n >= 0;
}

nlohmann::json curves_from_rows(const nlohmann::json& rows) {
  nlohmann::json curves = nlohmann::json::array();
  double ceiling = std::numeric_limits<double>::quiet_NaN();
  for (const nlohmann::json& row : rows) {
    const double c = number_or_nan(estimate(row, "ceiling_hit_ratio"));
    if (!std::isnan(c)) ceiling = std::isnan(ceiling) ? c : std::min(ceiling, c);
  }
  for (const char* axis : kSizeAxes) {
    // Curves keyed by the other flags (std::map: a deterministic order).
    std::map<std::string, std::pair<nlohmann::json, std::vector<nlohmann::json>>> groups;
    for (const nlohmann::json& row : rows) {
      if (!row.contains("flags") || !row["flags"].contains(axis)) continue;
      if (!estimate(row, "hit_ratio").is_number()) continue;
      const std::string value = row["flags"][axis].get<std::string>();
      double bytes = 0;
      if (!axis_value_bytes(axis, value, &bytes)) continue;
      nlohmann::json fixed = row["flags"];
      fixed.erase(axis);
      auto& group = groups[fixed.dump()];
      group.first = fixed;
      group.second.push_back({{"value", value},
                              {"bytes", bytes},
                              {"hit_ratio", estimate(row, "hit_ratio")},
                              {"byte_hit_ratio", estimate(row, "byte_hit_ratio")},
                              {"id", row.value("id", nlohmann::json())}});
    }
    for (auto& [key, group] : groups) {
      if (group.second.size() < 2) continue;
      std::stable_sort(group.second.begin(), group.second.end(),
                       [](const nlohmann::json& a, const nlohmann::json& b) {
                         return a["bytes"].get<double>() < b["bytes"].get<double>();
                       });
      curves.push_back({{"x", axis == std::string("m") ? "ram_bytes" : "flash_bytes"},
                        {"axis", axis},
                        {"fixed", group.first},
                        {"points", group.second}});
    }
  }
  return {{"schema", "memext-sim-curves/1"},
          {"ceiling_hit_ratio", std::isnan(ceiling) ? nlohmann::json() : nlohmann::json(ceiling)},
          {"curves", curves}};
}

nlohmann::json curves_from_sweep(const nlohmann::json& sweep) {
  return curves_from_rows(sweep.contains("rows") ? sweep["rows"] : nlohmann::json::array());
}

}  // namespace memext
