// event_queue.h — the replay's virtual-time agenda: background steps (LRU
// maintainer and crawler, extstore flusher and compactor, time-series samples) ordered by
// (time, sequence number), so two events due at the same nanosecond always
// run in the order they were scheduled and a replay never depends on host
// speed or on heap tie-breaking.
//
// A plain binary min-heap over a vector: no allocation once warmed up, no
// std::function. The replay loop only looks at next_time() when a request's
// time reaches it. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace memext {

enum class SimEvent : uint8_t {
  kLruMaintainer,
  kLruCrawler,
  kFlusher,
  kCompactor,
  kSlabRebalancer,  // armed only while a page move is pending
  kSample,          // close one time-series interval
};

class EventQueue {
 public:
  static constexpr uint64_t kNever = UINT64_MAX;

  struct Entry {
    uint64_t time_ns;
    uint64_t seq;
    SimEvent event;
  };

  void schedule(uint64_t time_ns, SimEvent event) {
    heap_.push_back(Entry{time_ns, next_seq_++, event});
    std::push_heap(heap_.begin(), heap_.end(), later);
  }

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // Time of the earliest event, kNever when empty.
  uint64_t next_time() const { return heap_.empty() ? kNever : heap_.front().time_ns; }

  // Removes and returns the earliest event. Precondition: !empty().
  Entry pop() {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    Entry e = heap_.back();
    heap_.pop_back();
    return e;
  }

 private:
  static bool later(const Entry& a, const Entry& b) {
    return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : a.seq > b.seq;
  }

  std::vector<Entry> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace memext
