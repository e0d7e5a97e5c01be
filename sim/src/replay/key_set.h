// The set of key ids a replay has seen, for the compulsory-miss count (the
// first request of each key that is a get misses whatever the cache size).
// Open addressing with linear probing over 8-byte slots: a trace with tens of
// millions of keys costs 8-16 bytes per key, far below a node-based set.
#pragma once

#include <cstdint>
#include <vector>

#include "traces/trace_key_hash.h"

namespace memext {

class KeySet {
 public:
  // True when key_id was not in the set (and adds it).
  bool insert(uint64_t key_id) {
    if (key_id == 0) {
      const bool fresh = !has_zero_;
      has_zero_ = true;
      return fresh;
    }
    if ((size_ + 1) * 10 > slots_.size() * 7) grow();
    if (place(key_id)) {
      ++size_;
      return true;
    }
    return false;
  }
  uint64_t size() const { return size_ + (has_zero_ ? 1 : 0); }

 private:
  // 0 marks an empty slot; key 0 is kept aside in has_zero_.
  bool place(uint64_t key_id) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = mix64(key_id) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == key_id) return false;
      if (slots_[i] == 0) {
        slots_[i] = key_id;
        return true;
      }
    }
  }
  void grow() {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
    for (uint64_t k : old) {
      if (k != 0) place(k);
    }
  }

  std::vector<uint64_t> slots_;
  uint64_t size_ = 0;
  bool has_zero_ = false;
};

}  // namespace memext
