// Engine::prefetch is a cache hint for the replay's batches: interleaving it
// (both stages, for present, absent, evicted and deleted keys) with a random
// command sequence must leave every answer and every stat as without it.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "memext/stats.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

// Trace-style 8-byte key ids, as the replay passes them.
std::string key_of(uint64_t id) {
  return std::string(reinterpret_cast<const char*>(&id), 8);
}

struct Answer {
  HitSource source = HitSource::kMiss;
  uint64_t cas = 0;
  int result = 0;
  friend bool operator==(const Answer&, const Answer&) = default;
};

// Runs the same seeded sequence; with `hint`, every request is preceded by
// prefetches of the keys 8 and 16 requests ahead (the replay's distances)
// and every store by Engine::warm_lookup of its key (the server's). `real`:
// the engine keeps values, so stores carry them.
std::vector<Answer> run(Engine& engine, bool hint, bool real = false) {
  const std::string value(450, 'v');
  const auto request = [&](const std::string& key, uint64_t id) {
    StoreRequest r;
    r.key = key;
    r.value_len = 400 + static_cast<uint32_t>(id % 50);
    if (real) r.value = std::string_view(value).substr(0, r.value_len);
    if (hint) engine.warm_lookup(key);
    return r;
  };
  std::mt19937_64 rng(5);
  std::vector<uint64_t> ids(20000);
  for (uint64_t& id : ids) id = rng() % 6000;  // a small cache: evictions happen
  std::vector<Answer> answers;
  rel_time_t now = 100;
  engine.set_time(now);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (hint) {
      if (i + 16 < ids.size())
        engine.prefetch(key_of(ids[i + 16]), Engine::PrefetchStage::kHashSlot);
      if (i + 8 < ids.size()) engine.prefetch(key_of(ids[i + 8]), Engine::PrefetchStage::kItem);
      engine.prefetch(key_of(ids[i]), Engine::PrefetchStage::kItem);
    }
    const std::string key = key_of(ids[i]);
    Answer a;
    switch (ids[i] % 10) {
      case 0:
        a.result = static_cast<int>(engine.remove(key));
        break;
      case 1:
      case 2: {
        const StoreOutcome out = engine.store(request(key, ids[i]));
        a.result = static_cast<int>(out.result);
        a.cas = out.cas;
        break;
      }
      default: {
        const GetResult r = engine.get(key);
        a.source = r.source;
        a.cas = r.info.cas;
        if (!r.hit()) a.result = static_cast<int>(engine.store(request(key, ids[i])).result);
      }
    }
    answers.push_back(a);
    if (i % 1000 == 999) engine.set_time(++now);
  }
  return answers;
}

// Runs the sequence on both engines, `hinted` with the hints, and checks
// that every answer and every stat is the same.
void check_hints_change_nothing(Engine& plain, Engine& hinted, bool real) {
  const std::vector<Answer> a = run(plain, false, real);
  const std::vector<Answer> b = run(hinted, true, real);
  REQUIRE(a.size() == b.size());
  size_t differing = 0;
  for (size_t i = 0; i < a.size(); ++i) differing += a[i] == b[i] ? 0 : 1;
  CHECK(differing == 0);

  const Stats x = plain.stats();
  const Stats y = hinted.stats();
  CHECK(x.evictions > 0);  // the sequence reaches the paths it should
  CHECK(x.get_hits > 0);
  CHECK(x.get_misses > 0);
  CHECK(to_json(x).dump() == to_json(y).dump());
}

}  // namespace

TEST_CASE("prefetch changes no answer and no stat") {
  EngineConfig config = small_config(2);
  config.phantom = true;
  Engine plain(config);
  Engine hinted(config);
  // Hints on an empty engine touch nothing.
  hinted.prefetch(key_of(1), Engine::PrefetchStage::kHashSlot);
  hinted.prefetch(key_of(1), Engine::PrefetchStage::kItem);
  check_hints_change_nothing(plain, hinted, false);
}

TEST_CASE("prefetch and warm_lookup change no answer and no stat with values kept") {
  // Real mode: an item with a value keeps its key in a heap buffer, so the
  // hash table keeps key hints, and warm_lookup's lookups prefetch them.
  EngineConfig config = small_config(2);
  Engine plain(config);
  Engine hinted(config);
  hinted.warm_lookup(key_of(1));  // on an empty engine: a miss, no stat
  check_hints_change_nothing(plain, hinted, true);
}
