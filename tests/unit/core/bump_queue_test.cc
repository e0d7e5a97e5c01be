// core::BumpQueue, the queued COLD -> WARM moves: a full stripe refuses
// with kFull (its get declines to the exclusive side), a stripe that
// drain_beside_pushes is reading refuses with kClosed (its get is served
// without the move), and both drains apply a thread's entries in order.
// The cross-thread behaviour runs in tests/unit/concurrency (TSan).
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "core/bump_queue.h"

using memext::core::BumpQueue;

TEST_CASE("bump queue: kFull at capacity, kClosed while drained beside pushes, order kept") {
  BumpQueue queue;
  CHECK_FALSE(queue.pending());
  for (uint32_t n = 0; n < BumpQueue::kCapacity; ++n) {
    REQUIRE(queue.push(n) == BumpQueue::Push::kQueued);
  }
  CHECK(queue.pending());
  CHECK(queue.push(9999) == BumpQueue::Push::kFull);

  std::vector<uint32_t> applied;
  std::vector<BumpQueue::Push> pushed_while_drained;
  const uint32_t drained = queue.drain_beside_pushes([&](uint32_t n) {
    applied.push_back(n);
    // A get on this thread, beside the drain: its stripe is the one being read.
    if (n == 0) pushed_while_drained.push_back(queue.push(7777));
  });
  CHECK(drained == BumpQueue::kCapacity);
  REQUIRE(applied.size() == BumpQueue::kCapacity);
  for (uint32_t n = 0; n < BumpQueue::kCapacity; ++n) REQUIRE(applied[n] == n);
  CHECK(pushed_while_drained == std::vector<BumpQueue::Push>{BumpQueue::Push::kClosed});
  // Reopened and empty; pending() is left for drain() to clear.
  CHECK(queue.pending());
  CHECK(queue.push(42) == BumpQueue::Push::kQueued);
  CHECK(queue.push(43) == BumpQueue::Push::kQueued);
  applied.clear();
  queue.drain([&](uint32_t n) { applied.push_back(n); });
  CHECK(applied == std::vector<uint32_t>{42, 43});
  CHECK_FALSE(queue.pending());
  CHECK(queue.drain_beside_pushes([](uint32_t) { FAIL("nothing is queued"); }) == 0);
}
