#include <doctest/doctest.h>

#include <string>

#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

TEST_CASE("set then get returns value, flags and a CAS; miss counts") {
  Engine engine(small_config());
  engine.set_time(100);
  StoreOutcome s = engine.set("k", "hello", 42);
  CHECK(s.result == StoreResult::kStored);
  CHECK(s.cas == 1);
  GetResult r = engine.get("k");
  REQUIRE(r.source == HitSource::kRam);
  CHECK(r.value == "hello");
  CHECK(r.info.client_flags == 42);
  CHECK(r.info.cas == 1);
  CHECK(r.info.value_len == 5);
  CHECK(!engine.get("nope").hit());
  Stats st = engine.stats();
  CHECK(st.cmd_get == 2);
  CHECK(st.get_hits == 1);
  CHECK(st.get_misses == 1);
  CHECK(st.cmd_set == 1);
  CHECK(st.curr_items == 1);
  CHECK(st.total_items == 1);
  CHECK(st.bytes == 48 + 1 + 1 + 4 + 7 + 8);
}

TEST_CASE("CAS values are unique and grow with every link") {
  Engine engine(small_config());
  engine.set_time(10);
  uint64_t a = engine.set("a", "1").cas;
  uint64_t b = engine.set("b", "1").cas;
  uint64_t a2 = engine.set("a", "2").cas;
  CHECK(a < b);
  CHECK(b < a2);
}

TEST_CASE("add, replace, append, prepend result codes") {
  Engine engine(small_config());
  engine.set_time(10);
  CHECK(store(engine, StoreMode::kReplace, "k", "x").result == StoreResult::kNotStored);
  CHECK(store(engine, StoreMode::kAppend, "k", "x").result == StoreResult::kNotStored);
  CHECK(store(engine, StoreMode::kPrepend, "k", "x").result == StoreResult::kNotStored);
  CHECK(store(engine, StoreMode::kAdd, "k", "mid").result == StoreResult::kStored);
  CHECK(store(engine, StoreMode::kAdd, "k", "other").result == StoreResult::kNotStored);
  CHECK(value_of(engine, "k") == "mid");
  CHECK(store(engine, StoreMode::kAppend, "k", "_end").result == StoreResult::kStored);
  CHECK(store(engine, StoreMode::kPrepend, "k", "start_").result == StoreResult::kStored);
  CHECK(value_of(engine, "k") == "start_mid_end");
  CHECK(store(engine, StoreMode::kReplace, "k", "new").result == StoreResult::kStored);
  CHECK(value_of(engine, "k") == "new");
  CHECK(engine.stats().curr_items == 1);
}

TEST_CASE("append keeps the old item's flags and exptime") {
  Engine engine(small_config());
  engine.set_time(10);
  store(engine, StoreMode::kSet, "k", "a", 0, 7, 100);
  store(engine, StoreMode::kAppend, "k", "b", 0, 99, 0);
  GetResult r = engine.get("k");
  CHECK(r.info.client_flags == 7);
  CHECK(r.info.exptime == 110);
}

TEST_CASE("cas: match stores, mismatch EXISTS, missing NOT_FOUND") {
  Engine engine(small_config());
  engine.set_time(10);
  CHECK(store(engine, StoreMode::kCas, "k", "v", 5).result == StoreResult::kNotFound);
  uint64_t cas = engine.set("k", "v1").cas;
  CHECK(store(engine, StoreMode::kCas, "k", "v2", cas + 100).result == StoreResult::kExists);
  StoreOutcome ok = store(engine, StoreMode::kCas, "k", "v3", cas);
  CHECK(ok.result == StoreResult::kStored);
  CHECK(ok.cas > cas);
  CHECK(value_of(engine, "k") == "v3");
  CHECK(store(engine, StoreMode::kCas, "k", "v4", cas).result == StoreResult::kExists);
  Stats st = engine.stats();
  CHECK(st.cas_misses == 1);
  CHECK(st.cas_hits == 1);
  CHECK(st.cas_badval == 2);
}

TEST_CASE("append with a wrong CAS is EXISTS") {
  Engine engine(small_config());
  engine.set_time(10);
  uint64_t cas = engine.set("k", "a").cas;
  CHECK(store(engine, StoreMode::kAppend, "k", "b", cas + 1).result == StoreResult::kExists);
  CHECK(store(engine, StoreMode::kAppend, "k", "b", cas).result == StoreResult::kStored);
}

