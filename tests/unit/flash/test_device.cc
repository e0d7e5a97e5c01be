#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "memext/device.h"

namespace {

namespace fs = std::filesystem;

// A unique temporary path under the build's temp dir, removed at scope end.
struct TempPath {
  std::string path;
  explicit TempPath(const std::string& tag) {
    path = (fs::temp_directory_path() /
            ("memext-flash-" + tag + "-" + std::to_string(::getpid()) + ".dat"))
               .string();
    fs::remove(path);
  }
  ~TempPath() { fs::remove(path); }
};

constexpr uint64_t kSize = 1 << 20;

struct AlignedBuf {
  char* p;
  explicit AlignedBuf(size_t len) : p(memext::alloc_aligned(len)) {}
  ~AlignedBuf() { memext::free_aligned(p); }
};

// Writes a pattern at two places, reads it back, and checks the counters.
void exercise(memext::Device& dev) {
  const uint32_t a = dev.alignment();
  AlignedBuf out(8192), in(8192);
  for (int i = 0; i < 8192; ++i) out.p[i] = static_cast<char>(i * 7 + 3);
  memext::IoRequest w{memext::IoOp::kWrite, 4 * a, 4096, out.p};
  REQUIRE(memext::submit_and_wait(dev, &w) == 4096);
  memext::IoRequest w2{memext::IoOp::kWrite, dev.size() - 4096, 4096, out.p + 4096};
  REQUIRE(memext::submit_and_wait(dev, &w2) == 4096);

  memext::IoRequest r1{memext::IoOp::kRead, 4 * a, 4096, in.p};
  memext::IoRequest r2{memext::IoOp::kRead, dev.size() - 4096, 4096, in.p + 4096};
  REQUIRE(dev.submit(&r1) == 0);
  REQUIRE(dev.submit(&r2) == 0);
  dev.flush();
  CHECK(dev.stats().in_flight == 2);
  memext::IoRequest* done[4];
  size_t got = 0;
  while (got < 2) got += dev.reap(done + got, 4 - got, true);
  CHECK(got == 2);
  CHECK(r1.result == 4096);
  CHECK(r2.result == 4096);
  CHECK(std::memcmp(in.p, out.p, 8192) == 0);
  CHECK(dev.stats().in_flight == 0);
  CHECK(dev.stats().reads_submitted == 2);
  CHECK(dev.stats().writes_submitted == 2);
  CHECK(dev.stats().bytes_read == 8192);
  CHECK(dev.stats().bytes_written == 8192);
  CHECK(dev.reap(done, 4, true) == 0);  // nothing in flight: wait must not block
}

void check_rejections(memext::Device& dev) {
  AlignedBuf buf(8192);
  const uint64_t rejected = dev.stats().rejected;
  memext::IoRequest past_end{memext::IoOp::kRead, dev.size() - 4096, 8192, buf.p};
  CHECK(dev.submit(&past_end) == -EINVAL);
  memext::IoRequest empty{memext::IoOp::kRead, 0, 0, buf.p};
  CHECK(dev.submit(&empty) == -EINVAL);
  memext::IoRequest huge_offset{memext::IoOp::kRead, ~0ull - 10, 4096, buf.p};
  CHECK(dev.submit(&huge_offset) == -EINVAL);
  memext::IoRequest no_buffer{memext::IoOp::kRead, 0, 4096, nullptr};
  CHECK(dev.submit(&no_buffer) == -EINVAL);
  CHECK(dev.stats().rejected == rejected + 4);
  CHECK(dev.stats().in_flight == 0);
}

}  // namespace

TEST_CASE("memory device reads back what was written and rejects bad requests") {
  auto dev = memext::make_memory_device(kSize);
  CHECK(dev->alignment() == 1);
  CHECK(dev->stores_data());
  exercise(*dev);
  check_rejections(*dev);
}

TEST_CASE("file device over a temp file") {
  TempPath tmp("file");
  auto dev = memext::make_file_device(tmp.path, kSize);
  CHECK(fs::file_size(tmp.path) == kSize);
  CHECK(dev->describe().find(tmp.path) != std::string::npos);
  exercise(*dev);
  check_rejections(*dev);
}

