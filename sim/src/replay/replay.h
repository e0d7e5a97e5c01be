// replay.h — the trace replayer: drives one memext::Engine (and its extstore
// flash tier) with a trace's requests in virtual time.
//
// Time: a request's trace time (scaled by --time-scale, counted from the
// first request) is the virtual time. The engine's clock (seconds) and the
// model device's clock (ns) follow it; the LRU maintainer and crawler, the extstore
// flusher and compactor and the time-series sampler run from an EventQueue at
// the times their step() asked for. The queue is only consulted when a
// request reaches the next due time, so a run is independent of host speed
// and the hot path is one compare.
//
// Idle stretches cost nothing: when the next request is more than two
// settle windows (kReplaySettleNs) after the last one, the background steps
// run normally for one window after the last request, then the clock jumps
// to one window before the next request, and they run normally again up to
// it. A jump moves every step due inside the skipped stretch to its end, in
// the order they were due; the engine's clock jumps with it. So the engine
// sees what memcached would after that much idle time, before the next
// request: expired items are reclaimed by the crawler (every LRU's
// autoexpire crawl is due), the maintainer moves aged HOT/WARM items, the
// flusher writes items older than ext_item_age, the compactor runs. What a
// jump skips is the idle stepping itself (lru_maintainer_juggles, crawler
// runs and their counts inside the stretch) and time-series levels moving
// inside it: the skipped intervals become one sample holding the levels at
// the jump (TimeSample::intervals). Gaps up to two windows are stepped
// second by second as before. A gap of more than kTimeJumpWarnNs of trace
// time is warned about (fatal with --strict), and virtual time beyond
// kMaxReplayVirtualNs (the engine's 32-bit seconds) is clamped to it.
//
// Keys: the trace's 64-bit key id, as 8 raw bytes, is the engine key; the
// traced key length is what memory accounting charges (phantom mode).
//
// Not thread-safe; one replay per thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "memext/engine.h"
#include "memext/lru_crawler.h"
#include "memext/lru_maintainer.h"
#include "memext/pagestore.h"
#include "memext/slab_rebalancer.h"
#include "replay/event_queue.h"
#include "replay/key_set.h"
#include "replay/latency_histogram.h"
#include "replay/replay_warnings.h"
#include "replay/sim_options.h"
#include "traces/trace_request.h"

