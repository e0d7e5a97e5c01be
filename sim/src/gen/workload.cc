#include "gen/workload.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "gen/gen_random.h"

namespace memext {
namespace {

using nlohmann::json;

constexpr uint32_t kMaxKeySize = 250;  // memcached's KEY_MAX_LENGTH
constexpr uint32_t kMaxValueSize = 1u << 30;
// first_access "set" keeps a bit per key: 2^32 keys is a 512 MB bitmap.
constexpr uint64_t kMaxKeys = uint64_t{1} << 32;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw WorkloadError(where + ": " + what);
}

void check_fields(const json& obj, const std::string& where,
                  std::initializer_list<std::string_view> allowed) {
  if (!obj.is_object()) fail(where, "expected a JSON object, got " + obj.dump());
  for (const auto& [name, value] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(where, "unknown field '" + name + "' (allowed: " + list + ")");
    }
  }
}

double number(const json& v, const std::string& where, double lo, double hi) {
  if (!v.is_number()) fail(where, "expected a number, got " + v.dump());
  double d = v.get<double>();
  if (!(d >= lo && d <= hi)) {
    fail(where, v.dump() + " is out of range (allowed: " + json(lo).dump() + " .. " +
                    json(hi).dump() + ")");
  }
  return d;
}

uint64_t integer(const json& v, const std::string& where, uint64_t lo, uint64_t hi) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    fail(where, "expected a non-negative integer, got " + v.dump());
  }
  uint64_t u = v.get<uint64_t>();
  if (u < lo || u > hi) {
    fail(where, v.dump() + " is out of range (allowed: " + std::to_string(lo) + " .. " +
                    std::to_string(hi) + ")");
  }
  return u;
}

std::string text(const json& v, const std::string& where,
                 std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  if (!v.is_string()) fail(where, "expected one of " + list + ", got " + v.dump());
  std::string s = v.get<std::string>();
  for (const char* a : allowed) {
    if (s == a) return s;
  }
  fail(where, "'" + s + "' is not allowed (allowed: " + list + ")");
}

std::vector<double> cumulate(const std::vector<double>& weights, const std::string& where) {
  double total = 0;
  for (double w : weights) total += w;
  if (!(total > 0)) fail(where, "weights must have a positive sum");
  std::vector<double> cum;
  double run = 0;
  for (double w : weights) {
    run += w;
    cum.push_back(run / total);
  }
  cum.back() = 1.0;
  return cum;
}

