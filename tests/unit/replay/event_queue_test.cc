// The replay's agenda runs events by time, and events due at the same
// nanosecond in the order they were scheduled.
#include <doctest/doctest.h>

#include "replay/event_queue.h"

namespace memext {

TEST_CASE("event queue orders by time, then by scheduling order") {
  EventQueue q;
  CHECK(q.next_time() == EventQueue::kNever);
  q.schedule(50, SimEvent::kSample);
  q.schedule(10, SimEvent::kCompactor);
  q.schedule(10, SimEvent::kFlusher);
  q.schedule(10, SimEvent::kLruMaintainer);
  q.schedule(5, SimEvent::kSample);
  CHECK(q.next_time() == 5);
  CHECK(q.pop().event == SimEvent::kSample);
  // Three events at t=10: scheduled compactor, flusher, maintainer.
  EventQueue::Entry a = q.pop();
  EventQueue::Entry b = q.pop();
  EventQueue::Entry c = q.pop();
  CHECK(a.time_ns == 10);
  CHECK(a.event == SimEvent::kCompactor);
  CHECK(b.event == SimEvent::kFlusher);
  CHECK(c.event == SimEvent::kLruMaintainer);
  CHECK(a.seq < b.seq);
  CHECK(b.seq < c.seq);
  CHECK(q.pop().time_ns == 50);
  CHECK(q.empty());
}

TEST_CASE("event queue: many ties keep FIFO order through heap reshuffles") {
  EventQueue q;
  for (int i = 0; i < 100; ++i) {
    q.schedule(static_cast<uint64_t>(i % 3), static_cast<SimEvent>(i % 4));
  }
  uint64_t last_time = 0;
  uint64_t last_seq = 0;
  bool first = true;
  while (!q.empty()) {
    EventQueue::Entry e = q.pop();
    if (!first) {
      CHECK((e.time_ns > last_time || (e.time_ns == last_time && e.seq > last_seq)));
    }
    first = false;
    last_time = e.time_ns;
    last_seq = e.seq;
  }
}

}  // namespace memext
