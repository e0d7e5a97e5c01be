// KeyIndex's key hints: every slot's hint must follow its item through
// inserts, replaces, backward-shift erases and growth, or lookups lose the
// prefetch that overlaps the key's miss with the record's.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>

#include "core/key_index.h"

using memext::core::hash_key;
using memext::core::KeyIndex;
using memext::core::kNoItem;

namespace {

struct Entry {
  std::string key;
  uint64_t hash = 0;
  const char* hint = nullptr;
};

// Looks `item` up by its own key: the index compares by item number here.
uint32_t find(const KeyIndex& index, const Entry& e, uint32_t item) {
  return index.find(e.hash, [&](uint32_t m) { return m == item; });
}

}  // namespace

TEST_CASE("key hints follow their items through replace, erase and growth") {
  // Power 4 (16 slots): long probe runs, so erases shift entries, and
  // inserts grow the table several times.
  KeyIndex index(4, true);
  std::map<uint32_t, Entry> present;
  std::mt19937_64 rng(7);
  static const char kBytes[4096] = {};
  uint32_t next_item = 0;
  for (int op = 0; op < 20000; ++op) {
    const uint64_t pick = rng() % 10;
    if (present.empty() || pick < 5) {
      Entry e;
      e.key = "key:" + std::to_string(next_item);
      // Small hashes cluster the entries: erases then move their neighbours.
      e.hash = hash_key(e.key) % 64;
      e.hint = &kBytes[next_item % sizeof kBytes];
      index.insert(e.hash, next_item, e.hint);
      present[next_item++] = e;
    } else {
      auto it = present.begin();
      std::advance(it, static_cast<long>(rng() % present.size()));
      if (pick < 8) {
        index.erase(it->second.hash, it->first);
        present.erase(it);
      } else {
        Entry e = it->second;
        e.hint = &kBytes[(next_item * 31) % sizeof kBytes];
        index.replace(e.hash, it->first, next_item, e.hint);
        present.erase(it);
        present[next_item++] = e;
      }
    }
    if (op % 97 == 0) {
      for (const auto& [item, e] : present) {
        REQUIRE(find(index, e, item) == item);
        REQUIRE(index.key_hint_of(e.hash, item) == e.hint);
      }
    }
  }
  CHECK(index.power() > 4);
  for (const auto& [item, e] : present) {
    CHECK(find(index, e, item) == item);
    CHECK(index.key_hint_of(e.hash, item) == e.hint);
  }
}

TEST_CASE("without key hints the index keeps none and costs 8 bytes a slot") {
  KeyIndex plain(4, false);
  KeyIndex hinted(4, true);
  static const char kKey[] = "k";
  plain.insert(hash_key("k"), 1, kKey);
  hinted.insert(hash_key("k"), 1, kKey);
  CHECK(plain.key_hint_of(hash_key("k"), 1) == nullptr);
  CHECK(hinted.key_hint_of(hash_key("k"), 1) == kKey);
  CHECK(plain.bytes() == 16 * 8);
  CHECK(hinted.bytes() == 16 * 8);  // hash_bytes stays memcached's
  CHECK(plain.hint_bytes() == 0);
  CHECK(hinted.hint_bytes() == 16 * 8);
  CHECK(plain.find(hash_key("x"), [](uint32_t) { return true; }) == kNoItem);
}