namespace memext {

class TraceReader;
class FlashTier;
class ReplayProgress;

// Engine rel_time_t of the first request: where memcached's current_time
// starts (see kStartRelTime).
inline constexpr rel_time_t kReplayStartSeconds = kStartRelTime;

// Virtual time stepped normally after the last request and before the next
// one around an idle stretch (see above): long enough for the maintainer,
// crawler, flusher and compactor to finish what a stretch of idle time
// leaves them (their sleeps are at most a second).
inline constexpr uint64_t kReplaySettleNs = 60'000'000'000ull;
// A gap between consecutive records larger than this (trace time) is
// reported: no trace we know of is silent for a day, a corrupt timestamp is.
inline constexpr uint64_t kTimeJumpWarnNs = 86'400'000'000'000ull;
// The last virtual time the engine's clock (uint32 seconds from
// kReplayStartSeconds, plus a relative TTL of up to 30 days) can hold.
inline constexpr uint64_t kMaxReplayVirtualNs = (uint64_t{1} << 31) * 1'000'000'000ull;

struct ReplayCounters {
  std::array<uint64_t, kOpCount> requests_by_op{};
  uint64_t trace_records = 0;  // records read from the trace, sampled out ones included
  uint64_t records = 0;        // trace records applied (the sample's, with --sample)
  // Gets and their traced value bytes in every record read, sampled out ones
  // included: what a sample's counts are compared with (sample adjustment).
  uint64_t trace_gets = 0;
  uint64_t trace_get_bytes = 0;
  uint64_t requests = 0;  // records x op_count
  uint64_t gets = 0;      // get, gets, gat, gats
  uint64_t hits_ram = 0;
  uint64_t hits_flash = 0;         // header found and the object read back
  uint64_t flash_read_misses = 0;  // header found but the object was gone (counted as misses)
  uint64_t misses = 0;             // all misses, flash_read_misses included
  uint64_t get_bytes = 0;          // traced value bytes asked for by gets
  uint64_t hit_bytes_ram = 0;
  uint64_t hit_bytes_flash = 0;
  uint64_t fills = 0;                       // look-aside sets after a miss
  std::array<uint64_t, 6> store_results{};  // by StoreResult, fills included
  uint64_t delete_hits = 0;
  uint64_t delete_misses = 0;
  uint64_t touch_hits = 0;
  uint64_t touch_misses = 0;
  uint64_t delta_hits = 0;  // incr/decr that found the item (numeric or not)
  uint64_t delta_misses = 0;
  uint64_t keys_clamped = 0;    // traced key length above 250, charged as 250
  uint64_t time_reversals = 0;  // requests earlier than the previous one (run at its time)
  uint64_t keys = 0;            // distinct keys applied
  // Keys whose first request is a get: that get misses at any cache size.
  uint64_t compulsory_misses = 0;
};

// What the replay did with its clock (the report's "clock").
struct ReplayClock {
  uint64_t jumps = 0;             // idle stretches jumped over
  uint64_t jumped_ns = 0;         // virtual time skipped without stepping
  uint64_t largest_gap_ns = 0;    // largest gap between consecutive records (trace time)
  uint64_t gaps_over_bound = 0;   // gaps above kTimeJumpWarnNs
  uint64_t requests_clamped = 0;  // records beyond kMaxReplayVirtualNs (run at it)
};

// One closed interval of the time series. Counters are deltas over the
// interval; the rest are levels at its end.
struct TimeSample {
  uint64_t end_ns = 0;  // virtual time since the first request
  // Intervals this sample stands for: more than 1 for the idle intervals of
  // a clock jump, which end every interval up to end_ns and hold no requests
  // and the same levels.
  uint64_t intervals = 1;
  uint64_t requests = 0;
  uint64_t gets = 0;
  uint64_t hits_ram = 0;
  uint64_t hits_flash = 0;
  uint64_t misses = 0;
  uint64_t get_bytes = 0;
  uint64_t hit_bytes = 0;
  uint64_t curr_items = 0;
  uint64_t bytes = 0;
  uint64_t ram_used_bytes = 0;  // slab pages held by classes (total_malloced less the pool)
  uint64_t ext_header_items = 0;
  uint64_t ext_header_bytes = 0;
  uint64_t evictions = 0;  // cumulative
  // Flash tier levels (zero without one).
  uint64_t ext_bytes_used = 0;
  uint64_t ext_bytes_fragmented = 0;
  uint64_t ext_pages_used = 0;
  uint64_t ext_limit_maxbytes = 0;
  uint64_t ext_bytes_written = 0;     // cumulative
  uint64_t device_bytes_written = 0;  // cumulative: what the devices took (wbufs, padding)
  uint64_t ext_page_evictions = 0;    // cumulative
  uint64_t recache = 0;               // cumulative
  uint64_t compact_rescues = 0;       // cumulative
  uint64_t compact_lost = 0;          // cumulative
  uint64_t compact_skipped = 0;       // cumulative
  std::array<uint64_t, kPageBucketCount> ext_pages_by_bucket{};  // pages in use
};

// The state when --warmup ended: the steady-state figures are the totals
// minus these.
struct WarmupPoint {
  uint64_t at_ns = 0;  // virtual time of the first steady-state request
  ReplayCounters counters;
  uint64_t device_bytes_written = 0;
};

class Replayer {
 public:
  // fill_on_miss_default: what --fill-on-miss auto means for this trace
  // (true for formats that carry no writes). Throws std::invalid_argument /
  // std::runtime_error when the engine or a device cannot be built.
  Replayer(const SimOptions& options, bool fill_on_miss_default);
  ~Replayer();
  Replayer(const Replayer&) = delete;
  Replayer& operator=(const Replayer&) = delete;

  // Reads the whole trace (or its first options.max_requests requests,
  // op_count repeats included), applies the requests of the keys in
  // options.sample_rate's sample, and finish()es. Stops reading early when
  // 99% of at least 10,000 records were malformed (a wrong --format): see
  // stopped_on_malformed().
  void run(TraceReader& reader, ReplayProgress* progress = nullptr);

  // Applies one request (op_count times). Requests must come in trace
  // order. Throws std::runtime_error with --strict on a gap over
  // kTimeJumpWarnNs or a time beyond kMaxReplayVirtualNs.
  void apply(const TraceRequest& request);
  // Runs the events due by the last request's time, completes every
  // outstanding flash read and closes the last time-series interval.
  void finish();

  const ReplayCounters& counters() const { return counters_; }
  const ReplayClock& clock() const { return clock_; }
  // The configuration's warnings (from construction), then the trace's (at
  // finish()) and any add_warning().
  const std::vector<ReplayWarning>& warnings() const { return warnings_; }
  void add_warning(ReplayWarning warning) { warnings_.push_back(std::move(warning)); }
  bool stopped_on_malformed() const { return stopped_on_malformed_; }
  const std::vector<TimeSample>& samples() const { return samples_; }
  // Null without --warmup or when the trace ended before the warmup did.
  const WarmupPoint* warmup() const { return warmup_done_ && warmed_ ? &warmup_ : nullptr; }
  const LatencyHistogram& ram_latency() const { return ram_latency_; }
  const LatencyHistogram& flash_latency() const { return flash_latency_; }
  // Virtual time of the last request (ns since the first).
  uint64_t duration_ns() const { return now_ns_; }
  bool fill_on_miss() const { return fill_on_miss_; }
  uint64_t lru_maintainer_steps() const { return lru_steps_; }
  uint64_t lru_crawler_steps() const { return crawler_steps_; }
  // Null when the engine runs without the LRU crawler (-o no_lru_crawler).
  const LruCrawler* crawler() const { return crawler_.get(); }
  // Engine::stats() with the crawler's figures.
  Stats engine_stats() const;

