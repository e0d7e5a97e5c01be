// Compaction, corruption, recache, runtime settings and stats.
#include <nlohmann/json.hpp>

#include <cerrno>
#include <set>

#include "storage_rig.h"

using namespace memext;
using namespace memext::testing;

namespace {

constexpr RigDevice kDevices[] = {RigDevice::kMemory, RigDevice::kFile, RigDevice::kUring};

// Writes `count` 10 KB items (24 per 256 KB page) to flash, a page at a time.
void fill(Rig& rig, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    REQUIRE(rig.set(key_for(i), value_for(i, 10000)).result == StoreResult::kStored);
    if (i % 24 == 23) rig.flush_all_to_flash();
  }
  rig.flush_all_to_flash();
}

}  // namespace

TEST_CASE("compaction rescues live objects and never resurrects deleted or overwritten keys") {
  for (RigDevice kind : kDevices) {
    CAPTURE(std::string(rig_name(kind)));
    Rig rig(kind);
    if (!rig.ok()) {
      MESSAGE("skipping " << rig_name(kind) << ": " << rig.skipped());
      continue;
    }
    // 6 pages of the 7: one free page, under compact_under (8 / 4 = 2).
    fill(rig, 0, 24 * 6);
    ExtStoreStats st = rig.ext().stats();
    REQUIRE(st.store.pages_free == 1);
    REQUIRE(rig.ext().config().compact_under == 2);

    // Thin the first page out: delete 16 keys, overwrite 4 (new values in
    // RAM), keep 4. It is now the oldest page under the fragmentation limit.
    std::set<int> deleted, overwritten, kept;
    for (int i = 0; i < 24; ++i) {
      if (i < 16) {
        REQUIRE(rig.engine().remove(key_for(i)) == DeleteResult::kDeleted);
        deleted.insert(i);
      } else if (i < 20) {
        REQUIRE(rig.set(key_for(i), "fresh " + std::to_string(i)).result == StoreResult::kStored);
        overwritten.insert(i);
      } else {
        kept.insert(i);
      }
    }
    const uint64_t reclaims = rig.ext().stats().store.page_reclaims;
    CHECK(rig.compact() >= 1);
    st = rig.ext().stats();
    CHECK(st.compact_rescues == kept.size());
    CHECK(st.compact_lost == 0);
    CHECK(st.compact_skipped == 0);
    CHECK(st.store.page_reclaims > reclaims);
    bool compact_page = false;
    for (const PageData& p : st.pages) {
      if (p.version != 0 && p.bucket == static_cast<uint8_t>(PageBucket::kCompact)) {
        compact_page = true;
      }
    }
    CHECK(compact_page);
    for (int i : deleted) CHECK(rig.read_is(key_for(i), "<miss>"));
    for (int i : overwritten) CHECK(rig.read_is(key_for(i), "fresh " + std::to_string(i)));
    for (int i : kept) CHECK(rig.read_is(key_for(i), value_for(i, 10000)));
    for (int i = 24; i < 24 * 6; ++i) CHECK(rig.read_is(key_for(i), value_for(i, 10000)));
    CHECK(rig.ext().stats().miss_from_extstore == 0);
  }
}

TEST_CASE(
    "a key overwritten and flushed again to the same page is rescued at its new offset only") {
  Rig rig(RigDevice::kMemory);
  fill(rig, 0, 24 * 4);  // pages 1-4
  // Both copies of "x" land on page 5, the older one first.
  REQUIRE(rig.set("x", value_for(1, 10000)).result == StoreResult::kStored);
  rig.flush_all_to_flash();
  REQUIRE(rig.set("x", value_for(2, 10000)).result == StoreResult::kStored);
  rig.flush_all_to_flash();
  const GetResult x = rig.engine().get("x", {.bump = false});
  REQUIRE(x.source == HitSource::kFlashHeader);
  CHECK(x.location.offset > 0);
  fill(rig, 100, 22);  // the rest of page 5
  fill(rig, 200, 24);  // page 6: one page left free
  for (int i = 100; i < 122; ++i)
    REQUIRE(rig.engine().remove(key_for(i)) == DeleteResult::kDeleted);
  CHECK(rig.compact() >= 1);
  CHECK(rig.ext().stats().compact_rescues == 1);
  CHECK(rig.read_is("x", value_for(2, 10000)));
  for (int i = 200; i < 224; ++i) CHECK(rig.read_is(key_for(i), value_for(i, 10000)));
}

