#include <doctest/doctest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <cstring>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "memext/crc32c.h"
#include "memext/device.h"
#include "memext/pagestore.h"

using memext::PageStore;
using memext::PageStoreConfig;
using memext::ReadSource;
using memext::WriteSlot;
using memext::WriteStatus;

namespace {

constexpr uint64_t kPage = 64 * 1024;
constexpr uint32_t kWbuf = 16 * 1024;
constexpr uint32_t kObj = 1000;  // 16 fit a wbuf, 64 a page

// A timing-only device like the simulator's model: keeps no bytes.
class PhantomDevice final : public memext::Device {
 public:
  explicit PhantomDevice(uint64_t size) : Device(size, 4096) {}
  bool stores_data() const override { return false; }
  std::string describe() const override { return "phantom"; }

 protected:
  int submit_impl(memext::IoRequest* req) override {
    queued_.push_back(req);
    return 0;
  }
  size_t reap_impl(memext::IoRequest** out, size_t max, bool) override {
    size_t n = 0;
    while (n < max && !queued_.empty()) {
      out[n] = queued_.front();
      out[n]->result = out[n]->len;
      queued_.pop_front();
      ++n;
    }
    return n;
  }

 private:
  std::deque<memext::IoRequest*> queued_;
};

// A RAM device whose writes can be made to fail, for the flush error path.
class FlakyDevice final : public memext::Device {
 public:
  explicit FlakyDevice(uint64_t size) : Device(size, 1), inner_(memext::make_memory_device(size)) {}
  std::string describe() const override { return "flaky"; }
  bool fail_writes = false;

 protected:
  int submit_impl(memext::IoRequest* req) override {
    if (fail_writes && req->op == memext::IoOp::kWrite) {
      failed_.push_back(req);
      return 0;
    }
    return inner_->submit(req);
  }
  void flush_impl() override { inner_->flush(); }
  size_t reap_impl(memext::IoRequest** out, size_t max, bool wait) override {
    size_t n = 0;
    while (n < max && !failed_.empty()) {
      out[n] = failed_.front();
      out[n++]->result = -EIO;
      failed_.pop_front();
    }
    return n + inner_->reap(out + n, max - n, wait && n == 0);
  }

 private:
  std::unique_ptr<memext::Device> inner_;
  std::deque<memext::IoRequest*> failed_;
};

PageStoreConfig one_device(memext::Device* dev, uint64_t pages) {
  PageStoreConfig cfg;
  cfg.page_size = kPage;
  cfg.wbuf_size = kWbuf;
  cfg.reserve_page_zero = false;
  cfg.files.push_back({dev, pages * kPage, memext::PageBucket::kDefault});
  return cfg;
}

std::string object(int n, uint32_t len = kObj) {
  std::string s(len, '\0');
  for (uint32_t i = 0; i < len; ++i) s[i] = static_cast<char>('a' + (n * 31 + i) % 26);
  return s;
}

WriteSlot put(PageStore& store, int n, unsigned bucket = 0, unsigned free_bucket = 0) {
  const std::string data = object(n);
  WriteSlot slot;
  REQUIRE(store.write(bucket, free_bucket, data.data(), kObj, &slot) == WriteStatus::kOk);
  return slot;
}

bool reads_back(PageStore& store, const WriteSlot& s, int n, ReadSource want) {
  std::string out(kObj, '\0');
  const ReadSource got = store.read(s.page_id, s.page_version, s.offset, kObj, out.data());
  return got == want && out == object(n);
}

}  // namespace

