#include "memext/lru_crawler.h"

#include <algorithm>

#include "core/item_store.h"
#include "core/storage_hooks.h"
#include "memext/engine.h"

namespace memext {

namespace {

constexpr uint32_t kSegmentShift = 6;  // memcached's HOT/WARM/COLD/TEMP_LRU bits

uint32_t class_of(uint32_t id) {
  return id & (kMaxSlabClasses - 1);
}
LruSegment segment_of(uint32_t id) {
  return static_cast<LruSegment>(id >> kSegmentShift);
}

// memcached's safe_strtoul: strtoul's syntax (optional '+', decimal digits),
// rejecting a '-' and overflow of 64 bits; the value is then truncated to 32
// bits, so "4294967297" names class 1 as it does in memcached.
bool parse_class_id(std::string_view text, uint32_t& out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  uint64_t v = 0;
  for (const char ch : text) {
    if (ch < '0' || ch > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(ch - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

LruCrawler::LruCrawler(Engine& engine) : engine_(engine) {
  active_.reserve(kLruIds);
}

bool LruCrawler::enabled() const {
  return engine_.config().lru_crawler;
}

bool LruCrawler::enable() {
  EngineConfig& config = core::StorageHooks(engine_).mutable_config();
  if (config.lru_crawler) return false;
  config.lru_crawler = true;
  return true;
}

void LruCrawler::disable() {
  core::StorageHooks(engine_).mutable_config().lru_crawler = false;
}

void LruCrawler::set_sleep(uint32_t micros) {
  core::StorageHooks(engine_).mutable_config().lru_crawler_sleep = micros;
}

void LruCrawler::set_tocrawl(uint32_t items) {
  core::StorageHooks(engine_).mutable_config().lru_crawler_tocrawl = items;
}

bool LruCrawler::select_lrus(std::string_view classes, LruSet& lrus) {
  if (classes == "all") {
    lrus.fill(true);
    return true;
  }
  // strtok: empty fields between commas are skipped.
  while (!classes.empty()) {
    const size_t comma = classes.find(',');
    const std::string_view field = classes.substr(0, comma);
    classes.remove_prefix(comma == std::string_view::npos ? classes.size() : comma + 1);
    if (field.empty()) continue;
    uint32_t cls = 0;
    if (!parse_class_id(field, cls) || cls < 1 || cls >= kMaxSlabClasses) return false;
    for (uint32_t segment = 0; segment < 4; ++segment) lrus[cls | segment << kSegmentShift] = true;
  }
  return true;
}

CrawlerResult LruCrawler::crawl(std::string_view classes) {
  LruSet todo{};
  if (!select_lrus(classes, todo)) return CrawlerResult::kBadClass;
  const int started = start(todo, engine_.config().lru_crawler_tocrawl, Kind::kExpired);
  if (started < 0) return CrawlerResult::kRunning;
  return started > 0 ? CrawlerResult::kOk : CrawlerResult::kNotStarted;
}

int LruCrawler::start(const LruSet& todo, uint32_t remaining, Kind kind) {
  const rel_time_t now = engine_.current_time();
  const bool is_running = running();
  // A request while another kind of crawl runs is refused and keeps the
  // autocrawler off for a minute; the autocrawler may add LRUs to its own.
  if (is_running && !(kind == Kind::kAutoexpire && kind_ == Kind::kAutoexpire)) {
    block_autoexpire_until_ = now + 60;
    return -1;
  }
  if (kind == Kind::kAutoexpire && block_autoexpire_until_ > now) return -1;
  if (!is_running) {
    kind_ = kind;
    // A manual crawl keeps its histogram apart (memcached allocates one per
    // request); only the autocrawler's feeds the schedule.
    if (kind == Kind::kAutoexpire) histograms_.fill(CrawlHistogram{});
  }
  // memcached's encoding: n + 1 items to go, 0 = no cap (so UINT32_MAX wraps to no cap).
  if (remaining != 0) ++remaining;
  int started = 0;
  for (uint32_t id = 1; id < kLruIds; ++id) {
    Crawl& c = crawls_[id];
    if (!todo[id] || c.active) continue;
    c = Crawl{};
    c.active = true;
    c.remaining = remaining;
    if (kind == Kind::kAutoexpire) histograms_[id].start_time = now;
    active_.insert(std::upper_bound(active_.begin(), active_.end(), id), id);
    ++started;
    if (EventSink* sink = engine_.internals().logging(log_stream::kCrawlerProgress)) {
      sink->crawler_started(id);
    }
  }
  if (started > 0) ++starts_;
  return started;
}

void LruCrawler::autoexpire_check() {
  const core::ItemStore& store = engine_.internals();
  const rel_time_t now = store.now();
  LruSet todo{};
  bool do_run = false;
  uint64_t tocrawl_limit = 0;
  for (uint32_t id = 1; id < kLruIds; ++id) {
    CrawlHistogram& s = histograms_[id];
    rel_time_t& wait = next_crawl_wait_[id];
    if (s.run_complete) {
      // Crawl again soon when at least 1% of the items that can expire will
      // within the minute the wait stands for; else wait a minute longer.
      const uint64_t possible_reclaims = s.seen - s.noexp;
      const uint64_t low_watermark = possible_reclaims / 100 + 1;
      uint64_t available_reclaims = 0;
      for (uint32_t x = 0; x < 60; ++x) {
        available_reclaims += s.histo[x];
        if (available_reclaims > low_watermark) {
          if (wait < x * 60) {
            wait += 60;
          } else if (wait >= 60) {
            wait -= 60;
          }
          break;
        }
      }
      if (available_reclaims == 0) wait += 60;
      wait = std::min(wait, kMaxMaintCrawlWait);
      next_crawls_[id] = now + wait + 5;
      s.run_complete = false;
      if (EventSink* sink = store.logging(log_stream::kSysevents)) {
        CrawlerStatusEvent event;
        event.lru_id = id;
        event.low_mark = low_watermark;
        event.next_reclaims = available_reclaims;
        event.since_run = now - s.end_time;
        event.next_run = wait + 5;
        event.elapsed = s.end_time - s.start_time;
        event.examined = s.seen;
        event.reclaimed = s.reclaimed;
        sink->crawler_status(event);
      }
    }
    if (now > next_crawls_[id]) {
      tocrawl_limit = std::max(tocrawl_limit, store.lru(class_of(id), segment_of(id)).count);
      todo[id] = true;
      do_run = true;
      next_crawls_[id] = now + 5;  // retry if the start is refused
    }
  }
  if (!do_run) return;
  const uint32_t tocrawl = engine_.config().lru_crawler_tocrawl;
  if (tocrawl != 0 && tocrawl < tocrawl_limit) tocrawl_limit = tocrawl;
  start(todo, static_cast<uint32_t>(tocrawl_limit), Kind::kAutoexpire);
}

Micros LruCrawler::step(Micros now) {
  core::ItemStore& store = engine_.internals();
  const EngineConfig& config = store.config();
  // The maintainer's once-per-second check (memcached runs it there).
  if (config.lru_crawler && config.lru_maintainer && last_check_ != store.now()) {
    autoexpire_check();
    last_check_ = store.now();
  }
  // One item of each running LRU in turn, sleeping after crawls_persleep
  // items; without a sleep, a batch of that size still ends the step so that
  // operations interleave.
  uint32_t batch = 0;
  while (!active_.empty()) {
    auto it = std::lower_bound(active_.begin(), active_.end(), pass_from_);
    if (it == active_.end()) it = active_.begin();
    const uint32_t id = *it;
    pass_from_ = id + 1;
    if (!crawl_one(id)) continue;
    const uint32_t sleep = store.config().lru_crawler_sleep;
    if (crawls_persleep_-- <= 0 && sleep != 0) {
      crawls_persleep_ = kCrawlsPerSleep;
      remember_cursors();
      return now + sleep;
    }
    if (sleep == 0 && ++batch > kCrawlsPerSleep) {
      remember_cursors();
      return now;
    }
  }
  return now + kMicrosPerSecond;
}

void LruCrawler::remember_cursors() {
  const core::ItemStore& store = engine_.internals();
  for (const uint32_t id : active_) {
    Crawl& c = crawls_[id];
    if (c.next_checked) continue;
    c.next_cas = c.next != core::kNoItem ? store.item(c.next).cas : 0;
    c.next_checked = true;
  }
}

bool LruCrawler::crawl_one(uint32_t id) {
  core::ItemStore& store = engine_.internals();
  Crawl& c = crawls_[id];
  const uint32_t cls = class_of(id);
  const LruSegment segment = segment_of(id);
  uint32_t n = core::kNoItem;
  if (c.at_tail) {
    n = store.lru(cls, segment).tail;
    c.at_tail = false;
  } else if (!c.next_checked) {
    n = c.next;
  } else if (c.next != core::kNoItem) {
    const core::Item& it = store.item(c.next);
    const bool same_place = (it.flags & core::kLinked) && it.cas == c.next_cas && it.clsid == cls &&
                            it.lru == static_cast<uint8_t>(segment);
    if (same_place) n = c.next;
  }
  if (n == core::kNoItem || (c.remaining != 0 && --c.remaining < 1)) {
    finish(id);
    return false;
  }
  ++c.checked;
  ++items_visited_;
  const uint32_t prev = store.item(n).prev;
  evaluate(id, n);
  // Nothing but the crawler touches the engine until this step ends, so the
  // next item needs no check (nor its CAS read) before then; loading it
  // overlaps with the other LRUs' turns.
  c.next = prev;
  c.next_checked = false;
  if (prev != core::kNoItem) __builtin_prefetch(&store.item(prev));
  return true;
}

void LruCrawler::evaluate(uint32_t id, uint32_t n) {
  core::ItemStore& store = engine_.internals();
  const core::Item& it = store.item(n);
  const rel_time_t now = store.now();
  CrawlHistogram* s = kind_ == Kind::kAutoexpire ? &histograms_[id] : nullptr;
  const bool flushed = store.is_flushed(it);
  // A header whose flash page was reused since holds nothing (memcached's
  // storage_validate_item).
  const bool gone = (it.flags & core::kHdr) && !store.header_valid(n);
  // memcached's crawler takes exptime == now as alive (a get does not).
  if ((it.exptime != 0 && it.exptime < now) || flushed || gone) {
    Crawl& c = crawls_[id];
    ++c.reclaimed;
    if (s != nullptr) ++s->reclaimed;
    if (!(it.flags & core::kFetched) && !flushed) ++c.unfetched;
    store.unlink(n);
    return;
  }
  if (s == nullptr) return;
  ++s->seen;
  if (it.exptime == 0) {
    ++s->noexp;
  } else if (it.exptime - now > 3599) {
    ++s->ttl_hourplus;
  } else {
    s->histo[(it.exptime - now) / 60]++;
  }
}

void LruCrawler::finish(uint32_t id) {
  Crawl& c = crawls_[id];
  Totals& t = totals_[id];
  t.reclaimed += c.reclaimed;
  t.unfetched += c.unfetched;
  t.checked += c.checked;
  if (kind_ == Kind::kAutoexpire) {
    histograms_[id].run_complete = true;
    histograms_[id].end_time = engine_.internals().now();
  }
  c.active = false;
  active_.erase(std::lower_bound(active_.begin(), active_.end(), id));
  if (EventSink* sink = engine_.internals().logging(log_stream::kCrawlerProgress)) {
    sink->crawler_finished(id);
    if (active_.empty()) sink->crawler_idle();
  }
}

void LruCrawler::add_stats(Stats& stats) const {
  stats.lru_crawler_running = running() ? 1 : 0;
  stats.lru_crawler_starts = starts_;
  for (uint32_t id = 0; id < kLruIds; ++id) {
    const Totals& t = totals_[id];
    stats.crawler_reclaimed += t.reclaimed;
    stats.crawler_items_checked += t.checked;
    stats.expired_unfetched += t.unfetched;
  }
  for (ItemClassStats& c : stats.items) {
    for (uint32_t segment = 0; segment < 4; ++segment) {
      const Totals& t = totals_[c.id | segment << kSegmentShift];
      c.crawler_reclaimed += t.reclaimed;
      c.crawler_items_checked += t.checked;
      c.expired_unfetched += t.unfetched;
    }
  }
}

}  // namespace memext
