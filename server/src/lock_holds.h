// server/src/lock_holds.h — how long each kind of EngineLock user waits for
// the exclusive side and then holds it: the figures that say where a get's
// tail latency under compaction comes from (issue 12, engine/README.md's
// "Tail latency"). ExclusiveSection is the server's guard for the exclusive
// side at the hot and background call sites; it records into the process's
// LockHoldStats only in a build configured with -DMEMEXT_LOCK_HOLD_STATS=ON
// (two clock reads per section), and memext-server then prints the table to
// stderr on exit. In other builds it is a plain lock guard.
//
// Thread-safety: LockHoldStats::record may run on any thread at once
// (relaxed atomics; a report read while records run is approximate).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "memext/engine_lock.h"

namespace memext::server {

enum class Holder : uint8_t {
  kSet,              // a store command (set/add/replace/append/prepend/cas)
  kGet,              // a get that declined the shared side, with its flash read plan
  kGetShared,        // the shared side of a get (its wait only matters)
  kFlashFinish,      // a worker finishing its completed flash reads
  kFlusher,          // ExtStore::flusher_step
  kCompactorBegin,   // ExtStore::compactor_begin
  kCompactorFinish,  // ExtStore::compactor_finish: the region's rescues
  kLruMaintainer,
  kCrawler,
  kClock,  // the one-second clock and write-error check
  kRebalancer,
  kSetConcurrent,        // a store beside the shared gets (EngineLock's mutator side)
  kLruMaintainerBeside,  // the maintainer's pass beside the shared gets (mutator side)
  kSetWarm,              // a store's lookup warmed under the shared side (Engine::warm_lookup)
};
inline constexpr size_t kHolderKinds = 14;

std::string_view holder_name(Holder kind);

// Wait and hold time distributions per Holder: for each, 4 buckets per power
// of two of nanoseconds (quantiles are a bucket's upper bound, within 19%),
// the count, the sum and the largest.
class LockHoldStats {
 public:
  void record(Holder kind, uint64_t wait_ns, uint64_t hold_ns);

  struct Summary {
    uint64_t count = 0;
    uint64_t wait_total_ns = 0, wait_p99_ns = 0, wait_max_ns = 0;
    uint64_t hold_total_ns = 0, hold_p50_ns = 0, hold_p99_ns = 0, hold_p999_ns = 0, hold_max_ns = 0;
  };
  Summary summary(Holder kind) const;
  // One line per kind that was recorded: count, wait p99/max/total, hold
  // p50/p99/p99.9/max/total; empty when nothing was.
  std::string report() const;

 private:
  static constexpr size_t kBuckets = 4 * 64;
  struct Distribution {
    std::array<std::atomic<uint64_t>, kBuckets> buckets{};
    std::atomic<uint64_t> total_ns{0};
    std::atomic<uint64_t> max_ns{0};
    void add(uint64_t ns);
    // The upper bound of the bucket holding quantile q of `count` values.
    uint64_t quantile(double q, uint64_t count) const;
  };
  struct Kind {
    std::atomic<uint64_t> count{0};
    Distribution wait;
    Distribution hold;
  };
  std::array<Kind, kHolderKinds> kinds_{};
};

// The process's recorder (memext-server's; tests make their own).
LockHoldStats& lock_hold_stats();

// True in a -DMEMEXT_LOCK_HOLD_STATS=ON build.
constexpr bool lock_hold_stats_enabled() {
#ifdef MEMEXT_LOCK_HOLD_STATS
  return true;
#else
  return false;
#endif
}

enum class LockSide { kShared, kMutator, kExclusive };

// Holds one side of `lock` for its lifetime, timing the wait and the hold
// as `kind` into `stats` when lock_hold_stats_enabled().
template <LockSide Side>
class TimedSection {
 public:
  TimedSection(EngineLock& lock, Holder kind, LockHoldStats& stats = lock_hold_stats())
      : lock_(lock) {
    if constexpr (lock_hold_stats_enabled()) {
      kind_ = kind;
      stats_ = &stats;
      requested_ = std::chrono::steady_clock::now();
    }
    if constexpr (Side == LockSide::kShared) {
      lock_.lock_shared();
    } else if constexpr (Side == LockSide::kMutator) {
      lock_.lock_mutator();
    } else {
      lock_.lock();
    }
    if constexpr (lock_hold_stats_enabled()) acquired_ = std::chrono::steady_clock::now();
  }
  ~TimedSection() {
    if constexpr (lock_hold_stats_enabled()) released_ = std::chrono::steady_clock::now();
    if constexpr (Side == LockSide::kShared) {
      lock_.unlock_shared();
    } else if constexpr (Side == LockSide::kMutator) {
      lock_.unlock_mutator();
    } else {
      lock_.unlock();
    }
    if constexpr (lock_hold_stats_enabled()) {
      stats_->record(kind_, nanos(acquired_ - requested_), nanos(released_ - acquired_));
    }
  }
  TimedSection(const TimedSection&) = delete;
  TimedSection& operator=(const TimedSection&) = delete;

 private:
  static uint64_t nanos(std::chrono::steady_clock::duration d) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  }
  EngineLock& lock_;
  Holder kind_ = Holder::kSet;
  LockHoldStats* stats_ = nullptr;
  std::chrono::steady_clock::time_point requested_, acquired_, released_;
};
using ExclusiveSection = TimedSection<LockSide::kExclusive>;
using MutatorSection = TimedSection<LockSide::kMutator>;
using SharedSection = TimedSection<LockSide::kShared>;

}  // namespace memext::server
