// Timing of the model SSD: service time at low load, hand-computed queueing,
// interference, write amplification, caps under long bursts, reap order.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdint>
#include <deque>
#include <vector>

#include <nlohmann/json.hpp>

#include "ssd/ssd_model.h"

namespace memext {
namespace {

constexpr uint64_t kUs = 1000;
constexpr uint64_t kDeviceSize = uint64_t{1} << 40;

// 4 KB chunks, 4 KB transfer = 10 µs at 409.6 MB/s: a 4 KB read takes 10 + 10 µs,
// a 4 KB write 30 + 10 µs. No caps, no write amplification.
SsdModelParams small_params(uint32_t units) {
  SsdModelParams p;
  p.preset = "nvme-gen4";
  p.units = units;
  p.chunk_bytes = 4096;
  p.read_us = 10;
  p.write_us = 30;
  p.unit_read_mb_per_s = 409.6;
  p.unit_write_mb_per_s = 409.6;
  p.wa = 1;
  return p;
}

IoRequest make_io(IoOp op, uint64_t offset, uint32_t len) {
  IoRequest req;
  req.op = op;
  req.offset = offset;
  req.len = len;
  return req;
}

// Drains the device by jumping time to each next completion; returns the
// requests in the order reap() handed them out.
std::vector<IoRequest*> drain(ModelDevice& dev) {
  std::vector<IoRequest*> done;
  IoRequest* batch[64];
  while (dev.next_completion_ns() != ModelDevice::kNoCompletion) {
    dev.set_now(dev.next_completion_ns());
    size_t n = dev.reap(batch, 64, false);
    REQUIRE(n > 0);
    done.insert(done.end(), batch, batch + n);
  }
  return done;
}

TEST_CASE("one IO at a time completes after exactly its service time") {
  ModelDevice dev(small_params(4), kDeviceSize);
  CHECK(dev.chunk_service_ns(IoOp::kRead, 4096) == 20 * kUs);
  CHECK(dev.chunk_service_ns(IoOp::kWrite, 4096) == 40 * kUs);
  CHECK(dev.chunk_service_ns(IoOp::kRead, 512) == 11250);

  uint64_t now = 1'000'000;
  uint64_t lcg = 12345;
  for (int i = 0; i < 1000; ++i) {
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    IoOp op = (lcg >> 33) % 3 == 0 ? IoOp::kWrite : IoOp::kRead;
    uint32_t len = (lcg >> 40) % 2 == 0 ? 4096 : 512;
    IoRequest req = make_io(op, ((lcg >> 20) % 100000) * 4096, len);
    dev.set_now(now);
    REQUIRE(dev.submit(&req) == 0);
    uint64_t expected = dev.chunk_service_ns(op, len);
    CHECK(dev.next_completion_ns() == now + expected);
    dev.set_now(now + expected - 1);
    IoRequest* out = nullptr;
    CHECK(dev.reap(&out, 1, false) == 0);
    dev.set_now(now + expected);
    REQUIRE(dev.reap(&out, 1, false) == 1);
    CHECK(out == &req);
    CHECK(req.result == len);
    CHECK(req.completed_at_ns - now == expected);
    now += expected + 7 * kUs;
  }
}

TEST_CASE("presets at queue depth 1 give their datasheet-class 4 KB read latency") {
  struct Case {
    const char* spec;
    uint64_t read_ns;
  };
  for (Case c : {Case{"model:nvme-gen4", 80 * kUs}, Case{"model:nvme-gen3", 90 * kUs},
                 Case{"model:sata-ssd", 120 * kUs}}) {
    CAPTURE(c.spec);
    auto dev = make_model_device(c.spec, kDeviceSize);
    uint64_t now = 0;
    for (int i = 0; i < 100; ++i) {
      IoRequest req = make_io(IoOp::kRead, uint64_t(i) * 7 * 4096, 4096);
      dev->set_now(now);
      REQUIRE(dev->submit(&req) == 0);
      IoRequest* out = nullptr;
      dev->set_now(now + c.read_ns);
      REQUIRE(dev->reap(&out, 1, false) == 1);
      CHECK(req.completed_at_ns == now + c.read_ns);
      now += c.read_ns + 3 * kUs;
    }
  }
}

TEST_CASE("IOs beyond the units queue FIFO per unit: hand-computed completions") {
  ModelDevice dev(small_params(2), kDeviceSize);
  // Chunks 0..4 -> units 0,1,0,1,0, then an 8 KB read over chunks 1,2 (units 1,0).
  std::vector<IoRequest> reqs;
  for (uint64_t c = 0; c < 5; ++c) reqs.push_back(make_io(IoOp::kRead, c * 4096, 4096));
  reqs.push_back(make_io(IoOp::kRead, 4096, 8192));
  for (IoRequest& r : reqs) REQUIRE(dev.submit(&r) == 0);

  // unit 0: 0-20, 20-40, 40-60, then chunk 2 of the last IO 60-80
  // unit 1: 0-20, 20-40, then chunk 1 of the last IO 40-60
  const uint64_t expected[] = {20 * kUs, 20 * kUs, 40 * kUs, 40 * kUs, 60 * kUs, 80 * kUs};
  CHECK(dev.next_completion_ns() == 20 * kUs);

  dev.set_now(40 * kUs);
  IoRequest* out[8];
  REQUIRE(dev.reap(out, 8, false) == 4);
  for (int i = 0; i < 4; ++i) {
    CHECK(out[i] == &reqs[i]);
    CHECK(out[i]->completed_at_ns == expected[i]);
  }
  CHECK(dev.next_completion_ns() == 60 * kUs);
  std::vector<IoRequest*> rest = drain(dev);
  REQUIRE(rest.size() == 2);
  CHECK(rest[0] == &reqs[4]);
  CHECK(rest[1] == &reqs[5]);
  CHECK(reqs[4].completed_at_ns == expected[4]);
  CHECK(reqs[5].completed_at_ns == expected[5]);
  CHECK(dev.stats().in_flight == 0);
  CHECK(dev.stats().bytes_read == 5 * 4096 + 8192);

  // Busy: 7 chunks x 20 µs over 2 units x 80 µs.
  CHECK(dev.model_stats().unit_busy_ns == 140 * kUs);
  CHECK(dev.utilization() == doctest::Approx(140.0 / 160.0));
  CHECK(dev.model_stats().read_latency_ns_max == 80 * kUs);
  CHECK(dev.model_stats().read_latency_ns_total == (20 + 20 + 40 + 40 + 60 + 80) * kUs);
}

TEST_CASE("a large IO is striped: chunks on one unit run back to back") {
  ModelDevice dev(small_params(2), kDeviceSize);
  IoRequest big = make_io(IoOp::kRead, 0, 6 * 4096);  // 3 chunks per unit
  IoRequest odd = make_io(IoOp::kRead, 2048, 4096);   // straddles chunks 0 and 1
  REQUIRE(dev.submit(&big) == 0);
  drain(dev);
  CHECK(big.completed_at_ns == 60 * kUs);
  dev.set_now(100 * kUs);
  REQUIRE(dev.submit(&odd) == 0);
  drain(dev);
  // Two 2 KB pieces in parallel: 10 µs + 5 µs each.
  CHECK(odd.completed_at_ns - 100 * kUs == 15 * kUs);
}

TEST_CASE("write amplification keeps units busy; interference delays reads") {
  SsdModelParams p = small_params(1);
  p.wa = 2;  // a 4 KB write is seen after 40 µs but holds the unit 80 µs

  SUBCASE("shared units") {
    ModelDevice dev(p, kDeviceSize);
    IoRequest w1 = make_io(IoOp::kWrite, 0, 4096);
    IoRequest r = make_io(IoOp::kRead, 4096, 4096);
    IoRequest w2 = make_io(IoOp::kWrite, 8192, 4096);
    for (IoRequest* q : {&w1, &r, &w2}) REQUIRE(dev.submit(q) == 0);
    drain(dev);
    CHECK(w1.completed_at_ns == 40 * kUs);
    CHECK(r.completed_at_ns == 100 * kUs);   // starts at 80
    CHECK(w2.completed_at_ns == 140 * kUs);  // starts at 100
    CHECK(dev.model_stats().unit_busy_ns == (80 + 20 + 80) * kUs);
  }
  SUBCASE("interference off") {
    p.interference = false;
    ModelDevice dev(p, kDeviceSize);
    IoRequest w1 = make_io(IoOp::kWrite, 0, 4096);
    IoRequest r = make_io(IoOp::kRead, 4096, 4096);
    IoRequest w2 = make_io(IoOp::kWrite, 8192, 4096);
    for (IoRequest* q : {&w1, &r, &w2}) REQUIRE(dev.submit(q) == 0);
    std::vector<IoRequest*> order = drain(dev);
    CHECK(r.completed_at_ns == 20 * kUs);
    CHECK(w1.completed_at_ns == 40 * kUs);
    CHECK(w2.completed_at_ns == 120 * kUs);
    REQUIRE(order.size() == 3);
    CHECK(order[0] == &r);
  }
}

TEST_CASE("write amplification from over-provisioning is reported and applied") {
  CHECK(greedy_write_amplification(0.3) == doctest::Approx(1.3 / 0.6));
  CHECK(greedy_write_amplification(0.07) == doctest::Approx(7.642857142857));
  CHECK(greedy_write_amplification(1.0) == 1.0);
  CHECK(greedy_write_amplification(3.0) == 1.0);

  SsdModelParams p = small_params(1);
  p.wa = 0;
  p.op = 0.25;  // WA = 1.25 / 0.5 = 2.5
  ModelDevice dev(p, kDeviceSize);
  CHECK(dev.write_amplification() == doctest::Approx(2.5));
  IoRequest w1 = make_io(IoOp::kWrite, 0, 4096);
  IoRequest w2 = make_io(IoOp::kWrite, 4096, 4096);
  REQUIRE(dev.submit(&w1) == 0);
  REQUIRE(dev.submit(&w2) == 0);
  drain(dev);
  CHECK(w1.completed_at_ns == 40 * kUs);
  CHECK(w2.completed_at_ns == 140 * kUs);  // unit busy until 100 µs
  CHECK(dev.model_stats().host_bytes_written == 8192);
  CHECK(dev.estimated_nand_bytes_written() == 20480);
  CHECK(dev.stats().bytes_written == 8192);
}

TEST_CASE("a long burst saturates at the read IOPS cap") {
  SsdModelParams p = small_params(128);
  p.chunk_bytes = 16384;
  p.read_iops = 1'000'000;
  ModelDevice dev(p, kDeviceSize);
  constexpr size_t kCount = 100'000;
  std::vector<IoRequest> reqs(kCount);
  for (size_t i = 0; i < kCount; ++i) {
    reqs[i] = make_io(IoOp::kRead, i * 4096, 4096);
    REQUIRE(dev.submit(&reqs[i]) == 0);
  }
  std::vector<IoRequest*> done = drain(dev);
  REQUIRE(done.size() == kCount);
  uint64_t last = 0;
  bool in_order = true;
  bool paced = true;
  for (IoRequest* r : done) {
    in_order = in_order && r->completed_at_ns >= last;
    last = r->completed_at_ns;
    size_t i = static_cast<size_t>(r - reqs.data());
    // IO i may not start before i / cap seconds.
    paced = paced && r->completed_at_ns >= i * kUs + 20 * kUs;
  }
  CHECK(in_order);
  CHECK(paced);
  double iops = kCount / (static_cast<double>(last) / 1e9);
  CHECK(iops <= 1'000'000.0);
  CHECK(iops >= 990'000.0);
  CHECK(dev.model_stats().throttled_ns_total > 0);
}

TEST_CASE("a long burst of large reads saturates at the bandwidth cap") {
  SsdModelParams p = small_params(128);
  p.chunk_bytes = 16384;
  p.read_mb_per_s = 7000;
  ModelDevice dev(p, kDeviceSize);
  constexpr size_t kCount = 100'000;
  constexpr uint32_t kLen = 128 * 1024;
  std::vector<IoRequest> reqs(kCount);
  for (size_t i = 0; i < kCount; ++i) {
    reqs[i] = make_io(IoOp::kRead, (i % 1000) * kLen, kLen);
    REQUIRE(dev.submit(&reqs[i]) == 0);
  }
  std::vector<IoRequest*> done = drain(dev);
  REQUIRE(done.size() == kCount);
  double seconds = static_cast<double>(done.back()->completed_at_ns) / 1e9;
  double mb_per_s = kCount * double(kLen) / seconds / 1e6;
  CHECK(mb_per_s <= 7000.0);
  CHECK(mb_per_s >= 6930.0);
}

TEST_CASE("a long burst of writes saturates at the write IOPS cap") {
  SsdModelParams p = small_params(256);
  p.write_iops = 250'000;
  ModelDevice dev(p, kDeviceSize);
  constexpr size_t kCount = 100'000;
  std::vector<IoRequest> reqs(kCount);
  for (size_t i = 0; i < kCount; ++i) {
    reqs[i] = make_io(IoOp::kWrite, i * 4096, 4096);
    REQUIRE(dev.submit(&reqs[i]) == 0);
  }
  std::vector<IoRequest*> done = drain(dev);
  double iops = kCount / (static_cast<double>(done.back()->completed_at_ns) / 1e9);
  CHECK(iops <= 250'000.0);
  CHECK(iops >= 247'500.0);
}

TEST_CASE("without caps throughput saturates at units / service time") {
  ModelDevice dev(small_params(4), kDeviceSize);
  std::vector<IoRequest> reqs(1000);
  for (size_t i = 0; i < reqs.size(); ++i) {
    reqs[i] = make_io(IoOp::kRead, i * 4096, 4096);
    REQUIRE(dev.submit(&reqs[i]) == 0);
  }
  std::vector<IoRequest*> done = drain(dev);
  // 250 reads per unit, 20 µs each.
  CHECK(done.back()->completed_at_ns == 250 * 20 * kUs);
  CHECK(dev.utilization() == doctest::Approx(1.0));
}

TEST_CASE("caps pace in exact fractions of a nanosecond, without drift") {
  SsdModelParams p = small_params(1024);
  p.read_iops = 3;  // one read every 333333333.33 ns
  ModelDevice dev(p, kDeviceSize);
  std::vector<IoRequest> reqs(301);
  for (size_t i = 0; i < reqs.size(); ++i) {
    reqs[i] = make_io(IoOp::kRead, i * 4096, 4096);
    REQUIRE(dev.submit(&reqs[i]) == 0);
  }
  drain(dev);
  // Starts are rounded up to whole ns: never early, and exact every 3rd IO.
  CHECK(reqs[1].completed_at_ns == 333'333'334 + 20 * kUs);
  CHECK(reqs[2].completed_at_ns == 666'666'667 + 20 * kUs);
  CHECK(reqs[3].completed_at_ns == 1'000'000'000 + 20 * kUs);
  CHECK(reqs[300].completed_at_ns == 100'000'000'000 + 20 * kUs);
}

TEST_CASE("burst credit lets a burst through, then pacing resumes") {
  SsdModelParams p = small_params(1024);
  p.read_iops = 1'000'000;
  p.burst_us = 100;
  ModelDevice dev(p, kDeviceSize);
  std::vector<IoRequest> reqs(300);
  for (size_t i = 0; i < reqs.size(); ++i) {
    reqs[i] = make_io(IoOp::kRead, i * 4096, 4096);
    REQUIRE(dev.submit(&reqs[i]) == 0);
  }
  drain(dev);
  for (size_t i = 0; i < reqs.size(); ++i) {
    CAPTURE(i);
    uint64_t start = i <= 100 ? 0 : (i - 100) * kUs;
    CHECK(reqs[i].completed_at_ns == start + 20 * kUs);
  }
}

TEST_CASE("reap order: completion time, then submission; max and wait") {
  ModelDevice dev(small_params(8), kDeviceSize);
  IoRequest slow = make_io(IoOp::kWrite, 0, 4096);            // 40 µs
  IoRequest a = make_io(IoOp::kRead, 4096, 4096);             // 20 µs
  IoRequest b = make_io(IoOp::kRead, 8192, 4096);             // 20 µs
  IoRequest c = make_io(IoOp::kRead, 3 * 4096 + 2048, 2048);  // 15 µs
  for (IoRequest* q : {&slow, &a, &b, &c}) REQUIRE(dev.submit(q) == 0);

  IoRequest* out[4] = {};
  CHECK(dev.reap(out, 4, false) == 0);   // nothing is done at time 0
  REQUIRE(dev.reap(out, 2, true) == 1);  // wait: time jumps to 15 µs
  CHECK(dev.now_ns() == 15 * kUs);
  CHECK(out[0] == &c);
  dev.set_now(100 * kUs);
  REQUIRE(dev.reap(out, 2, false) == 2);  // max honoured, ties by submission
  CHECK(out[0] == &a);
  CHECK(out[1] == &b);
  REQUIRE(dev.reap(out, 4, false) == 1);
  CHECK(out[0] == &slow);
  CHECK(dev.reap(out, 4, true) == 0);
  CHECK(dev.next_completion_ns() == ModelDevice::kNoCompletion);
}

TEST_CASE("submit_and_wait advances virtual time to the completion") {
  ModelDevice dev(small_params(1), kDeviceSize);
  dev.set_now(5 * kUs);
  IoRequest w = make_io(IoOp::kWrite, 0, 4096);
  CHECK(submit_and_wait(dev, &w) == 4096);
  CHECK(w.completed_at_ns == 45 * kUs);
  CHECK(dev.now_ns() == 45 * kUs);
  dev.set_now(10 * kUs);  // backwards: ignored
  CHECK(dev.now_ns() == 45 * kUs);
}

TEST_CASE("queue depth limit and bounds checks") {
  SsdModelParams p = small_params(1);
  p.queue_depth = 2;
  p.alignment = 512;
  ModelDevice dev(p, 1 << 20);
  CHECK_FALSE(dev.stores_data());
  IoRequest r[3] = {make_io(IoOp::kRead, 0, 512), make_io(IoOp::kRead, 512, 512),
                    make_io(IoOp::kRead, 1024, 512)};
  CHECK(dev.submit(&r[0]) == 0);
  CHECK(dev.submit(&r[1]) == 0);
  CHECK(dev.submit(&r[2]) == -EAGAIN);
  IoRequest* out = nullptr;
  CHECK(dev.reap(&out, 1, true) == 1);
  CHECK(dev.submit(&r[2]) == 0);
  IoRequest past_end = make_io(IoOp::kRead, (1 << 20) - 512, 1024);
  IoRequest misaligned = make_io(IoOp::kRead, 100, 512);
  CHECK(dev.submit(&past_end) == -EINVAL);
  CHECK(dev.submit(&misaligned) == -EINVAL);
}

TEST_CASE("the same workload gives the same schedule") {
  auto run = [] {
    auto dev = make_model_device("model:sata-ssd,burst_us=50", kDeviceSize);
    std::deque<IoRequest> reqs;
    std::vector<uint64_t> times;
    uint64_t lcg = 99;
    uint64_t now = 0;
    IoRequest* out[16];
    for (int i = 0; i < 20000; ++i) {
      lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
      now += (lcg >> 50) % 20000;
      dev->set_now(now);
      IoOp op = (lcg >> 30) % 4 == 0 ? IoOp::kWrite : IoOp::kRead;
      uint32_t len = 512u << ((lcg >> 20) % 8);
      reqs.push_back(make_io(op, ((lcg >> 8) % (1 << 20)) * 512, len));
      REQUIRE(dev->submit(&reqs.back()) == 0);
      for (size_t n; (n = dev->reap(out, 16, false)) > 0;) {
        for (size_t k = 0; k < n; ++k) times.push_back(out[k]->completed_at_ns);
      }
    }
    for (IoRequest* r : drain(*dev)) times.push_back(r->completed_at_ns);
    return times;
  };
  std::vector<uint64_t> first = run();
  CHECK(first.size() == 20000);
  CHECK(first == run());
}

TEST_CASE("drive writes per day") {
  constexpr uint64_t kDay = 86'400ULL * 1'000'000'000ULL;
  constexpr uint64_t kTb = 1'000'000'000'000ULL;
  CHECK(drive_writes_per_day(4 * kTb, 2 * kTb, 2 * kDay) == doctest::Approx(1.0));
  CHECK(drive_writes_per_day(3 * kTb, kTb, kDay / 2) == doctest::Approx(6.0));
  CHECK(drive_writes_per_day(kTb / 10, kTb, kDay) == doctest::Approx(0.1));
  CHECK(drive_writes_per_day(kTb, 0, kDay) == 0.0);
  CHECK(drive_writes_per_day(kTb, kTb, 0) == 0.0);

  // From a run: host and NAND bytes over the simulated span.
  SsdModelParams p = small_params(4);
  p.wa = 3;
  ModelDevice dev(p, 1 << 30);
  IoRequest w = make_io(IoOp::kWrite, 0, 1 << 20);
  REQUIRE(dev.submit(&w) == 0);
  drain(dev);
  CHECK(dev.estimated_nand_bytes_written() == 3u << 20);
  CHECK(drive_writes_per_day(dev.estimated_nand_bytes_written(), dev.size(), kDay) ==
        doctest::Approx(3.0 / 1024));
}

TEST_CASE("the JSON report carries the model's figures") {
  constexpr uint64_t kDay = 86'400ULL * 1'000'000'000ULL;
  SsdModelParams p = small_params(2);
  p.wa = 2;
  ModelDevice dev(p, 1 << 20);
  IoRequest w = make_io(IoOp::kWrite, 0, 8192);
  IoRequest r = make_io(IoOp::kRead, 8192, 4096);
  REQUIRE(dev.submit(&w) == 0);
  REQUIRE(dev.submit(&r) == 0);
  drain(dev);
  nlohmann::json j = dev.to_json(kDay);
  CHECK(j["spec"].get<std::string>().rfind("model:nvme-gen4,units=2,", 0) == 0);
  CHECK(j["write_amplification"].get<double>() == 2.0);
  CHECK(j["host_bytes_written"].get<uint64_t>() == 8192);
  CHECK(j["nand_bytes_written_estimate"].get<uint64_t>() == 16384);
  CHECK(j["reads_completed"].get<uint64_t>() == 1);
  // Unit 0 is held by the write until 80 µs, so the read ends at 100 µs.
  CHECK(j["read_latency_ns_max"].get<uint64_t>() == 100 * kUs);
  CHECK(j["write_latency_ns_mean"].get<double>() == 40.0 * kUs);
  CHECK(j["host_dwpd"].get<double>() == doctest::Approx(8192.0 / (1 << 20)));
  CHECK(j["nand_dwpd"].get<double>() == doctest::Approx(16384.0 / (1 << 20)));
  CHECK(j["utilization"].get<double>() == doctest::Approx((80.0 + 80.0 + 20.0) / (2 * 100.0)));
}

}  // namespace
}  // namespace memext
