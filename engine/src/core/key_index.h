// core/key_index.h — memcached's assoc (key -> item) as a compact
// open-addressing table of item numbers.
//
// 8 bytes per slot (item number + 32 hash bits), linear probing, backward-
// shift deletion, doubling at 3/4 load, so an item costs 8-16 bytes here.
// Keys themselves live with the items; callers pass an equality predicate.
// Not thread-safe: find() may run on many threads while nothing writes.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace memext::core {

inline constexpr uint32_t kNoItem = UINT32_MAX;

// 64-bit multiply-xorshift hash over 8-byte words; keys are at most 250 bytes.
inline uint64_t hash_key(std::string_view key) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = 0xC2B2AE3D27D4EB4Full ^ (key.size() * kMul);
  const char* p = key.data();
  size_t n = key.size();
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = (h ^ (word * kMul)) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t word = 0;
    std::memcpy(&word, p, n);
    h = (h ^ (word * kMul)) * 0xFF51AFD7ED558CCDull;
  }
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 33;
  return h;
}

class KeyIndex {
 public:
  explicit KeyIndex(uint32_t initial_power = 16) : slots_(size_t{1} << initial_power) {
    mask_ = static_cast<uint32_t>(slots_.size() - 1);
    power_ = initial_power;
  }

  // Returns the item whose key matches, or kNoItem. `matches(item)` compares
  // the stored key with the one searched for.
  template <class Matches>
  uint32_t find(uint64_t hash, Matches&& matches) const {
    const uint32_t tag = static_cast<uint32_t>(hash);
    for (uint32_t i = tag & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.item == kNoItem) return kNoItem;
      if (slot.tag == tag && matches(slot.item)) return slot.item;
    }
  }

  // Starts loading the slot `hash` probes first.
  void prefetch_slot(uint64_t hash) const {
    __builtin_prefetch(&slots_[static_cast<uint32_t>(hash) & mask_]);
  }
  // The item in the slot `hash` probes first if its tag matches, else
  // kNoItem: the likely answer of find, for prefetching its record.
  uint32_t first_candidate(uint64_t hash) const {
    const Slot& slot = slots_[static_cast<uint32_t>(hash) & mask_];
    return slot.tag == static_cast<uint32_t>(hash) ? slot.item : kNoItem;
  }

  // Precondition: no item with this key is present.
  void insert(uint64_t hash, uint32_t item) {
    if ((count_ + 1) * 4 > slots_.size() * 3) grow();
    place(static_cast<uint32_t>(hash), item);
    ++count_;
  }

  // Removes `item`, which must be present under `hash`.
  void erase(uint64_t hash, uint32_t item);

  uint32_t power() const { return power_; }
  uint64_t bytes() const { return slots_.capacity() * sizeof(Slot); }
  uint64_t size() const { return count_; }

 private:
  struct Slot {
    uint32_t item = kNoItem;
    uint32_t tag = 0;
  };

  void place(uint32_t tag, uint32_t item) {
    uint32_t i = tag & mask_;
    while (slots_[i].item != kNoItem) i = (i + 1) & mask_;
    slots_[i] = Slot{item, tag};
  }
  void grow();

  // Every lookup reads slots_ and mask_; every insert and erase writes
  // count_: a line apart, so sets on one core do not evict the lookups'
  // line from another's cache.
  std::vector<Slot> slots_;
  uint32_t mask_ = 0;
  uint32_t power_ = 0;
  alignas(64) uint64_t count_ = 0;
};

}  // namespace memext::core
