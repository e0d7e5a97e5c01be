// core/key_index.h — memcached's assoc (key -> item) as a compact
// open-addressing table of item numbers.
//
// 8 bytes per slot (item number + 32 hash bits), linear probing, backward-
// shift deletion, doubling at 3/4 load, so an item costs 8-16 bytes here.
// Keys themselves live with the items; callers pass an equality predicate.
//
// Thread-safety: one writer at a time (the exclusive side, or the one
// concurrent store the EngineLock's mutator side admits), and any number
// of find() calls beside it. A slot is one 64-bit word, loaded and stored
// atomically, and a new item is published by the release store of its slot,
// so a lookup that sees the slot sees the item's fields. A hit is always
// right; a miss beside a writer may be false, because backward shift moves
// a later entry into a slot the lookup already passed: erase() is a
// seqlock writer (version_ odd while it shifts), and a lookup that missed
// checks with missed_reliably() that no erase overlapped it. replace()
// swaps one item for another in its slot, so the key is never absent.
// insert() beside lookups must not grow the table (has_room_for_insert()).
//
// Key hints (optional): beside each slot, the address of its item's key
// bytes when they live in a heap buffer. A lookup loads the slot and the
// hint together and prefetches the key while the item's record loads, so a
// hit waits for two misses in a row (slot, then record and key at once)
// instead of three (slot, record, then the key the record points to):
// memcached's is two, bucket then item, whose header holds the key. A hint
// is only ever prefetched, never read through, so a stale one (a lookup
// beside a writer) costs a wasted prefetch and nothing else.
#pragma once

