// server/src/prefix_stats.h — memcached's per-prefix statistics (`stats
// detail on|off|dump`, -D): for keys holding the prefix delimiter, the
// gets, hits, sets and deletes of each prefix (the key up to the first
// delimiter).
//
// The dump lists prefixes in memcached's order: 256 buckets by the
// MurmurHash3 (x86, 32-bit, seed 0) of the prefix, newest first within a
// bucket. Thread-safe (one mutex; only taken while detail is on or for the
// commands themselves).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>

namespace memext::server {

uint32_t murmur3_32(std::string_view data, uint32_t seed = 0);

class PrefixStats {
 public:
  PrefixStats(char delimiter, bool enabled) : delimiter_(delimiter), enabled_(enabled) {}

  char delimiter() const { return delimiter_; }
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  void set_enabled(bool on) { enabled_.store(on, std::memory_order_relaxed); }

  // Each records only while enabled and only keys with the delimiter.
  void record_get(std::string_view key, bool hit);
  void record_set(std::string_view key);
  void record_delete(std::string_view key);

  // "PREFIX p get N hit N set N del N\r\n" lines, then "END\r\n".
  std::string dump() const;
  void clear();

 private:
  struct Entry {
    std::string prefix;
    uint64_t gets = 0, hits = 0, sets = 0, deletes = 0;
  };
  static constexpr size_t kBuckets = 256;
  Entry* find_locked(std::string_view key);

  const char delimiter_;
  std::atomic<bool> enabled_;
  mutable std::mutex mutex_;
  std::array<std::list<Entry>, kBuckets> buckets_;
};

}  // namespace memext::server
