// Arrival within a second for traces whose timestamps are whole seconds: a
// reader wrapper that holds one second's requests (consecutive records with
// the same time) and gives each a time inside that second. Order is kept;
// only times change. Memory: one second's records.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "gen/gen_random.h"
#include "traces/trace_input.h"
#include "traces/trace_reader.h"

namespace memext {

namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr std::array<std::string_view, 3> kArrivalNames = {"burst", "uniform", "poisson"};

class ArrivalReader final : public TraceReader {
 public:
  ArrivalReader(std::unique_ptr<TraceReader> inner, Arrival arrival, uint64_t seed)
      : TraceReader(inner->format(), nullptr, {}),
        inner_(std::move(inner)),
        arrival_(arrival),
        rng_(seed) {}

  bool second_resolution() const override { return true; }
  const std::string& path() const override { return inner_->path(); }
  bool compressed() const override { return inner_->compressed(); }
  std::optional<uint64_t> expected_records() const override { return inner_->expected_records(); }

  bool next(TraceRequest& out) override { return next_batch(&out, 1) == 1; }

  size_t next_batch(TraceRequest* out, size_t n) override {
    size_t done = 0;
    while (done < n) {
      if (used_ == group_.size() && !refill()) break;
      const size_t take = std::min(n - done, group_.size() - used_);
      std::copy_n(group_.begin() + static_cast<ptrdiff_t>(used_), take, out + done);
      used_ += take;
      done += take;
    }
    stats_.records += done;
    return done;
  }

 private:
  // Reads the next second's records into group_ and places them; false at
  // the end of the trace.
  bool refill() {
    group_.clear();
    used_ = 0;
    if (!has_pending_ && !inner_->next(pending_)) {
      sync_stats();
      return false;
    }
    has_pending_ = false;
    const uint64_t second = pending_.time_ns;
    group_.push_back(pending_);
    while (inner_->next(pending_)) {
      if (pending_.time_ns != second) {
        has_pending_ = true;
        break;
      }
      group_.push_back(pending_);
    }
    place(second);
    sync_stats();
    return true;
  }

  void place(uint64_t second) {
    const uint64_t count = group_.size();
    if (arrival_ == Arrival::kUniform) {
      for (uint64_t i = 0; i < count; ++i) group_[i].time_ns = second + i * kNsPerSecond / count;
      return;
    }
    // Given `count` arrivals of a Poisson process in the second, their times
    // are `count` sorted uniform points: the partial sums of count + 1
    // exponential gaps, divided by their total.
    gaps_.resize(count + 1);
    double total = 0;
    for (double& gap : gaps_) {
      gap = -std::log(to_unit_open0(rng_.next()));
      total += gap;
    }
    double sum = 0;
    for (uint64_t i = 0; i < count; ++i) {
      sum += gaps_[i];
      const auto offset = static_cast<uint64_t>(sum / total * static_cast<double>(kNsPerSecond));
      group_[i].time_ns = second + std::min(offset, kNsPerSecond - 1);
    }
  }

  // The inner reader's counts and messages; records counts what this reader
  // delivered.
  void sync_stats() {
    const TraceReadStats& in = inner_->stats();
    stats_.malformed = in.malformed;
    stats_.has_trace_hits = in.has_trace_hits;
    stats_.trace_gets = in.trace_gets;
    stats_.trace_hits = in.trace_hits;
    if (stats_.errors.size() != in.errors.size()) stats_.errors = in.errors;
    stats_.source_dropped_lines = in.source_dropped_lines;
    stats_.store_lookups = in.store_lookups;
    stats_.unsized_gets = in.unsized_gets;
    stats_.ignored_lines = in.ignored_lines;
  }

  std::unique_ptr<TraceReader> inner_;
  Arrival arrival_;
  Xoshiro256 rng_;
  std::vector<TraceRequest> group_;
  size_t used_ = 0;
  TraceRequest pending_;
  bool has_pending_ = false;
  std::vector<double> gaps_;
};

}  // namespace

std::string_view arrival_name(Arrival arrival) {
  return kArrivalNames[static_cast<size_t>(arrival)];
}

std::optional<Arrival> parse_arrival(std::string_view name) {
  for (size_t i = 0; i < kArrivalNames.size(); ++i) {
    if (name == kArrivalNames[i]) return static_cast<Arrival>(i);
  }
  return std::nullopt;
}

std::unique_ptr<TraceReader> spread_arrivals(std::unique_ptr<TraceReader> inner, Arrival arrival,
                                             uint64_t seed) {
  if (arrival == Arrival::kBurst) return inner;
  return std::make_unique<ArrivalReader>(std::move(inner), arrival, seed);
}

}  // namespace memext
