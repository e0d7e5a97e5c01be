#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "gen/gen_trace.h"
#include "gen/gen_zipf.h"
#include "gen/workload.h"
#include "trace_test_util.h"

using namespace memext;
using namespace memext::test;
using nlohmann::json;

namespace {

json base_workload() {
  return json::parse(R"({
    "requests": 200000, "keys": 5000, "zipf_alpha": 0.9,
    "key_size": {"dist": "uniform", "min": 10, "max": 50},
    "value_size": {"dist": "buckets", "buckets": [
        {"size": 100, "weight": 1}, {"min": 1000, "max": 2000, "weight": 3}]},
    "ttl": [{"ttl": 0, "weight": 1}, {"ttl": 60, "weight": 3}],
    "ops": {"get": 0.7, "set": 0.2, "delete": 0.05, "touch": 0.05},
    "one_hit_wonder": 0.1, "rate": 1000, "seed": 5})");
}

std::vector<TraceRequest> generate(const json& doc) {
  WorkloadGenerator gen(parse_workload(doc));
  std::vector<TraceRequest> out;
  TraceRequest r;
  while (gen.next(r)) out.push_back(r);
  return out;
}

// |observed share - p| within `sigmas` binomial standard deviations.
bool near_share(uint64_t hits, uint64_t n, double p, double sigmas = 5) {
  double share = static_cast<double>(hits) / n;
  return std::fabs(share - p) <= sigmas * std::sqrt(p * (1 - p) / n) + 1e-12;
}

}  // namespace

TEST_CASE("same workload and seed give a byte-identical trace; another seed does not") {
  TempDir dir;
  WorkloadSpec spec = parse_workload(base_workload());
  generate_trace_file(spec, dir.file("a.mxt"));
  generate_trace_file(spec, dir.file("b.mxt"));
  generate_trace_file(spec, dir.file("a.mxt.zst"));
  generate_trace_file(spec, dir.file("b.mxt.zst"));
  std::string a = read_file(dir.file("a.mxt"));
  CHECK(a.size() == 32 + 48 * 200000);
  CHECK(a == read_file(dir.file("b.mxt")));
  CHECK(read_file(dir.file("a.mxt.zst")) == read_file(dir.file("b.mxt.zst")));
  spec.seed = 6;
  generate_trace_file(spec, dir.file("c.mxt"));
  CHECK(a != read_file(dir.file("c.mxt")));
  // The generator promises its count up front, so even the .zst header has it.
  CHECK(open_trace(dir.file("a.mxt.zst"))->expected_records() == 200000u);
  // The file holds exactly what the generator produced.
  CHECK(read_all(dir.file("a.mxt.zst")) == generate(base_workload()));
}

TEST_CASE("Zipf sampler follows the Zipf probabilities") {
  for (double alpha : {0.0, 0.6, 1.0, 1.4}) {
    CAPTURE(alpha);
    const uint64_t n = 1000;
    const uint64_t draws = 400000;
    ZipfSampler zipf(n, alpha);
    Xoshiro256 rng(99);
    std::vector<uint64_t> counts(n + 2, 0);
    for (uint64_t i = 0; i < draws; ++i) ++counts[std::min(zipf.sample(rng), n + 1)];
    CHECK(counts[0] == 0);
    CHECK(counts[n + 1] == 0);
    for (uint64_t k : {1, 2, 3, 10, 100}) {
      CAPTURE(k);
      CHECK(near_share(counts[k], draws, zipf.probability(k)));
    }
    uint64_t head = 0;
    double head_p = 0;
    for (uint64_t k = 1; k <= 50; ++k) {
      head += counts[k];
      head_p += zipf.probability(k);
    }
    CHECK(near_share(head, draws, head_p));
  }
}

TEST_CASE("Zipf sampler handles one key and very many keys") {
  Xoshiro256 rng(1);
  ZipfSampler one(1, 1.2);
  for (int i = 0; i < 100; ++i) CHECK(one.sample(rng) == 1);
  ZipfSampler huge(uint64_t{1} << 40, 0.99);
  uint64_t top = 0;
  bool in_range = true;
  for (int i = 0; i < 10000; ++i) {
    uint64_t k = huge.sample(rng);
    in_range = in_range && k >= 1 && k <= uint64_t{1} << 40;
    top += k == 1;
  }
  CHECK(in_range);
  CHECK(top > 0);
}

