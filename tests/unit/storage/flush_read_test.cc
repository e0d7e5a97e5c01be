// Flusher and reads over every device kind: items reach flash and come back
// intact; deletes and overwrites release flash space; a full store evicts.
#include <cstring>
#include <map>

#include "storage_rig.h"

using namespace memext;
using namespace memext::testing;

namespace {

constexpr RigDevice kDevices[] = {RigDevice::kMemory, RigDevice::kFile, RigDevice::kUring};

// memcached's ITEM_ntotal: header, key + 1, client flags when non-zero,
// value + "\r\n", CAS.
uint64_t ntotal_of(const std::string& key, size_t value_len, uint32_t flags = 0) {
  return 48 + key.size() + 1 + (flags != 0 ? 4 : 0) + value_len + 2 + 8;
}

}  // namespace

TEST_CASE("items flushed to flash read back intact, with their CAS and flags") {
  for (RigDevice kind : kDevices) {
    CAPTURE(std::string(rig_name(kind)));
    Rig rig(kind);
    if (!rig.ok()) {
      MESSAGE("skipping " << rig_name(kind) << ": " << rig.skipped());
      continue;
    }
    std::map<std::string, uint64_t> cas;
    uint64_t bytes = 0;
    for (int i = 0; i < 100; ++i) {
      const std::string key = key_for(i);
      const StoreOutcome out = rig.set(key, value_for(i, 900 + i), 0, 7u + i);
      REQUIRE(out.result == StoreResult::kStored);
      cas[key] = out.cas;
      bytes += ntotal_of(key, 900 + i, 7u + i);
    }
    rig.flush_all_to_flash();
    ExtStoreStats st = rig.ext().stats();
    CHECK(st.store.objects_written == 100);
    CHECK(st.store.objects_used == 100);
    CHECK(st.store.bytes_used == bytes);
    CHECK(st.store.bytes_written == bytes);
    for (int i = 0; i < 100; ++i) {
      const std::string key = key_for(i);
      ReadOutcome outcome;
      HitSource source = HitSource::kMiss;
      CHECK(rig.read_is(key, value_for(i, 900 + i), &outcome, &source));
      CHECK(source == HitSource::kFlashHeader);
      CHECK(outcome.info.cas == cas[key]);
      CHECK(outcome.info.client_flags == 7u + i);
    }
    st = rig.ext().stats();
    CHECK(st.get_extstore == 100);
    CHECK(st.miss_from_extstore == 0);
    CHECK(st.store.objects_read == 100);
  }
}

TEST_CASE("items below ext_item_size stay in RAM") {
  Rig rig(RigDevice::kMemory);
  REQUIRE(rig.set("small", std::string(100, 's')).result == StoreResult::kStored);
  REQUIRE(rig.set("large", std::string(1000, 'l')).result == StoreResult::kStored);
  rig.flush_all_to_flash();
  HitSource source = HitSource::kMiss;
  CHECK(rig.read_is("small", std::string(100, 's'), nullptr, &source));
  CHECK(source == HitSource::kRam);
  CHECK(rig.read_is("large", std::string(1000, 'l'), nullptr, &source));
  CHECK(source == HitSource::kFlashHeader);
}

TEST_CASE("ext_item_age keeps young items in RAM unless memory runs short") {
  EngineConfig config = rig_engine_config(false);
  config.ext.item_age = 3600;
  Rig rig(RigDevice::kMemory, config);
  REQUIRE(rig.set("k", std::string(1000, 'v')).result == StoreResult::kStored);
  rig.flush_all_to_flash();
  HitSource source = HitSource::kMiss;
  rig.read("k", nullptr, &source);
  CHECK(source == HitSource::kRam);
  CHECK(rig.ext().stats().store.objects_written == 0);
  rig.advance(3700);
  rig.flush_all_to_flash();
  rig.read("k", nullptr, &source);
  CHECK(source == HitSource::kFlashHeader);
}