TEST_CASE("writes fill a wbuf, then the next wbuf, then a new page") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(one_device(dev.get(), 4));
  std::vector<WriteSlot> slots;
  for (int i = 0; i < 16; ++i) slots.push_back(put(store, i));
  CHECK(store.stats().wbuf_flushes == 0);
  CHECK(slots[15].offset == 15 * kObj);
  CHECK(dev->stats().writes_submitted == 0);

  slots.push_back(put(store, 16));  // does not fit the first wbuf
  CHECK(store.stats().wbuf_flushes == 1);
  CHECK(dev->stats().bytes_written == kWbuf);
  CHECK(slots[16].offset == kWbuf);  // objects never straddle wbufs
  CHECK(slots[16].page_id == slots[0].page_id);

  for (int i = 17; i < 64; ++i) slots.push_back(put(store, i));
  CHECK(slots[63].page_id == slots[0].page_id);
  slots.push_back(put(store, 64));  // page full: flushes its last wbuf, takes a new page
  CHECK(slots[64].page_id != slots[0].page_id);
  CHECK(slots[64].offset == 0);
  CHECK(slots[64].page_version == slots[0].page_version + 1);

  const auto st = store.stats();
  CHECK(st.page_allocs == 2);
  CHECK(st.objects_written == 65);
  CHECK(st.objects_used == 65);
  CHECK(st.bytes_written == 65 * kObj);
  CHECK(st.bytes_used == 65 * kObj);
  CHECK(st.pages_used == 2);
  CHECK(st.bytes_fragmented == 2 * kPage - 65 * kObj);
  CHECK(st.wbuf_flushes == 4);

  const auto first = store.page_data(slots[0].page_id);
  CHECK_FALSE(first.active);
  CHECK(first.obj_count == 64);
  CHECK(first.compactable());
  CHECK(store.page_data(slots[64].page_id).active);
}

TEST_CASE("objects read back intact from the wbuf and from the device") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(one_device(dev.get(), 4));
  std::vector<WriteSlot> slots;
  for (int i = 0; i < 20; ++i) slots.push_back(put(store, i));
  CHECK(reads_back(store, slots[3], 3, ReadSource::kDevice));  // flushed
  CHECK(reads_back(store, slots[17], 17, ReadSource::kWbuf));  // still buffered
  CHECK(dev->stats().reads_submitted == 1);

  const auto st = store.stats();
  CHECK(st.objects_read == 2);
  CHECK(st.bytes_read == 2 * kObj);

  // A plan for the async path: the caller does the IO itself.
  const auto plan =
      store.prepare_read(slots[5].page_id, slots[5].page_version, slots[5].offset, kObj);
  REQUIRE(plan.source == ReadSource::kDevice);
  CHECK(plan.device == dev.get());
  CHECK(plan.skip == 0);
  CHECK(plan.aligned_len == kObj);
  std::string out(kObj, '\0');
  memext::IoRequest req{memext::IoOp::kRead, plan.aligned_offset, plan.aligned_len, out.data()};
  CHECK(memext::submit_and_wait(*plan.device, &req) == kObj);
  CHECK(store.finish_read(plan));
  CHECK(out == object(5));

  // A read past the end of what the wbuf holds is a miss, not garbage.
  CHECK(store.prepare_read(slots[19].page_id, slots[19].page_version, slots[19].offset + kObj, kObj)
            .source == ReadSource::kMiss);
  CHECK(store.prepare_read(0, slots[0].page_version, kPage - 10, 20).source == ReadSource::kMiss);
  CHECK(store.prepare_read(99, 1, 0, 10).source == ReadSource::kMiss);
}

TEST_CASE("reads on an O_DIRECT device are widened to its alignment") {
  const std::string path = "/tmp/memext-flash-pagestore-" + std::to_string(::getpid()) + ".dat";
  std::unique_ptr<memext::Device> dev;
  try {
    dev = memext::make_uring_device(path, 4 * kPage, 8);
  } catch (const std::runtime_error& e) {
    MESSAGE("skipping aligned read test: " << e.what());
    std::remove(path.c_str());
    return;
  }
  {
    PageStore store(one_device(dev.get(), 4));
    std::vector<WriteSlot> slots;
    for (int i = 0; i < 40; ++i) slots.push_back(put(store, i));
    const auto plan =
        store.prepare_read(slots[7].page_id, slots[7].page_version, slots[7].offset, kObj);
    REQUIRE(plan.source == ReadSource::kDevice);
    CHECK(plan.aligned_offset % 4096 == 0);
    CHECK(plan.aligned_len % 4096 == 0);
    CHECK(plan.aligned_offset + plan.skip == plan.device_offset);
    CHECK(store.finish_read(plan));
    for (int i : {0, 4, 7, 15, 16, 31}) CHECK(reads_back(store, slots[i], i, ReadSource::kDevice));
    CHECK(reads_back(store, slots[39], 39, ReadSource::kWbuf));
  }
  dev.reset();
  std::remove(path.c_str());
}