TEST_CASE("drop_unread compaction skips COLD items when free pages run out") {
  EngineConfig config = rig_engine_config(false);
  config.ext.drop_unread = true;
  Rig rig(RigDevice::kMemory, config);
  fill(rig, 0, 24 * 7);  // every page used; no page is fragmented
  ExtStoreStats st = rig.ext().stats();
  REQUIRE(st.store.pages_free <= 1);
  // The headers were never read: they age into COLD and are dropped.
  rig.advance(100);
  rig.flush_all_to_flash();
  CHECK(rig.compact() >= 1);
  st = rig.ext().stats();
  CHECK(st.compact_skipped > 0);
  CHECK(st.compact_rescues + st.compact_skipped + st.compact_lost >= 24);
}

TEST_CASE("a corrupted byte on the device gives a miss and badcrc, never wrong data") {
  for (RigDevice kind : kDevices) {
    CAPTURE(std::string(rig_name(kind)));
    Rig rig(kind);
    if (!rig.ok()) {
      MESSAGE("skipping " << rig_name(kind) << ": " << rig.skipped());
      continue;
    }
    fill(rig, 0, 48);
    GetResult header = rig.engine().get(key_for(3), {.bump = false});
    REQUIRE(header.source == HitSource::kFlashHeader);
    FlashRead read = rig.ext().plan_read(key_for(3), header);
    REQUIRE(read.kind == FlashReadKind::kDevice);
    // Flip one value byte in place on the device.
    char* buf = alloc_aligned(read.length);
    IoRequest rd{IoOp::kRead, read.offset, read.length, buf};
    REQUIRE(submit_and_wait(*read.device, &rd) == read.length);
    rig.ext().abort_read(read);
    buf[read.skip + read.object_len / 2] ^= 0x20;
    IoRequest wr{IoOp::kWrite, read.offset, read.length, buf};
    REQUIRE(submit_and_wait(*read.device, &wr) == read.length);
    free_aligned(buf);

    ReadOutcome outcome;
    CHECK(rig.read_is(key_for(3), "<miss>", &outcome));
    CHECK(outcome.status == ReadStatus::kBadCrc);
    const ExtStoreStats st = rig.ext().stats();
    CHECK(st.badcrc_from_extstore == 1);
    CHECK(st.miss_from_extstore == 1);
    CHECK(rig.engine().get(key_for(3)).source == HitSource::kMiss);
    CHECK(rig.read_is(key_for(4), value_for(4, 10000)));
  }
}

TEST_CASE("recache moves a twice-hit header back to RAM, keeping CAS, and frees the flash copy") {
  EngineConfig config = rig_engine_config(false);
  config.ext.recache_rate = 1;
  for (RigDevice kind : kDevices) {
    CAPTURE(std::string(rig_name(kind)));
    Rig rig(kind, config);
    if (!rig.ok()) {
      MESSAGE("skipping " << rig_name(kind) << ": " << rig.skipped());
      continue;
    }
    const StoreOutcome stored = rig.set("hot", value_for(1, 2000), 0, 42);
    REQUIRE(stored.result == StoreResult::kStored);
    fill(rig, 0, 30);  // pushes "hot" out of the wbuf onto the device
    ExtStoreStats st = rig.ext().stats();
    REQUIRE(st.store.objects_used == 31);

    // First hit sets FETCHED only: no recache.
    ReadOutcome outcome;
    CHECK(rig.read_is("hot", value_for(1, 2000), &outcome));
    CHECK_FALSE(outcome.recached);
    // Second hit makes it ACTIVE: recached.
    CHECK(rig.read_is("hot", value_for(1, 2000), &outcome));
    CHECK(outcome.recached);
    st = rig.ext().stats();
    CHECK(st.recache_from_extstore == 1);
    CHECK(st.store.objects_used == 30);

    const GetResult r = rig.engine().get("hot", {.bump = false});
    CHECK(r.source == HitSource::kRam);
    CHECK((r.value == value_for(1, 2000)));
    // memcached links the copy it read: a new CAS, in COLD, never fetched
    // (as when it was written).
    CHECK(r.info.cas > stored.cas);
    CHECK(r.info.client_flags == 42);
    CHECK(r.info.lru == LruSegment::kCold);
    CHECK_FALSE(r.info.fetched);
  }
}

