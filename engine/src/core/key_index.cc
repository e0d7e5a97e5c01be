#include "core/key_index.h"

namespace memext::core {

void KeyIndex::erase(uint64_t hash, uint32_t item) {
  uint32_t hole = slot_index_of(hash, item);
  // Odd while entries move (see the file comment).
  const uint64_t version = version_.load(std::memory_order_relaxed);
  version_.store(version + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  // Backward-shift: pull later entries of the probe run into the hole so
  // lookups never stop early at a gap.
  uint32_t next = hole;
  for (;;) {
    next = (next + 1) & mask_;
    const uint64_t candidate = slots_[next];
    if (item_of(candidate) == kNoItem) break;
    const uint32_t home = tag_of(candidate) & mask_;
    const bool home_in_gap =
        (hole <= next) ? (home <= hole || home > next) : (home <= hole && home > next);
    if (home_in_gap) {
      if (!hints_.empty()) store_hint(hole, hints_[next]);
      store(hole, candidate);
      hole = next;
    }
  }
  store(hole, kEmpty);
  version_.store(version + 2, std::memory_order_release);
  --count_;
}

void KeyIndex::replace(uint64_t hash, uint32_t old_item, uint32_t new_item, const char* key_hint) {
  const uint32_t i = slot_index_of(hash, old_item);
  store_hint(i, key_hint);
  store(i, make_slot(new_item, tag_of(slots_[i])));
}

void KeyIndex::grow() {
  std::vector<uint64_t> old;
  std::vector<const char*> old_hints;
  old.swap(slots_);
  old_hints.swap(hints_);
  slots_.assign(old.size() * 2, kEmpty);
  if (!old_hints.empty()) hints_.assign(slots_.size(), nullptr);
  mask_ = static_cast<uint32_t>(slots_.size() - 1);
  ++power_;
  for (size_t i = 0; i < old.size(); ++i) {
    if (item_of(old[i]) == kNoItem) continue;
    place(tag_of(old[i]), item_of(old[i]), old_hints.empty() ? nullptr : old_hints[i]);
  }
}

}  // namespace memext::core
