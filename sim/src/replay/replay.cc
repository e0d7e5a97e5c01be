#include "replay/replay.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "replay/progress.h"
#include "replay/replay_flash.h"
#include "traces/trace_reader.h"
#include "traces/trace_sample.h"

namespace memext {

namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kNsPerMicro = 1'000;
constexpr size_t kBatch = 4096;
constexpr size_t kSlotAhead = 16;
constexpr size_t kItemAhead = 8;
// run() stops reading a trace once this many records were malformed and at
// most 1 in 100 was not: a wrong --format, not a few bad lines.
constexpr uint64_t kMalformedEarlyStop = 10'000;

uint64_t wall_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

Replayer::Replayer(const SimOptions& options, bool fill_on_miss_default) : options_(options) {
  switch (options_.fill_on_miss) {
    case FillOnMiss::kOn:
      fill_on_miss_ = true;
      break;
    case FillOnMiss::kOff:
      fill_on_miss_ = false;
      break;
    case FillOnMiss::kAuto:
      fill_on_miss_ = fill_on_miss_default;
      break;
  }
  engine_ = std::make_unique<Engine>(options_.engine);
  if (options_.engine.lru_maintainer) maintainer_ = std::make_unique<LruMaintainer>(*engine_);
  // Only the automover (in the maintainer) requests page moves here.
  if (maintainer_ && options_.engine.slab_reassign) {
    rebalancer_ = std::make_unique<SlabRebalancer>(*engine_);
  }
  // No request can start a manual crawl here, so without autoexpire (it needs
  // the maintainer) the crawler would never run.
  if (options_.engine.lru_crawler && options_.engine.lru_maintainer) {
    crawler_ = std::make_unique<LruCrawler>(*engine_);
  }
  if (!options_.engine.phantom) {
    // Real values are cut from one deterministic buffer: byte-identical runs
    // without a per-request allocation.
    value_bytes_.resize(options_.engine.item_size_max);
    uint64_t x = options_.seed * 0x9E3779B97F4A7C15ull + 1;
    for (char& c : value_bytes_) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>('a' + x % 26);
    }
  }
  measure_ram_ = options_.device_kind == SimDeviceKind::kFile;
  warnings_ = config_warnings(options_);
  // memcached runs ext_paths that hold no whole page with no flash pages at
  // all (extstore stats all zero, nothing written); the engine keeps its
  // extstore configuration (prefilled slab pages, extstore automover).
  if (options_.engine.ext.enabled() && ext_page_total(options_) > 0) {
    flash_ = std::make_unique<FlashTier>(*engine_, options_);
  }
  interval_ns_ = static_cast<uint64_t>(std::llround(options_.interval_s * 1e9));
  if (interval_ns_ == 0) interval_ns_ = 1;
  idle_before_ns_ = static_cast<uint64_t>(std::llround(options_.idle_before_s * 1e9));
  if (options_.warmup_requests != 0) {
    // Counted in the trace's requests: a --sample R replay sees R of them.
    warmup_requests_ = std::max<uint64_t>(
        1, static_cast<uint64_t>(
               std::llround(static_cast<double>(options_.warmup_requests) * options_.sample_rate)));
    warmup_done_ = false;
  } else if (options_.warmup_s > 0) {
    warmup_ns_ = idle_before_ns_ +
                 static_cast<uint64_t>(std::llround(options_.warmup_s * options_.time_scale * 1e9));
    warmup_done_ = false;
  }
}

Replayer::~Replayer() = default;

Stats Replayer::engine_stats() const {
  Stats stats = engine_->stats();
  if (crawler_) crawler_->add_stats(stats);
  return stats;
}

void Replayer::set_engine_seconds(uint64_t now_ns) {
  const uint64_t seconds = kReplayStartSeconds + now_ns / kNsPerSecond;
  if (seconds != engine_seconds_) {
    engine_seconds_ = seconds;
    engine_->set_time(static_cast<rel_time_t>(seconds));
  }
  next_second_ns_ = (seconds - kReplayStartSeconds + 1) * kNsPerSecond;
}

