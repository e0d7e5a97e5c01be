// The meta protocol's engine state against memcached 1.6.18's rules for
// ITEM_STALE and ITEM_TOKEN_SENT (mg N/R/T and W/X/Z, md I, ms I), and the
// strtoull rules of incr/decr. Expected values were checked on memcached
// 1.6.18 with the same command sequences.
#include <doctest/doctest.h>

#include <string>

#include "core/item_store.h"
#include "core/storage_hooks.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

GetOptions meta(GetOptions options = {}) {
  options.meta = true;
  return options;
}

GetOptions vivify(int64_t ttl) {
  GetOptions options = meta();
  options.vivify = true;
  options.vivify_exptime = ttl;
  return options;
}

GetOptions recache(int64_t threshold) {
  GetOptions options = meta();
  options.recache = true;
  options.recache_exptime = threshold;
  return options;
}

}  // namespace

TEST_CASE("mg N vivifies an empty item once: the creator wins, later requests see Z") {
  Engine engine(small_config());
  engine.set_time(100);
  GetResult first = engine.get("k", vivify(30));
  REQUIRE(first.source == HitSource::kRam);
  CHECK(first.value.empty());
  CHECK(first.info.vivified);
  CHECK(first.info.won);
  CHECK(!first.info.token_sent);
  CHECK(first.info.exptime == 130);
  CHECK(first.info.exptime_before == 0);
  CHECK(first.info.client_flags == 0);
  CHECK(first.info.cas == 1);

  GetResult second = engine.get("k", vivify(30));
  CHECK(!second.info.vivified);
  CHECK(!second.info.won);
  CHECK(second.info.token_sent);
  CHECK(second.info.exptime == 130);
  // A plain meta get reports the token too; a classic get changes nothing.
  CHECK(engine.get("k", meta()).info.token_sent);
  CHECK(!engine.get("k").info.token_sent);

  // memcached counts the vivifying request as a hit, not a miss.
  Stats st = engine.stats();
  CHECK(st.get_misses == 0);
  CHECK(st.get_hits == 4);
  CHECK(st.curr_items == 1);
  CHECK(st.total_items == 1);
  CHECK(st.cmd_set == 0);

  // A set replaces the item with a fresh one: no token, no stale mark.
  engine.set("k", "v");
  GetResult after = engine.get("k", vivify(30));
  CHECK(!after.info.token_sent);
  CHECK(!after.info.won);
}

TEST_CASE("mg without N on a miss stays a miss and creates nothing") {
  Engine engine(small_config());
  engine.set_time(100);
  CHECK(!engine.get("k", recache(30)).hit());
  CHECK(engine.stats().get_misses == 1);
  CHECK(engine.stats().curr_items == 0);
}

TEST_CASE("mg R wins when the TTL left is below the token, once") {
  Engine engine(small_config());
  engine.set_time(100);
  store(engine, StoreMode::kSet, "k", "x", 0, 0, 100);  // exptime 200
  GetResult far = engine.get("k", recache(30));
  CHECK(!far.info.won);
  CHECK(!far.info.token_sent);
  // Equal is not below.
  CHECK(!engine.get("k", recache(100)).info.won);
  GetResult near = engine.get("k", recache(200));
  CHECK(near.info.won);
  CHECK(!near.info.token_sent);
  GetResult again = engine.get("k", recache(200));
  CHECK(!again.info.won);
  CHECK(again.info.token_sent);
  // Items that never expire never win by R.
  engine.set("forever", "x");
  CHECK(!engine.get("forever", recache(200)).info.won);
}

TEST_CASE("mg R sees the exptime a T before it set, not one after it") {
  Engine engine(small_config());
  engine.set_time(100);
  store(engine, StoreMode::kSet, "a", "x", 0, 0, 100);
  store(engine, StoreMode::kSet, "b", "x", 0, 0, 100);
  GetOptions touched_first = recache(20);
  touched_first.touch = true;
  touched_first.exptime = 10;
  touched_first.touch_before_recache = true;
  GetResult a = engine.get("a", touched_first);
  CHECK(a.info.won);
  CHECK(a.info.exptime == 110);
  CHECK(a.info.exptime_before == 200);

  GetOptions touched_after = touched_first;
  touched_after.touch_before_recache = false;
  GetResult b = engine.get("b", touched_after);
  CHECK(!b.info.won);
  CHECK(b.info.exptime == 110);
  CHECK(engine.stats().touch_hits == 2);
}