TEST_CASE("recache honours ext_recache_rate") {
  EngineConfig config = rig_engine_config(false);
  config.ext.recache_rate = 3;
  Rig rig(RigDevice::kMemory, config);
  for (int i = 0; i < 6; ++i)
    REQUIRE(rig.set(key_for(i), value_for(i, 2000)).result == StoreResult::kStored);
  rig.flush_all_to_flash();
  for (int i = 0; i < 6; ++i) rig.read(key_for(i));  // FETCHED
  int recached = 0;
  for (int i = 0; i < 6; ++i) {
    ReadOutcome outcome;
    CHECK(rig.read_is(key_for(i), value_for(i, 2000), &outcome));
    recached += outcome.recached ? 1 : 0;
  }
  // memcached's counter++ % rate == 0 starts at 0: hits 1 and 4 of 6.
  CHECK(recached == 2);
}

TEST_CASE("recache turns are counted per reader (memcached's per-connection counter)") {
  // Two connections reading three candidates each at ext_recache_rate 4:
  // each connection's counter starts at 0, so each recaches its first
  // (memcached's c->recache_counter): reads 1 and 4. One counter for all
  // (reads without one, the simulator's) recaches turns 0 and 4: reads 1
  // and 5.
  EngineConfig config = rig_engine_config(false);
  config.ext.recache_rate = 4;
  for (const bool per_connection : {true, false}) {
    CAPTURE(per_connection);
    Rig rig(RigDevice::kMemory, config);
    for (int i = 0; i < 6; ++i)
      REQUIRE(rig.set(key_for(i), value_for(i, 2000)).result == StoreResult::kStored);
    rig.flush_all_to_flash();
    for (int i = 0; i < 6; ++i) rig.read(key_for(i));  // FETCHED
    uint64_t connection[2] = {0, 0};
    std::vector<bool> recached;
    for (int i = 0; i < 6; ++i) {
      const GetResult header = rig.engine().get(key_for(i));
      REQUIRE(header.source == HitSource::kFlashHeader);
      const ReadOutcome outcome =
          rig.ext().read_sync(key_for(i), header, per_connection ? &connection[i / 3] : nullptr);
      CHECK(outcome.hit());
      recached.push_back(outcome.recached);
    }
    if (per_connection) {
      CHECK(recached == std::vector<bool>{true, false, false, true, false, false});
      CHECK(connection[0] == 3);
      CHECK(connection[1] == 3);
    } else {
      CHECK(recached == std::vector<bool>{true, false, false, false, true, false});
    }
    CHECK(rig.ext().stats().recache_from_extstore == 2);
  }
}

TEST_CASE("set_option applies memcached's extstore settings and names bad input") {
  Rig rig(RigDevice::kMemory);
  ExtStore& ext = rig.ext();
  CHECK(ext.set_option("item_size", "100").empty());
  CHECK(ext.config().item_size == 100);
  CHECK(ext.set_option("ext_item_age", "5").empty());
  CHECK(ext.config().item_age == 5);
  CHECK(ext.set_option("low_ttl", "10").empty());
  CHECK(ext.set_option("recache_rate", "3").empty());
  CHECK(ext.set_option("compact_under", "4").empty());
  CHECK(ext.set_option("drop_under", "1").empty());
  CHECK(ext.set_option("max_sleep", "5000").empty());
  CHECK(ext.set_option("max_frag", "0.5").empty());
  CHECK(ext.set_option("drop_unread", "1").empty());
  CHECK(ext.config().low_ttl == 10);
  CHECK(ext.config().recache_rate == 3);
  CHECK(ext.config().compact_under == 4);
  CHECK(ext.config().drop_under == 1);
  CHECK(ext.config().max_sleep_us == 5000);
  CHECK(ext.config().max_frag == doctest::Approx(0.5));
  CHECK(ext.config().drop_unread);

  const std::string bad = ext.set_option("item_size", "abc");
  CHECK(bad.find("item_size") != std::string::npos);
  CHECK(bad.find("abc") != std::string::npos);
  CHECK(ext.config().item_size == 100);
  CHECK_FALSE(ext.set_option("item_size", "-1").empty());
  CHECK_FALSE(ext.set_option("item_size", "").empty());
  CHECK_FALSE(ext.set_option("max_frag", "x").empty());
  CHECK(ext.config().max_frag == doctest::Approx(0.5));
  const std::string unknown = ext.set_option("bogus", "1");
  CHECK(unknown.find("bogus") != std::string::npos);
  CHECK(unknown.find("item_size") != std::string::npos);
}

