#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

// A deterministic mix of every operation under memory pressure.
nlohmann::json run_workload(bool phantom) {
  EngineConfig config = small_config(4);
  config.phantom = phantom;
  Engine engine(config);
  std::mt19937_64 rng(7);
  std::string value_bytes(700000, 'v');
  for (int step = 0; step < 60000; ++step) {
    engine.set_time(100 + step / 100);
    const std::string key = "key:" + std::to_string(rng() % 5000);
    const uint64_t dice = rng() % 100;
    uint32_t len = static_cast<uint32_t>(rng() % 3000);
    if (dice == 0) len = 600000;  // a chunked item now and then
    StoreRequest req;
    req.key = key;
    req.value = std::string_view(value_bytes.data(), len);
    req.value_len = len;
    req.client_flags = static_cast<uint32_t>(rng() % 3);
    req.exptime = static_cast<int64_t>(rng() % 4) * 30;
    if (dice < 30) {
      req.mode = StoreMode::kSet;
      engine.store(req);
    } else if (dice < 35) {
      req.mode = StoreMode::kAdd;
      engine.store(req);
    } else if (dice < 38) {
      req.mode = StoreMode::kReplace;
      engine.store(req);
    } else if (dice < 40) {
      req.mode = StoreMode::kAppend;
      req.value_len = req.value_len % 100;
      req.value = req.value.substr(0, req.value_len);
      engine.store(req);
    } else if (dice < 42) {
      req.mode = StoreMode::kCas;
      req.cas = rng() % 3 == 0 ? engine.get(key).info.cas : 12345;
      engine.store(req);
    } else if (dice < 45) {
      engine.remove(key);
    } else if (dice < 47) {
      engine.touch(key, 60);
    } else if (dice < 48) {
      GetOptions gat;
      gat.touch = true;
      gat.exptime = 90;
      engine.get(key, gat);
    } else {
      engine.get(key);
    }
    if (step == 30000) engine.flush_all(5);
  }
  return to_json(engine.stats());
}

}  // namespace

TEST_CASE("phantom mode gives the same stats as real mode for the same sequence") {
  nlohmann::json real = run_workload(false);
  nlohmann::json phantom = run_workload(true);
  CHECK(real["stats"]["evictions"].get<uint64_t>() > 0);
  CHECK(real["stats"]["get_hits"].get<uint64_t>() > 0);
  CHECK(real["stats"]["reclaimed"].get<uint64_t>() + real["stats"]["get_expired"].get<uint64_t>() >
        0);
  CHECK(real.dump() == phantom.dump());
}

TEST_CASE("phantom stores account the given key length, not the key bytes") {
  EngineConfig config = small_config();
  config.phantom = true;
  Engine engine(config);
  engine.set_time(10);
  StoreRequest req;
  req.key = "\x01\x02\x03\x04\x05\x06\x07\x08";
  req.value_len = 100;
  req.accounted_key_len = 200;
  REQUIRE(engine.store(req).result == StoreResult::kStored);
  GetResult r = engine.get(req.key);
  CHECK(r.hit());
  CHECK(r.value.empty());
  CHECK(r.info.value_len == 100);
  Stats st = engine.stats();
  CHECK(st.bytes == 48 + 200 + 1 + 102 + 8);
  CHECK(st.slabs.size() == 1);
  CHECK(st.slabs[0].chunk_size == engine.slab_classes()[engine.slab_classes().clsid(359)].size);
}

TEST_CASE("phantom append and incr") {
  EngineConfig config = small_config();
  config.phantom = true;
  Engine engine(config);
  engine.set_time(10);
  StoreRequest req;
  req.key = "k";
  req.value_len = 10;
  engine.store(req);
  req.mode = StoreMode::kAppend;
  req.value_len = 5;
  CHECK(engine.store(req).result == StoreResult::kStored);
  CHECK(engine.get("k").info.value_len == 15);
  CHECK(engine.incr("k", 1).result == DeltaResult::kNonNumeric);
}