TEST_CASE("mg N with T on a created item keeps the TTL of the later flag") {
  Engine engine(small_config());
  engine.set_time(100);
  GetOptions n_last = vivify(30);
  n_last.touch = true;
  n_last.exptime = 5;
  n_last.touch_after_vivify = false;
  CHECK(engine.get("a", n_last).info.exptime == 130);
  GetOptions t_last = n_last;
  t_last.touch_after_vivify = true;
  CHECK(engine.get("b", t_last).info.exptime == 105);
  // R never wins on the item N just created; N's win is the one reported.
  GetOptions both = vivify(5);
  both.recache = true;
  both.recache_exptime = 10;
  GetResult c = engine.get("c", both);
  CHECK(c.info.won);
  CHECK(engine.get("c", both).info.token_sent);
}

TEST_CASE("md I marks stale with a new CAS; the next mg wins, later ones see Z X") {
  Engine engine(small_config());
  engine.set_time(100);
  const uint64_t cas = store(engine, StoreMode::kSet, "k", "val", 0, 0, 100).cas;
  // The recache token handed out before the invalidation is cleared by it.
  REQUIRE(engine.get("k", recache(200)).info.won);
  CHECK(engine.invalidate("k", 0, true, 30) == DeleteResult::kDeleted);
  GetResult first = engine.get("k", meta());
  REQUIRE(first.hit());
  CHECK(first.value == "val");
  CHECK(first.info.stale);
  CHECK(first.info.won);
  CHECK(!first.info.token_sent);
  CHECK(first.info.exptime == 130);
  CHECK(first.info.cas > cas);
  GetResult second = engine.get("k", meta());
  CHECK(second.info.stale);
  CHECK(second.info.token_sent);
  CHECK(!second.info.won);
  // Invalidating is not a delete.
  CHECK(engine.stats().delete_hits == 0);
  CHECK(engine.stats().curr_items == 1);
}

TEST_CASE("md I without T keeps the TTL; CAS mismatch and miss count delete_misses") {
  Engine engine(small_config());
  engine.set_time(100);
  const uint64_t cas = store(engine, StoreMode::kSet, "k", "v", 0, 0, 50).cas;
  CHECK(engine.invalidate("k", cas + 100, false, 0) == DeleteResult::kExists);
  CHECK(!engine.get("k", meta()).info.stale);
  CHECK(engine.invalidate("k", cas, false, 0) == DeleteResult::kDeleted);
  CHECK(engine.get("k", meta()).info.exptime == 150);
  CHECK(engine.invalidate("nope", 0, false, 0) == DeleteResult::kNotFound);
  CHECK(engine.stats().delete_misses == 2);
}

TEST_CASE("ms I stores an older CAS as stale, keeping the old TTL and token") {
  Engine engine(small_config());
  engine.set_time(100);
  store(engine, StoreMode::kSet, "k", "a", 0, 0, 100);
  const uint64_t current = store(engine, StoreMode::kSet, "k", "a", 0, 0, 100).cas;
  REQUIRE(engine.get("k", recache(200)).info.won);

  StoreRequest newer;
  newer.mode = StoreMode::kCas;
  newer.key = "k";
  newer.value = "b";
  newer.cas = current + 1;
  newer.invalidate = true;
  CHECK(engine.store(newer).result == StoreResult::kExists);

  StoreRequest older = newer;
  older.cas = current - 1;
  older.exptime = 5;
  StoreOutcome stored = engine.store(older);
  CHECK(stored.result == StoreResult::kStored);
  CHECK(stored.cas > current);
  GetResult r = engine.get("k", meta());
  CHECK(r.value == "b");
  CHECK(r.info.stale);
  CHECK(r.info.token_sent);
  CHECK(!r.info.won);
  CHECK(r.info.exptime == 200);
  CHECK(engine.stats().cas_hits == 1);
  CHECK(engine.stats().cas_badval == 1);

  // Without I an older CAS is refused.
  older.invalidate = false;
  CHECK(engine.store(older).result == StoreResult::kExists);
  // A matching CAS with I is a plain CAS store: fresh, not stale.
  StoreRequest matching = older;
  matching.invalidate = true;
  matching.cas = r.info.cas;
  CHECK(engine.store(matching).result == StoreResult::kStored);
  CHECK(!engine.get("k", meta()).info.stale);
}

