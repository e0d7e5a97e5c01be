// core/page_mover.h — one slab page move, as memcached's slab rebalancer
// carries it out for the automover and for `slabs reassign`.
//
// See core/slab_allocator.h for how a move is modelled: the source must hold
// a page worth of free chunks. With `may_evict` a source short of them first
// evicts from its COLD tail (HOT/WARM tails fed to COLD when COLD is empty),
// standing in for the live items of the page memcached's rebalancer could not
// rescue (slab_reassign_evictions_nomem). Not thread-safe.
#pragma once

#include <cstdint>

#include "core/slab_allocator.h"

namespace memext::core {

class ItemStore;

SlabAllocator::Reassign move_slab_page(ItemStore& store, SlabAllocator& slabs, uint32_t src,
                                       uint32_t dst, bool may_evict);

}  // namespace memext::core