void Replayer::refresh_next_wake() {
  next_wake_ns_ = std::min(events_.next_time(), next_second_ns_);
  if (flash_) next_wake_ns_ = std::min(next_wake_ns_, flash_->next_completion_ns());
}

void Replayer::run_event(const EventQueue::Entry& entry) {
  const uint64_t t = entry.time_ns;
  switch (entry.event) {
    case SimEvent::kLruMaintainer: {
      ++lru_steps_;
      const Micros next = maintainer_->step(t / kNsPerMicro);
      events_.schedule(std::max<uint64_t>(next * kNsPerMicro, t + 1), SimEvent::kLruMaintainer);
      if (rebalancer_ && !rebalancer_armed_ && rebalancer_->wants_to_run()) {
        rebalancer_armed_ = true;
        events_.schedule(t + 1, SimEvent::kSlabRebalancer);
      }
      break;
    }
    case SimEvent::kSlabRebalancer: {
      const Micros next = rebalancer_->step(t / kNsPerMicro);
      rebalancer_armed_ = next != kRebalancerIdle;
      if (rebalancer_armed_) {
        events_.schedule(std::max<uint64_t>(next * kNsPerMicro, t + 1), SimEvent::kSlabRebalancer);
      }
      break;
    }
    case SimEvent::kLruCrawler: {
      ++crawler_steps_;
      const Micros next = crawler_->step(t / kNsPerMicro);
      events_.schedule(std::max<uint64_t>(next * kNsPerMicro, t + 1), SimEvent::kLruCrawler);
      break;
    }
    case SimEvent::kFlusher:
      events_.schedule(std::max(flash_->flusher_step(t), t + 1), SimEvent::kFlusher);
      break;
    case SimEvent::kCompactor:
      events_.schedule(std::max(flash_->compactor_step(t), t + 1), SimEvent::kCompactor);
      break;
    case SimEvent::kSample:
      close_interval(t);
      events_.schedule(t + interval_ns_, SimEvent::kSample);
      break;
  }
}

void Replayer::run_due(uint64_t now_ns) {
  for (;;) {
    const uint64_t event_at = events_.next_time();
    const uint64_t io_at = flash_ ? flash_->next_completion_ns() : EventQueue::kNever;
    const uint64_t at = std::min(event_at, io_at);
    if (at > now_ns) break;
    // A settle window after the last request is done and another one before
    // now_ns is left: skip the idle stretch between (see replay.h).
    if (at >= idle_since_ns_ + kReplaySettleNs && now_ns - at > kReplaySettleNs &&
        io_at >= now_ns - kReplaySettleNs) {
      jump_clock(at, now_ns - kReplaySettleNs);
      continue;
    }
    set_engine_seconds(at);
    if (io_at <= event_at) {
      flash_->complete_reads(io_at);
      drain_flash();
    } else {
      run_event(events_.pop());
    }
  }
  set_engine_seconds(now_ns);
  refresh_next_wake();
}

void Replayer::drain_flash() {
  for (const FlashReadDone& done : flash_->done()) {
    if (done.hit) {
      ++counters_.hits_flash;
      counters_.hit_bytes_flash += done.value_size;
      if (done.timed) flash_latency_.record(done.latency_ns);
      continue;
    }
    ++counters_.flash_read_misses;
    ++counters_.misses;
    if (fill_on_miss_) {
      std::string_view key(reinterpret_cast<const char*>(&done.key_id), sizeof done.key_id);
      fill(key, done.key_len, done.value_size, done.ttl);
    }
  }
  flash_->clear_done();
}