TEST_CASE("generated trace follows the requested op mix, sizes, TTLs and rate") {
  std::vector<TraceRequest> rs = generate(base_workload());
  REQUIRE(rs.size() == 200000);
  const uint64_t n = rs.size();
  std::map<Op, uint64_t> ops;
  uint64_t fresh = 0;
  uint64_t small_values = 0;
  uint64_t sized = 0;
  uint64_t ttl60 = 0;
  uint64_t ttl_carrying = 0;
  std::unordered_map<uint64_t, TraceRequest> first_seen;
  bool per_key_stable = true;
  bool ordered = true;
  bool sizes_in_range = true;
  bool sizeless_ops_have_no_value = true;
  bool only_writes_carry_ttl = true;
  for (size_t i = 0; i < n; ++i) {
    const TraceRequest& r = rs[i];
    ++ops[r.op];
    fresh += r.key_id >= 5000;
    sizes_in_range = sizes_in_range && r.key_size >= 10 && r.key_size <= 50;
    if (r.op == Op::kGet || r.op == Op::kSet) {
      ++sized;
      small_values += r.value_size == 100;
      sizes_in_range =
          sizes_in_range && (r.value_size == 100 || (r.value_size >= 1000 && r.value_size <= 2000));
    } else {
      sizeless_ops_have_no_value = sizeless_ops_have_no_value && r.value_size == 0;
    }
    if (r.op == Op::kSet || r.op == Op::kTouch) {
      ++ttl_carrying;
      ttl60 += r.ttl == 60;
    } else {
      only_writes_carry_ttl = only_writes_carry_ttl && r.ttl == 0;
    }
    auto [it, inserted] = first_seen.emplace(r.key_id, r);
    if (!inserted) {
      per_key_stable = per_key_stable && it->second.key_size == r.key_size;
      if (r.value_size && it->second.value_size) {
        per_key_stable = per_key_stable && it->second.value_size == r.value_size;
      }
    }
    ordered = ordered && (i == 0 || rs[i - 1].time_ns <= r.time_ns);
  }
  CHECK(per_key_stable);
  CHECK(ordered);
  CHECK(sizes_in_range);
  CHECK(sizeless_ops_have_no_value);  // delete and touch
  CHECK(only_writes_carry_ttl);
  CHECK(near_share(ops[Op::kGet], n, 0.7));
  CHECK(near_share(ops[Op::kSet], n, 0.2));
  CHECK(near_share(ops[Op::kDelete], n, 0.05));
  CHECK(near_share(ops[Op::kTouch], n, 0.05));
  CHECK(near_share(fresh, n, 0.1));
  // Sizes and TTLs are per key, so their shares vary with which keys are hot:
  // bounds are looser than for independent draws.
  CHECK(std::fabs(static_cast<double>(small_values) / sized - 0.25) < 0.05);
  CHECK(std::fabs(static_cast<double>(ttl60) / ttl_carrying - 0.75) < 0.05);
  // Poisson arrivals at 1000 req/s: 200 s give or take a few.
  double span_s = (rs.back().time_ns - rs.front().time_ns) / 1e9;
  CHECK(span_s == doctest::Approx(200).epsilon(0.02));
}

TEST_CASE("lognormal sizes have the requested median and stay within bounds") {
  json doc = base_workload();
  doc["value_size"] = json::parse(R"({"dist": "lognormal", "median": 500, "sigma": 0.8,
                                      "min": 50, "max": 4000})");
  doc["one_hit_wonder"] = 1.0;  // every request a new key: independent sizes
  doc["ops"] = json::parse(R"({"set": 1})");
  std::vector<TraceRequest> rs = generate(doc);
  std::vector<uint32_t> sizes;
  for (const TraceRequest& r : rs) sizes.push_back(r.value_size);
  CHECK(*std::min_element(sizes.begin(), sizes.end()) >= 50);
  CHECK(*std::max_element(sizes.begin(), sizes.end()) == 4000);
  std::nth_element(sizes.begin(), sizes.begin() + sizes.size() / 2, sizes.end());
  CHECK(sizes[sizes.size() / 2] == doctest::Approx(500).epsilon(0.02));
  // ln(4000/500)/0.8 = 2.6 sigma: about 0.47% clamp to the max.
  uint64_t at_max = std::count(sizes.begin(), sizes.end(), 4000u);
  CHECK(near_share(at_max, sizes.size(), 0.00467));
}

