// core/slab_allocator.h — memcached's slab pages and chunks, by position.
//
// No bytes are handed out here, but every chunk has a place: a page (an
// index into the allocator's page table) and a slot in it, and each slot
// records what holds it. A class keeps its pages in memcached's slab_list
// order and its free chunks on a LIFO free list, filled the way memcached's
// split_slab_page_into_freelist fills it (a fresh page's last chunk is
// handed out first). That is what lets the page mover (core/slab_rebalancer)
// walk one concrete page as memcached's slab_rebalance_move does: which
// items it rescues, which free chunks it reclaims inline, which items it
// must evict, all as memcached would for the same sequence of commands.
//
// Pages come from the global page pool (class 0) first, otherwise they are
// "malloced" under memcached's rule: a class may always get its first page,
// further pages only while total_malloced + page <= limit. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "memext/config.h"
#include "memext/slabs.h"

namespace memext::core {

inline constexpr uint32_t kNoPage = UINT32_MAX;

// One chunk: its page and slot.
struct ChunkRef {
  uint32_t page = kNoPage;
  uint32_t slot = 0;
  bool valid() const { return page != kNoPage; }
  bool operator==(const ChunkRef&) const = default;
};

// What a slot holds: the record number of the item stored in it (for a
// chunked item, its header chunk), that number with kDataChunkBit for one of
// a chunked item's data chunks, or one of the two markers below.
inline constexpr uint32_t kFreeSlot = UINT32_MAX;         // on the class's free list
inline constexpr uint32_t kClaimedSlot = UINT32_MAX - 1;  // taken by the page mover
inline constexpr uint32_t kDataChunkBit = 1u << 31;

class SlabAllocator {
 public:
  struct ClassState {
    uint64_t pages = 0;
    uint64_t used_chunks = 0;  // chunks holding items
    uint64_t free_chunks = 0;  // memcached's sl_curr
    uint64_t requested = 0;    // bytes asked for by the chunks in use
  };

  // memcached's reassign_result_type.
  enum class Reassign : uint8_t { kOk, kRunning, kBadClass, kNoSpare, kSrcDstSame };

  // memcached's slab_rebalance stats (`stats` names), totals over moves.
  struct MoveCounters {
    uint64_t slabs_moved = 0;
    uint64_t slab_reassign_rescues = 0;
    uint64_t slab_reassign_chunk_rescues = 0;
    uint64_t slab_reassign_evictions_nomem = 0;
    uint64_t slab_reassign_inline_reclaim = 0;
    uint64_t slab_reassign_busy_items = 0;
    uint64_t slab_reassign_busy_deletes = 0;
  };

  // memcached's slab_rebal: the one page move requested or under way. The
  // per-move counts join MoveCounters when the move finishes, as memcached's
  // do (busy_items at the end of each pass over the page).
  struct Move {
    enum class Phase : uint8_t { kIdle, kRequested, kRunning };
    Phase phase = Phase::kIdle;
    uint32_t src = 0;
    uint32_t dst = 0;
    uint32_t page = kNoPage;
    uint32_t cursor = 0;      // next slot to look at
    uint64_t busy_items = 0;  // in the current pass
    uint64_t busy_loops = 0;
    MoveCounters counts;  // slabs_moved unused
  };

  SlabAllocator(const EngineConfig& config, const SlabClassTable& classes);
  ~SlabAllocator();
  SlabAllocator(const SlabAllocator&) = delete;
  SlabAllocator& operator=(const SlabAllocator&) = delete;

  // memcached's slabs_alloc: a free chunk of class `id` now held by `owner`,
  // growing the class by one page when it has none. Invalid when the class
  // cannot grow.
  ChunkRef alloc(uint32_t id, uint32_t requested, uint32_t owner);
  // The same without growing (SLABS_ALLOC_NO_NEWPAGE), for the page mover's
  // rescues: free chunks that lie in the page being moved are claimed for it
  // on the way (slab_reassign_inline_reclaim).
  ChunkRef alloc_for_move(uint32_t owner);
  // Precondition: `ref` is a chunk of class `id` that alloc handed out.
  void free(uint32_t id, ChunkRef ref, uint32_t requested);

  uint32_t owner(ChunkRef ref) const { return pages_[ref.page].slots[ref.slot]; }
  void set_owner(ChunkRef ref, uint32_t owner) { pages_[ref.page].slots[ref.slot] = owner; }
  uint8_t page_class(uint32_t page) const { return pages_[page].clsid; }
  // The mover takes chunk `ref` of the page being moved: a free one off the
  // free list, or one whose item it evicted (charged `requested` bytes).
  void claim_free(ChunkRef ref);
  void claim_used(ChunkRef ref, uint32_t requested);

  // memcached's do_slabs_reassign: records a move for the rebalancer (src 0
  // is the global page pool, as is dst 0). `src` is a real class here.
  Reassign request_move(int32_t src, int32_t dst);
  // slab_rebalance_start: picks the source's first page; false (and the
  // request dropped) when the source no longer has a page to spare.
  bool start_move();
  // slab_rebalance_finish: the page leaves the source and joins the
  // destination's free list or the global pool. Precondition: every slot of
  // the page is claimed.
  void finish_move();
  // A pass over the page met busy items: they join slab_reassign_busy_items
  // and the walk starts over.
  void end_busy_pass() {
    moves_.slab_reassign_busy_items += move_.busy_items;
    move_.busy_items = 0;
    move_.cursor = 0;
    ++move_.busy_loops;
  }
  Move& move() { return move_; }
  const Move& move() const { return move_; }

  // memcached's slabs_reassign_pick_any: the next class after the last one
  // picked (round robin, skipping `dst`) that has a page to spare; -1 if none.
  int32_t pick_any_source(uint32_t dst);

  // memcached's slabs_adjust_mem_limit: classes may grow up to the new limit;
  // pool pages above it are released (memory_release).
  void set_mem_limit(uint64_t bytes);

  uint64_t free_chunks(uint32_t id) const { return state_[id].free_chunks; }
  const MoveCounters& move_counters() const { return moves_; }
  const ClassState& state(uint32_t id) const { return state_[id]; }
  uint64_t total_malloced() const { return mem_malloced_; }
  uint64_t global_page_pool() const { return pool_.size(); }
  bool mem_limit_reached() const { return mem_limit_reached_; }
  // Bytes of the page table, slot arrays and free lists (metadata_bytes).
  uint64_t bookkeeping_bytes() const;

 private:
  struct Page {
    std::unique_ptr<uint32_t[]> slots;  // perslab of its class; none in the pool
    uint8_t clsid = 0;
  };

  void release_pool_pages();
  bool new_page(uint32_t id);
  // Gives page `page` to class `id`: all its chunks on the free list, pushed
  // in slot order (memcached's split_slab_page_into_freelist).
  void assign_page(uint32_t page, uint32_t id);
  uint32_t malloc_page();
  ChunkRef pop_free(uint32_t id);

  const SlabClassTable& classes_;
  uint64_t mem_limit_;
  bool release_pages_;
  std::vector<ClassState> state_;
  std::vector<std::vector<uint32_t>> page_lists_;  // per class: slab_list order
  std::vector<std::vector<ChunkRef>> free_lists_;  // per class: top is the head
  std::vector<Page> pages_;
  std::vector<uint32_t> pool_;       // global page pool: page ids, last one given first
  std::vector<uint32_t> spare_ids_;  // page table entries of released pages
  uint64_t mem_malloced_ = 0;
  bool mem_limit_reached_ = false;
  uint32_t pick_any_cursor_ = 0;
  MoveCounters moves_;
  Move move_;
};

}  // namespace memext::core