TEST_CASE("delete lowers the counts and an emptied full page is reclaimed") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(one_device(dev.get(), 4));
  std::vector<WriteSlot> slots;
  for (int i = 0; i < 65; ++i) slots.push_back(put(store, i));
  const uint32_t first = slots[0].page_id;

  CHECK(store.delete_objects(first, slots[0].page_version, 1, kObj));
  auto st = store.stats();
  CHECK(st.objects_used == 64);
  CHECK(st.bytes_used == 64 * kObj);
  CHECK(store.page_data(first).bytes_used == 63 * kObj);

  CHECK_FALSE(store.delete_objects(first, slots[0].page_version + 7, 1, kObj));
  CHECK(store.stats().objects_used == 64);

  const uint64_t free_before = store.stats().pages_free;
  for (int i = 1; i < 64; ++i) CHECK(store.delete_objects(first, slots[i].page_version, 1, kObj));
  st = store.stats();
  CHECK(st.page_reclaims == 1);
  CHECK(st.pages_free == free_before + 1);
  CHECK(st.objects_used == 1);
  CHECK_FALSE(store.check(first, slots[0].page_version));
  CHECK(store.page_data(first).free);
  CHECK(store.read(first, slots[5].page_version, slots[5].offset, kObj, nullptr) ==
        ReadSource::kMiss);
}

TEST_CASE("an emptied page that is still being written is not reclaimed") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(one_device(dev.get(), 4));
  const WriteSlot s = put(store, 0);
  CHECK(store.delete_objects(s.page_id, s.page_version, 1, kObj));
  CHECK(store.stats().page_reclaims == 0);
  CHECK(store.check(s.page_id, s.page_version));
  CHECK(put(store, 1).page_id == s.page_id);
}

TEST_CASE("when no page is free the oldest full page is evicted and counted") {
  auto dev = memext::make_memory_device(3 * kPage);
  PageStore store(one_device(dev.get(), 3));
  std::vector<WriteSlot> slots;
  for (int i = 0; i < 3 * 64; ++i) slots.push_back(put(store, i));
  CHECK(store.stats().pages_free == 0);
  // Page versions 1 and 2 are full, version 3 is active. Thin out version 2
  // so "oldest" is not confused with "emptiest".
  for (int i = 64; i < 100; ++i)
    store.delete_objects(slots[i].page_id, slots[i].page_version, 1, kObj);

  const WriteSlot next = put(store, 1000);
  const auto st = store.stats();
  CHECK(st.page_evictions == 1);
  CHECK(st.objects_evicted == 64);
  CHECK(st.bytes_evicted == 64 * kObj);
  CHECK(st.page_reclaims == 1);
  CHECK(next.page_id == slots[0].page_id);
  CHECK(next.page_version == 4);
  CHECK_FALSE(store.check(slots[0].page_id, slots[0].page_version));
  CHECK(store.read(slots[0].page_id, slots[0].page_version, slots[0].offset, kObj, nullptr) ==
        ReadSource::kMiss);
  CHECK(reads_back(store, slots[100], 100, ReadSource::kDevice));
  CHECK(st.objects_used == 3 * 64 - 36 - 64 + 1);
}

TEST_CASE("a page with a read in flight is closed by eviction but freed after the read") {
  auto dev = memext::make_memory_device(2 * kPage);
  PageStore store(one_device(dev.get(), 2));
  std::vector<WriteSlot> slots;
  for (int i = 0; i < 2 * 64; ++i) slots.push_back(put(store, i));
  const auto plan =
      store.prepare_read(slots[0].page_id, slots[0].page_version, slots[0].offset, kObj);
  REQUIRE(plan.source == ReadSource::kDevice);

  WriteSlot slot;
  CHECK(store.write_request(0, 0, kObj, &slot) == WriteStatus::kNoFreePage);
  CHECK(store.stats().page_evictions == 1);
  CHECK(store.page_data(slots[0].page_id).closed);
  CHECK(store.check(slots[0].page_id, slots[0].page_version));  // not reused under the reader

  CHECK(store.finish_read(plan));
  CHECK(store.page_data(slots[0].page_id).free);
  CHECK(store.write_request(0, 0, kObj, &slot) == WriteStatus::kOk);
  CHECK(slot.page_id == slots[0].page_id);
}