TEST_CASE("a header item carries stale and token bits; writing to flash drops them") {
  Engine engine(small_config());
  engine.set_time(100);
  core::StorageHooks hooks(engine);
  engine.set("k", std::string(900, 'v'));
  REQUIRE(engine.invalidate("k", 0, false, 0) == DeleteResult::kDeleted);
  const ExtLocation loc{3, 1, 4096, 1000};
  // memcached's storage_write links a freshly allocated header item, so the
  // RAM item's stale and token bits are not on it.
  REQUIRE(hooks.replace_with_header(hooks.find("k"), loc));
  GetResult header = engine.get("k", meta());
  REQUIRE(header.source == HitSource::kFlashHeader);
  CHECK(!header.info.stale);
  CHECK(header.location == loc);
  // On the header, md I and mg behave as on a RAM item.
  REQUIRE(engine.invalidate("k", 0, false, 0) == DeleteResult::kDeleted);
  GetResult first = engine.get("k", meta());
  CHECK(first.source == HitSource::kFlashHeader);
  CHECK(first.info.stale);
  CHECK(first.info.won);
  GetResult second = engine.get("k", meta());
  CHECK(second.info.token_sent);
  CHECK(second.location == loc);
}

TEST_CASE("incr parses the value with strtoull's rules") {
  Engine engine(small_config());
  engine.set_time(100);
  struct Case {
    const char* stored;
    bool numeric;
    uint64_t after_incr;
  };
  // Each expectation is memcached 1.6.18's reply to "incr n 1".
  const Case cases[] = {
      {"5 ", true, 6},
      {" 5", true, 6},
      {"+5", true, 6},
      {"\t7", true, 8},
      {"-0", true, 1},
      {"-18446744073709551615", true, 2},  // strtoull negates to 1
      {"-1", false, 0},
      {"abc", false, 0},
      {"5abc", false, 0},
      {"0x5", false, 0},
      {"18446744073709551616", false, 0},  // ERANGE
      {"", false, 0},
  };
  for (const Case& c : cases) {
    CAPTURE(c.stored);
    engine.set("n", c.stored);
    DeltaOutcome out = engine.incr("n", 1);
    if (c.numeric) {
      CHECK(out.result == DeltaResult::kOk);
      CHECK(out.value == c.after_incr);
    } else {
      CHECK(out.result == DeltaResult::kNonNumeric);
    }
  }
}

TEST_CASE("incr with a wrong CAS reports EXISTS before looking at the value") {
  Engine engine(small_config());
  engine.set_time(100);
  const uint64_t cas = engine.set("n", "abc").cas;
  CHECK(engine.incr("n", 1, cas + 1).result == DeltaResult::kExists);
  CHECK(engine.incr("n", 1, cas).result == DeltaResult::kNonNumeric);
}

TEST_CASE("ma's T: set_expiry changes the exptime without counting a touch") {
  Engine engine(small_config());
  engine.set_time(100);
  store(engine, StoreMode::kSet, "n", "1", 0, 0, 50);
  DeltaOutcome out = engine.incr("n", 1);
  CHECK(out.exptime == 150);
  // A grown value is a new item with the same exptime.
  store(engine, StoreMode::kSet, "g", "9", 0, 0, 20);
  CHECK(engine.incr("g", 1).exptime == 120);
  CHECK(engine.set_expiry("n", 400));
  CHECK(engine.incr("n", 1).exptime == 400);
  CHECK(!engine.set_expiry("missing", 400));
  CHECK(engine.stats().cmd_touch == 0);
  CHECK(engine.stats().touch_hits == 0);
}
