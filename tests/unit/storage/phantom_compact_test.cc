// The phantom compactor learns a page's live objects from the engine's
// headers when the page's compaction begins; real mode reads each region
// back. Keys deleted, overwritten or re-flushed (reusing freed item records)
// while a compaction is under way must come out the same in both modes.
#include <string>
#include <vector>

#include "storage_rig.h"

using namespace memext;
using namespace memext::testing;

namespace {

struct Outcome {
  std::vector<std::string> reads;
  ExtStoreStats stats;
};

// 10 KB items: six per 64 KB wbuf, 24 per 256 KB page.
constexpr size_t kLen = 10000;

std::string expected_value(int i) {
  if (i < 14 || i == 20) return "<miss>";
  if (i == 21) return value_for(1021, 900);
  if (i == 22) return value_for(1022, kLen);
  return value_for(i, kLen);
}

// "<miss>", or for a hit: "ok" when the value is the one last stored (any
// value in phantom mode), else "wrong".
std::string read_state(Rig& rig, int i) {
  const std::string got = rig.read(key_for(i));
  if (got == "<miss>") return got;
  return rig.phantom() || got == expected_value(i) ? "ok" : "wrong";
}

Outcome run(Rig& rig) {
  for (int i = 0; i < 24 * 5; ++i) {
    REQUIRE(rig.set(key_for(i), value_for(i, kLen)).result == StoreResult::kStored);
    if (i % 24 == 23) rig.flush_all_to_flash();
  }
  // The first page keeps 10 of its 24 objects: the oldest page under the
  // fragmentation limit once free pages run short.
  for (int i = 0; i < 14; ++i) REQUIRE(rig.engine().remove(key_for(i)) == DeleteResult::kDeleted);

  // One step compacts the first region only.
  Micros now = rig.micros();
  for (int steps = 0; steps < 100 && !rig.ext().compacting(); ++steps) {
    now = rig.ext().compactor_step(now);
    rig.settle_flushes();
  }
  REQUIRE(rig.ext().compacting());

  // Meanwhile, in the page's later regions: a delete, an overwrite in RAM,
  // and an overwrite flushed again (its new header may take a freed record).
  REQUIRE(rig.engine().remove(key_for(20)) == DeleteResult::kDeleted);
  REQUIRE(rig.set(key_for(21), value_for(1021, 900)).result == StoreResult::kStored);
  REQUIRE(rig.set(key_for(22), value_for(1022, kLen)).result == StoreResult::kStored);
  for (int i = 200; i < 203; ++i) {
    REQUIRE(rig.set(key_for(i), value_for(i, kLen)).result == StoreResult::kStored);
  }
  rig.flush_all_to_flash();
  rig.compact();

  Outcome out;
  for (int i = 0; i < 24 * 5; ++i) out.reads.push_back(read_state(rig, i));
  for (int i = 200; i < 203; ++i) out.reads.push_back(read_state(rig, i));
  out.stats = rig.ext().stats();
  return out;
}

}  // namespace

TEST_CASE("phantom compaction agrees with real mode when keys die or move while it runs") {
  EngineConfig config = rig_engine_config(false);
  config.ext.recache_rate = 0;
  // Two pages more than the five filled and compaction from three free, so
  // no page is evicted (the compactor's maintenance pass evicts the oldest
  // once none is free) while the first page is compacted.
  config.ext.paths[0].size_bytes = 9 * kExtPage;
  config.ext.compact_under = 3;
  Rig real(RigDevice::kMemory, config, RigFlush::kSync);
  Rig phantom(RigDevice::kPhantom, config, RigFlush::kSync);
  REQUIRE(phantom.phantom());
  const Outcome a = run(real);
  const Outcome b = run(phantom);

  // The scenario does what it says: rescues happened, and exactly the
  // first page's 10 survivors less the three that changed were rescued.
  CHECK(a.stats.compact_rescues == 7);
  REQUIRE(a.reads.size() == b.reads.size());
  for (size_t i = 0; i < a.reads.size(); ++i) {
    CAPTURE(i);
    const int key = i < 24 * 5 ? static_cast<int>(i) : 200 + static_cast<int>(i - 24 * 5);
    CHECK(a.reads[i] == (expected_value(key) == "<miss>" ? "<miss>" : "ok"));
    CHECK(a.reads[i] == b.reads[i]);
  }
  check_same_accounting(a.stats, b.stats);
}
