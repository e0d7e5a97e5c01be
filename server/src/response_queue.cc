#include "response_queue.h"

#include <vector>

namespace memext::server {
namespace {

// What one worker thread keeps between responses. Bounded so that a burst of
// connections answering at once leaves at most ~kSpareDeques * 600 bytes and
// kSpareTexts * kSpareTextCapacity bytes behind per thread.
constexpr size_t kSpareDeques = 32;
constexpr size_t kSpareTexts = 32;
// Texts larger than this (big values, multigets) go back to malloc.
constexpr size_t kSpareTextCapacity = 4096;

struct SparePool {
  std::vector<std::unique_ptr<std::deque<ResponseQueue::Segment>>> deques;
  std::vector<std::string> texts;
};

SparePool& pool() {
  thread_local SparePool spare;
  return spare;
}

}  // namespace

ResponseQueue::Segment& ResponseQueue::new_segment(std::deque<Segment>& segments) {
  Segment& segment = segments.emplace_back();
  std::vector<std::string>& texts = pool().texts;
  if (!texts.empty()) {
    segment.bytes.swap(texts.back());
    texts.pop_back();
  }
  return segment;
}

std::unique_ptr<std::deque<ResponseQueue::Segment>> ResponseQueue::take_spare_segments() {
  auto& deques = pool().deques;
  if (deques.empty()) return std::make_unique<std::deque<Segment>>();
  std::unique_ptr<std::deque<Segment>> segments = std::move(deques.back());
  deques.pop_back();
  return segments;
}

void ResponseQueue::spare_segments(std::unique_ptr<std::deque<Segment>> segments) {
  auto& deques = pool().deques;
  if (deques.size() < kSpareDeques && segments->empty()) deques.push_back(std::move(segments));
}

void ResponseQueue::spare_text(std::string&& bytes) {
  if (bytes.capacity() > kSpareTextCapacity) return;
  // A string still in its inline storage has nothing to keep.
  if (bytes.capacity() < 64) return;
  std::vector<std::string>& texts = pool().texts;
  if (texts.size() >= kSpareTexts) return;
  bytes.clear();
  texts.push_back(std::move(bytes));
}

}  // namespace memext::server
