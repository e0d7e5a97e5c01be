// ExtStore::try_read_buffered_shared: an object still in a write buffer
// read under the shared side of the EngineLock gives the value and the
// counts plan_read + finish_read give; a foreign object, a device object
// and a recache turn are declined with nothing done; once the wbuf is
// written out the same key takes the device path. (Its place in the seeded
// shared/exclusive comparison and beside other threads: shared_flash_test.cc
// and tests/unit/concurrency/buffered_flash_test.cc.)
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memext/device.h"
#include "memext/extstore.h"
#include "shared_flash_rig.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

TEST_CASE("a wbuf object is read under the shared side as the exclusive path reads it") {
  FlashRig rig("buffered");
  const std::string value(3000, 'w');
  for (int k = 0; k < 200; ++k) store(*rig.engine, StoreMode::kSet, "k" + std::to_string(k), value);
  for (int i = 0; i < 20; ++i) rig.flush();
  // Two headers whose objects are still in the filling wbuf, and one whose
  // object was written out.
  std::vector<std::string> buffered;
  std::string on_device;
  rig.each_flash_plan(200, [&](const std::string& key, const GetResult&, const FlashRead& p) {
    if (p.kind == FlashReadKind::kBuffered) buffered.push_back(key);
    if (p.kind == FlashReadKind::kDevice && on_device.empty()) on_device = key;
  });
  REQUIRE(buffered.size() >= 2);
  REQUIRE_FALSE(on_device.empty());
  const std::string& first = buffered[0];
  const std::string& second = buffered[1];

  auto unchanged = [&](auto&& step) {
    const std::string before = rig.stats_json();
    step();
    CHECK(rig.stats_json() == before);
  };
  // What one read counts: the shared read against plan_read + finish_read.
  auto counts = [&] {
    const ExtStoreStats e = rig.ext->stats(false);
    return std::vector<uint64_t>{e.get_extstore,          e.miss_from_extstore,
                                 e.recache_from_extstore, e.badcrc_from_extstore,
                                 e.store.objects_read,    e.store.bytes_read};
  };
  auto delta = [](const std::vector<uint64_t>& after, const std::vector<uint64_t>& before) {
    std::vector<uint64_t> d(after.size());
    for (size_t i = 0; i < d.size(); ++i) d[i] = after[i] - before[i];
    return d;
  };

  const std::optional<GetResult> h1 = rig.engine->try_get_shared(first, {}, true);
  REQUIRE(h1.has_value());
  REQUIRE(h1->source == HitSource::kFlashHeader);
  // The device plan still declines a wbuf object.
  unchanged([&] { CHECK_FALSE(rig.ext->try_plan_read_shared(first, *h1).has_value()); });
  // A header that is not the object's (another CAS or length: an older copy)
  // and a device object are declined with nothing done.
  GetResult foreign = *h1;
  foreign.object_cas += 1;
  unchanged([&] { CHECK_FALSE(rig.ext->try_read_buffered_shared(first, foreign).has_value()); });
  foreign = *h1;
  foreign.info.value_len -= 1;
  unchanged([&] { CHECK_FALSE(rig.ext->try_read_buffered_shared(first, foreign).has_value()); });
  unchanged([&] { CHECK_FALSE(rig.ext->try_read_buffered_shared(second, *h1).has_value()); });
  const std::optional<GetResult> hd = rig.engine->try_get_shared(on_device, {}, true);
  REQUIRE(hd.has_value());
  unchanged([&] { CHECK_FALSE(rig.ext->try_read_buffered_shared(on_device, *hd).has_value()); });

  // A hit: the value, and the counts plan_read + finish_read make for the
  // same header (the first hit of each key: no recache candidate).
  std::vector<uint64_t> before = counts();
  const std::optional<ReadOutcome> shared_read = rig.ext->try_read_buffered_shared(first, *h1);
  REQUIRE(shared_read.has_value());
  CHECK(shared_read->hit());
  CHECK(shared_read->value == value);
  CHECK(shared_read->info.cas == h1->info.cas);
  CHECK_FALSE(shared_read->recached);
  const std::vector<uint64_t> shared_counts = delta(counts(), before);
  const GetResult h2 = rig.engine->get(second);
  REQUIRE(h2.source == HitSource::kFlashHeader);
  before = counts();
  const FlashRead plan = rig.ext->plan_read(second, h2);
  REQUIRE(plan.kind == FlashReadKind::kBuffered);
  const ReadOutcome exclusive_read = rig.ext->finish_read(second, h2, plan, nullptr, 0);
  CHECK(exclusive_read.hit());
  CHECK(delta(counts(), before) == shared_counts);
  CHECK(shared_counts[0] == 1);
  CHECK(shared_counts[4] == 1);
  CHECK(shared_counts[5] == h1->location.len);

  // A recache candidate (a second hit) on its recache turn declines with
  // nothing done, its counter kept; the exclusive path then recaches. Off
  // its turn it is read shared and the counter advances.
  const GetResult again = rig.engine->get(first);
  REQUIRE(again.source == HitSource::kFlashHeader);
  uint64_t connection_turns = 5;
  unchanged([&] {
    CHECK_FALSE(rig.ext->try_read_buffered_shared(first, again, &connection_turns).has_value());
  });
  CHECK(connection_turns == 5);
  connection_turns = 6;
  const std::optional<ReadOutcome> off_turn =
      rig.ext->try_read_buffered_shared(first, again, &connection_turns);
  REQUIRE(off_turn.has_value());
  CHECK(off_turn->value == value);
  CHECK(connection_turns == 7);
  connection_turns = 5;
  FlashRead turn_plan = rig.ext->plan_read(first, again);
  turn_plan.recache_counter = &connection_turns;
  const uint64_t recaches = rig.ext->stats(false).recache_from_extstore;
  CHECK(rig.ext->finish_read(first, again, turn_plan, nullptr, 0).recached);
  CHECK(rig.ext->stats(false).recache_from_extstore == recaches + 1);
  CHECK(rig.engine->get(first).source == HitSource::kRam);

  // Once the flusher has written the wbuf out, the same key goes the device
  // path: the buffered read declines and the device plan is taken (off the
  // recache turn, so only where the object is decides).
  GetOptions peek;
  peek.bump = false;
  auto where = [&] {
    const GetResult g = rig.engine->get(second, peek);
    REQUIRE(g.source == HitSource::kFlashHeader);
    const FlashRead p = rig.ext->plan_read(second, g);
    rig.ext->abort_read(p);
    return p.kind;
  };
  for (int k = 200; k < 3000 && where() == FlashReadKind::kBuffered; ++k) {
    store(*rig.engine, StoreMode::kSet, "k" + std::to_string(k), value);
    if (k % 20 == 0) {
      rig.engine->set_time(++rig.now);
      rig.flush();
    }
  }
  REQUIRE(where() == FlashReadKind::kDevice);
  const GetResult written = rig.engine->get(second, peek);
  uint64_t off_turn_counter = 1;
  unchanged([&] {
    CHECK_FALSE(rig.ext->try_read_buffered_shared(second, written, &off_turn_counter).has_value());
  });
  std::optional<FlashRead> device_plan = rig.ext->try_plan_read_shared(second, written);
  REQUIRE(device_plan.has_value());
  device_plan->recache_counter = &off_turn_counter;
  AlignedBuffer buf;
  const int64_t rc = rig.read(*device_plan, buf);
  const std::optional<ReadOutcome> from_device =
      rig.ext->try_finish_read_shared(second, written, *device_plan, buf.data(), rc);
  REQUIRE(from_device.has_value());
  CHECK(from_device->value == value);
}