SizeDistribution parse_size(const json& v, const std::string& where, uint32_t lo, uint32_t hi) {
  SizeDistribution d;
  if (v.is_number()) {
    d.min = d.max = static_cast<uint32_t>(integer(v, where, lo, hi));
    return d;
  }
  if (!v.is_object() || !v.contains("dist")) {
    fail(where, "expected a size or an object with \"dist\": fixed, uniform, lognormal or buckets");
  }
  std::string kind = text(v["dist"], where + ".dist", {"fixed", "uniform", "lognormal", "buckets"});
  if (kind == "fixed") {
    check_fields(v, where, {"dist", "size"});
    if (!v.contains("size")) fail(where, "fixed needs \"size\"");
    d.min = d.max = static_cast<uint32_t>(integer(v["size"], where + ".size", lo, hi));
  } else if (kind == "uniform") {
    check_fields(v, where, {"dist", "min", "max"});
    if (!v.contains("min") || !v.contains("max")) fail(where, "uniform needs \"min\" and \"max\"");
    d.kind = SizeDistribution::Kind::kUniform;
    d.min = static_cast<uint32_t>(integer(v["min"], where + ".min", lo, hi));
    d.max = static_cast<uint32_t>(integer(v["max"], where + ".max", d.min, hi));
  } else if (kind == "lognormal") {
    check_fields(v, where, {"dist", "mu", "median", "sigma", "min", "max"});
    d.kind = SizeDistribution::Kind::kLognormal;
    if (v.contains("mu") == v.contains("median")) {
      fail(where, "lognormal needs exactly one of \"mu\" (mean of ln size) or \"median\" (bytes)");
    }
    d.mu = v.contains("mu") ? number(v["mu"], where + ".mu", -50, 50)
                            : std::log(number(v["median"], where + ".median", 1e-9, hi));
    if (!v.contains("sigma")) fail(where, "lognormal needs \"sigma\"");
    d.sigma = number(v["sigma"], where + ".sigma", 0, 10);
    d.min =
        v.contains("min") ? static_cast<uint32_t>(integer(v["min"], where + ".min", lo, hi)) : lo;
    d.max = v.contains("max") ? static_cast<uint32_t>(integer(v["max"], where + ".max", d.min, hi))
                              : hi;
  } else {
    check_fields(v, where, {"dist", "buckets"});
    d.kind = SizeDistribution::Kind::kBuckets;
    if (!v.contains("buckets") || !v["buckets"].is_array() || v["buckets"].empty()) {
      fail(where, "buckets needs a non-empty \"buckets\" array");
    }
    std::vector<double> weights;
    for (size_t i = 0; i < v["buckets"].size(); ++i) {
      const json& b = v["buckets"][i];
      std::string bw = where + ".buckets[" + std::to_string(i) + "]";
      check_fields(b, bw, {"size", "min", "max", "weight"});
      SizeDistribution::Bucket bucket;
      if (b.contains("size")) {
        if (b.contains("min") || b.contains("max"))
          fail(bw, "give either \"size\" or \"min\"/\"max\"");
        bucket.min = bucket.max = static_cast<uint32_t>(integer(b["size"], bw + ".size", lo, hi));
      } else if (b.contains("min") && b.contains("max")) {
        bucket.min = static_cast<uint32_t>(integer(b["min"], bw + ".min", lo, hi));
        bucket.max = static_cast<uint32_t>(integer(b["max"], bw + ".max", bucket.min, hi));
      } else {
        fail(bw, "needs \"size\", or \"min\" and \"max\"");
      }
      if (!b.contains("weight")) fail(bw, "needs \"weight\"");
      bucket.weight = number(b["weight"], bw + ".weight", 0, 1e300);
      weights.push_back(bucket.weight);
      d.buckets.push_back(bucket);
    }
    d.cumulative = cumulate(weights, where + ".buckets");
  }
  return d;
}

}  // namespace

uint32_t SizeDistribution::sample(uint64_t bits1, uint64_t bits2) const {
  switch (kind) {
    case Kind::kFixed:
      return min;
    case Kind::kUniform:
      return min + static_cast<uint32_t>(to_below(bits1, uint64_t{max} - min + 1));
    case Kind::kLognormal: {
      double s = std::round(std::exp(mu + sigma * to_normal(bits1, bits2)));
      if (!(s >= min)) return min;  // also catches NaN
      if (s >= max) return max;
      return static_cast<uint32_t>(s);
    }
    case Kind::kBuckets: {
      double u = to_unit(bits1);
      size_t i = std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin();
      if (i >= buckets.size()) i = buckets.size() - 1;
      const Bucket& b = buckets[i];
      return b.min + static_cast<uint32_t>(to_below(bits2, uint64_t{b.max} - b.min + 1));
    }
  }
  return min;
}

double SizeDistribution::mean() const {
  switch (kind) {
    case Kind::kFixed:
      return min;
    case Kind::kUniform:
      return (static_cast<double>(min) + max) / 2;
    case Kind::kLognormal:
      return std::exp(mu + sigma * sigma / 2);  // before clamping
    case Kind::kBuckets: {
      double total = 0;
      double sum = 0;
      for (const Bucket& b : buckets) {
        total += b.weight;
        sum += b.weight * (static_cast<double>(b.min) + b.max) / 2;
      }
      return sum / total;
    }
  }
  return 0;
}

