#include <doctest/doctest.h>

#include <string>

#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {
const SlabClassStats* slab_of(const Stats& st, uint32_t id) {
  for (const SlabClassStats& c : st.slabs) {
    if (c.id == id) return &c;
  }
  return nullptr;
}
}  // namespace

TEST_CASE("an item above slab_chunk_max takes a header chunk and data chunks") {
  Engine engine(small_config());
  engine.set_time(10);
  // value 600000 bytes + CRLF: one 512 KB chunk (524240 data bytes) and a
  // tail chunk for the remaining 75762 bytes + 48 chunk header.
  std::string value(600000, 'c');
  REQUIRE(engine.set("big", value).result == StoreResult::kStored);
  GetResult r = engine.get("big");
  CHECK(r.info.chunked);
  CHECK(r.info.slab_class == 39);
  CHECK(r.value == value);
  Stats st = engine.stats();
  const SlabClassTable& t = engine.slab_classes();
  const uint32_t header_class = t.clsid(48 + 3 + 1 + 48 + 8);
  const uint32_t tail_class = t.clsid(600002 - (524288 - 48) + 48);
  CHECK(header_class == 2);
  CHECK(tail_class == 31);
  REQUIRE(slab_of(st, header_class) != nullptr);
  CHECK(slab_of(st, header_class)->used_chunks == 1);
  CHECK(slab_of(st, 39)->used_chunks == 1);
  CHECK(slab_of(st, tail_class)->used_chunks == 1);
  CHECK(slab_of(st, 39)->mem_requested == 524288);
  CHECK(st.bytes == 48 + 3 + 1 + 600002 + 8);
  CHECK(engine.remove("big") == DeleteResult::kDeleted);
  st = engine.stats();
  CHECK(slab_of(st, 39)->used_chunks == 0);
  CHECK(slab_of(st, header_class)->used_chunks == 0);
  CHECK(slab_of(st, tail_class)->used_chunks == 0);
}

TEST_CASE("a value of exactly two largest-chunk payloads needs no tail chunk") {
  Engine engine(small_config());
  engine.set_time(10);
  std::string value(2 * (524288 - 48) - 2, 'c');
  REQUIRE(engine.set("big", value).result == StoreResult::kStored);
  Stats st = engine.stats();
  CHECK(slab_of(st, 39)->used_chunks == 2);
  CHECK(st.active_slabs == 2);  // header class + largest
}

TEST_CASE("chunked items are non-numeric for incr") {
  Engine engine(small_config());
  engine.set_time(10);
  engine.set("big", std::string(700000, '1'));
  CHECK(engine.incr("big", 1).result == DeltaResult::kNonNumeric);
}