#include <atomic>
#include <cassert>
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
  static constexpr uint32_t kDefaultPower = 16;  // memcached's default hashpower

  // `with_key_hints`: keep a key hint beside each slot (see the file
  // comment): 8 more bytes a slot, worth it only when keys are in heap buffers.
  explicit KeyIndex(uint32_t initial_power = kDefaultPower, bool with_key_hints = false)
      : slots_(size_t{1} << initial_power, kEmpty) {
    mask_ = static_cast<uint32_t>(slots_.size() - 1);
    power_ = initial_power;
    if (with_key_hints) hints_.assign(slots_.size(), nullptr);
  }

  // Returns the item whose key matches, or kNoItem. `matches(item)` compares
  // the stored key with the one searched for.
  template <class Matches>
  uint32_t find(uint64_t hash, Matches&& matches) const {
    const uint32_t tag = static_cast<uint32_t>(hash);
    for (uint32_t i = tag & mask_;; i = (i + 1) & mask_) {
      if (!hints_.empty()) __builtin_prefetch(load_hint(i));
      const uint64_t slot = load(i);
      if (item_of(slot) == kNoItem) return kNoItem;
      if (tag_of(slot) == tag && matches(item_of(slot))) return item_of(slot);
    }
  }

  // For a lookup beside a writer: take a version before find(), and after a
  // miss ask whether it stands (no erase overlapped it); if not, look again.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  bool missed_reliably(uint64_t version_before) const {
    std::atomic_thread_fence(std::memory_order_acquire);
    return (version_before & 1) == 0 && version_.load(std::memory_order_relaxed) == version_before;
  }

  // Starts loading the slot `hash` probes first.
  void prefetch_slot(uint64_t hash) const {
    __builtin_prefetch(&slots_[static_cast<uint32_t>(hash) & mask_]);
  }
  // The item in the slot `hash` probes first if its tag matches, else
  // kNoItem: the likely answer of find, for prefetching its record.
  uint32_t first_candidate(uint64_t hash) const {
    const uint64_t slot = load(static_cast<uint32_t>(hash) & mask_);
    return tag_of(slot) == static_cast<uint32_t>(hash) ? item_of(slot) : kNoItem;
  }

  // Whether insert() can place one more item without growing the table.
  bool has_room_for_insert() const { return (count_ + 1) * 4 <= slots_.size() * 3; }

  // `key_hint`: where the item's key bytes are (nullptr: nowhere to prefetch).
  // Precondition: no item with this key is present.
  void insert(uint64_t hash, uint32_t item, const char* key_hint) {
    if (!has_room_for_insert()) grow();
    place(static_cast<uint32_t>(hash), item, key_hint);
    ++count_;
  }

  // Removes `item`, which must be present under `hash`.
  void erase(uint64_t hash, uint32_t item);

  // Puts `new_item` in the slot of `old_item`, which must be present under
  // `hash` (the two items share the key); `key_hint` is the new item's.
  void replace(uint64_t hash, uint32_t old_item, uint32_t new_item, const char* key_hint);

  // The key hint kept beside `item`'s slot (nullptr without hints);
  // `item` must be present under `hash`. For tests: a hint left behind by a
  // move would cost nothing but the prefetch, so only a test can see it.
  const char* key_hint_of(uint64_t hash, uint32_t item) const {
    return hints_.empty() ? nullptr : hints_[slot_index_of(hash, item)];
  }

  uint32_t power() const { return power_; }
  // memcached's hash_bytes: the slots, 8 bytes each, as its bucket pointers.
  uint64_t bytes() const { return slots_.capacity() * sizeof(uint64_t); }
  // The key hints' bytes (0 without): not memcached's, so not in hash_bytes.
  uint64_t hint_bytes() const { return hints_.capacity() * sizeof(const char*); }
  uint64_t size() const { return count_; }

 private:
  // A slot: the item number in the low half, the hash tag in the high half.
  static constexpr uint64_t kEmpty = kNoItem;
  static uint32_t item_of(uint64_t slot) { return static_cast<uint32_t>(slot); }
  static uint32_t tag_of(uint64_t slot) { return static_cast<uint32_t>(slot >> 32); }
  static uint64_t make_slot(uint32_t item, uint32_t tag) { return uint64_t{tag} << 32 | item; }
  uint64_t load(uint32_t i) const {
    return std::atomic_ref<const uint64_t>(slots_[i]).load(std::memory_order_acquire);
  }
  void store(uint32_t i, uint64_t slot) {
    std::atomic_ref<uint64_t>(slots_[i]).store(slot, std::memory_order_release);
  }
  // Relaxed: a hint orders nothing (it is only prefetched).
  const char* load_hint(uint32_t i) const {
    return std::atomic_ref<const char* const>(hints_[i]).load(std::memory_order_relaxed);
  }
  void store_hint(uint32_t i, const char* hint) {
    if (!hints_.empty())
      std::atomic_ref<const char*>(hints_[i]).store(hint, std::memory_order_relaxed);
  }

  // The slot holding `item`. Precondition: `item` is present under `hash`.
  uint32_t slot_index_of(uint64_t hash, uint32_t item) const {
    uint32_t i = static_cast<uint32_t>(hash) & mask_;
    while (item_of(slots_[i]) != item) {
      assert(item_of(slots_[i]) != kNoItem);  // Precondition: item is present
      i = (i + 1) & mask_;
    }
    return i;
  }

  void place(uint32_t tag, uint32_t item, const char* key_hint) {
    uint32_t i = tag & mask_;
    while (item_of(slots_[i]) != kNoItem) i = (i + 1) & mask_;
    store_hint(i, key_hint);
    store(i, make_slot(item, tag));
  }
  void grow();

  // Every lookup reads slots_ and mask_; every insert and erase writes
  // count_ and version_: a line apart, so sets on one core do not evict the
  // lookups' line from another's cache.
  std::vector<uint64_t> slots_;
  std::vector<const char*> hints_;  // empty without key hints, else one per slot
  uint32_t mask_ = 0;
  uint32_t power_ = 0;
  alignas(64) uint64_t count_ = 0;
  std::atomic<uint64_t> version_{0};
};

}  // namespace memext::core
