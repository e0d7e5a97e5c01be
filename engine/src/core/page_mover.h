// core/page_mover.h — one slab page move, carried out as memcached's slab
// rebalancer thread does (slab_rebalance_start / _move / _finish), in
// slices so that a step object (memext/slab_rebalancer.h) can drive it.
//
// The page is the source class's first page. Each slot is looked at in
// order: a free chunk is taken off the free list; a live item is rescued
// into a free chunk of its class elsewhere (new chunk, relinked at the head
// of its LRU with a new CAS and last-access time, as memcached's
// do_item_replace does; key, value, flags and exptime kept), or evicted when
// the class has no free chunk left (slab_reassign_evictions_nomem); an
// expired or flushed item is unlinked. One data chunk of a chunked item is
// rescued on its own (slab_reassign_chunk_rescues); a chunked item that
// cannot be saved is unlinked whole, which frees its chunk in the page back
// to the free list, and the page takes another pass to collect it
// (slab_reassign_busy_items), as in memcached. Free chunks of the page met
// while looking for a rescue target are kept (slab_reassign_inline_reclaim).
//
// memext holds no item across engine calls (a flash read keeps key and
// location and looks the key up again when it completes), so no item is
// ever busy the way memcached's referenced or locked items are: a header
// whose value is being read from flash is rescued like any other item, and
// slab_reassign_busy_deletes stays 0. Not thread-safe.
#pragma once

#include <cstdint>

#include "core/slab_allocator.h"

namespace memext::core {

class ItemStore;

class PageMover {
 public:
  enum class Progress : uint8_t {
    kIdle,  // no move requested, or the move just finished
    kMore,  // more of the page to walk
    kBusy,  // a pass met busy items: memcached waits 1 ms before going on
  };

  explicit PageMover(ItemStore& store);

  // Starts a requested move and walks up to `max_chunks` slots of its page;
  // finishes the move once a pass over the page met nothing busy.
  Progress step(uint32_t max_chunks);
  // A move has been requested or is under way.
  bool pending() const;

 private:
  // Returns false when the slot's item was busy.
  bool move_chunk(ChunkRef ref);
  void rescue(uint32_t n, ChunkRef from, ChunkRef to, bool data_chunk);
  // The move is done: logged (watch sysevents) and the page handed over.
  void finish();

  ItemStore& store_;
  SlabAllocator& slabs_;
};

}  // namespace memext::core
