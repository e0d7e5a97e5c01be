// uring_read_bench: random O_DIRECT reads through memext's UringDevice at
// several queue depths and block sizes, printing IOPS and MB/s, to compare
// the device layer against fio on the same file (bench/uring_vs_fio.sh).
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "memext/device.h"

namespace {

struct Options {
  std::string file = "/work/memext-uring-bench.dat";
  uint64_t size = 1ull << 30;
  std::vector<uint32_t> block_sizes = {4096, 16384, 65536};
  std::vector<unsigned> depths = {1, 4, 16, 64};
  double seconds = 5;
  bool csv = false;
  bool refill = false;
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: uring_read_bench [options]\n"
               "Random O_DIRECT reads through memext's io_uring device.\n"
               "  --file PATH      file to read (default /work/memext-uring-bench.dat);\n"
               "                   created and filled with data if shorter than --size\n"
               "  --size N[k|m|g]  bytes of the file to use (default 1g)\n"
               "  --bs LIST        block sizes, comma separated, multiples of 4k\n"
               "                   (default 4k,16k,64k)\n"
               "  --depths LIST    queue depths, comma separated (default 1,4,16,64)\n"
               "  --seconds S      run time per (block size, depth) (default 5)\n"
               "  --refill         rewrite the file's data even if it is long enough\n"
               "  --csv            print bs,depth,iops,mbps lines only\n"
               "  --help           this text\n");
}

[[noreturn]] void bad(const std::string& what) {
  std::fprintf(stderr, "uring_read_bench: %s (see --help)\n", what.c_str());
  std::exit(2);
}

uint64_t parse_bytes(const std::string& text, const char* option) {
  char* end = nullptr;
  const unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  uint64_t mult = 1;
  const std::string unit = end == nullptr ? "" : std::string(end);
  if (unit == "k" || unit == "K") {
    mult = 1ull << 10;
  } else if (unit == "m" || unit == "M") {
    mult = 1ull << 20;
  } else if (unit == "g" || unit == "G") {
    mult = 1ull << 30;
  } else if (!unit.empty()) {
    bad(std::string(option) + " value '" + text + "': unit must be k, m or g");
  }
  if (end == text.c_str() || n == 0) {
    bad(std::string(option) + " value '" + text + "' must be a positive number");
  }
  return n * mult;
}

template <typename T>
std::vector<T> parse_list(const std::string& text, const char* option) {
  std::vector<T> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    out.push_back(static_cast<T>(parse_bytes(item, option)));
  }
  if (out.empty()) bad(std::string(option) + " needs at least one value");
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) bad(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(0);
    } else if (a == "--file") {
      o.file = value();
    } else if (a == "--size") {
      o.size = parse_bytes(value(), "--size");
    } else if (a == "--bs") {
      o.block_sizes = parse_list<uint32_t>(value(), "--bs");
    } else if (a == "--depths") {
      o.depths = parse_list<unsigned>(value(), "--depths");
    } else if (a == "--seconds") {
      o.seconds = std::atof(value().c_str());
      if (o.seconds <= 0) bad("--seconds must be greater than zero");
    } else if (a == "--refill") {
      o.refill = true;
    } else if (a == "--csv") {
      o.csv = true;
    } else {
      bad("unknown option '" + a + "'");
    }
  }
  if (o.size % 4096 != 0) bad("--size must be a multiple of 4k");
  for (uint32_t bs : o.block_sizes) {
    if (bs % 4096 != 0 || bs > o.size)
      bad("--bs " + std::to_string(bs) + " must be a multiple of 4k within --size");
  }
  return o;
}

// Writes real data over the whole file: reads of never-written (sparse or
// fallocated) blocks never reach the SSD and would flatter the numbers.
void fill(memext::Device& dev, uint64_t size) {
  constexpr uint32_t kChunk = 1u << 20;
  char* buf = memext::alloc_aligned(kChunk);
  for (uint32_t i = 0; i < kChunk; ++i) buf[i] = static_cast<char>(i * 2654435761u >> 24);
  for (uint64_t off = 0; off < size; off += kChunk) {
    const uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(kChunk, size - off));
    std::memcpy(buf, &off, sizeof off);
    memext::IoRequest req{memext::IoOp::kWrite, off, len, buf};
    if (memext::submit_and_wait(dev, &req) != len) {
      memext::free_aligned(buf);
      throw std::runtime_error("filling the file failed at offset " + std::to_string(off));
    }
  }
  memext::free_aligned(buf);
}

struct Result {
  double iops;
  double mbps;
};

Result run(memext::Device& dev, uint64_t size, uint32_t bs, unsigned depth, double seconds) {
  std::vector<memext::IoRequest> reqs(depth);
  char* bufs = memext::alloc_aligned(static_cast<size_t>(bs) * depth);
  uint64_t rng = 0x9E3779B97F4A7C15ull ^ (uint64_t{bs} << 20) ^ depth;
  const uint64_t blocks = size / bs;
  auto next_offset = [&] {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (rng % blocks) * bs;
  };
  for (unsigned i = 0; i < depth; ++i) {
    reqs[i] = memext::IoRequest{memext::IoOp::kRead, next_offset(), bs, bufs + size_t{bs} * i};
    if (dev.submit(&reqs[i]) != 0) throw std::runtime_error("submit refused");
  }
  dev.flush();
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto stop =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  uint64_t done = 0;
  std::vector<memext::IoRequest*> reaped(depth);
  bool running = true;
  while (dev.stats().in_flight > 0) {
    const size_t n = dev.reap(reaped.data(), depth, true);
    for (size_t i = 0; i < n; ++i) {
      if (reaped[i]->result != static_cast<int64_t>(bs)) {
        throw std::runtime_error("read returned " + std::to_string(reaped[i]->result));
      }
      ++done;
      if (running) {
        reaped[i]->offset = next_offset();
        dev.submit(reaped[i]);
      }
    }
    if (running) {
      dev.flush();
      running = Clock::now() < stop;
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  memext::free_aligned(bufs);
  const double iops = static_cast<double>(done) / elapsed;
  return {iops, iops * bs / (1024.0 * 1024.0)};
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    struct stat st {};
    const bool short_file =
        ::stat(o.file.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) < o.size;
    unsigned max_depth = 1;
    for (unsigned d : o.depths) max_depth = std::max(max_depth, d);
    auto dev = memext::make_uring_device(o.file, o.size, max_depth);
    if (short_file || o.refill) {
      if (!o.csv)
        std::printf("filling %s with %llu bytes...\n", o.file.c_str(),
                    static_cast<unsigned long long>(o.size));
      fill(*dev, o.size);
    }
    if (!o.csv) {
      std::printf("%s\n%8s %6s %12s %10s\n", dev->describe().c_str(), "bs", "depth", "IOPS",
                  "MB/s");
    }
    for (uint32_t bs : o.block_sizes) {
      for (unsigned depth : o.depths) {
        const Result r = run(*dev, o.size, bs, depth, o.seconds);
        if (o.csv) {
          std::printf("%u,%u,%.0f,%.1f\n", bs, depth, r.iops, r.mbps);
        } else {
          std::printf("%8u %6u %12.0f %10.1f\n", bs, depth, r.iops, r.mbps);
        }
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "uring_read_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
