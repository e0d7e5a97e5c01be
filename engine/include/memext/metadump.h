// memext/metadump.h — memcached's `lru_crawler metadump`: one text line per
// live item, "key=<uri-encoded key> exp=<unix time or -1> la=<unix time of
// last access> cas=<n> fetch=<yes|no> cls=<slab class> size=<ITEM_ntotal>\n",
// expired and flushed items left out.
//
// The walk goes LRU by LRU, tail to head, in batches, so a server can send
// each batch before taking the next and the engine serves other requests in
// between. Between batches it remembers the next item (number and CAS); when
// that item has left its LRU, the rest of that LRU is skipped (memcached's
// crawler also misses items that move past it). memcached walks its LRUs
// round robin, one item each, and "hash" in hash-table order: the lines are
// the same, the order differs. Not thread-safe: call under whatever
// serializes the engine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "memext/lru_crawler.h"

namespace memext {

class Metadump {
 public:
  // `classes`: as LruCrawler::select_lrus, or "hash" (every item). False on a
  // bad class list (BADCLASS), and nothing is dumped.
  bool start(std::string_view classes);

  // Appends the lines of up to `max_items` items looked at. Returns true
  // while items remain to look at.
  bool next(Engine& engine, std::string& out, uint32_t max_items);

 private:
  LruCrawler::LruSet lrus_{};
  uint32_t lru_ = 0;     // LRU id being walked (memcached's class | segment << 6)
  bool at_tail_ = true;  // the current LRU's walk starts at its tail of the moment
  uint32_t next_ = 0;    // item to look at next (when !at_tail_)
  uint64_t next_cas_ = 0;
};

// memcached's `stats cachedump <class> <limit>`: "ITEM <key> [<value
// bytes> b; <unix expiry or 0> s]\r\n" for the items of the class's COLD
// LRU, newest first, at most `limit` (0: all) and at most 2 MB of lines, then
// "END\r\n". Precondition: clsid < kMaxCacheDumpClass (memcached's 64).
inline constexpr uint32_t kMaxCacheDumpClass = 64;
std::string item_cachedump(Engine& engine, uint32_t clsid, uint32_t limit);

}  // namespace memext
