#include "core/page_mover.h"

#include <cassert>

#include "core/item_store.h"

namespace memext::core {

PageMover::PageMover(ItemStore& store) : store_(store), slabs_(store.slabs_) {}

bool PageMover::pending() const {
  return slabs_.move().phase != SlabAllocator::Move::Phase::kIdle;
}

PageMover::Progress PageMover::step(uint32_t max_chunks) {
  using Phase = SlabAllocator::Move::Phase;
  SlabAllocator::Move& move = slabs_.move();
  if (move.phase == Phase::kIdle) return Progress::kIdle;
  if (move.phase == Phase::kRequested && !slabs_.start_move()) return Progress::kIdle;
  // A page from the global pool holds nothing to walk.
  if (move.src == 0) {
    finish();
    return Progress::kIdle;
  }
  const uint32_t perslab = store_.classes()[move.src].perslab;
  bool busy = false;
  for (uint32_t i = 0; i < max_chunks && move.cursor < perslab; ++i) {
    busy |= !move_chunk({move.page, move.cursor++});
  }
  if (move.cursor < perslab) return busy ? Progress::kBusy : Progress::kMore;
  if (move.busy_items > 0) {
    slabs_.end_busy_pass();
    return Progress::kBusy;
  }
  finish();
  return Progress::kIdle;
}

void PageMover::finish() {
  const SlabAllocator::Move& move = slabs_.move();
  // memcached logs the move (watch sysevents) when its rebalancer finishes.
  if (EventSink* sink = store_.logging(log_stream::kSysevents)) sink->slab_move(move.src, move.dst);
  slabs_.finish_move();
}

bool PageMover::move_chunk(ChunkRef ref) {
  SlabAllocator::Move& move = slabs_.move();
  const uint32_t owner = slabs_.owner(ref);
  if (owner == kClaimedSlot) return true;
  if (owner == kFreeSlot) {
    slabs_.claim_free(ref);
    return true;
  }
  const bool data_chunk = (owner & kDataChunkBit) != 0;
  const uint32_t n = owner & ~kDataChunkBit;
  Item& it = store_.item(n);
  if (!(it.flags & kLinked)) {
    // memcached: allocated but not linked (being stored) or unlinked but not
    // yet freed. Cannot happen between engine calls; counted as memcached
    // counts it, and looked at again on the next pass.
    ++move.busy_items;
    return false;
  }
  // memcached's mover compares with < where item reads use <=.
  const bool expired = (it.exptime != 0 && it.exptime < store_.now()) || store_.is_flushed(it);
  ChunkRef target;
  if (!expired) {
    target = slabs_.alloc_for_move(owner);
    if (!target.valid()) ++move.counts.slab_reassign_evictions_nomem;
  }
  if (target.valid()) {
    rescue(n, ref, target, data_chunk);
    return true;
  }
  if (!(it.flags & kChunked)) {
    // The chunk stays with the mover; the item goes (with its flash object).
    slabs_.claim_used(ref, store_.charged_bytes(it));
    store_.chunk_ref(n) = ChunkRef{};
    store_.unlink(n);
    return true;
  }
  // A chunked item is freed whole, this chunk back onto the free list: the
  // next pass over the page takes it from there.
  store_.unlink(n);
  ++move.busy_items;
  return false;
}

void PageMover::rescue(uint32_t n, ChunkRef from, ChunkRef to, bool data_chunk) {
  SlabAllocator::Move& move = slabs_.move();
  Item& it = store_.item(n);
  // The item's bytes move to the new chunk; what it is charged stays.
  slabs_.claim_used(from, 0);
  if (it.flags & kChunked) {
    for (ItemStore::ChunkCharge& charge : store_.chunk_charges_.at(n)) {
      if (charge.ref == from) charge.ref = to;
    }
  }
  if (data_chunk) {
    ++move.counts.slab_reassign_chunk_rescues;
    return;
  }
  store_.chunk_ref(n) = to;
  // memcached relinks the copy (do_item_replace): head of the same LRU, last
  // access now, a new CAS, and total_items counts it again.
  store_.unlink_q(n);
  it.time = store_.now();
  it.cas = store_.config().use_cas ? store_.next_cas() : 0;
  store_.link_q(n);
  store_.counters_.total_items++;
  ++move.counts.slab_reassign_rescues;
}

}  // namespace memext::core
