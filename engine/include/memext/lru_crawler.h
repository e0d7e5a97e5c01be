// memext/lru_crawler.h — memcached 1.6.18's LRU crawler (crawler.c) and its
// autoexpire scheduling (items.c's lru_maintainer_crawler_check) as a step
// object.
//
// A crawl walks chosen LRUs (slab class x HOT/WARM/COLD/TEMP) from the tail
// towards the head, one item per running LRU in turn, unlinking items that
// are expired or flushed (memcached's crawler_expired_eval) and counting the
// rest into a TTL histogram. A finished LRU adds its reclaimed, unfetched and
// checked counts to that LRU's item stats. Every crawls_persleep items the
// crawler sleeps lru_crawler_sleep microseconds: here step() returns that
// wake-up, so engine operations run between batches. Once per engine second
// (with the LRU maintainer and the crawler enabled, as in memcached) step()
// also schedules autoexpire crawls from the previous crawl's histogram.
//
// Where memcached links a pseudo item into the LRU as its cursor, a crawl
// here remembers the next item to look at (number and CAS) between steps;
// when that item has left its LRU (unlinked, moved to another segment) the
// LRU's crawl ends early, and when it was bumped to its LRU's head the crawl
// goes on from there, as memcached's crawler also misses items that move
// past it. Deterministic: the same operations and step times give the same
// crawl.
//
// Extstore headers whose flash page was reused are reclaimed too (memcached's
// storage_validate_item, asked through the HeaderUnlinkListener). Not
// modelled: the maintainer's pulls are not held up by a crawler sitting at an
// LRU's tail (LRU_PULL_CRAWL_BLOCKS). `lru_crawler metadump` is memext/metadump.h.
// Not thread-safe; drive it on the engine's thread, like LruMaintainer.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "memext/slabs.h"
#include "memext/stats.h"
#include "memext/time.h"

namespace memext {

class Engine;

// memcached's settings.crawls_persleep (not configurable there either).
inline constexpr uint32_t kCrawlsPerSleep = 1000;
// memcached's MAX_MAINTCRAWL_WAIT: every LRU is crawled at least hourly.
inline constexpr rel_time_t kMaxMaintCrawlWait = 60 * 60;

// memcached's crawler_result_type for `lru_crawler crawl`.
enum class CrawlerResult : uint8_t {
  kOk,
  kRunning,     // a crawl is in progress (BUSY)
  kBadClass,    // a class id outside 1..63 or not a number
  kNotStarted,  // no LRU was chosen
};

class LruCrawler {
 public:
  explicit LruCrawler(Engine& engine);
  LruCrawler(const LruCrawler&) = delete;
  LruCrawler& operator=(const LruCrawler&) = delete;

  // Crawls a batch (or schedules autoexpire crawls) at driver time `now`
  // (microseconds) and returns when it wants to run next: now +
  // lru_crawler_sleep while crawling, else the next engine second. The
  // engine's current_time is the driver's to keep up to date.
  Micros step(Micros now);

  // memcached's LRU ids: class | segment << 6.
  static constexpr uint32_t kLruIds = kMaxSlabClasses * 4;
  using LruSet = std::array<bool, kLruIds>;
  // Marks in `lrus` every LRU of the classes named: "all" or a comma-separated
  // list of slab class ids, read as memcached's strtok + safe_strtoul do.
  // False on a bad class id (BADCLASS).
  static bool select_lrus(std::string_view classes, LruSet& lrus);

  // `lru_crawler crawl <classes>` (see select_lrus). Crawls at most
  // lru_crawler_tocrawl items per LRU (0 = all). Precondition: enabled().
  CrawlerResult crawl(std::string_view classes);

  // `lru_crawler enable|disable` (EngineConfig::lru_crawler). enable() is
  // false when the crawler already runs (memcached's "ERROR failed to start
  // lru crawler thread"). A crawl in progress when disabled still finishes.
  bool enable();
  void disable();
  bool enabled() const;
  // `lru_crawler sleep` (0..1000000 µs) and `lru_crawler tocrawl`.
  void set_sleep(uint32_t micros);
  void set_tocrawl(uint32_t items);

  bool running() const { return !active_.empty(); }
  uint64_t starts() const { return starts_; }
  // Items looked at by every step so far (finished or not).
  uint64_t items_visited() const { return items_visited_; }

  // Adds the crawler's figures to a snapshot of Engine::stats(): the
  // per-class crawler_reclaimed, crawler_items_checked and expired_unfetched,
  // their totals and lru_crawler_running / lru_crawler_starts.
  void add_stats(Stats& stats) const;

 private:
  // memcached's crawlerstats_t: what the last autoexpire crawl of an LRU saw.
  struct CrawlHistogram {
    std::array<uint64_t, 61> histo{};  // items expiring in minute n from now
    uint64_t ttl_hourplus = 0;
    uint64_t noexp = 0;
    uint64_t reclaimed = 0;
    uint64_t seen = 0;
    rel_time_t start_time = 0, end_time = 0;
    bool run_complete = false;
  };
  // One running LRU crawl (memcached's crawlers[id]).
  struct Crawl {
    bool active = false;
    bool at_tail = true;  // not started: begins at the LRU's tail of the moment
    uint32_t next = 0;    // item to look at next (valid when !at_tail)
    uint64_t next_cas = 0;
    // next_cas holds `next`'s CAS, so `next` must be checked before use
    // (false within the step that found it: nothing else ran since).
    bool next_checked = true;
    uint32_t remaining = 0;  // memcached's encoding: 0 = no cap, n + 1 = n items left
    uint64_t reclaimed = 0, unfetched = 0, checked = 0;
  };
  struct Totals {
    uint64_t reclaimed = 0, unfetched = 0, checked = 0;
  };
  enum class Kind : uint8_t { kExpired, kAutoexpire };

  // memcached's lru_crawler_start; returns -1 (busy), or LRUs started.
  int start(const LruSet& todo, uint32_t remaining, Kind kind);
  void autoexpire_check();
  // Looks at the next item of LRU `id`; false when its crawl is over.
  bool crawl_one(uint32_t id);
  void evaluate(uint32_t id, uint32_t n);
  void finish(uint32_t id);
  // Records the CAS of each running crawl's next item as a step ends.
  void remember_cursors();

  Engine& engine_;
  std::array<Crawl, kLruIds> crawls_{};
  std::vector<uint32_t> active_;               // running LRU ids, ascending
  uint32_t pass_from_ = 0;                     // the round-robin pass resumes at this id
  int64_t crawls_persleep_ = kCrawlsPerSleep;  // memcached's thread-wide countdown
  Kind kind_ = Kind::kExpired;
  rel_time_t block_autoexpire_until_ = 0;
  rel_time_t last_check_ = 0;
  bool checked_once_ = false;
  // Autoexpire's schedule (items.c's next_crawls / next_crawl_wait).
  std::array<CrawlHistogram, kLruIds> histograms_{};
  std::array<rel_time_t, kLruIds> next_crawls_{};
  std::array<rel_time_t, kLruIds> next_crawl_wait_{};
  std::array<Totals, kLruIds> totals_{};
  uint64_t starts_ = 0;
  uint64_t items_visited_ = 0;
};

}  // namespace memext