TEST_CASE("stats settings lines match memcached's defaults and format") {
  Rig rig(RigDevice::kMemory, [] {
    EngineConfig c = rig_engine_config(false);
    c.ext.item_age = UINT32_MAX;
    return c;
  }());
  const auto lines = rig.ext().named_settings();
  const std::vector<std::pair<std::string_view, std::string>> expected = {
      {"ext_item_size", "512"},   {"ext_item_age", "4294967295"},
      {"ext_low_ttl", "0"},       {"ext_recache_rate", "2000"},
      {"ext_wbuf_size", "65536"}, {"ext_compact_under", "2"},
      {"ext_drop_under", "2"},    {"ext_max_sleep", "1000000"},
      {"ext_max_frag", "0.80"},   {"slab_automove_freeratio", "0.010"},
      {"ext_drop_unread", "no"}};
  CHECK(lines == expected);
}

TEST_CASE("compact_under and drop_under default to a quarter of the pages") {
  EngineConfig config = rig_engine_config(false);
  config.ext.paths[0].size_bytes = 16 * kExtPage;
  Rig rig(RigDevice::kMemory, config);
  CHECK(rig.ext().config().compact_under == 4);
  CHECK(rig.ext().config().drop_under == 4);
}

TEST_CASE("stats use memcached's names and order") {
  Rig rig(RigDevice::kMemory);
  fill(rig, 0, 10);
  rig.read(key_for(0));
  const ExtStoreStats st = rig.ext().stats();
  const auto get = st.named_get();
  REQUIRE(get.size() == 6);
  CHECK(get[0].first == "get_extstore");
  CHECK(get[0].second == 1);
  CHECK(get[5].first == "badcrc_from_extstore");
  const auto ext = st.named_extstore();
  const std::vector<std::string_view> expected = {
      "extstore_compact_lost",  "extstore_compact_rescues",  "extstore_compact_skipped",
      "extstore_page_allocs",   "extstore_page_evictions",   "extstore_page_reclaims",
      "extstore_pages_free",    "extstore_pages_used",       "extstore_objects_evicted",
      "extstore_objects_read",  "extstore_objects_written",  "extstore_objects_used",
      "extstore_bytes_evicted", "extstore_bytes_written",    "extstore_bytes_read",
      "extstore_bytes_used",    "extstore_bytes_fragmented", "extstore_limit_maxbytes",
      "extstore_io_queue"};
  REQUIRE(ext.size() >= expected.size());
  for (size_t i = 0; i < expected.size(); ++i) CHECK(ext[i].first == expected[i]);
  const auto pages = st.named_pages();
  REQUIRE(pages.size() == kExtPages * 4);
  CHECK(pages[0].first == "0:version");
  CHECK(pages[3].first == "0:free_bucket");
  const nlohmann::json j = st.to_json();
  CHECK(j["stats"]["extstore_objects_used"] == 10);
  CHECK(j["stats"]["get_extstore"] == 1);
  CHECK(j["pages"].size() == kExtPages);
  const ExtStoreStats light = rig.ext().stats(false);
  CHECK(light.pages.empty());
  CHECK(light.store.objects_used == 10);
  CHECK(light.get_extstore == 1);
}

TEST_CASE(
    "the flusher sleeps from 200 us growing towards ext_max_sleep, and wakes at once while "
    "moving") {
  EngineConfig config = rig_engine_config(false);
  config.ext.max_sleep_us = 1000;
  Rig rig(RigDevice::kMemory, config);
  Micros now = 1'000'000;
  Micros next = rig.ext().flusher_step(now);
  CHECK(next == now + kWriteSleepMin);
  next = rig.ext().flusher_step(next);
  CHECK(next > now + 2 * kWriteSleepMin);
  REQUIRE(rig.set("k", value_for(0, 1000)).result == StoreResult::kStored);
  rig.advance(2);
  LruMaintainer lru(rig.engine());
  lru.step(rig.micros());
  now = rig.micros();
  CHECK(rig.ext().flusher_step(now) == now);
  CHECK(rig.ext().flusher_step(now) > now);
}

TEST_CASE("the compactor sleeps ext_max_sleep when idle and 10 ms while compacting") {
  Rig rig(RigDevice::kMemory);
  const Micros now = 5'000'000;
  CHECK(rig.ext().compactor_step(now) >= now + rig.ext().config().max_sleep_us);
  fill(rig, 0, 24 * 6);
  for (int i = 0; i < 20; ++i) REQUIRE(rig.engine().remove(key_for(i)) == DeleteResult::kDeleted);
  const Micros t = rig.compactor_sleep();
  CHECK(rig.ext().compactor_step(t) == t + kMinStorageCompactSleep);
  CHECK(rig.ext().compacting());
}