  Engine& engine() { return *engine_; }
  const Engine& engine() const { return *engine_; }
  // Null when no ext_path was given.
  const FlashTier* flash() const { return flash_.get(); }
  const SimOptions& options() const { return options_; }

 private:
  uint64_t virtual_ns(uint64_t trace_ns);
  // Gap and clock-range checks of a record at trace time trace_ns.
  void check_trace_time(uint64_t trace_ns);
  void advance_to(uint64_t now_ns);
  // Defers every event due before to_ns to it (samples: see close_idle).
  void jump_clock(uint64_t from_ns, uint64_t to_ns);
  // Closes the sample due at sample_ns and the idle ones after it up to
  // to_ns; returns when the next sample is due.
  uint64_t close_idle(uint64_t sample_ns, uint64_t to_ns);
  void add_trace_warnings();
  void run_due(uint64_t now_ns);
  void run_event(const EventQueue::Entry& entry);
  void set_engine_seconds(uint64_t now_ns);
  // Cache hint for a request about to be applied (Engine::prefetch).
  void prefetch(const TraceRequest& request, Engine::PrefetchStage stage) const;
  void apply_once(const TraceRequest& request, std::string_view key, uint8_t key_len);
  void do_get(const TraceRequest& request, std::string_view key, uint8_t key_len);
  void do_store(const TraceRequest& request, std::string_view key, uint8_t key_len, StoreMode mode);
  void drain_flash();
  void fill(std::string_view key, uint8_t key_len, uint32_t value_size, int64_t ttl);
  void close_interval(uint64_t end_ns);
  void end_warmup();
  void refresh_next_wake();

  SimOptions options_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<LruMaintainer> maintainer_;
  std::unique_ptr<LruCrawler> crawler_;
  // Carries out the automover's page moves; stepped only while one is pending.
  std::unique_ptr<SlabRebalancer> rebalancer_;
  bool rebalancer_armed_ = false;
  std::unique_ptr<FlashTier> flash_;
  EventQueue events_;
  std::vector<EventQueue::Entry> deferred_;  // jump_clock's scratch
  ReplayCounters counters_;
  ReplayClock clock_;
  std::vector<ReplayWarning> warnings_;
  ReplayCounters interval_start_;
  KeySet keys_seen_;
  std::vector<TimeSample> samples_;
  LatencyHistogram ram_latency_;
  LatencyHistogram flash_latency_;
  std::string value_bytes_;  // real mode: deterministic filler the values are cut from

  bool fill_on_miss_ = false;
  bool measure_ram_ = false;  // real device: RAM hits are timed with the wall clock
  bool started_ = false;
  bool finished_ = false;
  bool stopped_on_malformed_ = false;
  uint64_t trace_requests_ = 0;  // requests read from the trace (run()'s --max-requests)
  uint64_t first_trace_ns_ = 0;
  uint64_t idle_before_ns_ = 0;  // --idle-before: the first request's virtual time
  uint64_t last_trace_ns_ = 0;   // latest trace time seen
  uint64_t now_ns_ = 0;
  uint64_t idle_since_ns_ = 0;  // virtual time of the request before the latest
  // The first gap over kTimeJumpWarnNs: replayed record number, trace times.
  uint64_t first_jump_record_ = 0;
  uint64_t first_jump_from_ns_ = 0;
  uint64_t first_jump_to_ns_ = 0;
  uint64_t first_clamped_record_ = 0;
  // Earliest of the next event, the next flash completion and the next
  // whole second of virtual time (the engine's clock tick): the hot path
  // compares a request's time with this one value.
  uint64_t next_wake_ns_ = 0;
  uint64_t next_second_ns_ = 0;
  uint64_t interval_ns_ = 0;
  uint64_t engine_seconds_ = kReplayStartSeconds;
  uint64_t lru_steps_ = 0;
  uint64_t crawler_steps_ = 0;
  // --warmup: ends at the first request at or after either limit.
  uint64_t warmup_ns_ = UINT64_MAX;
  uint64_t warmup_requests_ = UINT64_MAX;
  bool warmup_done_ = true;  // false while a warmup is pending
  bool warmed_ = false;
  WarmupPoint warmup_;
};

}  // namespace memext
