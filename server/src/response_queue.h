// server/src/response_queue.h — a connection's responses in request order.
//
// Responses are appended as text; a flash read reserves a slot whose bytes
// arrive later, and everything behind an unfinished slot waits for it so the
// client sees answers in the order it asked. The connection writes the ready
// prefix as one gathered write. Owned by one connection; not thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace memext::server {

class ResponseQueue {
 public:
  struct Segment {
    std::string bytes;
    bool ready = true;    // false while a flash read fills it
    bool sealed = false;  // handed to a write; nothing may be appended
  };

  // The segment new text goes into.
  std::string& text() {
    if (segments_.empty() || !segments_.back().ready || segments_.back().sealed) {
      segments_.emplace_back();
    }
    return segments_.back().bytes;
  }
  void append(std::string_view s) { text().append(s); }

  // Reserves an ordered slot for bytes that arrive later; the reference stays
  // valid until the slot has been written (deque growth keeps references).
  Segment& reserve() {
    Segment& slot = segments_.emplace_back();
    slot.ready = false;
    return slot;
  }

  // Seals the ready prefix and calls f(const std::string&) for each of its
  // non-empty segments; returns how many segments were sealed.
  template <typename F>
  size_t seal_ready(F&& f) {
    size_t n = 0;
    for (Segment& s : segments_) {
      if (!s.ready) break;
      s.sealed = true;
      if (!s.bytes.empty()) f(s.bytes);
      ++n;
    }
    return n;
  }

  // Drops the first n segments after their write completed.
  void pop(size_t n) {
    for (size_t i = 0; i < n && !segments_.empty(); ++i) segments_.pop_front();
  }

  bool has_ready_bytes() const {
    for (const Segment& s : segments_) {
      if (!s.ready) return false;
      if (!s.bytes.empty()) return true;
    }
    return false;
  }
  bool has_pending() const {
    for (const Segment& s : segments_) {
      if (!s.ready) return true;
    }
    return false;
  }
  bool empty() const { return segments_.empty(); }

  // All ready bytes concatenated (tests).
  std::string ready_text() const {
    std::string all;
    for (const Segment& s : segments_) {
      if (!s.ready) break;
      all += s.bytes;
    }
    return all;
  }
  void clear() { segments_.clear(); }

 private:
  std::deque<Segment> segments_;
};

}  // namespace memext::server