void Replayer::advance_to(uint64_t now_ns) {
  if (now_ns < now_ns_) {
    ++counters_.time_reversals;
    now_ns = now_ns_;
  }
  idle_since_ns_ = now_ns_;
  now_ns_ = now_ns;
  if (now_ns >= next_wake_ns_) run_due(now_ns);
}

void Replayer::apply(const TraceRequest& request) {
  if (!started_) {
    started_ = true;
    first_trace_ns_ = request.time_ns;
    last_trace_ns_ = request.time_ns;
    engine_->set_time(kReplayStartSeconds);
    if (maintainer_) events_.schedule(0, SimEvent::kLruMaintainer);
    if (crawler_) events_.schedule(0, SimEvent::kLruCrawler);
    if (flash_) {
      events_.schedule(0, SimEvent::kFlusher);
      events_.schedule(0, SimEvent::kCompactor);
    }
    events_.schedule(interval_ns_, SimEvent::kSample);
    next_wake_ns_ = 0;
  }
  check_trace_time(request.time_ns);
  advance_to(virtual_ns(request.time_ns));
  if (!warmup_done_ && (now_ns_ >= warmup_ns_ || counters_.requests >= warmup_requests_)) {
    end_warmup();
  }
  ++counters_.records;

  const uint64_t key_id = request.key_id;
  if (keys_seen_.insert(key_id)) {
    ++counters_.keys;
    if (is_get_op(request.op)) ++counters_.compulsory_misses;
  }
  std::string_view key(reinterpret_cast<const char*>(&key_id), sizeof key_id);
  uint32_t key_size = request.key_size;
  if (key_size > 250) {
    ++counters_.keys_clamped;
    key_size = 250;
  }
  const uint8_t key_len = static_cast<uint8_t>(key_size);
  const uint32_t repeats = std::max<uint32_t>(request.op_count, 1);
  for (uint32_t i = 0; i < repeats; ++i) apply_once(request, key, key_len);
}

void Replayer::prefetch(const TraceRequest& request, Engine::PrefetchStage stage) const {
  const uint64_t key_id = request.key_id;
  engine_->prefetch(std::string_view(reinterpret_cast<const char*>(&key_id), sizeof key_id), stage);
}

void Replayer::apply_once(const TraceRequest& request, std::string_view key, uint8_t key_len) {
  ++counters_.requests;
  ++counters_.requests_by_op[static_cast<size_t>(request.op)];
  switch (request.op) {
    case Op::kGet:
    case Op::kGets:
    case Op::kGat:
    case Op::kGats:
      do_get(request, key, key_len);
      break;
    case Op::kSet:
      do_store(request, key, key_len, StoreMode::kSet);
      break;
    case Op::kAdd:
      do_store(request, key, key_len, StoreMode::kAdd);
      break;
    case Op::kReplace:
      do_store(request, key, key_len, StoreMode::kReplace);
      break;
    case Op::kAppend:
      do_store(request, key, key_len, StoreMode::kAppend);
      break;
    case Op::kPrepend:
      do_store(request, key, key_len, StoreMode::kPrepend);
      break;
    case Op::kCas:
      do_store(request, key, key_len, StoreMode::kCas);
      break;
    case Op::kDelete:
      if (engine_->remove(key) == DeleteResult::kDeleted) {
        ++counters_.delete_hits;
      } else {
        ++counters_.delete_misses;
      }
      break;
    case Op::kTouch:
      if (engine_->touch(key, request.ttl) == TouchResult::kTouched) {
        ++counters_.touch_hits;
      } else {
        ++counters_.touch_misses;
      }
      break;
    case Op::kIncr:
    case Op::kDecr: {
      const DeltaOutcome r =
          request.op == Op::kIncr ? engine_->incr(key, 1) : engine_->decr(key, 1);
      if (r.result == DeltaResult::kNotFound) {
        ++counters_.delta_misses;
      } else {
        ++counters_.delta_hits;
      }
      break;
    }
  }
}

