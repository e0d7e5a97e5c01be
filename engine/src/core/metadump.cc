#include "memext/metadump.h"

#include <cassert>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "core/item_store.h"
#include "memext/engine.h"

namespace memext {

namespace {

constexpr uint32_t kSegmentShift = 6;

// memcached's uriencode: everything but [A-Za-z0-9-._~] as %XX.
void append_uri_encoded(std::string& out, std::string_view key) {
  static const char kHex[] = "0123456789ABCDEF";
  for (const char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '.' || u == '_' || u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
}

}  // namespace

bool Metadump::start(std::string_view classes) {
  lrus_ = {};
  if (classes == "hash") {
    lrus_.fill(true);
  } else if (!LruCrawler::select_lrus(classes, lrus_)) {
    return false;
  }
  lru_ = 0;
  at_tail_ = true;
  return true;
}

bool Metadump::next(Engine& engine, std::string& out, uint32_t max_items) {
  core::ItemStore& store = engine.internals();
  const int64_t started = store.config().process_started;
  const rel_time_t now = store.now();
  uint32_t looked = 0;
  for (; lru_ < LruCrawler::kLruIds; ++lru_, at_tail_ = true) {
    const uint32_t cls = lru_ & ((1u << kSegmentShift) - 1);
    if (!lrus_[lru_] || cls == 0 || cls > store.classes().largest()) continue;
    const auto segment = static_cast<LruSegment>(lru_ >> kSegmentShift);
    uint32_t n = store.lru(cls, segment).tail;
    if (!at_tail_) {
      const core::Item& it = store.item(next_);
      const bool still_there = (it.flags & core::kLinked) && it.cas == next_cas_ &&
                               it.clsid == cls && static_cast<LruSegment>(it.lru) == segment;
      if (!still_there) continue;
      n = next_;
    }
    for (; n != core::kNoItem; n = store.item(n).prev) {
      if (looked == max_items) {
        at_tail_ = false;
        next_ = n;
        next_cas_ = store.item(n).cas;
        return true;
      }
      ++looked;
      const core::Item& it = store.item(n);
      if ((it.exptime != 0 && it.exptime < now) || store.is_flushed(it)) continue;
      out.append("key=");
      append_uri_encoded(out, store.key_of(it));
      char line[160];
      std::snprintf(
          line, sizeof line,
          " exp=%" PRId64 " la=%" PRId64 " cas=%" PRIu64 " fetch=%s cls=%u size=%" PRIu64 "\n",
          it.exptime == 0 ? int64_t{-1} : int64_t{it.exptime} + started, int64_t{it.time} + started,
          it.cas, (it.flags & core::kFetched) ? "yes" : "no", unsigned{it.clsid}, store.ntotal(it));
      out.append(line);
    }
  }
  return false;
}

std::string item_cachedump(Engine& engine, uint32_t clsid, uint32_t limit) {
  assert(clsid < kMaxCacheDumpClass);
  constexpr size_t kMemLimit = 2u << 20;
  core::ItemStore& store = engine.internals();
  const int64_t started = store.config().process_started;
  std::string out;
  if (clsid != 0 && clsid <= store.classes().largest()) {
    uint32_t shown = 0;
    for (uint32_t n = store.lru(clsid, LruSegment::kCold).head;
         n != core::kNoItem && (limit == 0 || shown < limit); n = store.item(n).next) {
      const core::Item& it = store.item(n);
      char tail[64];
      std::snprintf(tail, sizeof tail, " [%u b; %" PRId64 " s]\r\n", it.nbytes - 2,
                    it.exptime == 0 ? int64_t{0} : int64_t{it.exptime} + started);
      const std::string_view key = store.key_of(it);
      if (out.size() + 5 + key.size() + std::strlen(tail) + 6 > kMemLimit) break;
      out.append("ITEM ");
      out.append(key);
      out.append(tail);
      ++shown;
    }
  }
  out.append("END\r\n");
  return out;
}

}  // namespace memext
