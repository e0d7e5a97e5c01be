// Header items keep their flash location in ItemStore's side table: what it
// costs (metadata_bytes), that every hook reads and writes the same entry,
// and headers_on_page, the phantom compactor's view of a page.
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

// One table page: a location and object CAS for each of the 65536 records
// of a pool page.
constexpr uint64_t kTablePage = uint64_t{1} << 16;

void phantom_set(Engine& engine, const std::string& key, uint32_t value_len) {
  StoreRequest r;
  r.key = key;
  r.value_len = value_len;
  REQUIRE(engine.store(r).result == StoreResult::kStored);
}

ExtLocation location_for(int i) {
  return {1 + static_cast<uint32_t>(i % 3), 7, static_cast<uint32_t>(4096 * (50 - i)), 964};
}

}  // namespace

TEST_CASE("a header with an inline key costs one side-table entry and no heap buffer") {
  EngineConfig config = small_config();
  config.phantom = true;
  Engine engine(config);
  StorageHooks hooks(engine);
  engine.set_time(100);
  for (int i = 0; i < 50; ++i) phantom_set(engine, "k" + std::to_string(i), 900);
  // The slab pages' own bookkeeping grows with the headers' new class page.
  const uint64_t ram_only = engine.metadata_bytes() - hooks.slab_allocator().bookkeeping_bytes();
  CHECK(engine.internals().location_bytes() == 0);  // no table until the first header

  for (int i = 0; i < 50; ++i) {
    REQUIRE(hooks.replace_with_header(hooks.find("k" + std::to_string(i)), location_for(i)));
  }
  // Same records, same index, keys still inline: only the table page is new.
  CHECK(engine.internals().location_bytes() == kTablePage * sizeof(ItemStore::HeaderRecord));
  CHECK(engine.metadata_bytes() - hooks.slab_allocator().bookkeeping_bytes() ==
        ram_only + kTablePage * sizeof(ItemStore::HeaderRecord));
  for (int i = 0; i < 50; ++i) {
    const GetResult r = engine.get("k" + std::to_string(i));
    REQUIRE(r.source == HitSource::kFlashHeader);
    CHECK(r.location == location_for(i));
  }
}

TEST_CASE("locations of headers with heap keys survive rewrites and reach the listener") {
  Engine engine(small_config());
  StorageHooks hooks(engine);
  RecordingListener listener;
  hooks.set_header_unlink_listener(&listener);
  engine.set_time(100);
  const std::string long_key(40, 'x');  // above the 8 inline bytes
  const std::string value(900, 'v');
  engine.set(long_key, value);
  engine.set("short", value);
  const ExtLocation first{2, 3, 8192, 1000};
  const ExtLocation moved{5, 9, 0, 1000};
  const uint64_t written_cas = engine.get(long_key).info.cas;
  REQUIRE(hooks.replace_with_header(hooks.find(long_key), first));
  CHECK(engine.get(long_key).object_cas == written_cas);
  REQUIRE(hooks.replace_with_header(hooks.find("short"), location_for(1)));
  const ItemHandle h = hooks.find(long_key);
  CHECK(hooks.view(h).location == first);
  CHECK(hooks.view(h).key == long_key);

  CHECK(hooks.rewrite_header(h, moved, first) == HeaderRewrite::kMismatch);
  CHECK(hooks.rewrite_header(h, first, moved) == HeaderRewrite::kRewritten);
  CHECK(engine.get(long_key).location == moved);
  CHECK(engine.get(long_key).object_cas == written_cas);  // compaction copies the object
  CHECK(engine.get("short").location == location_for(1));

  // The record is freed by the delete; its handle no longer names a header.
  REQUIRE(engine.remove(long_key) == DeleteResult::kDeleted);
  REQUIRE(listener.unlinked.size() == 1);
  CHECK(listener.unlinked[0] == moved);
  CHECK(!hooks.is_linked(h));
  CHECK(hooks.rewrite_header(h, moved, first) == HeaderRewrite::kNotFound);

  // A full item in a record that was a header has no location.
  engine.set("again", value);
  const ItemHandle again = hooks.find("again");
  CHECK(again == h);
  CHECK(hooks.view(again).location == ExtLocation{});
  CHECK(!hooks.view(again).is_header);
}

TEST_CASE("headers_on_page lists the live headers of one page version in offset order") {
  EngineConfig config = small_config();
  config.phantom = true;
  Engine engine(config);
  StorageHooks hooks(engine);
  engine.set_time(100);
  for (int i = 0; i < 30; ++i) phantom_set(engine, "k" + std::to_string(i), 900);
  for (int i = 0; i < 30; ++i) {
    REQUIRE(hooks.replace_with_header(hooks.find("k" + std::to_string(i)), location_for(i)));
  }
  // Page 2 holds i % 3 == 1; of those, drop some: deleted, overwritten in
  // RAM, and one moved to another page version.
  REQUIRE(engine.remove("k4") == DeleteResult::kDeleted);
  phantom_set(engine, "k7", 900);
  const ItemHandle moved = hooks.find("k10");
  REQUIRE(hooks.rewrite_header(moved, location_for(10), {2, 8, 0, 964}) ==
          HeaderRewrite::kRewritten);

  std::vector<PageObject> objects;
  hooks.headers_on_page(2, 7, &objects);
  std::vector<uint32_t> offsets;
  for (const PageObject& o : objects) {
    offsets.push_back(o.offset);
    CHECK(o.len == 964);
    CHECK(hooks.view(o.handle).location == ExtLocation{2, 7, o.offset, 964});
  }
  std::vector<uint32_t> expected;
  for (int i = 28; i >= 1; --i) {
    if (i % 3 == 1 && i != 4 && i != 7 && i != 10) expected.push_back(location_for(i).offset);
  }
  CHECK(offsets == expected);

  hooks.headers_on_page(2, 8, &objects);
  REQUIRE(objects.size() == 1);
  CHECK(objects[0].handle == moved);
  hooks.headers_on_page(4, 7, &objects);
  CHECK(objects.empty());
}
