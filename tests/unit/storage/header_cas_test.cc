// A header item whose CAS changes in RAM while its value stays on flash
// still reads that value: memcached 1.6.18 links the slab page mover's copy
// of an item with a new CAS, headers included, and a meta delete with I
// gives the item a new CAS; its flash read checks the crc alone and serves
// the object. The object is checked against the CAS it was written with.
#include <string>
#include <vector>

#include "memext/slab_rebalancer.h"
#include "memext/tuning.h"
#include "storage_rig.h"

using namespace memext;
using namespace memext::testing;

namespace {

constexpr int kKeys = 12;

GetResult peek(Rig& rig, const std::string& key) {
  GetOptions peek_only;
  peek_only.bump = false;
  return rig.engine().get(key, peek_only);
}

// kKeys values on flash, their headers in slab class 1; returns each
// header's CAS.
std::vector<uint64_t> headers_on_flash(Rig& rig) {
  for (int i = 0; i < kKeys; ++i) {
    REQUIRE(rig.set(key_for(i), value_for(i, 1000)).result == StoreResult::kStored);
  }
  rig.flush_all_to_flash();
  std::vector<uint64_t> cas;
  for (int i = 0; i < kKeys; ++i) {
    const GetResult h = peek(rig, key_for(i));
    REQUIRE(h.source == HitSource::kFlashHeader);
    REQUIRE(h.info.slab_class == 1);
    cas.push_back(h.info.cas);
  }
  return cas;
}

}  // namespace

TEST_CASE("headers rescued by the slab page mover still read their flash objects") {
  Rig rig(RigDevice::kMemory);
  REQUIRE(rig.ok());
  Engine& engine = rig.engine();
  const std::vector<uint64_t> cas_before = headers_on_flash(rig);
  // Small items fill the rest of the headers' page and start a second page
  // of class 1; deleted, they leave that page room for every rescue.
  const uint64_t per_page = engine.slab_classes()[1].perslab;
  for (uint64_t i = 0; i < per_page; ++i) {
    REQUIRE(rig.set("s" + std::to_string(i), "x").result == StoreResult::kStored);
  }
  for (uint64_t i = 0; i < per_page; ++i) {
    REQUIRE(engine.remove("s" + std::to_string(i)) == DeleteResult::kDeleted);
  }
  // memcached empties the class's first page: the headers'.
  REQUIRE(reassign_slab_page(engine, 1, 0) == SlabReassignResult::kOk);
  SlabRebalancer rebalancer(engine);
  Micros now = rig.micros();
  for (int steps = 0; rebalancer.wants_to_run(); ++steps) {
    REQUIRE(steps < 1000);
    const Micros next = rebalancer.step(now);
    if (next == kRebalancerIdle) break;
    now = std::max(now + 1, next);
  }
  const Stats st = engine.stats();
  CHECK(st.slabs_moved == 1);
  CHECK(st.slab_reassign_rescues == kKeys);
  for (int i = 0; i < kKeys; ++i) {
    CAPTURE(i);
    const GetResult h = peek(rig, key_for(i));
    REQUIRE(h.source == HitSource::kFlashHeader);
    CHECK(h.info.cas > cas_before[i]);
    ReadOutcome outcome;
    CHECK(rig.read_is(key_for(i), value_for(i, 1000), &outcome));
    // The answer carries the header's CAS, as memcached's does.
    CHECK(outcome.info.cas == h.info.cas);
  }
  CHECK(rig.ext().stats().miss_from_extstore == 0);
}

TEST_CASE("a header invalidated by a meta delete still reads its flash object") {
  Rig rig(RigDevice::kMemory);
  REQUIRE(rig.ok());
  const std::vector<uint64_t> cas_before = headers_on_flash(rig);
  REQUIRE(rig.engine().invalidate(key_for(3), 0, false, 0) == DeleteResult::kDeleted);
  const GetResult h = peek(rig, key_for(3));
  REQUIRE(h.source == HitSource::kFlashHeader);
  CHECK(h.info.cas > cas_before[3]);
  CHECK(rig.read_is(key_for(3), value_for(3, 1000)));
  CHECK(rig.ext().stats().miss_from_extstore == 0);
}
