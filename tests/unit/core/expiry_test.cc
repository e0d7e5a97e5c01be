#include <doctest/doctest.h>

#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

TEST_CASE("realtime converts client exptimes like memcached") {
  EngineConfig config = small_config();
  config.process_started = 1'700'000'000;
  Engine engine(config);
  engine.set_time(500);
  CHECK(engine.realtime(0) == 0);
  CHECK(engine.realtime(1) == 501);
  CHECK(engine.realtime(kRealtimeMaxDelta) == 500 + kRealtimeMaxDelta);
  CHECK(engine.realtime(kRealtimeMaxDelta + 1) == 1);  // absolute, before start
  CHECK(engine.realtime(1'700'000'000) == 1);
  CHECK(engine.realtime(1'700'000'700) == 700);
  CHECK(engine.realtime(-1) == 1);
}

TEST_CASE("an item expires at exactly its exptime on access") {
  Engine engine(small_config());
  engine.set_time(100);
  engine.set("k", "v", 0, 10);
  engine.set_time(109);
  CHECK(engine.get("k").hit());
  engine.set_time(110);
  CHECK(!engine.get("k").hit());
  Stats st = engine.stats();
  CHECK(st.get_expired == 1);
  CHECK(st.curr_items == 0);
}

TEST_CASE("negative exptime stores an already expired item") {
  Engine engine(small_config());
  engine.set_time(100);
  CHECK(engine.set("k", "v", 0, -1).result == StoreResult::kStored);
  CHECK(!engine.get("k").hit());
}

TEST_CASE("absolute exptime in the future and in the past") {
  EngineConfig config = small_config();
  Engine engine(config);
  engine.set_time(100);
  engine.set("future", "v", 0, config.process_started + 200);
  engine.set("past", "v", 0, config.process_started + 50);
  CHECK(engine.get("future").hit());
  CHECK(!engine.get("past").hit());
  engine.set_time(200);
  CHECK(!engine.get("future").hit());
}

TEST_CASE("exptime 0 never expires") {
  Engine engine(small_config());
  engine.set_time(100);
  engine.set("k", "v", 0, 0);
  engine.set_time(4'000'000'000u);
  CHECK(engine.get("k").hit());
}

TEST_CASE("flush_all invalidates earlier items, later sets in the same second survive") {
  Engine engine(small_config());
  engine.set_time(100);
  engine.set("old", "v");
  engine.set_time(105);
  engine.set("same_second", "v");
  engine.flush_all();
  engine.set("after", "v");
  CHECK(!engine.get("old").hit());
  CHECK(!engine.get("same_second").hit());
  CHECK(engine.get("after").hit());
  engine.set_time(106);
  CHECK(engine.get("after").hit());
  Stats st = engine.stats();
  CHECK(st.cmd_flush == 1);
  CHECK(st.get_flushed == 2);
}

TEST_CASE("flush_all with a delay takes effect when the moment passes") {
  Engine engine(small_config());
  engine.set_time(100);
  engine.set("a", "v");
  engine.flush_all(10);  // at 110
  engine.set_time(105);
  engine.set("b", "v");
  CHECK(engine.get("a").hit());
  engine.set_time(108);
  CHECK(engine.get("b").hit());
  // memcached sets oldest_live to the flush moment minus one second, so the
  // flush bites from second 109 on items stamped up to 109.
  engine.set_time(109);
  CHECK(!engine.get("a").hit());
  CHECK(!engine.get("b").hit());
  engine.set_time(110);
  engine.set("c", "v");  // time 110 > oldest_live 109
  CHECK(engine.get("c").hit());
}

TEST_CASE("flush at time 0 still works through CAS") {
  Engine engine(small_config());
  engine.set("a", "v");
  engine.flush_all();
  engine.set("b", "v");
  CHECK(!engine.get("a").hit());
  CHECK(engine.get("b").hit());
}

TEST_CASE("expired items at the COLD tail are reclaimed before evicting") {
  EngineConfig config = small_config(2);
  config.lru_segmented = false;  // everything in COLD
  Engine engine(config);
  engine.set_time(100);
  std::string value(900, 'v');  // class 12 (1184 bytes), 885 per page
  engine.set("exp0", value, 0, 5);
  for (int i = 0; i < 884; ++i) engine.set("live" + std::to_string(i), value);
  engine.set_time(200);
  // The class's first page is full and the 2 MB limit lets it grow by only
  // one page, so fill that too.
  for (int i = 0; i < 900; ++i) engine.set("more" + std::to_string(i), value);
  Stats st = engine.stats();
  CHECK(st.reclaimed >= 1);
  CHECK(st.expired_unfetched >= 1);
  CHECK(!engine.get("exp0").hit());
}
