// The meta protocol's item state (memcached 1.6.18's ITEM_STALE and
// ITEM_TOKEN_SENT): mg's vivify-on-miss (N), recache (R) and stale-item
// tokens, md I's invalidation and ms I's stale CAS store. The bits live on
// the item record, so an extstore header item carries them like memcached's
// header item does.
#include "core/item_store.h"

namespace memext::core {

GetResult ItemStore::meta_get(std::string_view key, const GetOptions& options) {
  uint32_t n = find_live(key, false);
  bool created = false;
  if (n == kNoItem && options.vivify) {
    // memcached links an empty item (no client flags, exptime 0 until N's
    // TTL is applied below) and counts the request as a hit, not a miss.
    n = alloc_item(key, static_cast<uint8_t>(key.size()), 0, 0, 2, false);
    if (n != kNoItem) {
      link(n);
      created = true;
    }
  }
  // The lookup above is the one memcached logs; get() looks up again.
  quiet_lookups_ = true;
  if (n == kNoItem) {
    GetResult miss = get(key, options);
    quiet_lookups_ = false;
    return miss;
  }

  const Item& before = item(n);
  const rel_time_t exptime_before = before.exptime;
  const bool token_sent = (before.flags & kTokenSent) != 0;
  const bool stale = (before.flags & kStale) != 0;

  // The lookup proper: counters, bump and T's new exptime.
  GetResult result = get(key, options);
  quiet_lookups_ = false;
  Item& it = item(n);
  const rel_time_t touch_exptime = options.touch ? realtime(options.exptime) : 0;

  bool won = false;
  if (created) {
    it.exptime = options.touch && options.touch_after_vivify ? touch_exptime
                                                             : realtime(options.vivify_exptime);
    won = true;
  } else if (options.recache && !token_sent) {
    const rel_time_t seen =
        options.touch && options.touch_before_recache ? touch_exptime : exptime_before;
    if (seen != 0 && seen < realtime(options.recache_exptime)) won = true;
  }
  // A stale item hands its token to the first request that sees it.
  if (stale && !token_sent) won = true;
  if (won) it.flags |= kTokenSent;

  result.info.exptime = it.exptime;
  result.info.exptime_before = exptime_before;
  result.info.stale = stale;
  result.info.token_sent = token_sent;
  result.info.won = won;
  result.info.vivified = created;
  return result;
}

DeleteResult ItemStore::invalidate(std::string_view key, uint64_t cas, bool new_ttl,
                                   int64_t exptime) {
  DeleteResult refused;
  const uint32_t n = find_deletable(key, cas, refused);
  if (n == kNoItem) return refused;
  Item& it = item(n);
  if (new_ttl) it.exptime = realtime(exptime);
  // Clearing the token lets the next mg win the recache of the stale value.
  it.flags = static_cast<uint8_t>((it.flags | kStale) & ~kTokenSent);
  it.cas = config_.use_cas ? next_cas() : 0;
  return DeleteResult::kDeleted;
}

void ItemStore::store_stale(uint32_t old_n, uint32_t new_n) {
  const Item& old_it = item(old_n);
  Item& fresh = item(new_n);
  fresh.exptime = old_it.exptime;
  fresh.flags |= kStale | (old_it.flags & kTokenSent);
  class_counters_[old_it.clsid].cas_hits++;
  replace(old_n, new_n);
}

bool ItemStore::set_expiry(std::string_view key, rel_time_t exptime) {
  const uint32_t n = find_live(key, false);
  if (n == kNoItem) return false;
  item(n).exptime = exptime;
  return true;
}

}  // namespace memext::core
