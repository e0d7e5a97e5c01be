#include "buffer_budget.h"

#include <cassert>

namespace memext::server {

BufferBudget::BufferBudget(uint64_t limit_bytes, uint32_t threads) {
  if (limit_bytes == 0) return;
  assert(threads > 0);
  const uint64_t share = limit_bytes / threads;
  limit_ = share < kBufferBytes ? 1 : share / kBufferBytes;
}

bool BufferBudget::take_buffer() {
  if (free_ > 0) {
    --free_;
  } else if (limit_ == 0 || total_ < limit_) {
    ++total_;
  } else {
    return false;
  }
  publish();
  return true;
}

void BufferBudget::give_buffer() {
  assert(free_ < total_);
  ++free_;
  publish();
}

void BufferBudget::unlink(uint32_t id) {
  Bundle& b = bundles_[id];
  assert(b.listed);
  if (head_ == id) head_ = b.next;
  if (b.prev != kNone) bundles_[b.prev].next = b.next;
  if (b.next != kNone) bundles_[b.next].prev = b.prev;
  b.prev = b.next = kNone;
  b.listed = false;
}

void BufferBudget::push_front(uint32_t id) {
  Bundle& b = bundles_[id];
  assert(!b.listed);
  b.prev = kNone;
  b.next = head_;
  if (head_ != kNone) bundles_[head_].prev = id;
  head_ = id;
  b.listed = true;
}

bool BufferBudget::take_response(Response& out) {
  if (head_ == kNone) {
    if (!take_buffer()) return false;
    uint32_t id;
    if (!spare_ids_.empty()) {
      id = spare_ids_.back();
      spare_ids_.pop_back();
      bundles_[id] = Bundle{};
    } else {
      id = static_cast<uint32_t>(bundles_.size());
      bundles_.emplace_back();
    }
    ++live_bundles_;
    push_front(id);
  }
  const uint32_t id = head_;
  Bundle& b = bundles_[id];
  // A listed bundle has a free slot; the search starts where the last one
  // was taken, as memcached's does.
  uint32_t slot = b.next_check % kResponsesPerBuffer;
  while (b.used[slot]) slot = (slot + 1) % kResponsesPerBuffer;
  b.used[slot] = true;
  b.next_check = slot + 1;
  ++b.refcount;
  // A full bundle leaves the list; it comes back when a slot frees.
  if (b.refcount == kResponsesPerBuffer) unlink(id);
  ++responses_;
  out = {id, slot};
  publish();
  return true;
}

void BufferBudget::give_response(Response r) {
  Bundle& b = bundles_[r.bundle];
  assert(b.used[r.slot] && b.refcount > 0 && responses_ > 0);
  b.used[r.slot] = false;
  --b.refcount;
  --responses_;
  if (b.refcount == 0) {
    if (head_ == r.bundle && b.next == kNone) {
      // The worker's last bundle stays, to be filled from its first slot.
      b.next_check = 0;
    } else {
      if (b.listed) unlink(r.bundle);
      spare_ids_.push_back(r.bundle);
      --live_bundles_;
      give_buffer();
    }
  } else if (!b.listed) {
    push_front(r.bundle);
  }
  publish();
}

void BufferBudget::publish() {
  shown_total_.store(total_, std::memory_order_relaxed);
  shown_free_.store(free_, std::memory_order_relaxed);
  shown_responses_.store(responses_, std::memory_order_relaxed);
  shown_bundles_.store(live_bundles_, std::memory_order_relaxed);
}

BufferBudget::Snapshot BufferBudget::snapshot() const {
  return {shown_total_.load(std::memory_order_relaxed), shown_free_.load(std::memory_order_relaxed),
          shown_responses_.load(std::memory_order_relaxed),
          shown_bundles_.load(std::memory_order_relaxed)};
}

}  // namespace memext::server