WorkloadSpec parse_workload(const json& doc) {
  const std::string w = "workload";
  check_fields(
      doc, w,
      {"name", "description", "requests", "keys", "zipf_alpha", "key_size", "value_size", "ttl",
       "ops", "first_access", "one_hit_wonder", "rate", "arrival", "start_time_s", "seed"});
  WorkloadSpec s;
  if (!doc.contains("requests")) fail(w, "missing required field \"requests\"");
  if (!doc.contains("keys")) fail(w, "missing required field \"keys\"");
  s.requests = integer(doc["requests"], "requests", 1, uint64_t{1} << 40);
  s.keys = integer(doc["keys"], "keys", 1, kMaxKeys);
  if (doc.contains("zipf_alpha")) s.zipf_alpha = number(doc["zipf_alpha"], "zipf_alpha", 0, 10);
  s.key_size.min = s.key_size.max = 16;
  if (doc.contains("key_size"))
    s.key_size = parse_size(doc["key_size"], "key_size", 1, kMaxKeySize);
  s.value_size.min = s.value_size.max = 100;
  if (doc.contains("value_size")) {
    s.value_size = parse_size(doc["value_size"], "value_size", 0, kMaxValueSize);
  }

  std::vector<double> weights;
  if (!doc.contains("ttl")) {
    s.ttls.push_back({0, 1});
  } else if (doc["ttl"].is_number()) {
    s.ttls.push_back({static_cast<int64_t>(integer(doc["ttl"], "ttl", 0, 1u << 31)), 1});
  } else {
    const json& t = doc["ttl"];
    if (!t.is_array() || t.empty())
      fail("ttl", "expected seconds or a non-empty array of {ttl, weight}");
    for (size_t i = 0; i < t.size(); ++i) {
      std::string tw = "ttl[" + std::to_string(i) + "]";
      check_fields(t[i], tw, {"ttl", "weight"});
      if (!t[i].contains("ttl") || !t[i].contains("weight"))
        fail(tw, "needs \"ttl\" and \"weight\"");
      s.ttls.push_back({static_cast<int64_t>(integer(t[i]["ttl"], tw + ".ttl", 0, 1u << 31)),
                        number(t[i]["weight"], tw + ".weight", 0, 1e300)});
    }
  }
  for (const WeightedTtl& t : s.ttls) weights.push_back(t.weight);
  s.ttl_cumulative = cumulate(weights, "ttl");

  if (!doc.contains("ops")) {
    s.ops.emplace_back(Op::kGet, 1.0);
  } else {
    const json& ops = doc["ops"];
    if (!ops.is_object() || ops.empty())
      fail("ops", "expected an object like {\"get\": 0.9, \"set\": 0.1}");
    weights.clear();
    for (const auto& [name, weight] : ops.items()) {
      auto op = parse_op_name(name);
      if (!op)
        fail("ops",
             "unknown operation '" + name + "' (allowed: " + std::string(op_names_list()) + ")");
      s.ops.emplace_back(*op, number(weight, "ops." + name, 0, 1e300));
      weights.push_back(s.ops.back().second);
    }
    std::vector<double> cum = cumulate(weights, "ops");
    for (size_t i = 0; i < s.ops.size(); ++i) s.ops[i].second = cum[i];
  }
  if (doc.contains("first_access")) {
    s.first_access_is_set = text(doc["first_access"], "first_access", {"op_mix", "set"}) == "set";
  }
  if (doc.contains("one_hit_wonder")) {
    s.one_hit_wonder = number(doc["one_hit_wonder"], "one_hit_wonder", 0, 1);
  }
  if (doc.contains("rate")) s.rate = number(doc["rate"], "rate", 1e-6, 1e12);
  if (doc.contains("arrival")) {
    s.poisson_arrivals = text(doc["arrival"], "arrival", {"poisson", "uniform"}) == "poisson";
  }
  if (doc.contains("start_time_s"))
    s.start_time_s = number(doc["start_time_s"], "start_time_s", 0, 1e10);
  if (doc.contains("seed"))
    s.seed = integer(doc["seed"], "seed", 0, std::numeric_limits<uint64_t>::max());
  double span_ns = s.start_time_s * 1e9 + static_cast<double>(s.requests) / s.rate * 1e9 * 1.5;
  if (span_ns > 1.8e19) fail("rate", "requests / rate spans more than 64-bit nanoseconds can hold");
  return s;
}

WorkloadSpec load_workload_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw WorkloadError(path + ": cannot open workload file");
  json doc;
  try {
    doc = json::parse(in, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    throw WorkloadError(path + ": not valid JSON: " + e.what());
  }
  try {
    return parse_workload(doc);
  } catch (const WorkloadError& e) {
    throw WorkloadError(path + ": " + e.what());
  }
}

}  // namespace memext
