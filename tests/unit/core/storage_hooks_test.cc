#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/item_store.h"
#include "core/storage_hooks.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::core;
using namespace memext::testing;

namespace {

const std::string kValue(900, 'v');  // class 12
constexpr uint8_t kClass = 12;

// Puts `key` at the COLD tail of class 12.
Engine& cold_item(Engine& engine, const std::string& key) {
  engine.set_time(100);
  engine.set(key, kValue, 5);
  for (int i = 0; i < 9; ++i) engine.set("filler" + std::to_string(i), kValue);
  engine.internals().juggle(kClass);
  return engine;
}

}  // namespace

TEST_CASE("pull_cold_tail returns the live tail and reclaims expired ones") {
  Engine engine(small_config());
  StorageHooks hooks(engine);
  engine.set_time(100);
  engine.set("dead", kValue, 0, 10);
  cold_item(engine, "k");
  CHECK(hooks.view(hooks.cold_tail(kClass)).key == "dead");
  engine.set_time(200);
  ItemHandle h = hooks.pull_cold_tail(kClass);
  REQUIRE(h != kNoHandle);
  ItemView v = hooks.view(h);
  CHECK(v.key == "k");
  CHECK(v.value == kValue);
  CHECK(v.ntotal == 48 + 1 + 1 + 4 + 902 + 8);
  CHECK(v.lru == LruSegment::kCold);
  CHECK(engine.stats().reclaimed == 1);
  CHECK(hooks.view(hooks.towards_head(h)).key == "filler0");
}

TEST_CASE("replace_with_header keeps CAS and flags, costs the header size, reports flash hits") {
  Engine engine(small_config());
  StorageHooks hooks(engine);
  RecordingListener listener;
  hooks.set_header_unlink_listener(&listener);
  cold_item(engine, "k");
  const uint64_t cas = engine.get("k").info.cas;
  const uint64_t bytes_before = engine.stats().bytes;
  ItemHandle h = hooks.pull_cold_tail(kClass);
  const ExtLocation loc{3, 7, 4096, 964};
  REQUIRE(hooks.replace_with_header(h, loc));
  GetResult r = engine.get("k");
  CHECK(r.source == HitSource::kFlashHeader);
  CHECK(r.location == loc);
  CHECK(r.info.cas == cas);
  CHECK(r.info.client_flags == 5);
  CHECK(r.info.value_len == 900);
  CHECK(r.info.lru == LruSegment::kHot);
  // memcached counts the header at the full item's ntotal in `bytes`, but it
  // takes a chunk for 48 + key + 1 + flags + 12 + 8 bytes.
  Stats st = engine.stats();
  CHECK(st.bytes == bytes_before);
  const uint32_t hdr_class = engine.slab_classes().clsid(48 + 1 + 1 + 4 + 12 + 8);
  bool found = false;
  for (const SlabClassStats& s : st.slabs) {
    if (s.id == hdr_class) {
      found = true;
      CHECK(s.used_chunks == 1);
      CHECK(s.mem_requested == 74);
    }
  }
  CHECK(found);
  CHECK(listener.unlinked.empty());
  CHECK(store(engine, StoreMode::kAppend, "k", "x").result == StoreResult::kNotStored);
  CHECK(engine.incr("k", 1).result == DeltaResult::kNonNumeric);
}

TEST_CASE("every way a header leaves RAM reaches the listener") {
  Engine engine(small_config());
  StorageHooks hooks(engine);
  RecordingListener listener;
  hooks.set_header_unlink_listener(&listener);
  cold_item(engine, "k");
  const ExtLocation loc{1, 1, 0, 964};
  auto make_header = [&] {
    REQUIRE(engine.set("k", kValue, 5, 1000).result == StoreResult::kStored);
    for (int i = 0; i < 9; ++i) engine.set("filler" + std::to_string(i), kValue);
    engine.internals().juggle(kClass);
    ItemHandle h = hooks.pull_cold_tail(kClass);
    REQUIRE(hooks.view(h).key == "k");
    REQUIRE(hooks.replace_with_header(h, loc));
  };
  make_header();
  engine.remove("k");  // delete
  CHECK(listener.unlinked.size() == 1);
  CHECK(listener.sizes.back() == 48 + 1 + 1 + 4 + 902 + 8);
  make_header();
  engine.set("k", "new");  // overwrite
  CHECK(listener.unlinked.size() == 2);
  make_header();
  engine.set_time(2000);
  CHECK(!engine.get("k").hit());  // lazy expiry
  CHECK(listener.unlinked.size() == 3);
  engine.set_time(100);
}