TEST_CASE(
    "with no default page free, a compactor wake-up evicts the oldest page as memcached's "
    "maintenance pass does") {
  Rig rig(RigDevice::kMemory);
  fill_flash_pages(rig, 24 * 7);  // every usable page full, none free yet
  PageStoreStats st = rig.ext().stats().store;
  REQUIRE(st.pages_free == 0);
  REQUIRE(st.page_evictions == 0);
  // Nothing is fragmented enough to compact: the wake-up ends in a sleep,
  // and before it the maintenance pass frees a page for the next writer.
  const Micros now = rig.micros();
  CHECK(rig.ext().compactor_step(now) > now);
  CHECK_FALSE(rig.ext().compacting());
  st = rig.ext().stats().store;
  CHECK(st.page_evictions == 1);
  CHECK(st.pages_free == 1);
  CHECK(rig.read_is(key_for(0), "<miss>"));  // page 1, the oldest
  CHECK(rig.read_is(key_for(24), value_for(24, 10000)));
  // With a page free again the next wake-up evicts nothing.
  rig.ext().compactor_step(now + rig.ext().config().max_sleep_us * 3);
  CHECK(rig.ext().stats().store.page_evictions == 1);
}

TEST_CASE(
    "the compactor picks from the maintenance pass's page data: the page that pass evicted, "
    "then the next") {
  Rig rig(RigDevice::kMemory);
  fill_flash_pages(rig, 24 * 7);  // pages 1-7 full, none free
  // Pages 1 and 2 keep 4 objects each: both under the fragmentation limit.
  for (int i = 0; i < 20; ++i) {
    REQUIRE(rig.engine().remove(key_for(i)) == DeleteResult::kDeleted);
    REQUIRE(rig.engine().remove(key_for(24 + i)) == DeleteResult::kDeleted);
  }
  // The pass before the sleep lists pages 1-7, then evicts page 1.
  const Micros t = rig.compactor_sleep();
  REQUIRE(rig.ext().stats().store.page_evictions == 1);
  // The wake-up picks page 1 from that list; its read misses and the
  // compaction ends at once with nothing moved (memcached's abort).
  CHECK(rig.ext().compactor_step(t) == t + kMinStorageCompactSleep);
  CHECK_FALSE(rig.ext().compacting());
  CHECK(rig.ext().stats().compact_rescues == 0);
  // The next pass no longer lists it: page 2 is compacted.
  CHECK(rig.ext().compactor_step(t + kMinStorageCompactSleep) > t);
  CHECK(rig.ext().compacting());
  rig.compact();
  const ExtStoreStats st = rig.ext().stats();
  CHECK(st.compact_rescues == 4);
  CHECK(st.store.page_evictions == 1);
  for (int i = 20; i < 24; ++i) CHECK(rig.read_is(key_for(i), "<miss>"));
  for (int i = 44; i < 48; ++i) CHECK(rig.read_is(key_for(i), value_for(i, 10000)));
}

TEST_CASE("a page that falls under the fragmentation limit waits for the next maintenance pass") {
  Rig rig(RigDevice::kMemory);
  fill_flash_pages(rig, 24 * 6);     // one page free: compaction may run
  Micros t = rig.compactor_sleep();  // the pass sees six full pages
  for (int i = 0; i < 20; ++i) REQUIRE(rig.engine().remove(key_for(i)) == DeleteResult::kDeleted);
  // Page 1 is thin now, but the page data is the pass's.
  t = rig.ext().compactor_step(t);
  CHECK_FALSE(rig.ext().compacting());
  rig.ext().compactor_step(t);
  CHECK(rig.ext().compacting());
  rig.compact();
  CHECK(rig.ext().stats().compact_rescues == 4);
  for (int i = 20; i < 24; ++i) CHECK(rig.read_is(key_for(i), value_for(i, 10000)));
}

namespace {

// Starts the compaction of page 1 with only the first region's 6 objects
// live and returns its first read, not yet done.
CompactorRead begin_thin_page(Rig& rig) {
  fill(rig, 0, 24 * 6);
  for (int i = 6; i < 24; ++i) REQUIRE(rig.engine().remove(key_for(i)) == DeleteResult::kDeleted);
  CompactorRead read = rig.ext().compactor_begin(rig.compactor_sleep());
  REQUIRE(read.wanted);
  REQUIRE(rig.ext().compacting());
  CHECK(read.plan.page_id == 1);
  CHECK(read.offset % rig.device().alignment() == 0);
  CHECK(read.length == kExtWbuf);
  REQUIRE(read.buffer != nullptr);
  return read;
}

int64_t do_read(const CompactorRead& read) {
  IoRequest req{IoOp::kRead, read.offset, read.length, read.buffer};
  return submit_and_wait(*read.device, &req);
}

}  // namespace

