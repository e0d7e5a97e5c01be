// memcached's `lru_crawler metadump`: the line format, what is left out, and
// a walk in batches that survives changes to the engine between them.
#include <doctest/doctest.h>

#include <string>

#include "memext/metadump.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

std::string dump_all(Engine& engine, const char* classes, uint32_t batch, int* batches) {
  Metadump dump;
  REQUIRE(dump.start(classes));
  std::string out;
  *batches = 1;
  while (dump.next(engine, out, batch)) ++*batches;
  return out;
}

}  // namespace

TEST_CASE("metadump prints memcached's line per live item, keys uri-encoded") {
  Engine engine(small_config());
  engine.set_time(100);
  CHECK(store(engine, StoreMode::kSet, "a b%", "x", 0, 0, 50).result == StoreResult::kStored);
  CHECK(store(engine, StoreMode::kSet, "k~.-_Z9", "yy", 0, 5).result == StoreResult::kStored);
  CHECK(store(engine, StoreMode::kSet, "gone", "z", 0, 0, 10).result == StoreResult::kStored);
  engine.get("k~.-_Z9");
  engine.set_time(111);  // "gone" expired at 110
  int batches = 0;
  const std::string out = dump_all(engine, "all", 100, &batches);
  const int64_t base = small_config().process_started;
  // Tail first: the oldest item of the LRU.
  CHECK(out == "key=a%20b%25 exp=" + std::to_string(base + 150) +
                   " la=" + std::to_string(base + 100) + " cas=1 fetch=no cls=1 size=64\n" +
                   "key=k~.-_Z9 exp=-1 la=" + std::to_string(base + 100) +
                   " cas=2 fetch=yes cls=1 size=72\n");
  CHECK(batches == 1);
}

TEST_CASE("metadump walks in batches; an item gone between batches ends its LRU's walk") {
  Engine engine(small_config());
  engine.set_time(100);
  for (int i = 0; i < 10; ++i) engine.set("key" + std::to_string(i), "v");
  int batches = 0;
  CHECK(dump_all(engine, "1", 3, &batches).size() > 0);
  CHECK(batches == 4);  // 3 + 3 + 3 + 1 items

  Metadump dump;
  REQUIRE(dump.start("1,2"));
  std::string out;
  CHECK(dump.next(engine, out, 4));  // key0..key3; key4 is next
  CHECK(engine.remove("key4") == DeleteResult::kDeleted);
  while (dump.next(engine, out, 4)) {
  }
  CHECK(out.find("key=key3 ") != std::string::npos);
  CHECK(out.find("key=key5 ") == std::string::npos);
}

TEST_CASE("metadump's class lists are lru_crawler crawl's, plus hash") {
  Metadump dump;
  CHECK(dump.start("hash"));
  CHECK(dump.start("1,2,,3"));
  CHECK_FALSE(dump.start("0"));
  CHECK_FALSE(dump.start("64"));
  CHECK_FALSE(dump.start("1,x"));
  Engine engine(small_config());
  engine.set("k", "v");
  std::string out;
  REQUIRE(dump.start("2"));
  CHECK_FALSE(dump.next(engine, out, 10));
  CHECK(out.empty());
}
