#include "lock_holds.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstdio>

namespace memext::server {

namespace {

constexpr std::array<std::string_view, kHolderKinds> kNames = {"set",
                                                               "get",
                                                               "get_shared",
                                                               "flash_finish",
                                                               "flusher",
                                                               "compactor_begin",
                                                               "compactor_finish",
                                                               "lru_maintainer",
                                                               "crawler",
                                                               "clock",
                                                               "rebalancer",
                                                               "set_concurrent",
                                                               "lru_maintainer_beside",
                                                               "set_warm"};

// Bucket b covers [lower(b), lower(b + 1)): below 4 ns one bucket per value,
// above that 4 per power of two.
size_t bucket_of(uint64_t ns) {
  if (ns < 4) return static_cast<size_t>(ns);
  const unsigned log = 63 - static_cast<unsigned>(std::countl_zero(ns));
  const uint64_t quarter = (ns >> (log - 2)) & 3;
  return 4 * (log - 1) + quarter;
}

uint64_t bucket_upper(size_t b) {
  if (b < 4) return b;
  const unsigned log = static_cast<unsigned>(b / 4) + 1;
  const uint64_t quarter = b % 4;
  // The largest value of the bucket: the next bucket's lower bound minus 1.
  return (uint64_t{1} << log) + ((quarter + 1) << (log - 2)) - 1;
}

double ms(uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

}  // namespace

std::string_view holder_name(Holder kind) {
  return kNames[static_cast<size_t>(kind)];
}

void LockHoldStats::Distribution::add(uint64_t ns) {
  buckets[std::min(bucket_of(ns), kBuckets - 1)].fetch_add(1, std::memory_order_relaxed);
  total_ns.fetch_add(ns, std::memory_order_relaxed);
  uint64_t seen = max_ns.load(std::memory_order_relaxed);
  while (ns > seen && !max_ns.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
  }
}

uint64_t LockHoldStats::Distribution::quantile(double q, uint64_t count) const {
  if (count == 0) return 0;
  const auto rank = static_cast<uint64_t>(q * static_cast<double>(count - 1));
  uint64_t seen = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    seen += buckets[b].load(std::memory_order_relaxed);
    if (seen > rank) return std::min(bucket_upper(b), max_ns.load(std::memory_order_relaxed));
  }
  return max_ns.load(std::memory_order_relaxed);
}

void LockHoldStats::record(Holder kind, uint64_t wait_ns, uint64_t hold_ns) {
  assert(static_cast<size_t>(kind) < kHolderKinds);
  Kind& k = kinds_[static_cast<size_t>(kind)];
  k.count.fetch_add(1, std::memory_order_relaxed);
  k.wait.add(wait_ns);
  k.hold.add(hold_ns);
}

LockHoldStats::Summary LockHoldStats::summary(Holder kind) const {
  const Kind& k = kinds_[static_cast<size_t>(kind)];
  Summary s;
  s.count = k.count.load(std::memory_order_relaxed);
  s.wait_total_ns = k.wait.total_ns.load(std::memory_order_relaxed);
  s.wait_p99_ns = k.wait.quantile(0.99, s.count);
  s.wait_max_ns = k.wait.max_ns.load(std::memory_order_relaxed);
  s.hold_total_ns = k.hold.total_ns.load(std::memory_order_relaxed);
  s.hold_p50_ns = k.hold.quantile(0.5, s.count);
  s.hold_p99_ns = k.hold.quantile(0.99, s.count);
  s.hold_p999_ns = k.hold.quantile(0.999, s.count);
  s.hold_max_ns = k.hold.max_ns.load(std::memory_order_relaxed);
  return s;
}

std::string LockHoldStats::report() const {
  std::string out;
  char line[256];
  for (size_t i = 0; i < kHolderKinds; ++i) {
    const Summary s = summary(static_cast<Holder>(i));
    if (s.count == 0) continue;
    if (out.empty()) {
      out =
          "EngineLock by holder (ms): count | wait p99 max total | hold p50 p99 p99.9 max "
          "total\n";
    }
    std::snprintf(line, sizeof line,
                  "  %-16s %9llu | %7.3f %8.3f %9.1f | %7.4f %7.3f %7.3f %8.3f %9.1f\n",
                  kNames[i].data(), static_cast<unsigned long long>(s.count), ms(s.wait_p99_ns),
                  ms(s.wait_max_ns), ms(s.wait_total_ns), ms(s.hold_p50_ns), ms(s.hold_p99_ns),
                  ms(s.hold_p999_ns), ms(s.hold_max_ns), ms(s.hold_total_ns));
    out += line;
  }
  return out;
}

LockHoldStats& lock_hold_stats() {
  static LockHoldStats stats;
  return stats;
}

}  // namespace memext::server