TEST_CASE("first_access set, uniform arrivals and one-hit wonders") {
  json doc = base_workload();
  doc["first_access"] = "set";
  doc["arrival"] = "uniform";
  doc["rate"] = 4;
  doc["start_time_s"] = 10;
  doc["ops"] = json::parse(R"({"get": 1})");
  std::vector<TraceRequest> rs = generate(doc);
  std::unordered_set<uint64_t> seen;
  bool first_is_set = true;
  bool later_is_get = true;
  bool evenly_spaced = true;
  for (size_t i = 0; i < rs.size(); ++i) {
    bool first = seen.insert(rs[i].key_id).second;
    if (first) first_is_set = first_is_set && rs[i].op == Op::kSet;
    if (!first) later_is_get = later_is_get && rs[i].op == Op::kGet;
    evenly_spaced = evenly_spaced && rs[i].time_ns == 10000000000ULL + i * 250000000ULL;
  }
  CHECK(evenly_spaced);
  CHECK(first_is_set);
  CHECK(later_is_get);
}

TEST_CASE("workload errors name the field, the value and what is allowed") {
  auto err = [](json doc) {
    try {
      parse_workload(doc);
    } catch (const WorkloadError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  json doc = base_workload();
  doc["zipf"] = 1;
  CHECK(err(doc).find("unknown field 'zipf' (allowed: name, description, requests") !=
        std::string::npos);
  doc = base_workload();
  doc.erase("requests");
  CHECK(err(doc).find("missing required field \"requests\"") != std::string::npos);
  doc = base_workload();
  doc["zipf_alpha"] = -1;
  CHECK(err(doc).find("zipf_alpha: -1 is out of range (allowed: 0.0 .. 10.0)") !=
        std::string::npos);
  doc = base_workload();
  doc["ops"] = json::parse(R"({"get": 1, "fetch": 1})");
  CHECK(err(doc).find("unknown operation 'fetch' (allowed: get, gets") != std::string::npos);
  doc = base_workload();
  doc["value_size"] = json::parse(R"({"dist": "pareto"})");
  CHECK(err(doc).find("'pareto' is not allowed (allowed: fixed, uniform, lognormal, buckets)") !=
        std::string::npos);
  doc = base_workload();
  doc["key_size"] = 300;
  CHECK(err(doc).find("key_size: 300 is out of range (allowed: 1 .. 250)") != std::string::npos);
  doc = base_workload();
  doc["ttl"] = json::parse(R"([{"ttl": 5, "weight": 0}])");
  CHECK(err(doc).find("weights must have a positive sum") != std::string::npos);
  doc = base_workload();
  doc["arrival"] = "bursty";
  CHECK(err(doc).find("'bursty' is not allowed (allowed: poisson, uniform)") != std::string::npos);
}

TEST_CASE("the example workloads in traces/workloads parse") {
  for (const char* name :
       {"tiny.json", "zipf-flash-200k.json", "bench-10m.json", "twitter-like-50m.json"}) {
    CAPTURE(name);
    WorkloadSpec s =
        load_workload_file(std::string(MEMEXT_SOURCE_DIR) + "/traces/workloads/" + name);
    CHECK(s.requests > 0);
  }
}

TEST_CASE("the committed tiny sample is what its workload generates") {
  std::string sample = std::string(MEMEXT_SOURCE_DIR) + "/traces/samples/tiny.mxt";
  WorkloadSpec s =
      load_workload_file(std::string(MEMEXT_SOURCE_DIR) + "/traces/workloads/tiny.json");
  WorkloadGenerator gen(s);
  std::vector<TraceRequest> expected;
  TraceRequest r;
  while (gen.next(r)) expected.push_back(r);
  CHECK(read_all(sample) == expected);
}