TEST_CASE("pins taken on different threads each hold a closed page, whichever thread drops them") {
  // Pins are counted per thread stripe (flash/page_pins.h); a read planned
  // on one thread may be finished on another (the server's exclusive retry).
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(one_device(dev.get(), 4));
  std::vector<WriteSlot> slots;
  for (int i = 0; i < 2 * 64; ++i) slots.push_back(put(store, i));
  const WriteSlot a = slots[0];
  memext::ReadPlan first, second;
  std::thread([&] { first = store.prepare_read(a.page_id, a.page_version, a.offset, kObj); }).join();
  std::thread([&] {
    second = store.prepare_read_shared(a.page_id, a.page_version, a.offset + kObj, kObj);
  }).join();
  REQUIRE(first.source == ReadSource::kDevice);
  REQUIRE(second.source == ReadSource::kDevice);
  CHECK(first.pin_stripe != second.pin_stripe);

  store.close_page(a.page_id, a.page_version);
  CHECK(store.page_data(a.page_id).closed);
  CHECK(store.unpin_needs_exclusive(second));  // closed: the last pin may free it
  std::thread([&] { CHECK(store.finish_read(second)); }).join();
  CHECK_FALSE(store.page_data(a.page_id).free);  // first's pin still holds it
  CHECK(store.finish_read(first));
  CHECK(store.page_data(a.page_id).free);
}

TEST_CASE("close_page frees an idle page now and a page being read afterwards") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(one_device(dev.get(), 4));
  std::vector<WriteSlot> slots;
  for (int i = 0; i < 2 * 64 + 1; ++i) slots.push_back(put(store, i));
  const WriteSlot a = slots[0], b = slots[64];

  store.close_page(a.page_id, a.page_version + 1);  // wrong version: ignored
  CHECK_FALSE(store.page_data(a.page_id).closed);
  store.close_page(a.page_id, a.page_version);
  CHECK(store.page_data(a.page_id).free);
  CHECK(store.stats().objects_used == 65);
  CHECK(store.stats().page_reclaims == 1);
  CHECK(store.stats().page_evictions == 0);

  const auto plan = store.prepare_read(b.page_id, b.page_version, b.offset, kObj);
  REQUIRE(plan.source == ReadSource::kDevice);
  store.close_page(b.page_id, b.page_version);
  CHECK(store.page_data(b.page_id).closed);
  CHECK_FALSE(store.delete_objects(b.page_id, b.page_version, 1, kObj));  // closed: ignored
  CHECK(store.prepare_read(b.page_id, b.page_version, b.offset, kObj).source == ReadSource::kMiss);
  CHECK(store.finish_read(plan));
  CHECK(store.page_data(b.page_id).free);
  CHECK(store.stats().objects_used == 1);
}

TEST_CASE("a failed wbuf flush drops its page and the next write starts a new one") {
  FlakyDevice dev(4 * kPage);
  PageStore store(one_device(&dev, 4));
  std::vector<WriteSlot> slots;
  for (int i = 0; i < 16; ++i) slots.push_back(put(store, i));
  dev.fail_writes = true;
  WriteSlot slot;
  CHECK(store.write_request(0, 0, kObj, &slot) == WriteStatus::kIoError);
  auto st = store.stats();
  CHECK(st.write_errors == 1);
  CHECK(st.objects_used == 0);
  CHECK(st.page_reclaims == 1);
  CHECK_FALSE(store.check(slots[0].page_id, slots[0].page_version));
  CHECK(store.read(slots[0].page_id, slots[0].page_version, slots[0].offset, kObj, nullptr) ==
        ReadSource::kMiss);
  dev.fail_writes = false;
  const WriteSlot next = put(store, 99);
  CHECK(next.page_version > slots[0].page_version);
  CHECK(next.offset == 0);
  CHECK(reads_back(store, next, 99, ReadSource::kWbuf));
}