TEST_CASE("incr and decr follow memcached") {
  Engine engine(small_config());
  engine.set_time(10);
  CHECK(engine.incr("n", 1).result == DeltaResult::kNotFound);
  CHECK(engine.decr("n", 1).result == DeltaResult::kNotFound);
  engine.set("n", "10");
  DeltaOutcome d = engine.decr("n", 1);
  CHECK(d.result == DeltaResult::kOk);
  CHECK(d.value == 9);
  CHECK(value_of(engine, "n") == "9 ");                         // in place, padded like memcached
  CHECK(engine.incr("n", 18446744073709551615ull).value == 8);  // wraps at 2^64
  CHECK(engine.decr("n", 100).value == 0);                      // floors at 0
  engine.set("n", "99");
  DeltaOutcome grown = engine.incr("n", 1);
  CHECK(grown.value == 100);
  CHECK(value_of(engine, "n") == "100");  // longer: a new item
  CHECK(engine.get("n").info.cas == grown.cas);
  engine.set("s", "abc");
  CHECK(engine.incr("s", 1).result == DeltaResult::kNonNumeric);
  engine.set("e", "");
  CHECK(engine.incr("e", 1).result == DeltaResult::kNonNumeric);
  engine.set("big", "18446744073709551616");  // overflows uint64
  CHECK(engine.incr("big", 1).result == DeltaResult::kNonNumeric);
  Stats st = engine.stats();
  CHECK(st.incr_misses == 1);
  CHECK(st.decr_misses == 1);
  CHECK(st.incr_hits == 2);
  CHECK(st.decr_hits == 2);
}

TEST_CASE("incr with CAS compare") {
  Engine engine(small_config());
  engine.set_time(10);
  uint64_t cas = engine.set("n", "5").cas;
  CHECK(engine.incr("n", 1, cas + 1).result == DeltaResult::kExists);
  DeltaOutcome d = engine.incr("n", 1, cas);
  CHECK(d.result == DeltaResult::kOk);
  CHECK(d.cas != cas);
}

TEST_CASE("delete and its counters") {
  Engine engine(small_config());
  engine.set_time(10);
  CHECK(engine.remove("k") == DeleteResult::kNotFound);
  uint64_t cas = engine.set("k", "v").cas;
  CHECK(engine.remove("k", cas + 1) == DeleteResult::kExists);
  CHECK(engine.remove("k", cas) == DeleteResult::kDeleted);
  CHECK(!engine.get("k").hit());
  Stats st = engine.stats();
  CHECK(st.delete_hits == 1);
  CHECK(st.delete_misses == 2);  // the miss and the CAS mismatch, as memcached 1.6.18 counts
  CHECK(st.curr_items == 0);
  CHECK(st.bytes == 0);
}

TEST_CASE("touch and gat set a new exptime; gat counts as touch not get") {
  Engine engine(small_config());
  engine.set_time(100);
  CHECK(engine.touch("k", 10) == TouchResult::kNotFound);
  engine.set("k", "v", 0, 5);
  CHECK(engine.touch("k", 50) == TouchResult::kTouched);
  engine.set_time(106);
  CHECK(engine.get("k").hit());
  GetOptions gat;
  gat.touch = true;
  gat.exptime = 1;
  GetResult r = engine.get("k", gat);
  CHECK(r.hit());
  CHECK(r.info.exptime == 107);
  engine.set_time(107);
  CHECK(!engine.get("k").hit());
  CHECK(!engine.get("zz", gat).hit());
  Stats st = engine.stats();
  CHECK(st.cmd_touch == 4);
  CHECK(st.touch_hits == 2);
  CHECK(st.touch_misses == 2);
  CHECK(st.cmd_get == 2);
  CHECK(st.get_hits == 1);
  CHECK(st.get_misses == 1);
  CHECK(st.get_expired == 1);
}

TEST_CASE("too large items and keys are refused; a failed set drops the old value") {
  EngineConfig config = small_config();
  Engine engine(config);
  engine.set_time(10);
  engine.set("k", "small");
  std::string huge(1 << 20, 'x');
  CHECK(engine.set("k", huge).result == StoreResult::kTooLarge);
  CHECK(!engine.get("k").hit());
  std::string long_key(251, 'k');
  CHECK(engine.set(long_key, "v").result == StoreResult::kTooLarge);
  std::string max_key(250, 'k');
  CHECK(engine.set(max_key, "v").result == StoreResult::kStored);
  // Largest value that fits: ntotal == item_size_max.
  std::string fits((1 << 20) - 48 - 1 - 1 - 2 - 8, 'y');
  CHECK(engine.set("a", fits).result == StoreResult::kStored);
  std::string one_more(fits.size() + 1, 'y');
  CHECK(engine.set("a", one_more).result == StoreResult::kTooLarge);
}

TEST_CASE("get without bump leaves FETCHED unset; info reports the previous state") {
  Engine engine(small_config());
  engine.set_time(10);
  engine.set("k", "v");
  GetOptions peek;
  peek.bump = false;
  CHECK(!engine.get("k", peek).info.fetched);
  CHECK(!engine.get("k").info.fetched);
  GetResult third = engine.get("k");
  CHECK(third.info.fetched);
  CHECK(!third.info.active);
  CHECK(engine.get("k").info.active);
}