TEST_CASE("a split compactor step passes over objects overwritten or deleted during its read") {
  Rig rig(RigDevice::kMemory);
  const CompactorRead read = begin_thin_page(rig);
  REQUIRE(rig.set(key_for(0), "fresh 0").result == StoreResult::kStored);
  REQUIRE(rig.engine().remove(key_for(1)) == DeleteResult::kDeleted);
  rig.ext().compactor_finish(rig.micros(), read, do_read(read));
  rig.settle_flushes();
  rig.compact();
  const ExtStoreStats st = rig.ext().stats();
  CHECK(st.compact_rescues == 4);
  CHECK(st.compact_lost == 0);
  CHECK(rig.read_is(key_for(0), "fresh 0"));
  CHECK(rig.read_is(key_for(1), "<miss>"));
  for (int i = 2; i < 6; ++i) CHECK(rig.read_is(key_for(i), value_for(i, 10000)));
}

TEST_CASE("a split compactor step aborts when its page was emptied and reclaimed during the read") {
  Rig rig(RigDevice::kMemory);
  const CompactorRead read = begin_thin_page(rig);
  // Every live object goes: the page would be freed but for the read's pin.
  for (int i = 0; i < 6; ++i) REQUIRE(rig.engine().remove(key_for(i)) == DeleteResult::kDeleted);
  CHECK_FALSE(rig.ext().page_store().page_data(1).free);
  const uint64_t reclaims = rig.ext().stats().store.page_reclaims;
  const Micros now = rig.micros();
  CHECK(rig.ext().compactor_finish(now, read, do_read(read)) == now + kMinStorageCompactSleep);
  CHECK_FALSE(rig.ext().compacting());
  const ExtStoreStats st = rig.ext().stats();
  CHECK(st.pages[1].free);
  CHECK(st.store.page_reclaims == reclaims + 1);
  CHECK(st.compact_rescues + st.compact_lost + st.compact_skipped == 0);
}

TEST_CASE("a split compactor step whose read failed aborts the page without losing objects") {
  Rig rig(RigDevice::kMemory);
  const CompactorRead read = begin_thin_page(rig);
  rig.ext().compactor_finish(rig.micros(), read, -EIO);
  CHECK_FALSE(rig.ext().compacting());
  const ExtStoreStats st = rig.ext().stats();
  CHECK(st.compact_rescues + st.compact_lost + st.compact_skipped == 0);
  for (int i = 0; i < 6; ++i) CHECK(rig.read_is(key_for(i), value_for(i, 10000)));
}

TEST_CASE("rescue_slice_bytes walks a region a slice per step, rescuing the same objects") {
  // 20000 bytes: two of the ~10 KB objects per step.
  Rig rig(RigDevice::kMemory, rig_engine_config(false), RigFlush::kDefault, 8, 20'000);
  fill(rig, 0, 24 * 6);
  for (int i = 6; i < 24; ++i) REQUIRE(rig.engine().remove(key_for(i)) == DeleteResult::kDeleted);
  const Micros now = rig.compactor_sleep();
  // The first step reads the region; the rescues wait for the next wake-up.
  CHECK(rig.ext().compactor_step(now) == now + kMinStorageCompactSleep);
  CHECK(rig.ext().stats().compact_rescues == 0);
  CHECK(rig.ext().compactor_step(now) == now);  // more of the region to do: again at once
  CHECK(rig.ext().stats().compact_rescues == 2);
  const uint64_t read = rig.ext().stats().store.objects_read;
  CHECK(rig.ext().compactor_step(now) == now);
  CHECK(rig.ext().stats().compact_rescues == 4);
  CHECK(rig.ext().stats().store.objects_read == read);  // the region is not read again
  rig.settle_flushes();
  rig.compact();
  CHECK(rig.ext().stats().compact_rescues == 6);
  CHECK(rig.ext().stats().compact_lost == 0);
  for (int i = 0; i < 6; ++i) CHECK(rig.read_is(key_for(i), value_for(i, 10000)));
}