TEST_CASE("closing the page being written drops it and the bucket moves on") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(one_device(dev.get(), 4));
  const WriteSlot a = put(store, 1);
  store.close_page(a.page_id, a.page_version);
  CHECK(store.page_data(a.page_id).free);
  CHECK(store.stats().objects_used == 0);
  const WriteSlot b = put(store, 2);
  CHECK(b.page_version != a.page_version);
  CHECK(b.offset == 0);
  CHECK(reads_back(store, b, 2, ReadSource::kWbuf));
}

TEST_CASE("a whole wbuf reads back with its unused tail zeroed, as the compactor expects") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(one_device(dev.get(), 4));
  // Dirty the wbuf memory with a first page's worth of data...
  for (int i = 0; i < 64; ++i) put(store, i);
  // ...then leave the second page's first wbuf only partly used when it is flushed.
  std::vector<WriteSlot> slots;
  for (int i = 0; i < 3; ++i) slots.push_back(put(store, 100 + i));
  WriteSlot big;
  REQUIRE(store.write(0, 0, std::string(kWbuf - 2000, 'z').data(), kWbuf - 2000, &big) ==
          WriteStatus::kOk);
  REQUIRE(big.offset == kWbuf);  // did not fit: the first wbuf was flushed
  char* region = memext::alloc_aligned(kWbuf);
  REQUIRE(store.read(slots[0].page_id, slots[0].page_version, 0, kWbuf, region) ==
          ReadSource::kDevice);
  CHECK(std::string(region, kObj) == object(100));
  CHECK(std::string(region + 2 * kObj, kObj) == object(102));
  bool tail_zero = true;
  for (uint32_t i = 3 * kObj; i < kWbuf; ++i) tail_zero = tail_zero && region[i] == 0;
  CHECK(tail_zero);
  memext::free_aligned(region);
}

TEST_CASE("buckets write to separate pages") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(one_device(dev.get(), 4));
  const auto d = put(store, 1, unsigned(memext::PageBucket::kDefault));
  const auto c = put(store, 2, unsigned(memext::PageBucket::kCompact));
  const auto l = put(store, 3, unsigned(memext::PageBucket::kLowTtl));
  CHECK(d.page_id != c.page_id);
  CHECK(c.page_id != l.page_id);
  CHECK(d.offset == 0);
  CHECK(c.offset == 0);
  CHECK(store.page_data(c.page_id).bucket == 1);
  CHECK(store.page_data(l.page_id).bucket == 3);
  CHECK(put(store, 4, 1).page_id == c.page_id);
  CHECK(reads_back(store, c, 2, ReadSource::kWbuf));
  CHECK(reads_back(store, d, 1, ReadSource::kWbuf));

  WriteSlot slot;
  CHECK(store.write_request(6, 0, kObj, &slot) == WriteStatus::kBadBucket);
  CHECK(store.write_request(0, 6, kObj, &slot) == WriteStatus::kBadBucket);
  CHECK(store.write_request(0, 0, kWbuf + 1, &slot) == WriteStatus::kTooLarge);
  CHECK(store.write_request(0, 0, 0, &slot) == WriteStatus::kTooLarge);
  CHECK(store.write_request(0, 0, kWbuf, &slot) == WriteStatus::kOk);  // a wbuf-sized object fits
}

