// Asynchronous wbuf flushes: objects are served from their wbuf while its
// write is in flight and from the device once it is reaped; a step that
// finds every wbuf in flight stops and asks to run again soon, losing
// nothing; compaction pauses the same way.
#include <map>
#include <set>
#include <tuple>

#include "storage_rig.h"

using namespace memext;
using namespace memext::testing;

namespace {

constexpr RigDevice kRealDevices[] = {RigDevice::kMemory, RigDevice::kFile, RigDevice::kUring};

EngineConfig no_recache_config() {
  EngineConfig config = rig_engine_config(false);
  config.ext.recache_rate = 0;  // reads must not turn headers back into RAM items
  return config;
}

// Reads key through plan_read/finish_read; *kind says where it came from.
std::string read_planned(Rig& rig, const std::string& key, FlashReadKind* kind) {
  GetResult r = rig.engine().get(key);
  if (r.source != HitSource::kFlashHeader) {
    *kind = FlashReadKind::kMiss;
    return r.source == HitSource::kRam ? "<ram>" : "<miss>";
  }
  const FlashRead read = rig.ext().plan_read(key, r);
  *kind = read.kind;
  if (read.kind == FlashReadKind::kMiss) return "<miss>";
  if (read.kind == FlashReadKind::kBuffered) {
    const ReadOutcome o = rig.ext().finish_read(key, r, read, nullptr, 0);
    return o.hit() ? std::string(o.value) : "<miss>";
  }
  char* buf = alloc_aligned(read.length);
  IoRequest io{IoOp::kRead, read.offset, read.length, buf};
  const int64_t rc = submit_and_wait(*read.device, &io);
  const ReadOutcome o = rig.ext().finish_read(key, r, read, buf, rc);
  std::string value = o.hit() ? std::string(o.value) : "<miss>";
  free_aligned(buf);
  return value;
}

// The wbuf-sized region of the store an item's header points into.
std::tuple<uint64_t, uint32_t> region_of(Rig& rig, const std::string& key) {
  const GetResult r = rig.engine().get(key);
  if (r.source != HitSource::kFlashHeader) return {0, UINT32_MAX};
  return {r.location.page_version, r.location.offset / static_cast<uint32_t>(kExtWbuf)};
}

}  // namespace

TEST_CASE("async flush: served from the wbuf while its write is in flight, then from the device") {
  for (RigDevice kind : kRealDevices) {
    CAPTURE(std::string(rig_name(kind)));
    Rig rig(kind, no_recache_config(), RigFlush::kAsyncMultiWbuf);
    if (!rig.ok()) {
      MESSAGE("skipping " << rig_name(kind) << ": " << rig.skipped());
      continue;
    }
    const int n = 60;  // 3 KB items: about three wbufs
    for (int i = 0; i < n; ++i) {
      REQUIRE(rig.set(key_for(i), value_for(i, 3000)).result == StoreResult::kStored);
    }
    rig.age_to_cold();
    // Step until a wbuf write is in flight (the step that filled it ends
    // right after handing it to the device).
    for (int i = 0; i < 100 && rig.ext().flushes_in_flight() == 0; ++i) {
      rig.ext().flusher_step(rig.micros());
    }
    REQUIRE(rig.ext().flushes_in_flight() > 0);
    CHECK(rig.ext().stats().store.wbuf_flushes >= 1);

    // The newest region is the wbuf still filling; every older region of a
    // flash item belongs to a wbuf whose write has been submitted.
    std::map<std::string, std::tuple<uint64_t, uint32_t>> regions;
    std::tuple<uint64_t, uint32_t> newest{0, 0};
    for (int i = 0; i < n; ++i) {
      const auto region = region_of(rig, key_for(i));
      if (std::get<1>(region) == UINT32_MAX) continue;
      regions[key_for(i)] = region;
      newest = std::max(newest, region);
    }
    std::set<std::string> submitted;
    for (const auto& [key, region] : regions) {
      if (region < newest) submitted.insert(key);
    }
    REQUIRE(!submitted.empty());

    for (int i = 0; i < n; ++i) {
      if (submitted.count(key_for(i)) == 0) continue;
      FlashReadKind where = FlashReadKind::kMiss;
      CHECK(read_planned(rig, key_for(i), &where) == value_for(i, 3000));
      CHECK(where == FlashReadKind::kBuffered);
    }
    CHECK(rig.ext().flushes_in_flight() > 0);  // reads never reap

    rig.settle_flushes();
    CHECK(rig.ext().stats().store.write_errors == 0);
    for (int i = 0; i < n; ++i) {
      if (submitted.count(key_for(i)) == 0) continue;
      FlashReadKind where = FlashReadKind::kMiss;
      CHECK(read_planned(rig, key_for(i), &where) == value_for(i, 3000));
      CHECK(where == FlashReadKind::kDevice);
    }

    // The rest follows; everything reads back intact through read_sync too.
    rig.flush_all_to_flash();
    const ExtStoreStats st = rig.ext().stats();
    CHECK(st.store.objects_written == n);
    for (int i = 0; i < n; ++i) CHECK(rig.read_is(key_for(i), value_for(i, 3000)));
    CHECK(rig.ext().stats().miss_from_extstore == 0);
  }
}