TEST_CASE("planned reads: a wbuf object needs no IO, a device object needs the planned range") {
  for (RigDevice kind : kDevices) {
    CAPTURE(std::string(rig_name(kind)));
    Rig rig(kind);
    if (!rig.ok()) {
      MESSAGE("skipping " << rig_name(kind) << ": " << rig.skipped());
      continue;
    }
    // 3 KB objects: ~21 per 64 KB wbuf, so the first ones reach the device.
    for (int i = 0; i < 40; ++i) {
      REQUIRE(rig.set(key_for(i), value_for(i, 3000)).result == StoreResult::kStored);
    }
    rig.flush_all_to_flash();
    bool saw_buffered = false;
    bool saw_device = false;
    for (int i = 0; i < 40; ++i) {
      const std::string key = key_for(i);
      GetResult header = rig.engine().get(key);
      REQUIRE(header.source == HitSource::kFlashHeader);
      const FlashRead read = rig.ext().plan_read(key, header);
      REQUIRE(read.kind != FlashReadKind::kMiss);
      ReadOutcome outcome;
      if (read.kind == FlashReadKind::kBuffered) {
        saw_buffered = true;
        outcome = rig.ext().finish_read(key, header, read, nullptr, 0);
        CHECK((std::string(outcome.value) == value_for(i, 3000)));
        continue;
      }
      saw_device = true;
      CHECK(read.file_index == 0);
      CHECK(read.offset % read.device->alignment() == 0);
      CHECK(read.length % read.device->alignment() == 0);
      CHECK(read.skip + read.object_len <= read.length);
      char* buf = alloc_aligned(read.length);
      IoRequest req{IoOp::kRead, read.offset, read.length, buf};
      const int64_t rc = submit_and_wait(*read.device, &req);
      outcome = rig.ext().finish_read(key, header, read, buf, rc);
      CHECK(outcome.hit());
      CHECK((std::string(outcome.value) == value_for(i, 3000)));
      free_aligned(buf);
    }
    CHECK(saw_buffered);
    CHECK(saw_device);
  }
}

TEST_CASE("a short read is a miss that unlinks the header; an abandoned read is counted") {
  Rig rig(RigDevice::kMemory);
  for (int i = 0; i < 40; ++i) {
    REQUIRE(rig.set(key_for(i), value_for(i, 3000)).result == StoreResult::kStored);
  }
  rig.flush_all_to_flash();
  GetResult header = rig.engine().get(key_for(0));
  FlashRead read = rig.ext().plan_read(key_for(0), header);
  REQUIRE(read.kind == FlashReadKind::kDevice);
  std::vector<char> buf(read.length);
  ReadOutcome outcome = rig.ext().finish_read(key_for(0), header, read, buf.data(), 100);
  CHECK(outcome.status == ReadStatus::kMiss);
  CHECK(rig.engine().get(key_for(0)).source == HitSource::kMiss);

  header = rig.engine().get(key_for(1));
  read = rig.ext().plan_read(key_for(1), header);
  rig.ext().abort_read(read);
  ExtStoreStats st = rig.ext().stats();
  CHECK(st.miss_from_extstore == 1);
  CHECK(st.badcrc_from_extstore == 0);
  CHECK(st.get_aborted_extstore == 1);
  CHECK(st.get_extstore == 2);
  CHECK(rig.read_is(key_for(1), value_for(1, 3000)));
}

TEST_CASE("deletes, overwrites and expiry lower bytes_used and objects_used") {
  for (RigDevice kind : kDevices) {
    CAPTURE(std::string(rig_name(kind)));
    Rig rig(kind);
    if (!rig.ok()) {
      MESSAGE("skipping " << rig_name(kind) << ": " << rig.skipped());
      continue;
    }
    for (int i = 0; i < 30; ++i) {
      REQUIRE(rig.set(key_for(i), value_for(i, 1000), i < 10 ? 50 : 0).result ==
              StoreResult::kStored);
    }
    rig.flush_all_to_flash();
    const uint64_t each = ntotal_of(key_for(10), 1000);
    ExtStoreStats st = rig.ext().stats();
    REQUIRE(st.store.objects_used == 30);
    const uint64_t before = st.store.bytes_used;

    CHECK(rig.engine().remove(key_for(10)) == DeleteResult::kDeleted);
    st = rig.ext().stats();
    CHECK(st.store.objects_used == 29);
    CHECK(st.store.bytes_used == before - each);

    REQUIRE(rig.set(key_for(11), "new value").result == StoreResult::kStored);
    st = rig.ext().stats();
    CHECK(st.store.objects_used == 28);
    CHECK(st.store.bytes_used == before - 2 * each);
    CHECK(rig.read_is(key_for(11), "new value"));

    // Items 0..9 expire at +50 s; a lookup reclaims each.
    rig.advance(60);
    for (int i = 0; i < 10; ++i) CHECK(rig.read_is(key_for(i), "<miss>"));
    st = rig.ext().stats();
    CHECK(st.store.objects_used == 18);
    CHECK(st.get_extstore == 0);

    rig.engine().flush_all();
    rig.advance(1);
    for (int i = 12; i < 30; ++i) CHECK(rig.read_is(key_for(i), "<miss>"));
    st = rig.ext().stats();
    CHECK(st.store.objects_used == 0);
    CHECK(st.store.bytes_used == 0);
  }
}

