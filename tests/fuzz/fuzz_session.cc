// Fuzzes the server's text, meta and binary protocol parsers and its session state
// machine (server/src/session.*) the way a connection drives them: the input
// is a client's byte stream, delivered in chunks split at pseudo-random
// points, over an engine with an extstore tier on a memory device, the LRU
// maintainer, crawler, flusher and compactor stepping between chunks. Flash
// reads are completed as the worker's FlashReader would, metadumps are
// drained batch by batch. Then the stream is replayed into fresh sessions
// that disconnect after a prefix: after every byte for short inputs, at
// sampled points for long ones.
//
// Checked beyond the sanitizers: consume() never claims more than it was
// given; a session that is not closing, reading flash or dumping has used
// every complete line (binary: request) it holds, unless it is waiting for
// a data block it asked for (bytes_wanted() beyond what is buffered); the
// unconsumed input stays bounded (a command line of at most kMaxMultigetLine
// bytes, or a data block of at most the item size limit).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "binary_protocol.h"
#include "flash_reader.h"
#include "fuzz_util.h"
#include "memext/device.h"
#include "memext/extstore.h"
#include "memext/lru_crawler.h"
#include "memext/lru_maintainer.h"
#include "memext/options.h"
#include "server_context.h"
#include "session.h"

using namespace memext;
using namespace memext::server;

namespace {

ServerConfig fuzz_config() {
  ServerConfig config;
  // Small enough that sets evict, move items to flash and fill flash pages.
  const OptionResult r = apply_memcached_suboptions(
      config.engine,
      "ext_path=/fuzz-memory:4m,ext_page_size=1,ext_wbuf_size=1,ext_item_age=0,"
      "ext_item_size=64,ext_recache_rate=1");
  fuzz_check(r.ok(), r.error.c_str());
  fuzz_check(apply_memcached_option(config.engine, "m", "4").ok(), "-m 4");
  const std::string invalid = validate_config(config.engine);
  fuzz_check(invalid.empty(), invalid.c_str());
  return config;
}

// The server's pieces around one engine, rebuilt for every input so runs do
// not depend on each other.
struct Rig {
  explicit Rig(const ServerConfig& cfg)
      : config(cfg), shared(config.engine), ctx(config, shared, 1'000'000) {
    shared.engine.set_time(2);
    flash = std::make_unique<ExtStore>(shared.engine, config.engine.ext,
                                       std::vector<Device*>{&device()}, ExtStoreOptions{});
    shared.flash = flash.get();
    maintainer = std::make_unique<LruMaintainer>(shared.engine);
    crawler = std::make_unique<LruCrawler>(shared.engine);
    shared.crawler = crawler.get();
  }

  // One memory device for every run: zeroing megabytes per input cost most
  // of a run. A run reads only what it wrote itself (the page store refuses
  // ranges not written under the current page version), so old bytes never
  // show.
  static Device& device() {
    static const std::unique_ptr<Device> memory =
        make_memory_device(fuzz_config().engine.ext.paths[0].size_bytes);
    return *memory;
  }

  // The background thread's work for one wake-up, `now` in microseconds.
  void background(Micros now) {
    std::lock_guard lock(shared.mutex);
    shared.engine.set_time(static_cast<rel_time_t>(2 + now / 1'000'000));
    maintainer->step(now);
    crawler->step(now);
    flash->flusher_step(now);
    flash->compactor_step(now);
  }

  ServerConfig config;
  SharedEngine shared;
  ServerContext ctx;
  std::unique_ptr<ExtStore> flash;
  std::unique_ptr<LruMaintainer> maintainer;
  std::unique_ptr<LruCrawler> crawler;
};

// What FlashReader does for each queued read, synchronously: read the planned
// range from the device and complete the response slot under the lock.
void complete_flash_reads(Rig& rig, Session& session) {
  auto& reads = session.flash_reads();
  for (auto& read : reads) {
    fuzz_check(read->slot != nullptr, "flash read without a response slot");
    const FlashRead& plan = read->plan;
    read->buffer = AlignedBuffer(plan.length);
    IoRequest req{IoOp::kRead, plan.offset, plan.length, read->buffer.data()};
    std::lock_guard lock(rig.shared.mutex);
    const int64_t rc = submit_and_wait(*plan.device, &req);
    complete_flash_read_locked(rig.shared, *read, rc);
  }
  reads.clear();
}

// One client connection: the connection's read buffer and loop.
class Client {
 public:
  Client(Rig& rig) : rig_(rig), session_(rig.ctx) {}
  ~Client() {
    // A disconnect: the worker still completes the reads it was handed.
    complete_flash_reads(rig_, session_);
  }

  bool closed() const { return session_.closing(); }

  void receive(std::string_view chunk) {
    buffer_.append(chunk);
    for (;;) {
      const size_t used = session_.consume(buffer_);
      fuzz_check(used <= buffer_.size(), "consume() used more than it was given");
      buffer_.erase(0, used);
      // Flash reads and metadumps pause the session; the connection consumes
      // again once they have finished.
      bool paused = false;
      if (!session_.flash_reads().empty()) {
        complete_flash_reads(rig_, session_);
        paused = true;
      }
      while (session_.dumping()) {
        session_.continue_dump();
        paused = true;
      }
      // -R: after reqs_per_event commands the session yields and the
      // connection consumes again after other work, as the server's does.
      const bool yielded = session_.take_yield();
      session_.responses().clear();
      if ((paused || yielded) && !session_.closing()) continue;
      check_buffer();
      return;
    }
  }

 private:
  void check_buffer() const {
    if (session_.closing() || session_.swallowing()) return;
    const size_t wanted = session_.bytes_wanted();
    if (wanted > 0) {
      fuzz_check(wanted > buffer_.size(), "waits for bytes it already has");
      fuzz_check(wanted <= kMaxCommandLine + rig_.config.engine.item_size_max + 2 + 64 ||
                     (session_.binary() && wanted <= kBinaryHeaderSize + 255 + 65535),
                 "asks for more than a command line and the largest data block");
      return;
    }
    if (session_.binary()) {
      fuzz_check(buffer_.size() < kBinaryHeaderSize, "a complete binary header was left");
      return;
    }
    fuzz_check(std::memchr(buffer_.data(), '\n', buffer_.size()) == nullptr,
               "a complete line was left unconsumed");
    fuzz_check(buffer_.size() <= kMaxMultigetLine, "an unterminated line grew past the cap");
  }

  Rig& rig_;
  Session session_;
  std::string buffer_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ServerConfig config = fuzz_config();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  SplitMix rng(fnv1a(input));
  Rig rig(config);

  Micros now = 0;
  {
    Client client(rig);
    size_t pos = 0;
    while (pos < input.size() && !client.closed()) {
      const size_t n =
          std::min<size_t>(input.size() - pos, 1 + rng.below(rng.below(4) == 0 ? 512 : 16));
      client.receive(input.substr(pos, n));
      pos += n;
      now += rng.below(400'000);
      rig.background(now);
    }
  }

  // Disconnects: every prefix of a short input, 12 sampled ones of a long one.
  const bool every = input.size() <= 48;
  const size_t cuts = every ? input.size() : 12;
  for (size_t i = 0; i < cuts; ++i) {
    const size_t cut = every ? i : rng.below(input.size());
    Client client(rig);
    size_t pos = 0;
    while (pos < cut && !client.closed()) {
      const size_t n = std::min<size_t>(cut - pos, 1 + rng.below(32));
      client.receive(input.substr(pos, n));
      pos += n;
    }
  }
  return 0;
}