TEST_CASE("rewrite_header moves a live header; stale locations are refused") {
  Engine engine(small_config());
  StorageHooks hooks(engine);
  cold_item(engine, "k");
  const ExtLocation loc{1, 1, 0, 964};
  REQUIRE(hooks.replace_with_header(hooks.pull_cold_tail(kClass), loc));
  const ExtLocation moved{2, 5, 8192, 964};
  CHECK(hooks.rewrite_header("k", ExtLocation{9, 9, 9, 9}, moved) == HeaderRewrite::kMismatch);
  CHECK(hooks.rewrite_header("zz", loc, moved) == HeaderRewrite::kNotFound);
  CHECK(hooks.rewrite_header("k", loc, moved) == HeaderRewrite::kRewritten);
  CHECK(engine.get("k").location == moved);
}

TEST_CASE("replace_header_with_item links the flash copy as memcached does") {
  Engine engine(small_config());
  StorageHooks hooks(engine);
  RecordingListener listener;
  hooks.set_header_unlink_listener(&listener);
  cold_item(engine, "k");
  const uint64_t cas = engine.get("k").info.cas;  // this hit sets FETCHED
  const ExtLocation loc{1, 1, 0, 964};
  REQUIRE(hooks.replace_with_header(hooks.pull_cold_tail(kClass), loc));
  // Hits on the header make it FETCHED and ACTIVE; the flash copy keeps the
  // flags of when it was written.
  engine.get("k");
  engine.get("k");
  CHECK(hooks.replace_header_with_item("k", ExtLocation{}, kValue) == RecacheResult::kMismatch);
  CHECK(hooks.replace_header_with_item("k", loc, kValue) == RecacheResult::kRecached);
  GetResult r = engine.get("k", {.bump = false});
  CHECK(r.source == HitSource::kRam);
  CHECK(r.value == kValue);
  CHECK(r.info.cas > cas);  // linking gives the recached item a new CAS
  CHECK(r.info.client_flags == 5);
  CHECK(r.info.lru == LruSegment::kCold);
  CHECK(r.info.fetched);
  CHECK_FALSE(r.info.active);
  CHECK(listener.unlinked.size() == 1);
}

TEST_CASE("unlink_header drops a header whose flash copy is gone") {
  Engine engine(small_config());
  StorageHooks hooks(engine);
  cold_item(engine, "k");
  const ExtLocation loc{1, 1, 0, 964};
  REQUIRE(hooks.replace_with_header(hooks.pull_cold_tail(kClass), loc));
  CHECK(!hooks.unlink_header("k", ExtLocation{}));
  CHECK(hooks.unlink_header("k", loc));
  CHECK(!engine.get("k").hit());
}

TEST_CASE("find, is_flushed and free_chunks look without side effects") {
  Engine engine(small_config());
  StorageHooks hooks(engine);
  engine.set_time(100);
  engine.set("k", kValue, 0, 10);
  engine.set_time(200);
  ItemHandle h = hooks.find("k");
  REQUIRE(h != kNoHandle);  // expired but still linked: find does not reclaim
  CHECK(!hooks.is_flushed(h));
  CHECK(hooks.find("absent") == kNoHandle);
  CHECK(hooks.free_chunks(kClass) == 885 - 1);
  engine.flush_all();
  CHECK(hooks.is_flushed(hooks.find("k")));
  CHECK(engine.stats().get_flushed == 0);
}

TEST_CASE("with extstore configured, -m is malloced into the global page pool up front") {
  EngineConfig config = small_config(4);
  config.ext.paths.push_back(ExtPathConfig{"/tmp/unused", 64ull << 20, ""});
  Engine engine(config);
  StorageHooks hooks(engine);
  engine.set_time(10);
  Stats st = engine.stats();
  CHECK(st.total_malloced == 4u << 20);
  CHECK(st.slab_global_page_pool == 4);
  for (int i = 0; i < 885 * 3; ++i) engine.set("k" + std::to_string(i), kValue);
  CHECK(hooks.global_page_pool() == 1);
  engine.set("small", "x");  // another class takes the last pooled page
  CHECK(hooks.global_page_pool() == 0);
  for (int i = 0; i < 885; ++i) engine.set("m" + std::to_string(i), kValue);
  st = engine.stats();
  CHECK(st.total_malloced == 4u << 20);
  CHECK(st.evictions == 885);
}
