#include "core/slab_allocator.h"

#include <algorithm>
#include <cassert>

namespace memext::core {

SlabAllocator::SlabAllocator(const EngineConfig& config, const SlabClassTable& classes)
    : classes_(classes),
      mem_limit_(config.memory_limit),
      release_pages_(config.slab_reassign),
      state_(kMaxSlabClasses),
      page_lists_(kMaxSlabClasses),
      free_lists_(kMaxSlabClasses) {
  // memcached's slabs_preallocate (-L, -e): a page for every class from the
  // preallocated memory, which check_config made sure holds them.
  if (config.slab_prealloc) {
    assert(mem_limit_ == 0 || classes.prealloc_bytes() <= mem_limit_);
    for (uint32_t id = 1; id <= classes.largest(); ++id) {
      mem_malloced_ += classes.page_bytes(id);
      assign_page(malloc_page(), id);
    }
  }
  // memcached with extstore or -e calls slabs_prefill_global(): the rest
  // of -m is malloced up front into the global page pool, which the classes
  // (and the extstore slab automover) then draw from. Preallocated memory
  // runs out at -m; plain malloc may overshoot it by part of a page.
  if (config.ext.enabled() || config.slab_prefill_global) {
    const uint64_t page = classes.slab_page_size();
    while (mem_malloced_ < mem_limit_ &&
           (!config.slab_prealloc || mem_malloced_ + page <= mem_limit_)) {
      mem_malloced_ += page;
      pool_.push_back(malloc_page());
    }
    mem_limit_reached_ = true;  // as slabs_prefill_global leaves it
  }
}

SlabAllocator::~SlabAllocator() = default;

uint32_t SlabAllocator::malloc_page() {
  if (!spare_ids_.empty()) {
    const uint32_t page = spare_ids_.back();
    spare_ids_.pop_back();
    return page;
  }
  pages_.emplace_back();
  return static_cast<uint32_t>(pages_.size() - 1);
}

void SlabAllocator::assign_page(uint32_t page, uint32_t id) {
  const uint32_t perslab = classes_[id].perslab;
  Page& p = pages_[page];
  p.clsid = static_cast<uint8_t>(id);
  p.slots = std::make_unique<uint32_t[]>(perslab);
  std::fill_n(p.slots.get(), perslab, kFreeSlot);
  std::vector<ChunkRef>& free_list = free_lists_[id];
  for (uint32_t slot = 0; slot < perslab; ++slot) free_list.push_back({page, slot});
  page_lists_[id].push_back(page);
  state_[id].free_chunks += perslab;
  ++state_[id].pages;
}

bool SlabAllocator::new_page(uint32_t id) {
  const ClassState& cls = state_[id];
  const uint64_t len = classes_.page_bytes(id);
  if (mem_limit_ != 0 && mem_malloced_ + len > mem_limit_ && cls.pages > 0 && pool_.empty()) {
    mem_limit_reached_ = true;
    return false;
  }
  uint32_t page;
  if (!pool_.empty()) {
    page = pool_.back();
    pool_.pop_back();
  } else {
    mem_malloced_ += len;
    page = malloc_page();
  }
  assign_page(page, id);
  return true;
}

ChunkRef SlabAllocator::pop_free(uint32_t id) {
  std::vector<ChunkRef>& free_list = free_lists_[id];
  // Entries of chunks the page mover cut out of the list stay behind
  // (claimed) until its move ends; they are skipped here.
  while (!free_list.empty()) {
    const ChunkRef ref = free_list.back();
    free_list.pop_back();
    if (owner(ref) == kFreeSlot) {
      --state_[id].free_chunks;
      return ref;
    }
  }
  assert(state_[id].free_chunks == 0);
  return {};
}

ChunkRef SlabAllocator::alloc(uint32_t id, uint32_t requested, uint32_t owner) {
  assert(owner < kClaimedSlot);
  ClassState& cls = state_[id];
  if (cls.free_chunks == 0 && !new_page(id)) return {};
  const ChunkRef ref = pop_free(id);
  set_owner(ref, owner);
  ++cls.used_chunks;
  cls.requested += requested;
  return ref;
}

ChunkRef SlabAllocator::alloc_for_move(uint32_t owner) {
  const uint32_t id = move_.src;
  ClassState& cls = state_[id];
  while (cls.free_chunks > 0) {
    const ChunkRef ref = pop_free(id);
    if (ref.page == move_.page) {
      // memcached's slab_rebalance_alloc: a chunk of the page being emptied
      // is of no use for a rescue; the mover keeps it.
      set_owner(ref, kClaimedSlot);
      ++move_.counts.slab_reassign_inline_reclaim;
      continue;
    }
    set_owner(ref, owner);
    ++cls.used_chunks;
    return ref;
  }
  return {};
}

void SlabAllocator::free(uint32_t id, ChunkRef ref, uint32_t requested) {
  assert(pages_[ref.page].clsid == id && owner(ref) < kClaimedSlot);
  ClassState& cls = state_[id];
  set_owner(ref, kFreeSlot);
  free_lists_[id].push_back(ref);
  --cls.used_chunks;
  ++cls.free_chunks;
  cls.requested -= requested;
}

void SlabAllocator::claim_free(ChunkRef ref) {
  assert(owner(ref) == kFreeSlot);
  set_owner(ref, kClaimedSlot);
  --state_[pages_[ref.page].clsid].free_chunks;
}

void SlabAllocator::claim_used(ChunkRef ref, uint32_t requested) {
  assert(owner(ref) < kClaimedSlot);
  ClassState& cls = state_[pages_[ref.page].clsid];
  set_owner(ref, kClaimedSlot);
  --cls.used_chunks;
  cls.requested -= requested;
}

SlabAllocator::Reassign SlabAllocator::request_move(int32_t src, int32_t dst) {
  const int32_t largest = classes_.largest();
  if (move_.phase != Move::Phase::kIdle) return Reassign::kRunning;
  if (src == dst) return Reassign::kSrcDstSame;
  if (src < 0 || src > largest || dst < 0 || dst > largest) return Reassign::kBadClass;
  const uint64_t pages = src == 0 ? pool_.size() : state_[src].pages;
  if (pages < 2) return Reassign::kNoSpare;
  move_ = Move{};
  move_.phase = Move::Phase::kRequested;
  move_.src = static_cast<uint32_t>(src);
  move_.dst = static_cast<uint32_t>(dst);
  return Reassign::kOk;
}

bool SlabAllocator::start_move() {
  assert(move_.phase == Move::Phase::kRequested);
  const uint64_t pages = move_.src == 0 ? pool_.size() : state_[move_.src].pages;
  if (pages < 2) {
    move_ = Move{};
    return false;
  }
  // memcached always empties the source's first page: most likely the one
  // with the oldest items. A pool page holds nothing to walk.
  move_.page = move_.src == 0 ? pool_.front() : page_lists_[move_.src].front();
  move_.phase = Move::Phase::kRunning;
  return true;
}

void SlabAllocator::finish_move() {
  assert(move_.phase == Move::Phase::kRunning);
  const uint32_t page = move_.page;
  if (move_.src == 0) {
    pool_.erase(pool_.begin());
  } else {
    std::vector<uint32_t>& list = page_lists_[move_.src];
    assert(list.front() == page);
    list.erase(list.begin());
    --state_[move_.src].pages;
    std::erase_if(free_lists_[move_.src], [page](const ChunkRef& ref) { return ref.page == page; });
#ifndef NDEBUG
    const uint32_t perslab = classes_[move_.src].perslab;
    for (uint32_t slot = 0; slot < perslab; ++slot) assert(owner({page, slot}) == kClaimedSlot);
#endif
    pages_[page].slots.reset();
  }
  if (move_.dst == 0) {
    pages_[page].clsid = 0;
    pool_.push_back(page);
    release_pool_pages();
  } else {
    assign_page(page, move_.dst);
  }
  const MoveCounters& c = move_.counts;
  ++moves_.slabs_moved;
  moves_.slab_reassign_rescues += c.slab_reassign_rescues;
  moves_.slab_reassign_chunk_rescues += c.slab_reassign_chunk_rescues;
  moves_.slab_reassign_evictions_nomem += c.slab_reassign_evictions_nomem;
  moves_.slab_reassign_inline_reclaim += c.slab_reassign_inline_reclaim;
  moves_.slab_reassign_busy_deletes += c.slab_reassign_busy_deletes;
  move_ = Move{};
}

int32_t SlabAllocator::pick_any_source(uint32_t dst) {
  const uint32_t largest = classes_.largest();
  for (uint32_t tries = largest; tries > 0; --tries) {
    pick_any_cursor_ = pick_any_cursor_ >= largest ? 1 : pick_any_cursor_ + 1;
    if (pick_any_cursor_ != dst && state_[pick_any_cursor_].pages > 1) {
      return static_cast<int32_t>(pick_any_cursor_);
    }
  }
  return -1;
}

void SlabAllocator::set_mem_limit(uint64_t bytes) {
  mem_limit_ = bytes;
  mem_limit_reached_ = false;
  release_pool_pages();
}

void SlabAllocator::release_pool_pages() {
  // memcached's memory_release: pool pages above the limit are freed (only
  // with slab_reassign, which is what brings pages back to the pool). A move
  // out of the pool starts and finishes in one rebalancer step, so no pool
  // page is ever in the middle of a move here.
  if (!release_pages_ || mem_limit_ == 0) return;
  while (mem_malloced_ > mem_limit_ && !pool_.empty()) {
    const uint32_t page = pool_.back();
    pool_.pop_back();
    spare_ids_.push_back(page);
    mem_malloced_ -= classes_.slab_page_size();
  }
}

uint64_t SlabAllocator::bookkeeping_bytes() const {
  uint64_t bytes = pages_.capacity() * sizeof(Page) + pool_.capacity() * sizeof(uint32_t);
  for (uint32_t id = 1; id <= classes_.largest(); ++id) {
    bytes += state_[id].pages * classes_[id].perslab * sizeof(uint32_t);
    bytes += free_lists_[id].capacity() * sizeof(ChunkRef);
    bytes += page_lists_[id].capacity() * sizeof(uint32_t);
  }
  return bytes;
}

}  // namespace memext::core