TEST_CASE("a full store evicts its oldest page; reads of evicted objects miss") {
  for (RigDevice kind : kDevices) {
    CAPTURE(std::string(rig_name(kind)));
    Rig rig(kind);
    if (!rig.ok()) {
      MESSAGE("skipping " << rig_name(kind) << ": " << rig.skipped());
      continue;
    }
    // 9 pages of objects into 7 usable pages.
    const int n = fill_flash_pages(rig, 24 * 9);
    const ExtStoreStats st = rig.ext().stats();
    CHECK(st.store.page_evictions >= 2);
    CHECK(st.store.objects_evicted == st.store.page_evictions * 24);
    CHECK(st.store.objects_used == n - st.store.objects_evicted);
    CHECK(st.store.pages_free == 0);
    // The first keys lived on the first pages written, the ones evicted.
    ReadOutcome outcome;
    CHECK(rig.read_is(key_for(0), "<miss>", &outcome));
    CHECK(rig.engine().get(key_for(0)).source == HitSource::kMiss);
    CHECK(rig.read_is(key_for(n - 1), value_for(n - 1, 10000)));
    const ExtStoreStats after = rig.ext().stats();
    CHECK(after.miss_from_extstore == 1);
    CHECK(after.badcrc_from_extstore == 0);
  }
}

TEST_CASE("chunked items go to the chunked bucket and round-trip") {
  for (RigDevice kind : kDevices) {
    CAPTURE(std::string(rig_name(kind)));
    Rig rig(kind);
    if (!rig.ok()) {
      MESSAGE("skipping " << rig_name(kind) << ": " << rig.skipped());
      continue;
    }
    // slab_chunk_max is 32 KB here: 40 KB values are chunked.
    for (int i = 0; i < 5; ++i) {
      REQUIRE(rig.set(key_for(i), value_for(i, 40000)).result == StoreResult::kStored);
    }
    REQUIRE(rig.engine().get(key_for(0), {.bump = false}).info.chunked);
    rig.flush_all_to_flash();
    const ExtStoreStats st = rig.ext().stats();
    CHECK(st.store.objects_used == 5);
    bool chunked_page = false;
    for (const PageData& p : st.pages) {
      if (p.version != 0 && p.obj_count > 0) {
        CHECK(p.bucket == static_cast<uint8_t>(PageBucket::kChunked));
        chunked_page = true;
      }
    }
    CHECK(chunked_page);
    for (int i = 0; i < 5; ++i) {
      HitSource source = HitSource::kMiss;
      CHECK(rig.read_is(key_for(i), value_for(i, 40000), nullptr, &source));
      CHECK(source == HitSource::kFlashHeader);
    }
  }
}

TEST_CASE("low-TTL items fill lowttl pages that are reclaimed as they expire") {
  EngineConfig config = rig_engine_config(false);
  config.ext.low_ttl = 1000;
  for (RigDevice kind : kDevices) {
    CAPTURE(std::string(rig_name(kind)));
    Rig rig(kind, config);
    if (!rig.ok()) {
      MESSAGE("skipping " << rig_name(kind) << ": " << rig.skipped());
      continue;
    }
    // 3 pages of short-lived items (24 x 10 KB per page), one long-lived.
    for (int i = 0; i < 72; ++i) {
      REQUIRE(rig.set(key_for(i), value_for(i, 10000), 300).result == StoreResult::kStored);
    }
    REQUIRE(rig.set("long", value_for(999, 10000), 5000).result == StoreResult::kStored);
    rig.flush_all_to_flash();
    ExtStoreStats st = rig.ext().stats();
    int lowttl_pages = 0;
    for (const PageData& p : st.pages) {
      if (p.version != 0 && p.bucket == static_cast<uint8_t>(PageBucket::kLowTtl)) ++lowttl_pages;
    }
    CHECK(lowttl_pages == 3);
    const uint64_t reclaims = st.store.page_reclaims;
    rig.advance(400);
    for (int i = 0; i < 72; ++i) CHECK(rig.read_is(key_for(i), "<miss>"));
    st = rig.ext().stats();
    // The full lowttl pages are freed; the one still being written stays.
    CHECK(st.store.page_reclaims == reclaims + 2);
    CHECK(st.store.objects_used == 1);
    CHECK(rig.read_is("long", value_for(999, 10000)));
  }
}
