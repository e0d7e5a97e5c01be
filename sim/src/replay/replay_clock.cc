// replay_clock.cc — the Replayer's clock: virtual time from trace time
// (clamped to the engine's range), the gap checks behind the time_jump and
// clock_overflow warnings, and the jump over idle stretches (replay.h).
#include <algorithm>
#include <stdexcept>
#include <string>

#include "replay/replay.h"

namespace memext {

namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;

std::string seconds_text(uint64_t ns) {
  std::string text = std::to_string(ns / kNsPerSecond);
  if (const uint64_t ms = ns % kNsPerSecond / 1'000'000; ms != 0) {
    text += '.';
    text += std::to_string(1000 + ms).substr(1);
  }
  text += " s";
  return text;
}

}  // namespace

uint64_t Replayer::virtual_ns(uint64_t trace_ns) {
  const uint64_t since = trace_ns >= first_trace_ns_ ? trace_ns - first_trace_ns_ : 0;
  uint64_t t = since;
  if (options_.time_scale != 1.0) {
    const double scaled = static_cast<double>(since) * options_.time_scale;
    t = scaled > static_cast<double>(kMaxReplayVirtualNs) ? kMaxReplayVirtualNs + 1
                                                          : static_cast<uint64_t>(scaled);
  }
  // The background threads start at 0, the requests after the idle prelude.
  t += idle_before_ns_;
  if (t <= kMaxReplayVirtualNs) return t;
  if (clock_.requests_clamped++ == 0) {
    first_clamped_record_ = counters_.records + 1;
    if (options_.strict) {
      throw std::runtime_error(
          "replayed record " + std::to_string(first_clamped_record_) + " at trace time " +
          seconds_text(trace_ns) + " lies more than " + seconds_text(kMaxReplayVirtualNs) +
          " (68 years) after the first request, beyond the engine's 32-bit clock "
          "(--strict makes this fatal)");
    }
  }
  return kMaxReplayVirtualNs;
}

void Replayer::check_trace_time(uint64_t trace_ns) {
  if (trace_ns <= last_trace_ns_) return;
  const uint64_t gap = trace_ns - last_trace_ns_;
  const uint64_t from = last_trace_ns_;
  last_trace_ns_ = trace_ns;
  clock_.largest_gap_ns = std::max(clock_.largest_gap_ns, gap);
  if (gap <= kTimeJumpWarnNs) return;
  if (clock_.gaps_over_bound++ == 0) {
    first_jump_record_ = counters_.records + 1;
    first_jump_from_ns_ = from;
    first_jump_to_ns_ = trace_ns;
  }
  if (options_.strict) {
    throw std::runtime_error("replayed record " + std::to_string(counters_.records + 1) +
                             " at trace time " + seconds_text(trace_ns) + " comes " +
                             seconds_text(gap) + " after the one before (" + seconds_text(from) +
                             "): more than a day without a request, likely a corrupt timestamp "
                             "(--strict makes this fatal)");
  }
}

void Replayer::add_trace_warnings() {
  if (clock_.gaps_over_bound != 0) {
    std::string message =
        "replayed record " + std::to_string(first_jump_record_) + " at trace time " +
        seconds_text(first_jump_to_ns_) + " comes " +
        seconds_text(first_jump_to_ns_ - first_jump_from_ns_) + " after the one before (" +
        seconds_text(first_jump_from_ns_) +
        "): more than a day without a request, likely a corrupt timestamp; the replay jumped its "
        "clock over it";
    if (clock_.gaps_over_bound > 1) {
      message += " (" + std::to_string(clock_.gaps_over_bound) + " such gaps, the largest " +
                 seconds_text(clock_.largest_gap_ns) + ")";
    }
    warnings_.push_back({"time_jump", message + "; --strict makes this fatal"});
  }
  if (clock_.requests_clamped != 0) {
    warnings_.push_back(
        {"clock_overflow",
         (clock_.requests_clamped == 1
              ? "replayed record " + std::to_string(first_clamped_record_) + " lies"
              : std::to_string(clock_.requests_clamped) + " records from replayed record " +
                    std::to_string(first_clamped_record_) + " on lie") +
             " more than " + seconds_text(kMaxReplayVirtualNs) +
             " (68 years) after the first request, beyond the engine's 32-bit clock, and ran "
             "at that time"});
  }
}

uint64_t Replayer::close_idle(uint64_t sample_ns, uint64_t to_ns) {
  close_interval(sample_ns);
  // Interval ends in [sample_ns, to_ns): the first closed normally above,
  // the idle rest as one sample.
  const uint64_t ends = (to_ns - 1 - sample_ns) / interval_ns_ + 1;
  if (ends > 1) {
    close_interval(sample_ns + (ends - 1) * interval_ns_);
    samples_.back().intervals = ends - 1;
  }
  return sample_ns + ends * interval_ns_;
}

void Replayer::jump_clock(uint64_t from_ns, uint64_t to_ns) {
  ++clock_.jumps;
  clock_.jumped_ns += to_ns - from_ns;
  deferred_.clear();
  while (events_.next_time() < to_ns) deferred_.push_back(events_.pop());
  // Popped in (time, sequence) order and rescheduled in it: they run at
  // to_ns in the order they were due.
  for (const EventQueue::Entry& e : deferred_) {
    if (e.event == SimEvent::kSample) {
      events_.schedule(close_idle(e.time_ns, to_ns), SimEvent::kSample);
    } else {
      events_.schedule(to_ns, e.event);
    }
  }
}

}  // namespace memext