TEST_CASE(
    "async flush: every wbuf in flight makes the flusher sleep as when idle, losing nothing") {
  Rig rig(RigDevice::kGated, no_recache_config(), RigFlush::kAsync, 1);
  REQUIRE(rig.ok());
  const int n = 150;  // about seven wbufs of 3 KB items
  for (int i = 0; i < n; ++i) {
    REQUIRE(rig.set(key_for(i), value_for(i, 3000)).result == StoreResult::kStored);
  }
  rig.age_to_cold();
  rig.gate().set_open(false);

  Micros now = rig.micros();
  Micros wake = now;
  int steps = 0;
  for (; steps < 100; ++steps) {
    wake = rig.ext().flusher_step(now);
    if (wake != now) break;
  }
  // The bucket's wbuf is being written: no write goes through, so the pass
  // moved nothing and storage_write_thread's sleep follows (200 us at first).
  REQUIRE(wake == now + kWriteSleepMin);
  const uint64_t held = rig.gate().held();
  CHECK(held >= 1);
  CHECK(rig.ext().flushes_in_flight() == held);
  const uint64_t written = rig.ext().stats().store.objects_written;
  CHECK(written > 0);
  CHECK(written < static_cast<uint64_t>(n));
  // Still busy while nothing completes: no item moves, none is lost, and
  // the sleep grows by 1 us a pass as memcached's does.
  CHECK(rig.ext().flusher_step(wake) == wake + kWriteSleepMin + 1);
  CHECK(rig.ext().stats().store.objects_written == written);
  int in_ram = 0;
  for (int i = 0; i < n; ++i) {
    HitSource source = HitSource::kMiss;
    CHECK(rig.read_is(key_for(i), value_for(i, 3000), nullptr, &source));
    in_ram += source == HitSource::kRam ? 1 : 0;
  }
  CHECK(in_ram == n - static_cast<int>(written));
  CHECK(rig.ext().stats().store.write_errors == 0);

  rig.gate().set_open(true);
  rig.flush_all_to_flash();
  const ExtStoreStats st = rig.ext().stats();
  CHECK(st.store.objects_written == n);
  CHECK(st.store.objects_used == n);
  CHECK(rig.ext().flushes_in_flight() == 0);
  for (int i = 0; i < n; ++i) {
    HitSource source = HitSource::kMiss;
    CHECK(rig.read_is(key_for(i), value_for(i, 3000), nullptr, &source));
    CHECK(source == HitSource::kFlashHeader);
  }
  CHECK(rig.ext().stats().miss_from_extstore == 0);
  CHECK(rig.engine().stats().evictions == 0);
}

TEST_CASE("async flush: compaction pauses while every wbuf is in flight and rescues all") {
  EngineConfig config = no_recache_config();
  config.ext.max_frag = 0.9;  // a page with any hole qualifies
  config.ext.compact_under = 6;
  Rig rig(RigDevice::kGated, config, RigFlush::kAsync, 1);
  REQUIRE(rig.ok());
  // Three pages of 16 KB items (four per wbuf), then three of every four
  // deleted: each page is a quarter live.
  const int n = 3 * 16;
  for (int i = 0; i < n; ++i) {
    REQUIRE(rig.set(key_for(i), value_for(i, 16000)).result == StoreResult::kStored);
  }
  rig.flush_all_to_flash();
  REQUIRE(rig.ext().stats().store.objects_written == n);
  auto live = [](int i) { return i % 4 == 0; };
  for (int i = 0; i < n; ++i) {
    if (!live(i)) rig.engine().remove(key_for(i));
  }

  rig.gate().set_open(false);
  Micros now = rig.micros();
  bool paused = false;
  for (int steps = 0; steps < 200; ++steps) {
    const Micros next = rig.ext().compactor_step(now);
    if (rig.ext().compacting() && next == now + kCompactWriteRetrySleep) {
      paused = true;
      break;
    }
    now = next;
  }
  INFO("rescues " << rig.ext().stats().compact_rescues << ", in flight "
                  << rig.ext().flushes_in_flight() << ", free pages "
                  << rig.ext().stats().store.pages_free);
  REQUIRE(paused);
  const ExtStoreStats mid = rig.ext().stats();
  CHECK(mid.compact_lost == 0);
  // Paused objects stay where they were and read back intact meanwhile.
  for (int i = 0; i < n; i += 4) CHECK(rig.read_is(key_for(i), value_for(i, 16000)));

  rig.gate().set_open(true);
  for (int steps = 0; steps < 2000; ++steps) {
    now = rig.ext().compactor_step(now);
    if (!rig.ext().compacting() && rig.ext().flushes_in_flight() == 0 && steps > 100) break;
  }
  rig.settle_flushes();
  const ExtStoreStats st = rig.ext().stats();
  CHECK(st.compact_rescues > mid.compact_rescues);
  CHECK(st.compact_lost == 0);
  for (int i = 0; i < n; ++i) {
    CHECK(rig.read_is(key_for(i), live(i) ? value_for(i, 16000) : "<miss>"));
  }
  CHECK(st.badcrc_from_extstore == 0);
}
