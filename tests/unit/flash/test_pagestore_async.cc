#include <doctest/doctest.h>

#include <cerrno>
#include <deque>
#include <memory>
#include <string>
#include <vector>

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

PageStoreConfig async_config(memext::Device* dev, uint64_t pages, unsigned max_flushing) {
  PageStoreConfig cfg;
  cfg.page_size = kPage;
  cfg.wbuf_size = kWbuf;
  cfg.reserve_page_zero = false;
  cfg.async_flush = true;
  cfg.max_flushing_wbufs = max_flushing;
  cfg.files.push_back({dev, pages * kPage, memext::PageBucket::kDefault});
  return cfg;
}

std::string object(int n) {
  std::string s(kObj, '\0');
  for (uint32_t i = 0; i < kObj; ++i) s[i] = static_cast<char>('A' + (n * 7 + i) % 26);
  return s;
}

WriteStatus put(PageStore& store, int n, WriteSlot* slot) {
  const std::string data = object(n);
  return store.write(0, 0, data.data(), kObj, slot);
}

bool reads_back(PageStore& store, const WriteSlot& s, int n, ReadSource want) {
  std::string out(kObj, '\0');
  return store.read(s.page_id, s.page_version, s.offset, kObj, out.data()) == want &&
         out == object(n);
}

// Fails every write it is given, at reap time, like a dying disk.
class FailingWrites final : public memext::Device {
 public:
  explicit FailingWrites(uint64_t size) : Device(size, 1) {}
  std::string describe() const override { return "failing-writes"; }

 protected:
  int submit_impl(memext::IoRequest* req) override {
    queued_.push_back(req);
    return 0;
  }
  size_t reap_impl(memext::IoRequest** out, size_t max, bool) override {
    size_t n = 0;
    while (n < max && !queued_.empty()) {
      out[n] = queued_.front();
      out[n++]->result = -EIO;
      queued_.pop_front();
    }
    return n;
  }

 private:
  std::deque<memext::IoRequest*> queued_;
};

}  // namespace

TEST_CASE("async flush: a submitted wbuf stays readable until its write completes") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(async_config(dev.get(), 4, 4));
  std::vector<WriteSlot> slots(20);
  for (int i = 0; i < 20; ++i) REQUIRE(put(store, i, &slots[i]) == WriteStatus::kOk);
  CHECK(store.flushes_in_flight() == 1);
  CHECK(dev->stats().in_flight == 1);
  CHECK(store.stats().io_queue == 1);
  // The device has not written it yet: served from the wbuf memory.
  CHECK(reads_back(store, slots[3], 3, ReadSource::kWbuf));
  CHECK(dev->stats().reads_submitted == 0);

  CHECK(store.poll_flushes(false) == 1);
  CHECK(store.flushes_in_flight() == 0);
  CHECK(reads_back(store, slots[3], 3, ReadSource::kDevice));
  CHECK(reads_back(store, slots[19], 19, ReadSource::kWbuf));
}

TEST_CASE("async flush: writes wait (kBusy) when every spare wbuf is in flight") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStoreConfig cfg = async_config(dev.get(), 4, 1);
  cfg.bucket_count = 1;
  PageStore store(cfg);
  WriteSlot slot;
  for (int i = 0; i < 32; ++i) REQUIRE(put(store, i, &slot) == WriteStatus::kOk);
  CHECK(store.flushes_in_flight() == 1);
  // The 33rd object needs a third wbuf: the second goes to the device and
  // the first is still there.
  CHECK(put(store, 32, &slot) == WriteStatus::kBusy);
  CHECK(store.flushes_in_flight() == 2);
  CHECK(store.poll_flushes(true) == 2);
  REQUIRE(put(store, 32, &slot) == WriteStatus::kOk);
  CHECK(slot.offset == 2 * kWbuf);
}

TEST_CASE("async flush: a full page stays active until its last wbuf is written") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(async_config(dev.get(), 4, 8));
  std::vector<WriteSlot> slots(65);
  for (int i = 0; i < 65; ++i) REQUIRE(put(store, i, &slots[i]) == WriteStatus::kOk);
  CHECK(slots[64].page_id != slots[0].page_id);  // the bucket moved on
  const uint32_t first = slots[0].page_id;
  CHECK(store.page_data(first).active);
  CHECK_FALSE(store.page_data(first).compactable());
  CHECK(reads_back(store, slots[63], 63, ReadSource::kWbuf));

  store.poll_flushes(false);
  CHECK(store.flushes_in_flight() == 0);
  CHECK_FALSE(store.page_data(first).active);
  CHECK(store.page_data(first).compactable());
  for (int i : {0, 15, 16, 63}) CHECK(reads_back(store, slots[i], i, ReadSource::kDevice));
}

TEST_CASE("async flush: completions are routed by the caller, others are left alone") {
  auto dev = memext::make_memory_device(4 * kPage);
  PageStore store(async_config(dev.get(), 4, 4));
  WriteSlot slot;
  for (int i = 0; i < 17; ++i) REQUIRE(put(store, i, &slot) == WriteStatus::kOk);
  // A reader's own IO on the same device.
  std::string buf(100, '\0');
  memext::IoRequest mine{memext::IoOp::kRead, 3 * kPage, 100, buf.data()};
  REQUIRE(dev->submit(&mine) == 0);
  memext::IoRequest* done[4];
  size_t got = 0;
  while (got < 2) got += dev->reap(done + got, 4 - got, true);
  int routed = 0;
  for (size_t i = 0; i < got; ++i) routed += store.complete_io(done[i]) ? 1 : 0;
  CHECK(routed == 1);
  CHECK_FALSE(store.complete_io(&mine));
  CHECK(store.flushes_in_flight() == 0);
}

TEST_CASE("async flush: a write that fails at completion drops its page") {
  FailingWrites dev(4 * kPage);
  PageStore store(async_config(&dev, 4, 4));
  std::vector<WriteSlot> slots(20);
  for (int i = 0; i < 20; ++i) REQUIRE(put(store, i, &slots[i]) == WriteStatus::kOk);
  CHECK(store.poll_flushes(false) == 1);
  const auto st = store.stats();
  CHECK(st.write_errors == 1);
  CHECK(st.objects_used == 0);
  CHECK_FALSE(store.check(slots[0].page_id, slots[0].page_version));
  WriteSlot next;
  REQUIRE(put(store, 99, &next) == WriteStatus::kOk);
  CHECK(next.page_version > slots[0].page_version);
}

TEST_CASE("async flush: destroying the store waits for writes in flight") {
  auto dev = memext::make_memory_device(4 * kPage);
  {
    PageStore store(async_config(dev.get(), 4, 4));
    WriteSlot slot;
    for (int i = 0; i < 40; ++i) REQUIRE(put(store, i, &slot) == WriteStatus::kOk);
    CHECK(store.flushes_in_flight() == 2);
  }
  CHECK(dev->stats().in_flight == 0);
  CHECK(dev->stats().bytes_written == 2 * kWbuf);
}