TEST_CASE("each path's pages go to its free bucket, falling back to the default list") {
  auto plain = memext::make_memory_device(2 * kPage);
  auto compact = memext::make_memory_device(2 * kPage);
  PageStoreConfig cfg = one_device(plain.get(), 2);
  cfg.files.push_back({compact.get(), 2 * kPage, memext::PageBucket::kCompact});
  PageStore store(cfg);
  CHECK(store.page_count() == 4);
  // Pages interleave: 0 and 2 on the plain path, 1 and 3 on the compact one.
  CHECK(store.page_data(1).free_bucket == 1);
  CHECK(store.page_data(2).free_bucket == 0);

  const unsigned kCompact = unsigned(memext::PageBucket::kCompact);
  const auto c1 = put(store, 1, kCompact, kCompact);
  CHECK(store.page_data(c1.page_id).free_bucket == kCompact);
  const auto d1 = put(store, 2, 0, 0);
  CHECK(store.page_data(d1.page_id).free_bucket == 0);
  // The default free bucket never takes a compact page...
  for (int i = 0; i < 64; ++i) put(store, 100 + i, 0, 0);
  WriteSlot s;
  REQUIRE(store.write_request(0, 0, kObj, &s) == WriteStatus::kOk);
  CHECK(store.page_data(s.page_id).free_bucket == 0);
  // Compact writes use the compact path's pages first...
  for (int i = 0; i < 64; ++i) put(store, 200 + i, kCompact, kCompact);
  const auto c2 = put(store, 300, kCompact, kCompact);
  CHECK(store.page_data(c2.page_id).free_bucket == kCompact);
  CHECK(store.stats().pages_free == 0);
  // ...and once those are used up fall back to the default list, which
  // eviction refills with the oldest default-path page.
  for (int i = 0; i < 63; ++i) put(store, 400 + i, kCompact, kCompact);
  const auto c3 = put(store, 500, kCompact, kCompact);
  CHECK(store.stats().page_evictions == 1);
  CHECK(c3.page_id == d1.page_id);
  CHECK(store.page_data(c3.page_id).free_bucket == 0);
  CHECK(store.page_data(c3.page_id).bucket == kCompact);

  // Reads of compact-path pages go to that path's device.
  const auto plan = store.prepare_read(c1.page_id, c1.page_version, c1.offset, kObj);
  REQUIRE(plan.source == ReadSource::kDevice);
  CHECK(plan.device == compact.get());
  CHECK(plan.file == 1);
  CHECK(plan.device_offset == 0);  // page 1 is the compact path's first page
  CHECK(store.finish_read(plan));
  CHECK(reads_back(store, c1, 1, ReadSource::kDevice));
}

TEST_CASE("a corrupted byte on the device is caught by the object's crc32c") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(one_device(dev.get(), 4));
  // Objects carry their crc in the first four bytes, as memcached keeps it
  // in the stored item's header.
  auto make = [](int n) {
    std::string s = object(n);
    const uint32_t crc = memext::crc32c(0, s.data() + 4, s.size() - 4);
    std::memcpy(s.data(), &crc, 4);
    return s;
  };
  auto crc_ok = [](const std::string& s) {
    uint32_t stored;
    std::memcpy(&stored, s.data(), 4);
    return stored == memext::crc32c(0, s.data() + 4, s.size() - 4);
  };
  std::vector<WriteSlot> slots;
  for (int i = 0; i < 20; ++i) {
    const std::string data = make(i);
    WriteSlot s;
    REQUIRE(store.write(0, 0, data.data(), kObj, &s) == WriteStatus::kOk);
    slots.push_back(s);
  }
  std::string out(kObj, '\0');
  REQUIRE(store.read(slots[2].page_id, slots[2].page_version, slots[2].offset, kObj, out.data()) ==
          ReadSource::kDevice);
  CHECK(crc_ok(out));

  const auto plan =
      store.prepare_read(slots[2].page_id, slots[2].page_version, slots[2].offset, kObj);
  store.finish_read(plan);
  char flipped = out[500] ^ 0x10;
  memext::IoRequest poke{memext::IoOp::kWrite, plan.device_offset + 500, 1, &flipped};
  REQUIRE(memext::submit_and_wait(*dev, &poke) == 1);
  REQUIRE(store.read(slots[2].page_id, slots[2].page_version, slots[2].offset, kObj, out.data()) ==
          ReadSource::kDevice);
  CHECK_FALSE(crc_ok(out));
}

