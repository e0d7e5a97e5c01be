#include "core/shared_counters.h"

#include "core/bump_queue.h"

namespace memext::core {

namespace {
std::atomic<unsigned> next_stripe{0};
}  // namespace

SharedGetCounters::Stripe& SharedGetCounters::mine() const {
  thread_local const unsigned index =
      next_stripe.fetch_add(1, std::memory_order_relaxed) % kStripes;
  return stripes_[index];
}

BumpQueue::Stripe& BumpQueue::mine() {
  thread_local const unsigned index =
      next_stripe.fetch_add(1, std::memory_order_relaxed) % kStripes;
  return stripes_[index];
}

}  // namespace memext::core
