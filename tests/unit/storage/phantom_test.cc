// Phantom mode (no bytes on the device, sizes only in the engine) must keep
// the same page and object accounting as real mode for the same commands.
#include <string>
#include <vector>

#include "storage_rig.h"

using namespace memext;
using namespace memext::testing;

namespace {

struct Trace {
  std::vector<bool> hits;
  ExtStoreStats stats;
};

// A mixed workload: sizes from 600 B to 40 KB (chunked), some short TTLs,
// deletes, overwrites, twice-read keys (recache), page evictions and
// compaction.
Trace run_workload(Rig& rig) {
  Trace trace;
  auto read_all = [&](int from, int to) {
    for (int i = from; i < to; ++i) trace.hits.push_back(rig.read(key_for(i)) != "<miss>");
  };
  for (int round = 0; round < 4; ++round) {
    for (int i = round * 60; i < round * 60 + 60; ++i) {
      const size_t len = i % 17 == 0 ? 40000 : 600 + (i * 937) % 12000;
      const int64_t ttl = i % 5 == 0 ? 200 : 0;
      REQUIRE(rig.set(key_for(i), value_for(i, len), ttl).result == StoreResult::kStored);
    }
    rig.flush_all_to_flash();
    for (int i = round * 60; i < round * 60 + 60; i += 3) rig.engine().remove(key_for(i));
    for (int i = round * 60 + 1; i < round * 60 + 60; i += 7) {
      REQUIRE(rig.set(key_for(i), value_for(i + 1, 700)).result == StoreResult::kStored);
    }
    read_all(round * 60, round * 60 + 60);
    read_all(round * 60, round * 60 + 30);
    rig.compact();
    rig.advance(150);
  }
  read_all(0, 240);
  rig.compact();
  trace.stats = rig.ext().stats();
  return trace;
}

}  // namespace

TEST_CASE("phantom mode gives the same page and object accounting as real mode") {
  EngineConfig config = rig_engine_config(false);
  config.ext.low_ttl = 300;
  config.ext.recache_rate = 2;
  // Both flush synchronously: with asynchronous flushes a page whose wbuf is
  // still in flight cannot be evicted, and the memory device completes its
  // writes later than the phantom one, so page choices could differ for
  // reasons that have nothing to do with keeping bytes.
  Rig real(RigDevice::kMemory, config, RigFlush::kSync);
  Rig phantom(RigDevice::kPhantom, config, RigFlush::kSync);
  REQUIRE(phantom.phantom());
  const Trace a = run_workload(real);
  const Trace b = run_workload(phantom);

  CHECK(a.hits == b.hits);
  const ExtStoreStats& x = a.stats;
  const ExtStoreStats& y = b.stats;
  // The workload must exercise what it claims to.
  CHECK(x.store.page_evictions > 0);
  CHECK(x.compact_rescues > 0);
  CHECK(x.recache_from_extstore > 0);
  CHECK(x.store.page_reclaims > 0);

  CHECK(x.get_extstore == y.get_extstore);
  CHECK(x.miss_from_extstore == y.miss_from_extstore);
  CHECK(x.recache_from_extstore == y.recache_from_extstore);
  check_same_accounting(x, y);
}

TEST_CASE("phantom reads need no buffer and check only the page version") {
  Rig rig(RigDevice::kPhantom);
  for (int i = 0; i < 40; ++i) {
    REQUIRE(rig.set(key_for(i), value_for(i, 3000)).result == StoreResult::kStored);
  }
  rig.flush_all_to_flash();
  GetResult header = rig.engine().get(key_for(0));
  REQUIRE(header.source == HitSource::kFlashHeader);
  const FlashRead read = rig.ext().plan_read(key_for(0), header);
  REQUIRE(read.kind == FlashReadKind::kDevice);
  const ReadOutcome outcome = rig.ext().finish_read(key_for(0), header, read, nullptr, read.length);
  CHECK(outcome.hit());
  CHECK(outcome.value.empty());
  CHECK(outcome.info.value_len == 3000);
}
