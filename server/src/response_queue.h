// server/src/response_queue.h — a connection's responses in request order.
//
// Responses are appended as text; a flash read reserves a slot whose bytes
// arrive later, and everything behind an unfinished slot waits for it so the
// client sees answers in the order it asked. The connection writes the ready
// prefix as one gathered write. The segments' storage exists only while
// responses wait (a std::deque allocates ~600 bytes even empty, as much as
// the rest of an idle connection): a queue that empties hands its deque and
// its segments' small strings to a per-thread spare pool, which the next
// connection to answer on that thread takes them from. Without the pool
// every request of a request/response client allocated and freed the deque
// and its text (3 mallocs and 3 frees a request on the memcaslap benchmark).
// Owned by one connection; not thread-safe (the pool is per thread).
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

namespace memext::server {

class ResponseQueue {
 public:
  struct Segment {
    std::string bytes;
    bool ready = true;    // false while a flash read fills it
    bool sealed = false;  // handed to a write; nothing may be appended
    // UDP frames each response object as its own message: this segment
    // starts one (keep_empty: sent even when it stays empty).
    bool message_start = false;
    bool keep_empty = false;
  };

  ResponseQueue() = default;
  ~ResponseQueue() { clear(); }
  ResponseQueue(const ResponseQueue&) = delete;
  ResponseQueue& operator=(const ResponseQueue&) = delete;

  // The segment new text goes into.
  std::string& text() {
    std::deque<Segment>& segments = in_use();
    if (segments.empty() || !segments.back().ready || segments.back().sealed) {
      new_segment(segments);
    }
    return segments.back().bytes;
  }
  void append(std::string_view s) { text().append(s); }

  // Reserves an ordered slot for bytes that arrive later; the reference stays
  // valid until the slot has been written (deque growth keeps references).
  Segment& reserve() {
    Segment& slot = new_segment(in_use());
    slot.ready = false;
    return slot;
  }

  // UDP: the text after this belongs to a new response message.
  void begin_message(bool keep_empty) {
    Segment& start = new_segment(in_use());
    start.message_start = true;
    start.keep_empty = keep_empty;
  }
  // UDP: true when the current message has no bytes and no pending slot,
  // and would not be sent empty.
  bool message_droppable() const {
    if (!segments_) return true;
    for (auto it = segments_->rbegin(); it != segments_->rend(); ++it) {
      if (!it->ready || !it->bytes.empty()) return false;
      if (it->message_start) return !it->keep_empty;
    }
    return true;
  }
  // UDP: each message's bytes with whether it is sent when empty. Call once
  // every segment is ready.
  template <typename F>
  void for_each_message(F&& f) const {
    if (!segments_) return;
    std::string bytes;
    bool keep_empty = false;
    bool any = false;
    for (const Segment& s : *segments_) {
      if (s.message_start && any) {
        f(std::string_view(bytes), keep_empty);
        bytes.clear();
      }
      if (s.message_start) keep_empty = s.keep_empty;
      any = true;
      bytes += s.bytes;
    }
    if (any) f(std::string_view(bytes), keep_empty);
  }

  // Seals the ready prefix and calls f(const std::string&) for each of its
  // non-empty segments; returns how many segments were sealed.
  template <typename F>
  size_t seal_ready(F&& f) {
    size_t n = 0;
    if (!segments_) return 0;
    for (Segment& s : *segments_) {
      if (!s.ready) break;
      s.sealed = true;
      if (!s.bytes.empty()) f(s.bytes);
      ++n;
    }
    return n;
  }

  // Drops the first n segments after their write completed.
  void pop(size_t n) {
    if (!segments_) return;
    for (size_t i = 0; i < n && !segments_->empty(); ++i) {
      spare_text(std::move(segments_->front().bytes));
      segments_->pop_front();
    }
    if (segments_->empty()) spare_segments(std::move(segments_));
  }

  bool has_ready_bytes() const {
    if (!segments_) return false;
    for (const Segment& s : *segments_) {
      if (!s.ready) return false;
      if (!s.bytes.empty()) return true;
    }
    return false;
  }
  bool has_pending() const {
    if (!segments_) return false;
    for (const Segment& s : *segments_) {
      if (!s.ready) return true;
    }
    return false;
  }
  bool empty() const { return !segments_ || segments_->empty(); }

  // All ready bytes concatenated (tests).
  std::string ready_text() const {
    std::string all;
    if (!segments_) return all;
    for (const Segment& s : *segments_) {
      if (!s.ready) break;
      all += s.bytes;
    }
    return all;
  }
  void clear() {
    if (!segments_) return;
    segments_->clear();
    spare_segments(std::move(segments_));
  }
  // Empties every segment not yet handed to a write (pending slots become
  // empty ready ones, UDP messages not sent when empty); the segments stay,
  // so references to them stay valid.
  void drop_unsent() {
    if (!segments_) return;
    for (Segment& s : *segments_) {
      if (s.sealed) continue;
      s.bytes.clear();
      s.ready = true;
      s.keep_empty = false;
    }
  }

 private:
  std::deque<Segment>& in_use() {
    if (!segments_) segments_ = take_spare_segments();
    return *segments_;
  }
  // Appends a segment whose text storage comes from the pool when it has one.
  static Segment& new_segment(std::deque<Segment>& segments);

  // The per-thread pool (response_queue.cc): empty deques and emptied small
  // strings, a bounded number of each.
  static std::unique_ptr<std::deque<Segment>> take_spare_segments();
  static void spare_segments(std::unique_ptr<std::deque<Segment>> segments);
  static void spare_text(std::string&& bytes);

  std::unique_ptr<std::deque<Segment>> segments_;
};

}  // namespace memext::server
