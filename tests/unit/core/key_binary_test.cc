// memcached 1.6.18's ITEM_KEY_BINARY: which operations give an item the bit
// (a store with StoreRequest::key_binary), which keep it (the same item
// changed in place) and which build a new item without it. Each sequence
// was run on memcached 1.6.18 with meta commands (ms ... b, then mg k).
#include <doctest/doctest.h>

#include <string>

#include "core/storage_hooks.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

StoreOutcome store_binary(Engine& engine, StoreMode mode, std::string_view key,
                          std::string_view value, uint64_t cas = 0) {
  StoreRequest request = store_request(mode, key, value, cas);
  request.key_binary = true;
  return engine.store(request);
}

bool is_key_binary(Engine& engine, std::string_view key) {
  GetOptions peek;
  peek.bump = false;
  GetResult r = engine.get(key, peek);
  REQUIRE(r.hit());
  return r.info.key_binary;
}

}  // namespace

TEST_CASE("every store mode that links the request's item takes its key_binary") {
  Engine engine(small_config());
  engine.set_time(100);
  REQUIRE(store_binary(engine, StoreMode::kSet, "s", "x").result == StoreResult::kStored);
  CHECK(is_key_binary(engine, "s"));
  REQUIRE(store_binary(engine, StoreMode::kAdd, "a", "x").result == StoreResult::kStored);
  CHECK(is_key_binary(engine, "a"));
  engine.set("r", "x");
  CHECK(!is_key_binary(engine, "r"));
  REQUIRE(store_binary(engine, StoreMode::kReplace, "r", "y").result == StoreResult::kStored);
  CHECK(is_key_binary(engine, "r"));
  const uint64_t cas = engine.get("r").info.cas;
  REQUIRE(store_binary(engine, StoreMode::kCas, "r", "z", cas).result == StoreResult::kStored);
  CHECK(is_key_binary(engine, "r"));
  // A store without b replaces the item, bit and all.
  REQUIRE(store(engine, StoreMode::kReplace, "r", "w").result == StoreResult::kStored);
  CHECK(!is_key_binary(engine, "r"));
}

TEST_CASE("append and prepend build a new item without the bit, even when sent with b") {
  Engine engine(small_config());
  engine.set_time(100);
  store_binary(engine, StoreMode::kSet, "k", "abc");
  REQUIRE(store_binary(engine, StoreMode::kAppend, "k", "d").result == StoreResult::kStored);
  CHECK(value_of(engine, "k") == "abcd");
  CHECK(!is_key_binary(engine, "k"));
  store_binary(engine, StoreMode::kSet, "k", "abc");
  REQUIRE(store_binary(engine, StoreMode::kPrepend, "k", "z").result == StoreResult::kStored);
  CHECK(!is_key_binary(engine, "k"));
}

TEST_CASE("incr keeps the bit while the number fits in place and drops it when it grows") {
  Engine engine(small_config());
  engine.set_time(100);
  store_binary(engine, StoreMode::kSet, "n", "50");
  REQUIRE(engine.incr("n", 1).result == DeltaResult::kOk);
  CHECK(is_key_binary(engine, "n"));
  REQUIRE(engine.incr("n", 100).value == 151);
  CHECK(!is_key_binary(engine, "n"));
}

TEST_CASE("touch, md I and mg on the item keep the bit; mg N creates an item without it") {
  Engine engine(small_config());
  engine.set_time(100);
  store_binary(engine, StoreMode::kSet, "k", "x");
  REQUIRE(engine.touch("k", 10) == TouchResult::kTouched);
  GetOptions gat;
  gat.touch = true;
  gat.exptime = 5;
  CHECK(engine.get("k", gat).info.key_binary);
  REQUIRE(engine.invalidate("k", 0, false, 0) == DeleteResult::kDeleted);
  GetOptions meta;
  meta.meta = true;
  GetResult stale = engine.get("k", meta);
  CHECK(stale.info.stale);
  CHECK(stale.info.key_binary);
  meta.vivify = true;
  meta.vivify_exptime = 30;
  GetResult created = engine.get("v", meta);
  REQUIRE(created.info.vivified);
  CHECK(!created.info.key_binary);
}

TEST_CASE("a stale ms I store takes the request's bit") {
  Engine engine(small_config());
  engine.set_time(100);
  engine.set("k", "a");
  engine.set("k", "b");
  const uint64_t cas = engine.get("k").info.cas;
  StoreRequest request;
  request.mode = StoreMode::kCas;
  request.key = "k";
  request.value = "c";
  request.cas = cas - 1;
  request.invalidate = true;
  request.key_binary = true;
  REQUIRE(engine.store(request).result == StoreResult::kStored);
  GetOptions meta;
  meta.meta = true;
  GetResult r = engine.get("k", meta);
  CHECK(r.info.stale);
  CHECK(r.info.key_binary);
}

TEST_CASE("a flash header hides the bit; the recached item has it again") {
  // memcached 1.6.18: `mg k` on a header prints the decoded key, and after
  // the read-back item replaced the header it prints base64 again.
  Engine engine(small_config());
  engine.set_time(100);
  core::StorageHooks hooks(engine);
  const std::string value(900, 'v');
  store_binary(engine, StoreMode::kSet, "b", value);
  engine.set("p", value);
  const ExtLocation binary_loc{1, 1, 0, 964};
  const ExtLocation plain_loc{1, 1, 1024, 964};
  REQUIRE(hooks.replace_with_header(hooks.find("b"), binary_loc));
  REQUIRE(hooks.replace_with_header(hooks.find("p"), plain_loc));
  GetResult header = engine.get("b");
  REQUIRE(header.source == HitSource::kFlashHeader);
  CHECK(!header.info.key_binary);
  REQUIRE(hooks.replace_header_with_item("b", binary_loc, value) == core::RecacheResult::kRecached);
  REQUIRE(hooks.replace_header_with_item("p", plain_loc, value) == core::RecacheResult::kRecached);
  GetResult recached = engine.get("b");
  REQUIRE(recached.source == HitSource::kRam);
  CHECK(recached.info.key_binary);
  CHECK(!is_key_binary(engine, "p"));
}
