#include <doctest/doctest.h>

#include "memext/slabs.h"

using namespace memext;

TEST_CASE("default slab classes match memcached 1.6.18 -vv") {
  EngineConfig config;
  SlabClassTable table(config);
  CHECK(table.largest() == 39);
  CHECK(table[1].size == 96);
  CHECK(table[1].perslab == 10922);
  CHECK(table[2].size == 120);
  CHECK(table[8].size == 480);
  CHECK(table[38].size == 394840);
  CHECK(table[38].perslab == 2);
  CHECK(table[39].size == 524288);
  CHECK(table[39].perslab == 2);
}

TEST_CASE("clsid picks the smallest class that fits and 0 above item_size_max") {
  EngineConfig config;
  SlabClassTable table(config);
  CHECK(table.clsid(0) == 0);
  CHECK(table.clsid(1) == 1);
  CHECK(table.clsid(96) == 1);
  CHECK(table.clsid(97) == 2);
  CHECK(table.clsid(524288) == 39);
  CHECK(table.clsid(524289) == 39);  // chunked items live in the largest class's LRU
  CHECK(table.clsid(1 << 20) == 39);
  CHECK(table.clsid((1 << 20) + 1) == 0);
}

TEST_CASE("item cost is header + key + 1 + flags + value with CRLF + CAS") {
  CHECK(item_total_size(10, 12, 0, true) == 48 + 10 + 1 + 12 + 8);
  CHECK(item_total_size(10, 12, 7, true) == 48 + 10 + 1 + 4 + 12 + 8);
  CHECK(item_total_size(10, 12, 0, false) == 48 + 10 + 1 + 12);
}

TEST_CASE("clsid agrees with memcached's linear walk for every size") {
  for (double factor : {1.25, 1.08, 2.0}) {
    EngineConfig config;
    config.growth_factor = factor;
    config.item_size_max = 2u << 20;
    SlabClassTable table(config);
    for (uint64_t size = 1; size <= config.item_size_max + 1; size += (size < 4096 ? 1 : 97)) {
      uint32_t expected = 1;
      while (size > table[expected].size && expected != table.largest()) ++expected;
      if (size > config.item_size_max) expected = 0;
      REQUIRE(table.clsid(size) == expected);
    }
  }
}
