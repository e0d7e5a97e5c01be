#include "gen/gen_trace.h"

#include <algorithm>
#include <cmath>

#include "traces/trace_key_hash.h"
#include "traces/trace_native.h"

namespace memext {
namespace {

// Salts that give each per-key attribute its own random stream.
constexpr uint64_t kKeySizeSalt = 0x6b65795f73697a65ULL;
constexpr uint64_t kValueSizeSalt = 0x76616c75655f737aULL;
constexpr uint64_t kTtlSalt = 0x74746c5f6d697821ULL;

// Ops whose request carries the key's TTL (memcached's exptime argument).
bool carries_ttl(Op op) {
  switch (op) {
    case Op::kSet:
    case Op::kAdd:
    case Op::kReplace:
    case Op::kCas:
    case Op::kTouch:
    case Op::kGat:
    case Op::kGats:
      return true;
    default:
      return false;
  }
}

// Ops whose trace record has no value size.
bool sizeless(Op op) {
  return op == Op::kDelete || op == Op::kTouch || op == Op::kIncr || op == Op::kDecr;
}

}  // namespace

WorkloadGenerator::WorkloadGenerator(WorkloadSpec spec)
    : spec_(std::move(spec)),
      rng_(spec_.seed),
      zipf_(spec_.keys, spec_.zipf_alpha),
      next_fresh_id_(spec_.keys),
      clock_ns_(spec_.start_time_s * 1e9) {
  if (spec_.first_access_is_set) seen_.assign((spec_.keys + 63) / 64, 0);
}

uint32_t WorkloadGenerator::key_size_of(uint64_t key_id) const {
  SplitMix64 sm(mix64(spec_.seed ^ kKeySizeSalt) ^ key_id);
  uint64_t a = sm.next();
  return spec_.key_size.sample(a, sm.next());
}

uint32_t WorkloadGenerator::value_size_of(uint64_t key_id) const {
  SplitMix64 sm(mix64(spec_.seed ^ kValueSizeSalt) ^ key_id);
  uint64_t a = sm.next();
  return spec_.value_size.sample(a, sm.next());
}

int64_t WorkloadGenerator::ttl_of(uint64_t key_id) const {
  if (spec_.ttls.size() == 1) return spec_.ttls[0].ttl;
  SplitMix64 sm(mix64(spec_.seed ^ kTtlSalt) ^ key_id);
  double u = to_unit(sm.next());
  const auto& cum = spec_.ttl_cumulative;
  size_t i = std::upper_bound(cum.begin(), cum.end(), u) - cum.begin();
  return spec_.ttls[std::min(i, spec_.ttls.size() - 1)].ttl;
}

Op WorkloadGenerator::pick_op() {
  if (spec_.ops.size() == 1) return spec_.ops[0].first;
  double u = to_unit(rng_.next());
  for (const auto& [op, cum] : spec_.ops) {
    if (u < cum) return op;
  }
  return spec_.ops.back().first;
}

bool WorkloadGenerator::next(TraceRequest& out) {
  if (produced_ == spec_.requests) return false;
  if (spec_.poisson_arrivals) {
    if (produced_ > 0) clock_ns_ += -std::log(to_unit_open0(rng_.next())) / spec_.rate * 1e9;
  } else {
    clock_ns_ = spec_.start_time_s * 1e9 + static_cast<double>(produced_) / spec_.rate * 1e9;
  }
  out.time_ns = static_cast<uint64_t>(clock_ns_);

  bool first = false;
  if (spec_.one_hit_wonder > 0 && to_unit(rng_.next()) < spec_.one_hit_wonder) {
    out.key_id = next_fresh_id_++;
    first = true;
  } else {
    out.key_id = zipf_.sample(rng_) - 1;
    if (!seen_.empty()) {
      uint64_t& word = seen_[out.key_id / 64];
      uint64_t bit = uint64_t{1} << (out.key_id % 64);
      first = (word & bit) == 0;
      word |= bit;
    }
  }
  out.op = first && spec_.first_access_is_set ? Op::kSet : pick_op();
  out.key_size = key_size_of(out.key_id);
  out.value_size = sizeless(out.op) ? 0 : value_size_of(out.key_id);
  out.ttl = carries_ttl(out.op) ? ttl_of(out.key_id) : 0;
  out.op_count = 1;
  out.next_access = kNextAccessUnknown;
  ++produced_;
  return true;
}

GenerateResult generate_trace_file(const WorkloadSpec& spec, const std::string& path,
                                   int zstd_level) {
  NativeWriterOptions options;
  options.expected_records = spec.requests;
  options.zstd_level = zstd_level;
  NativeTraceWriter writer(path, options);
  WorkloadGenerator gen(spec);
  const bool count = spec.keys <= kCountDistinctMaxKeys;
  std::vector<uint64_t> requested(count ? (spec.keys + 63) / 64 : 0, 0);
  uint64_t distinct = 0;
  GenerateResult result;
  TraceRequest r;
  while (gen.next(r)) {
    writer.write(r);
    if (!count) continue;
    if (r.key_id >= spec.keys) {
      ++distinct;
    } else {
      uint64_t& word = requested[r.key_id / 64];
      uint64_t bit = uint64_t{1} << (r.key_id % 64);
      distinct += (word & bit) == 0;
      word |= bit;
    }
  }
  writer.close();
  if (count) result.distinct_keys = distinct;
  result.requests = gen.produced();
  return result;
}

}  // namespace memext
