#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "memext/restart.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

std::string snapshot(const Engine& engine) {
  std::ostringstream out;
  SaveOutcome saved = save_items(engine, out);
  REQUIRE(saved.ok);
  return out.str();
}

LoadOutcome load(Engine& engine, const std::string& bytes) {
  std::istringstream in(bytes);
  return load_items(engine, in);
}

}  // namespace

TEST_CASE("a snapshot restores keys, values, flags, CAS, TTLs, LRU state and the CAS counter") {
  Engine before(small_config());
  before.set_time(100);
  before.set("plain", "abc", 5, 0);
  before.set("ttl", "hi", 7, 1000);     // exptime 1100
  const std::string big(700'000, 'x');  // above slab_chunk_max: chunked
  before.set("big", big, 9, 0);
  StoreRequest binary = store_request(StoreMode::kSet, "bin", "v");
  binary.key_binary = true;
  before.store(binary);
  before.set_time(150);
  CHECK(before.get("plain").hit());  // FETCHED
  const GetResult plain = before.get("plain", GetOptions{.bump = false});
  const GetResult ttl = before.get("ttl", GetOptions{.bump = false});
  const Stats st_before = before.stats();
  const std::string bytes = snapshot(before);

  Engine after(small_config());
  after.set_time(160);
  LoadOutcome loaded = load(after, bytes);
  REQUIRE_MESSAGE(loaded.ok, loaded.error);
  CHECK(loaded.items == 4);
  GetOptions peek;
  peek.bump = false;
  GetResult p = after.get("plain", peek);
  REQUIRE(p.hit());
  CHECK(p.value == "abc");
  CHECK(p.info.client_flags == 5);
  CHECK(p.info.cas == plain.info.cas);
  CHECK(p.info.fetched);
  CHECK(p.info.last_access == plain.info.last_access);
  CHECK(p.info.lru == plain.info.lru);
  GetResult t = after.get("ttl", peek);
  REQUIRE(t.hit());
  CHECK(t.info.exptime == 1100);
  CHECK(t.info.cas == ttl.info.cas);
  CHECK(value_of(after, "big") == big);
  CHECK(after.get("bin", peek).info.key_binary);
  const Stats st = after.stats();
  CHECK(st.curr_items == st_before.curr_items);
  CHECK(st.bytes == st_before.bytes);
  CHECK(st.total_items == 4);
  // CAS 1..4 were given; memcached 1.6.18 saves its counter one past the
  // last, so the next is 6.
  CHECK(after.set("new", "n").cas == 6);
  after.set_time(1100);
  CHECK(!after.get("ttl").hit());
}

TEST_CASE("a snapshot keeps each LRU's order and a pending flush_all") {
  EngineConfig config = small_config();
  Engine before(config);
  before.set_time(100);
  for (int i = 0; i < 5; ++i) before.set("k" + std::to_string(i), "v");
  before.flush_all(50);  // at time 150
  before.set_time(120);
  before.set("late", "v");
  const std::string bytes = snapshot(before);
  Engine after(config);
  after.set_time(130);
  REQUIRE(load(after, bytes).ok);
  // Saved again, the records come out in the same order (each list walked
  // from its tail); only the header's CAS counter and the checksum differ.
  std::ostringstream again;
  REQUIRE(save_items(after, again).ok);
  constexpr size_t kHeaderBytes = 31;
  REQUIRE(again.str().size() == bytes.size());
  CHECK(again.str().substr(kHeaderBytes, bytes.size() - kHeaderBytes - 4) ==
        bytes.substr(kHeaderBytes, bytes.size() - kHeaderBytes - 4));
  after.set_time(150);
  CHECK(!after.get("k0").hit());  // the flush reached its moment
  CHECK(after.stats().get_flushed == 1);
}

TEST_CASE("a corrupt or truncated snapshot loads nothing and says why") {
  Engine before(small_config());
  before.set_time(100);
  before.set("a", "1");
  before.set("b", "2");
  const std::string bytes = snapshot(before);
  for (size_t cut : {size_t{0}, size_t{5}, size_t{20}, bytes.size() / 2, bytes.size() - 1}) {
    Engine after(small_config());
    after.set_time(100);
    LoadOutcome r = load(after, bytes.substr(0, cut));
    CHECK_FALSE(r.ok);
    CHECK_FALSE(r.error.empty());
    CHECK(after.stats().curr_items == 0);
  }
  std::string flipped = bytes;
  flipped[bytes.size() - 10] ^= 0x40;  // a value byte
  Engine after(small_config());
  after.set_time(100);
  LoadOutcome r = load(after, flipped);
  CHECK_FALSE(r.ok);
  CHECK(after.stats().curr_items == 0);
  CHECK(load(after, std::string(64, '\0')).error.find("magic") != std::string::npos);
}

TEST_CASE("a phantom snapshot is refused by a real engine") {
  EngineConfig phantom = small_config();
  phantom.phantom = true;
  Engine before(phantom);
  before.set_time(100);
  StoreRequest r = store_request(StoreMode::kSet, "a", "");
  r.value_len = 100;
  before.store(r);
  const std::string bytes = snapshot(before);
  Engine real(small_config());
  real.set_time(100);
  CHECK_FALSE(load(real, bytes).ok);
  Engine again(phantom);
  again.set_time(100);
  CHECK(load(again, bytes).items == 1);
}