namespace {

// Runs make_file_device(path) in a child process; returns 0 when the child
// opened the file, 1 when it was refused by the lock, 2 otherwise.
int open_in_child(const std::string& path) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int code = 2;
    try {
      memext::make_file_device(path, kSize);
      code = 0;
    } catch (const std::runtime_error& e) {
      const std::string msg = e.what();
      if (msg.find(path) != std::string::npos && msg.find("locked") != std::string::npos) code = 1;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

}  // namespace

TEST_CASE("the file lock keeps other processes out but lets this one open the file again") {
  TempPath tmp("lock");
  {
    auto first = memext::make_file_device(tmp.path, kSize);
    CHECK(open_in_child(tmp.path) == 1);
    {
      auto second = memext::make_file_device(tmp.path, kSize);  // e.g. another worker's device
      CHECK(second->size() == kSize);
    }
    CHECK(open_in_child(tmp.path) == 1);  // closing one device keeps the lock
  }
  CHECK(open_in_child(tmp.path) == 0);  // the last close releases it
}

TEST_CASE("file device reports a short read when the file shrank underneath") {
  TempPath tmp("short");
  auto dev = memext::make_file_device(tmp.path, kSize);
  REQUIRE(::truncate(tmp.path.c_str(), kSize - 100) == 0);
  AlignedBuf buf(4096);
  memext::IoRequest r{memext::IoOp::kRead, kSize - 4096, 4096, buf.p};
  CHECK(memext::submit_and_wait(*dev, &r) == 4096 - 100);
  CHECK(dev->stats().bytes_read == 4096 - 100);
}

TEST_CASE("file device errors name the path and the reason") {
  const std::string bad = "/nonexistent-dir-memext/x.dat";
  try {
    memext::make_file_device(bad, kSize);
    FAIL("open of a missing directory succeeded");
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    CHECK(msg.find(bad) != std::string::npos);
    CHECK(msg.find("No such file or directory") != std::string::npos);
  }
}

TEST_CASE("uring device over a temp file") {
  TempPath tmp("uring");
  std::unique_ptr<memext::Device> dev;
  try {
    dev = memext::make_uring_device(tmp.path, kSize, 8);
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    if (msg.find("io_uring not permitted") != std::string::npos ||
        msg.find("O_DIRECT refused") != std::string::npos) {
      MESSAGE("skipping io_uring test: " << msg);
      return;
    }
    throw;
  }
  CHECK(dev->alignment() == 4096);
  exercise(*dev);
  check_rejections(*dev);

  SUBCASE("misaligned offset, length and buffer are rejected") {
    AlignedBuf buf(8192);
    memext::IoRequest off{memext::IoOp::kRead, 512, 4096, buf.p};
    CHECK(dev->submit(&off) == -EINVAL);
    memext::IoRequest len{memext::IoOp::kRead, 0, 1000, buf.p};
    CHECK(dev->submit(&len) == -EINVAL);
    memext::IoRequest ptr{memext::IoOp::kRead, 0, 4096, buf.p + 8};
    CHECK(dev->submit(&ptr) == -EINVAL);
  }

  SUBCASE("queue depth is enforced with -EAGAIN") {
    AlignedBuf buf(4096 * 9);
    memext::IoRequest reqs[9];
    for (int i = 0; i < 9; ++i) {
      reqs[i] = memext::IoRequest{memext::IoOp::kRead, uint64_t(i) * 4096, 4096, buf.p + i * 4096};
    }
    for (int i = 0; i < 8; ++i) REQUIRE(dev->submit(&reqs[i]) == 0);
    CHECK(dev->submit(&reqs[8]) == -EAGAIN);
    dev->flush();
    memext::IoRequest* done[8];
    size_t got = 0;
    while (got < 8) got += dev->reap(done + got, 8 - got, true);
    CHECK(dev->stats().in_flight == 0);
    CHECK(dev->submit(&reqs[8]) == 0);
    dev->flush();
    CHECK(dev->reap(done, 8, true) == 1);
  }
}

TEST_CASE("alloc_aligned returns zeroed 4096-aligned memory") {
  char* p = memext::alloc_aligned(10000);
  CHECK(reinterpret_cast<uintptr_t>(p) % 4096 == 0);
  bool zero = true;
  for (int i = 0; i < 10000; ++i) zero = zero && p[i] == 0;
  CHECK(zero);
  memext::free_aligned(p);
}

TEST_CASE("AlignedBuffer owns its block: aligned, zeroed, moved without a copy, grown by reserve") {
  memext::AlignedBuffer a(10000);
  CHECK(reinterpret_cast<uintptr_t>(a.data()) % 4096 == 0);
  CHECK(a.size() == 10000);
  CHECK(a.data()[9999] == 0);
  char* block = a.data();
  memext::AlignedBuffer b(std::move(a));
  CHECK(b.data() == block);
  CHECK(a.data() == nullptr);
  CHECK(a.size() == 0);
  b.reserve(100);  // already large enough: the same block
  CHECK(b.data() == block);
  b.reserve(20000);
  CHECK(b.size() == 20000);
  CHECK(reinterpret_cast<uintptr_t>(b.data()) % 4096 == 0);
  a = std::move(b);
  CHECK(a.size() == 20000);
  memext::AlignedBuffer empty;
  CHECK(empty.data() == nullptr);
}

TEST_CASE("an IO-thread device does its IO on its own thread and hands completions back in reap") {
  auto dev = memext::make_io_thread_device(memext::make_memory_device(kSize));
  CHECK(dev->describe().find("IO thread") != std::string::npos);
  exercise(*dev);
  check_rejections(*dev);
  // Many writes in flight at once: each comes back exactly once, whether
  // reaped without waiting or with.
  constexpr int kWrites = 64;
  AlignedBuf data(kWrites * 4096);
  std::vector<memext::IoRequest> writes(kWrites);
  for (int i = 0; i < kWrites; ++i) {
    std::memset(data.p + i * 4096, 'a' + i % 26, 4096);
    writes[i] =
        memext::IoRequest{memext::IoOp::kWrite, uint64_t(i) * 4096, 4096, data.p + i * 4096};
    REQUIRE(dev->submit(&writes[i]) == 0);
  }
  dev->flush();
  std::vector<int> seen(kWrites, 0);
  memext::IoRequest* done[8];
  for (int got = 0; got < kWrites;) {
    const size_t n = dev->reap(done, 8, got % 2 == 0);
    for (size_t j = 0; j < n; ++j) {
      CHECK(done[j]->result == 4096);
      ++seen[(done[j] - writes.data())];
    }
    got += static_cast<int>(n);
  }
  CHECK(std::count(seen.begin(), seen.end(), 1) == kWrites);
  CHECK(dev->stats().in_flight == 0);
  AlignedBuf back(4096);
  memext::IoRequest r{memext::IoOp::kRead, 63 * 4096, 4096, back.p};
  REQUIRE(memext::submit_and_wait(*dev, &r) == 4096);
  CHECK(back.p[0] == 'a' + 63 % 26);
}