void Replayer::do_get(const TraceRequest& request, std::string_view key, uint8_t key_len) {
  ++counters_.gets;
  counters_.get_bytes += request.value_size;
  GetOptions get_options;
  if (request.op == Op::kGat || request.op == Op::kGats) {
    get_options.touch = true;
    get_options.exptime = request.ttl;
  }
  const uint64_t started = measure_ram_ ? wall_ns() : 0;
  const GetResult r = engine_->get(key, get_options);
  switch (r.source) {
    case HitSource::kRam:
      ++counters_.hits_ram;
      counters_.hit_bytes_ram += r.info.value_len;
      ram_latency_.record(measure_ram_ ? wall_ns() - started : 0);
      break;
    case HitSource::kFlashHeader:
      flash_->start_read(key, key_len, r, request.value_size, request.ttl, now_ns_);
      drain_flash();
      refresh_next_wake();
      break;
    case HitSource::kMiss:
      ++counters_.misses;
      if (fill_on_miss_) fill(key, key_len, request.value_size, request.ttl);
      break;
  }
}

void Replayer::do_store(const TraceRequest& request, std::string_view key, uint8_t key_len,
                        StoreMode mode) {
  StoreRequest store;
  store.mode = mode;
  store.key = key;
  store.value_len = request.value_size;
  if (!value_bytes_.empty()) {
    store.value = std::string_view(value_bytes_)
                      .substr(0, std::min<size_t>(request.value_size, value_bytes_.size()));
  }
  store.exptime = request.ttl;
  store.accounted_key_len = key_len;
  if (mode == StoreMode::kCas) {
    // Traces carry no CAS values: a traced cas is taken to be the client's
    // successful compare-and-swap of the item as it is now (a peek that does
    // not bump). On a missing item the engine answers NOT_FOUND.
    GetOptions peek;
    peek.bump = false;
    const GetResult current = engine_->get(key, peek);
    store.cas = current.hit() ? current.info.cas : 1;
  }
  ++counters_.store_results[static_cast<size_t>(engine_->store(store).result)];
}

void Replayer::fill(std::string_view key, uint8_t key_len, uint32_t value_size, int64_t ttl) {
  ++counters_.fills;
  StoreRequest store;
  store.mode = StoreMode::kSet;
  store.key = key;
  store.value_len = value_size;
  if (!value_bytes_.empty()) {
    store.value =
        std::string_view(value_bytes_).substr(0, std::min<size_t>(value_size, value_bytes_.size()));
  }
  store.exptime = ttl;
  store.accounted_key_len = key_len;
  ++counters_.store_results[static_cast<size_t>(engine_->store(store).result)];
}

void Replayer::close_interval(uint64_t end_ns) {
  TimeSample s;
  s.end_ns = end_ns;
  s.requests = counters_.requests - interval_start_.requests;
  s.gets = counters_.gets - interval_start_.gets;
  s.hits_ram = counters_.hits_ram - interval_start_.hits_ram;
  s.hits_flash = counters_.hits_flash - interval_start_.hits_flash;
  s.misses = counters_.misses - interval_start_.misses;
  s.get_bytes = counters_.get_bytes - interval_start_.get_bytes;
  s.hit_bytes = counters_.hit_bytes_ram + counters_.hit_bytes_flash -
                interval_start_.hit_bytes_ram - interval_start_.hit_bytes_flash;
  const Stats st = engine_->stats();
  s.curr_items = st.curr_items;
  s.bytes = st.bytes;
  s.ram_used_bytes = st.total_malloced - st.slab_global_page_pool * options_.engine.slab_page_size;
  s.ext_header_items = st.ext_header_items;
  s.ext_header_bytes = st.ext_header_bytes;
  s.evictions = st.evictions;
  if (flash_) flash_->fill_sample(s);
  samples_.push_back(s);
  interval_start_ = counters_;
}

