// memext/events.h — what the engine reports as it works, for memcached's
// `watch` log: every key lookup (memcached's do_item_get, which stores,
// deletes, touches and incr/decr run too), every store, every eviction,
// every extstore write, the compactor's progress and the LRU crawler's.
//
// A server attaches one EventSink (Engine::set_event_sink) and turns the
// streams it wants on and off; the engine calls the sink only for a wanted
// stream, so with no watcher attached an event costs one relaxed load (and
// the simulator, which attaches none, one pointer test). Events are raised
// on the thread driving the engine, with the engine's lock held: a sink must
// not block or call back into the engine.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "memext/engine.h"

namespace memext {

// memcached's LOG_* bits, so a sink can keep memcached's numbering.
namespace log_stream {
inline constexpr uint32_t kSysevents = 1u << 1;
inline constexpr uint32_t kFetchers = 1u << 2;
inline constexpr uint32_t kMutations = 1u << 3;
inline constexpr uint32_t kConnevents = 1u << 5;
inline constexpr uint32_t kEvictions = 1u << 6;
inline constexpr uint32_t kRawcmds = 1u << 9;
inline constexpr uint32_t kProxyreqs = 1u << 10;
inline constexpr uint32_t kProxyevents = 1u << 11;
inline constexpr uint32_t kProxyuser = 1u << 12;
// memext's own: the LRU crawler's progress, for memcached's -vvv stderr lines.
inline constexpr uint32_t kCrawlerProgress = 1u << 24;
}  // namespace log_stream

// memcached's was_found: what a lookup saw.
enum class LookupStatus : uint8_t { kNotFound = 0, kFound = 1, kFlushed = 2, kExpired = 3 };

struct ItemGetEvent {
  std::string_view key;
  LookupStatus status = LookupStatus::kNotFound;
  uint8_t clsid = 0;       // 0 unless found
  uint32_t value_len = 0;  // without "\r\n"; 0 unless found
};

// A store command's outcome, about the item the command built (for append
// and prepend, its own data, as memcached logs it).
struct ItemStoreEvent {
  std::string_view key;
  StoreResult result = StoreResult::kStored;
  StoreMode mode = StoreMode::kSet;
  rel_time_t ttl = 0;  // exptime - now, wrapping as memcached's unsigned math; 0 = none
  uint8_t clsid = 0;
  uint32_t value_len = 0;
};

// An item leaving RAM: evicted from the COLD tail, or written to flash.
struct ItemLeaveEvent {
  std::string_view key;
  bool fetched = false;
  int64_t ttl = -1;          // seconds left; -1 = never expires
  uint32_t last_access = 0;  // seconds since last access
  uint8_t clsid = 0;
  uint32_t value_len = 0;  // eviction only
  uint8_t bucket = 0;      // extstore write only: the PageBucket written to
};

// The compactor's steps on one page (memcached's compact_* log lines).
// kFragInfo: a check for a page to compact, with few pages free, sets its
// fragmentation limit (live bytes under it make a page a candidate).
enum class CompactStep : uint8_t { kStart, kAbort, kReadStart, kReadEnd, kEnd, kFragInfo };
struct CompactEvent {
  CompactStep step = CompactStep::kStart;
  uint32_t page_id = 0;
  uint64_t version = 0;                         // kStart
  uint64_t offset = 0;                          // kReadStart, kReadEnd
  uint64_t rescues = 0, lost = 0, skipped = 0;  // kReadEnd: this region's
  double frag_ratio = 0;                        // kFragInfo: of a page's size
  uint64_t frag_limit = 0;                      // kFragInfo: in bytes
};

// What the autocrawler's scheduler saw of one LRU's finished crawl as it
// set the next (memcached's lru_crawler sysevents line).
struct CrawlerStatusEvent {
  uint32_t lru_id = 0;  // class | segment << 6
  uint64_t low_mark = 0;
  uint64_t next_reclaims = 0;
  uint32_t since_run = 0;  // seconds since the crawl ended
  uint32_t next_run = 0;   // seconds until the next
  uint32_t elapsed = 0;    // seconds the crawl took
  uint64_t examined = 0;
  uint64_t reclaimed = 0;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Whether any of `streams` (log_stream bits) is wanted now.
  bool wants(uint32_t streams) const {
    return (streams_.load(std::memory_order_relaxed) & streams) != 0;
  }

  virtual void item_get(const ItemGetEvent& event) = 0;
  virtual void item_store(const ItemStoreEvent& event) = 0;
  virtual void eviction(const ItemLeaveEvent& event) = 0;
  virtual void extstore_write(const ItemLeaveEvent& event) = 0;
  virtual void compaction(const CompactEvent& event) = 0;
  virtual void slab_move(uint32_t src_clsid, uint32_t dst_clsid) = 0;
  // kSysevents.
  virtual void crawler_status(const CrawlerStatusEvent&) {}
  // kCrawlerProgress: a crawl of LRU `lru_id` starts, ends; every crawl has ended.
  virtual void crawler_started(uint32_t /*lru_id*/) {}
  virtual void crawler_finished(uint32_t /*lru_id*/) {}
  virtual void crawler_idle() {}

 protected:
  void set_streams(uint32_t streams) { streams_.store(streams, std::memory_order_relaxed); }

 private:
  std::atomic<uint32_t> streams_{0};
};

}  // namespace memext
