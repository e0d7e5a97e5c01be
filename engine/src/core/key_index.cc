#include "core/key_index.h"

namespace memext::core {

void KeyIndex::erase(uint64_t hash, uint32_t item) {
  uint32_t hole = static_cast<uint32_t>(hash) & mask_;
  while (slots_[hole].item != item) hole = (hole + 1) & mask_;
  // Backward-shift: pull later entries of the probe run into the hole so
  // lookups never stop early at a gap.
  uint32_t next = hole;
  for (;;) {
    next = (next + 1) & mask_;
    const Slot& candidate = slots_[next];
    if (candidate.item == kNoItem) break;
    const uint32_t home = candidate.tag & mask_;
    const bool home_in_gap =
        (hole <= next) ? (home <= hole || home > next) : (home <= hole && home > next);
    if (home_in_gap) {
      slots_[hole] = candidate;
      hole = next;
    }
  }
  slots_[hole] = Slot{};
  --count_;
}

void KeyIndex::grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, Slot{});
  mask_ = static_cast<uint32_t>(slots_.size() - 1);
  ++power_;
  for (const Slot& slot : old) {
    if (slot.item != kNoItem) place(slot.tag, slot.item);
  }
}

}  // namespace memext::core