void Replayer::end_warmup() {
  warmup_done_ = true;
  warmed_ = true;
  warmup_.at_ns = now_ns_;
  warmup_.counters = counters_;
  if (flash_) {
    TimeSample now;
    flash_->fill_sample(now);
    warmup_.device_bytes_written = now.device_bytes_written;
  }
}

void Replayer::run(TraceReader& reader, ReplayProgress* progress) {
  std::vector<TraceRequest> batch(kBatch);
  const KeySampler sampler(options_.sample_rate, options_.sample_seed);
  const uint64_t limit = options_.max_requests == 0 ? UINT64_MAX : options_.max_requests;
  while (trace_requests_ < limit) {
    // Every record is at least one request: never read a record past the limit.
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kBatch, limit - trace_requests_));
    size_t read = reader.next_batch(batch.data(), want);
    const TraceReadStats& stats = reader.stats();
    if (stats.malformed >= kMalformedEarlyStop && stats.records * 100 <= stats.malformed) {
      stopped_on_malformed_ = true;
      break;
    }
    if (read == 0) break;
    // The limit counts the trace's requests, op_count repeats included (and
    // sampled-out keys too, so a sample replays the same stretch of trace):
    // the record that reaches it is cut short, the ones after it dropped.
    for (size_t i = 0; i < read; ++i) {
      const uint64_t left = limit - trace_requests_;
      if (left == 0) {
        read = i;
        break;
      }
      TraceRequest& r = batch[i];
      const uint64_t repeats = std::min<uint64_t>(std::max<uint32_t>(r.op_count, 1), left);
      r.op_count = static_cast<uint32_t>(repeats);
      trace_requests_ += repeats;
    }
    counters_.trace_records += read;
    size_t got = read;
    if (!sampler.all()) {
      got = 0;
      for (size_t i = 0; i < read; ++i) {
        const TraceRequest& r = batch[i];
        if (is_get_op(r.op)) {
          const uint64_t repeats = std::max<uint32_t>(r.op_count, 1);
          counters_.trace_gets += repeats;
          counters_.trace_get_bytes += repeats * r.value_size;
        }
        if (sampler.keeps(r.key_id)) batch[got++] = r;
      }
    }
    // The engine's lookups are two dependent cache misses (hash slot, then
    // item record) on any key set larger than the caches: start the slot
    // kSlotAhead requests early and the record kItemAhead requests early, so
    // both overlap with the work of the requests before.
    for (size_t i = 0; i < std::min(got, kSlotAhead); ++i) {
      prefetch(batch[i], Engine::PrefetchStage::kHashSlot);
    }
    for (size_t i = 0; i < std::min(got, kItemAhead); ++i) {
      prefetch(batch[i], Engine::PrefetchStage::kItem);
    }
    for (size_t i = 0; i < got; ++i) {
      if (i + kSlotAhead < got) prefetch(batch[i + kSlotAhead], Engine::PrefetchStage::kHashSlot);
      if (i + kItemAhead < got) prefetch(batch[i + kItemAhead], Engine::PrefetchStage::kItem);
      apply(batch[i]);
    }
    if (progress) progress->update(counters_.trace_records);
  }
  finish();
}

void Replayer::finish() {
  if (options_.sample_rate >= 1) {
    counters_.trace_gets = counters_.gets;
    counters_.trace_get_bytes = counters_.get_bytes;
  }
  if (finished_) return;
  finished_ = true;
  add_trace_warnings();
  if (!started_) return;
  run_due(now_ns_);
  if (flash_) {
    // Outstanding reads finish at their completion times; the replay's
    // clock (and duration) stays at the last request.
    while (flash_->next_completion_ns() != EventQueue::kNever) {
      const uint64_t at = flash_->next_completion_ns();
      run_due(std::max(at, now_ns_));
    }
  }
  if (samples_.empty() || samples_.back().end_ns < now_ns_ ||
      counters_.requests != interval_start_.requests) {
    close_interval(now_ns_);
  }
}

}  // namespace memext
