#include "replay/progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace memext {

namespace {
constexpr uint64_t kCheckEvery = 1 << 18;    // records between clock reads
constexpr uint64_t kRedrawNs = 250'000'000;  // 4 redraws a second at most

uint64_t steady_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}
}  // namespace

ReplayProgress::ReplayProgress(ProgressMode mode, uint64_t total) : total_(total) {
  enabled_ = mode == ProgressMode::kOn || (mode == ProgressMode::kAuto && isatty(STDERR_FILENO));
  if (enabled_) start_ns_ = last_draw_ns_ = steady_ns();
  next_check_ = kCheckEvery;
}

ReplayProgress::~ReplayProgress() {
  done();
}

void ReplayProgress::redraw(uint64_t done) {
  next_check_ = done + kCheckEvery;
  const uint64_t now = steady_ns();
  if (now - last_draw_ns_ < kRedrawNs) return;
  last_draw_ns_ = now;
  const double secs = static_cast<double>(now - start_ns_) / 1e9;
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  if (total_ > 0 && rate > 0 && done <= total_) {
    const double eta = static_cast<double>(total_ - done) / rate;
    std::fprintf(stderr, "\r%llu / %llu requests (%.1f%%), %.2f M req/s, ETA %.0f s   ",
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_),
                 100.0 * static_cast<double>(done) / static_cast<double>(total_), rate / 1e6, eta);
  } else {
    std::fprintf(stderr, "\r%llu requests, %.2f M req/s   ", static_cast<unsigned long long>(done),
                 rate / 1e6);
  }
  drawn_ = true;
}

void ReplayProgress::done() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
  drawn_ = false;
}

}  // namespace memext