TEST_CASE("phantom mode keeps the accounting without storing bytes") {
  constexpr uint64_t kBigPage = 64ull << 20;
  PhantomDevice dev(4ull << 40);  // 4 TB
  PageStoreConfig cfg;
  cfg.files.push_back({&dev, dev.size(), memext::PageBucket::kDefault});
  PageStore store(cfg);
  CHECK(store.phantom());
  CHECK(store.page_count() == 65536);
  CHECK(store.stats().limit_maxbytes == 4ull << 40);

  WriteSlot s;
  REQUIRE(store.write(0, 0, nullptr, 300000, &s) == WriteStatus::kOk);
  CHECK(s.buf == nullptr);
  CHECK(store.read(s.page_id, s.page_version, s.offset, 300000, nullptr) == ReadSource::kWbuf);
  for (int i = 0; i < 20; ++i) REQUIRE(store.write(0, 0, nullptr, 300000, &s) == WriteStatus::kOk);
  CHECK(dev.stats().writes_submitted == 1);  // the model device saw the flush
  CHECK(dev.stats().bytes_written == 4u << 20);
  const WriteSlot first{nullptr, s.page_id, s.page_version, 0, 300000};
  CHECK(store.read(first.page_id, first.page_version, 0, 300000, nullptr) == ReadSource::kDevice);
  CHECK(dev.stats().reads_submitted == 1);
  CHECK(store.stats().bytes_used == 21 * 300000ull);
  CHECK(store.stats().bytes_fragmented == 2 * kBigPage - 21 * 300000ull);
}

TEST_CASE("page 0 is held back like memcached 1.6.18 unless asked otherwise") {
  PhantomDevice dev(1ull << 30);
  PageStoreConfig cfg;
  cfg.files.push_back({&dev, dev.size(), memext::PageBucket::kDefault});
  {
    PageStore store(cfg);
    const auto st = store.stats();
    // What `memcached -o ext_path=F:1g` reports before any write.
    CHECK(st.pages_free == 15);
    CHECK(st.pages_used == 1);
    CHECK(st.bytes_fragmented == 64ull << 20);
    CHECK(st.limit_maxbytes == 1ull << 30);
    WriteSlot s;
    REQUIRE(store.write(0, 0, nullptr, 100, &s) == WriteStatus::kOk);
    CHECK(s.page_id == 1);
    CHECK(s.page_version == 1);
  }
  cfg.reserve_page_zero = false;
  PageStore store(cfg);
  CHECK(store.stats().pages_free == 16);
}

TEST_CASE("stats carry memcached's names") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(one_device(dev.get(), 4));
  put(store, 1);
  const auto j = store.stats().to_json();
  for (const char* name :
       {"extstore_page_allocs", "extstore_page_evictions", "extstore_page_reclaims",
        "extstore_pages_free", "extstore_pages_used", "extstore_objects_evicted",
        "extstore_objects_read", "extstore_objects_written", "extstore_objects_used",
        "extstore_bytes_evicted", "extstore_bytes_written", "extstore_bytes_read",
        "extstore_bytes_used", "extstore_bytes_fragmented", "extstore_limit_maxbytes",
        "extstore_io_queue"}) {
    CHECK_MESSAGE(j.contains(name), name);
  }
  CHECK(j["extstore_objects_written"] == 1);
  CHECK(j["extstore_limit_maxbytes"] == 4 * kPage);
  CHECK(store.stats().named().front().first == "extstore_page_allocs");
}

TEST_CASE("bad configurations are refused with the reason") {
  auto dev = memext::make_memory_device(4 * kPage);
  auto refused = [](PageStoreConfig cfg, const char* needle) {
    try {
      PageStore store(cfg);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what()).find(needle) != std::string::npos;
    }
    return false;
  };
  PageStoreConfig cfg = one_device(dev.get(), 4);
  CHECK(refused(PageStoreConfig{}, "no files"));
  PageStoreConfig odd = cfg;
  odd.wbuf_size = 3000;
  CHECK(refused(odd, "multiple of wbuf_size"));
  PageStoreConfig big = cfg;
  big.files[0].size = 8 * kPage;
  CHECK(refused(big, "smaller than"));
  PageStoreConfig tiny = cfg;
  tiny.files[0].size = kPage - 1;
  CHECK(refused(tiny, "one page"));
  PageStoreConfig fb = cfg;
  fb.bucket_count = 2;
  fb.files[0].free_bucket = memext::PageBucket::kLowTtl;
  CHECK(refused(fb, "lowttl"));
}
