// How the engine scales with threads, in-process (no network): a get-heavy
// Zipf workload (default 90% get / 10% set) driven by 1 and then 2 threads
// against one Engine, RAM-only and with about half the gets served from
// flash (an ext_path file in --dir, read by each thread on its own
// descriptor, as a server worker reads with its own ring), all cells in one
// run. Modes:
//   mutex   every engine call under one exclusive lock (the server's
//           EngineMutex before issue 12);
//   shared  stage 1 of issue 12 (see engine/README.md): gets try
//           Engine::try_get_shared under the shared side of EngineLock and
//           fall back to the exclusive side; everything else exclusive;
//   shared2 stage 2: flash reads too are planned and finished under the
//           shared side when they can be (ExtStore::try_plan_read_shared,
//           try_finish_read_shared);
//   stage3  as shared2, and a get that must move its
//           item from COLD to WARM queues the move (GetOptions::
//           defer_relink) for the next exclusive holder instead of declining;
//           a set builds its item's buffer before the lock
//           (Engine::prepare_store) and frees replaced ones after it;
//   stage4  as stage3, and a set runs beside the shared gets
//           (Engine::try_store_concurrent under EngineLock's mutator side),
//           exclusive only when the engine declines it;
//   stage5  as stage4, and a flash get whose object
//           is still in a write buffer reads it under the shared side too
//           (ExtStore::try_read_buffered_shared);
//   stage6  the server's path now: as stage5, and the LRU maintainer's
//           pass runs beside the shared gets (LruMaintainer::
//           try_step_beside_readers under the mutator side), exclusive only
//           when it declines.
// A 1-thread pass per mode also times every lock hold by kind, from which
// the Amdahl estimate for 16 and 64 threads is printed: the serial fraction
// is the exclusive hold time per unit of wall time. --get-kind mg makes
// every get a meta get (`mg key v`: GetOptions::meta), served like get;
// mg-exclusive takes them under the exclusive side only, as the server did
// before mg used the shared side. Never run by ctest.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpu_pinning.h"
#include "memext/device.h"
#include "memext/engine.h"
#include "memext/engine_lock.h"
#include "memext/extstore.h"
#include "memext/lru_crawler.h"
#include "memext/lru_maintainer.h"

using namespace memext;
using memext::bench::first_two_cpus;
using memext::bench::line_transfer_ns;
using memext::bench::pin_to;

namespace {

using Clock = std::chrono::steady_clock;

// The modes, each one stage further than the one before it (see the top):
// a mode does what every earlier one does.
const std::vector<std::string> kModes = {"mutex",  "shared", "shared2", "stage3",
                                         "stage4", "stage5", "stage6"};

// The position of `mode` in kModes, or -1.
int stage_of(const std::string& mode) {
  const auto at = std::find(kModes.begin(), kModes.end(), mode);
  return at == kModes.end() ? -1 : static_cast<int>(at - kModes.begin());
}

struct Options {
  double seconds = 2;
  uint32_t keys = 50'000;
  uint32_t value_bytes = 1000;
  double get_ratio = 0.9;
  double skew = 0.99;
  uint64_t ram_mb = 128;       // RAM-only cells: everything fits
  uint64_t flash_ram_mb = 24;  // flash cells: about half the gets miss RAM
  std::string dir = "/dev/shm";
  std::vector<std::string> modes = kModes;
  bool ram = true;
  bool flash = true;
  std::string get_kind = "get";  // get, mg or mg-exclusive
  int rounds = 1;
  // --split-keys: thread t's ops draw only keys k with k % 2 == t (Zipf over
  // its own half), so the two threads share the engine but no item.
  bool split_keys = false;
  // --one-writer: thread 0 makes every set (twice its share), thread 1 gets.
  bool one_writer = false;
  // --flat-lru: memcached's -o no_lru_segmented (no HOT/WARM/COLD moves).
  bool flat_lru = false;
  // --io-thread: the server's ExtStore options (kIoThread: wbuf writes on an
  // IO thread, steps in slices); default: each wbuf write inside the
  // flusher step that filled it, under the lock, so that a cell's threads
  // are all the threads that work (an IO thread would run on the CPU a
  // 1-thread cell leaves idle and flatter it).
  bool io_thread = false;
  // --cold-store-lookup: a concurrent set does not warm its lookup under the
  // shared side first (Engine::warm_lookup), as before session 14.
  bool cold_store_lookup = false;
  // memcached's writes on every get, emulated around the engine's get:
  // the striped item lock and the item's refcount (see kItemLocks).
  bool memcached_get_writes = false;
  // Pin thread t of every cell to cpus[t] and run the 1-thread cell once on
  // each of them (empty: --no-pin, the scheduler places threads).
  std::vector<int> cpus;
};

// What each thread does, fixed in advance so the timed loop only runs ops.
struct Script {
  std::vector<uint32_t> keys;
  std::vector<uint8_t> is_get;
};

// `part`: with --split-keys, the thread whose half of the keys this draws.
Script make_script(const Options& o, uint64_t seed, size_t length, uint32_t part) {
  // Zipf ranks by inverting the CDF; rank -> key through a permutation so
  // that hot keys are spread over the key space (and the insertion order).
  const uint32_t keys = o.split_keys ? o.keys / 2 : o.keys;
  // --one-writer: thread 0 makes both threads' sets, thread 1 only gets.
  const double get_ratio = !o.one_writer ? o.get_ratio : part == 0 ? 2 * o.get_ratio - 1 : 1.0;
  std::vector<double> cdf(keys);
  double sum = 0;
  for (uint32_t i = 0; i < keys; ++i) {
    sum += 1.0 / std::pow(static_cast<double>(i + 1), o.skew);
    cdf[i] = sum;
  }
  std::vector<uint32_t> perm(keys);
  for (uint32_t i = 0; i < keys; ++i) perm[i] = o.split_keys ? 2 * i + part : i;
  std::mt19937_64 shuffle_rng(42);
  std::shuffle(perm.begin(), perm.end(), shuffle_rng);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uni(0, 1);
  Script s;
  s.keys.resize(length);
  s.is_get.resize(length);
  for (size_t i = 0; i < length; ++i) {
    const double u = uni(rng) * sum;
    const auto rank =
        static_cast<uint32_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
    s.keys[i] = perm[std::min(rank, keys - 1)];
    s.is_get[i] = uni(rng) < get_ratio ? 1 : 0;
  }
  return s;
}

// a's and b's ops taken in turn (as long as a).
Script interleave(const Script& a, const Script& b) {
  Script s;
  s.keys.resize(a.keys.size());
  s.is_get.resize(a.keys.size());
  for (size_t i = 0; i < a.keys.size(); ++i) {
    const Script& from = i % 2 == 0 ? a : b;
    s.keys[i] = from.keys[i / 2];
    s.is_get[i] = from.is_get[i / 2];
  }
  return s;
}

std::string key_name(uint32_t k) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "key:%08u", k);
  return buf;
}

// Lock hold time by kind, summed (ns), for the Amdahl estimate.
enum Hold : int {
  kGetShared,
  kFlashFinishShared,
  kGetExclusive,
  kSet,
  kFlashPlan,
  kFlashFinish,
  kBackground,
  kSetConcurrent,
  kMaintainerBeside,
  kHolds
};
// Holds on the mutator side: one at a time, beside the shared side.
bool mutator_hold(int kind) {
  return kind == kSetConcurrent || kind == kMaintainerBeside;
}
// Holds beside the shared side (the serial fraction leaves them out; a
// concurrent set is serial only with other sets).
bool shared_hold(int kind) {
  return kind == kGetShared || kind == kFlashFinishShared || mutator_hold(kind);
}
const char* const kHoldNames[kHolds] = {
    "get (shared)",       "finish (shared)", "get (exclusive)", "set",
    "flash plan",         "flash finish",    "background step", "set (concurrent)",
    "maintainer (beside)"};

// alignas: the two threads' results must not share a cache line, or the
// bench itself would add the contention it measures.
struct alignas(64) ThreadResult {
  uint64_t ops = 0;
  // The thread's CPU time and voluntary context switches over the run: CPU
  // per op grows with cache-line contention and spinning whatever else runs
  // on the machine; a switch is a sleep on a lock (or on the device).
  double cpu_ns = 0;
  uint64_t voluntary_switches = 0;
  uint64_t gets = 0;
  uint64_t flash_gets = 0;
  uint64_t hits = 0;
  double hold_ns[kHolds] = {};
  uint64_t hold_count[kHolds] = {};
};

struct Cell {
  double seconds = 0;
  std::vector<ThreadResult> threads;
  uint64_t lru_moves = 0;  // the engines' segment moves during the cell
  double lru_moves_per_kop() const {
    return ops() ? 1000.0 * static_cast<double>(lru_moves) / static_cast<double>(ops()) : 0.0;
  }
  uint64_t ops() const {
    uint64_t n = 0;
    for (const auto& t : threads) n += t.ops;
    return n;
  }
  double ops_per_s() const { return static_cast<double>(ops()) / seconds; }
  double cpu_ns_per_op() const {
    double ns = 0;
    for (const auto& t : threads) ns += t.cpu_ns;
    return ops() ? ns / static_cast<double>(ops()) : 0.0;
  }
  double switches_per_kop() const {
    uint64_t n = 0;
    for (const auto& t : threads) n += t.voluntary_switches;
    return ops() ? 1000.0 * static_cast<double>(n) / static_cast<double>(ops()) : 0.0;
  }
};

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

uint64_t thread_voluntary_switches() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return static_cast<uint64_t>(usage.ru_nvcsw);
}

class HoldTimer {
 public:
  HoldTimer(bool on, ThreadResult& r, Hold kind) : on_(on), r_(r), kind_(kind) {
    if (on_) start_ = Clock::now();
  }
  ~HoldTimer() {
    if (!on_) return;
    r_.hold_ns[kind_] += std::chrono::duration<double, std::nano>(Clock::now() - start_).count();
    r_.hold_count[kind_]++;
  }
  void retarget(Hold kind) { kind_ = kind; }

 private:
  bool on_;
  ThreadResult& r_;
  Hold kind_;
  Clock::time_point start_;
};

// mutex mode: the server's EngineMutex before issue 12 (an adaptive pthread
// mutex); shared and stage3 modes: EngineLock.
class BenchLock {
 public:
  explicit BenchLock(bool shared) : shared_(shared) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&mutex_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~BenchLock() { pthread_mutex_destroy(&mutex_); }
  void lock() { shared_ ? engine_lock_.lock() : (void)pthread_mutex_lock(&mutex_); }
  void unlock() { shared_ ? engine_lock_.unlock() : (void)pthread_mutex_unlock(&mutex_); }
  void lock_shared() { engine_lock_.lock_shared(); }
  // stage3 onwards: the server's hook (server_context.h), applying
  // deferred bumps and recycling what concurrent sets retired.
  void catch_up_with(Engine& engine) {
    engine_lock_.set_on_exclusive([](void* e) { static_cast<Engine*>(e)->catch_up(); }, &engine);
  }
  void unlock_shared() { engine_lock_.unlock_shared(); }
  void lock_mutator() { engine_lock_.lock_mutator(); }
  void unlock_mutator() { engine_lock_.unlock_mutator(); }

 private:
  bool shared_;
  EngineLock engine_lock_;
  pthread_mutex_t mutex_;
};

// --memcached-get-writes: what memcached 1.6's get writes besides what
// memext's does. Its worker takes the key's item lock (a mutex of a striped
// table: 2^10 of them below 3 threads) around the hash lookup and the
// refcount increment, and decrements the refcount (an atomic on the item's
// header line, which every get of the item reads) once the response is
// written. Emulated here as a mutex of 1024 by key and an atomic on a cache
// line of the key's own, around memext's get: an estimate of what those
// writes cost on two cores, not a measurement of memcached.
constexpr size_t kItemLocks = 1024;
struct alignas(64) ItemRefcount {
  std::atomic<uint32_t> refs{0};
};

struct Bench {
  const Options& o;
  bool flash;
  bool shared_mode;
  bool shared_flash;
  bool stage3;
  bool concurrent_sets;
  bool buffered_shared;
  bool maintainer_beside;
  bool warm_lookup;
  BenchLock lock;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<ExtStore> ext;
  std::unique_ptr<LruMaintainer> lru;
  std::unique_ptr<LruCrawler> crawler;
  std::string path;
  std::vector<std::string> names;
  std::string value;
  Clock::time_point start = Clock::now();
  std::unique_ptr<std::mutex[]> item_locks;
  std::unique_ptr<ItemRefcount[]> refcounts;

  Bench(const Options& options, bool with_flash, const std::string& mode)
      : o(options),
        flash(with_flash),
        shared_mode(stage_of(mode) >= stage_of("shared")),
        shared_flash(with_flash && stage_of(mode) >= stage_of("shared2")),
        stage3(stage_of(mode) >= stage_of("stage3")),
        concurrent_sets(stage_of(mode) >= stage_of("stage4")),
        buffered_shared(stage_of(mode) >= stage_of("stage5")),
        maintainer_beside(stage_of(mode) >= stage_of("stage6")),
        warm_lookup(concurrent_sets && !options.cold_store_lookup),
        lock(shared_mode),
        value(options.value_bytes, 'v') {
    EngineConfig config;
    config.memory_limit = (flash ? o.flash_ram_mb : o.ram_mb) << 20;
    if (flash) {
      // A file of its own: the separate-engines cell builds two Benches at
      // once, and with one path the second's removed the first's file, so
      // thread 0's preads read the other engine's objects (mismatches and
      // misses: cheap ops, and a "ceiling" above 2x).
      static std::atomic<unsigned> files{0};
      path = o.dir + "/memext_engine_threads_bench_" + std::to_string(::getpid()) + "_" +
             std::to_string(files.fetch_add(1));
      std::remove(path.c_str());
      config.ext.page_size = 8ull << 20;
      config.ext.wbuf_size = 2ull << 20;
      config.ext.item_age = 0;
      config.ext.paths.push_back({path, 512ull << 20, ""});
    }
    config.lru_segmented = !o.flat_lru;
    engine = std::make_unique<Engine>(config);
    engine->set_time(100);
    if (o.memcached_get_writes) {
      item_locks = std::make_unique<std::mutex[]>(kItemLocks);
      refcounts = std::make_unique<ItemRefcount[]>(o.keys);
    }
    if (stage3) lock.catch_up_with(*engine);
    lru = std::make_unique<LruMaintainer>(*engine);
    crawler = std::make_unique<LruCrawler>(*engine);
    if (flash) {
      // By default flushes finish inside the step; --io-thread: the server's
      // options (see Options::io_thread).
      ext = open_ext_store(*engine, config.ext, ExtDeviceKind::kFile,
                           o.io_thread ? kIoThread : ExtStoreOptions{});
    }
    for (uint32_t k = 0; k < o.keys; ++k) names.push_back(key_name(k));
    for (uint32_t k = 0; k < o.keys; ++k) {
      engine->set(names[k], value);
      if (flash && k % 64 == 0) background(micros());
    }
    for (int i = 0; i < 200; ++i) background(micros());
  }
  ~Bench() {
    ext.reset();
    if (!path.empty()) std::remove(path.c_str());
  }

  Micros micros() const {
    return static_cast<Micros>(
               std::chrono::duration<double, std::micro>(Clock::now() - start).count()) +
           100'000'000;
  }
  // The server's clock/maintainer and flusher threads, every step at once:
  // the warm-up's.
  void background(Micros now) {
    engine->set_time(static_cast<rel_time_t>(now / 1'000'000));
    lru->step(now);
    if (!ext) return;
    for (int i = 0; i < 64; ++i) {
      if (ext->flusher_step(now) != now) break;
    }
  }

  // The server's background threads (server/src/server.cc), stepped by
  // thread 0 between bursts of its ops at the server's cadence: each step
  // runs when the wake-up time it asked for has come, under an exclusive
  // hold of its own, as BackgroundSteps runs it. The clock once a second;
  // the LRU maintainer at its own backoff (1 ms to 1 s, memcached's); the
  // crawler when it asks or every 10 ms, as the server polls it; the
  // flusher when it asks, at once again while it has a wbuf's worth to
  // write (here up to 64 steps in a row, then thread 0's next burst). Each
  // hold also runs the lock's on-exclusive hook (the deferred bumps and the
  // records concurrent sets retired), so the bench pays what the server's
  // exclusive holds pay, as often as the server pays it. (It used to step
  // everything every 256 ops of thread 0, ~8000 exclusive holds a second
  // where the server's maintainer takes at most ~1000 and its crawler 100.)
  struct Due {
    Micros clock = 0, maintainer = 0, crawler = 0, flusher = 0;
  };
  Due due;
  void background_due(ThreadResult& r, bool time_holds) {
    Micros now = micros();
    auto step = [&](Micros& when, auto&& run) {
      if (now < when) return;
      HoldTimer t(time_holds, r, kBackground);
      std::lock_guard held(lock);
      when = run();
    };
    step(due.clock, [&] {
      engine->set_time(static_cast<rel_time_t>(now / 1'000'000));
      return now + 1'000'000;
    });
    // Beside the gets first; exclusive only when that declines. A pass
    // with more to do (`next` == now) goes on after the next burst.
    bool maintained = false;
    if (maintainer_beside && now >= due.maintainer) {
      HoldTimer t(time_holds, r, kMaintainerBeside);
      lock.lock_mutator();
      const std::optional<Micros> next = lru->try_step_beside_readers(now);
      lock.unlock_mutator();
      if (next) {
        due.maintainer = *next;
        maintained = true;
      }
    }
    if (!maintained) step(due.maintainer, [&] { return lru->step(now); });
    step(due.crawler, [&] { return std::min(crawler->step(now), now + 10'000); });
    if (!ext) return;
    for (int i = 0; i < 64 && now >= due.flusher; ++i) {
      step(due.flusher, [&] { return ext->flusher_step(now); });
      now = micros();
    }
  }

  void get(int fd, const std::string& key, ThreadResult& r, bool time_holds, std::string& out,
           AlignedBuffer& buf) {
    ++r.gets;
    FlashRead plan;
    GetResult header;
    bool planned = false;
    bool have_header = false;
    GetOptions options;
    options.meta = o.get_kind != "get";
    if (shared_mode && o.get_kind != "mg-exclusive") {
      HoldTimer t(time_holds, r, kGetShared);
      options.defer_relink = stage3;
      std::shared_lock held(lock);
      if (std::optional<GetResult> g = engine->try_get_shared(key, options, shared_flash)) {
        if (g->source == HitSource::kRam) {
          out.assign(g->value);
          ++r.hits;
          return;
        }
        if (g->source == HitSource::kMiss) return;
        header = *g;
        have_header = true;
        if (std::optional<FlashRead> p = ext->try_plan_read_shared(key, header)) {
          plan = *p;
          planned = true;
        } else if (buffered_shared) {
          if (std::optional<ReadOutcome> b = ext->try_read_buffered_shared(key, header)) {
            out.assign(b->value);
            ++r.hits;
            ++r.flash_gets;
            return;
          }
        }
      }
    }
    if (!planned) {
      HoldTimer t(time_holds, r, kGetExclusive);
      std::lock_guard held(lock);
      if (!have_header) header = engine->get(key, options);
      if (header.source == HitSource::kRam) {
        out.assign(header.value);
        ++r.hits;
        return;
      }
      if (header.source == HitSource::kMiss || !ext) return;
      t.retarget(kFlashPlan);
      plan = ext->plan_read(key, header);
      if (plan.kind == FlashReadKind::kMiss) return;
      if (plan.kind == FlashReadKind::kBuffered) {
        const ReadOutcome outcome = ext->finish_read(key, header, plan, nullptr, 0);
        if (outcome.hit()) {
          out.assign(outcome.value);
          ++r.hits;
        }
        ++r.flash_gets;
        return;
      }
    }
    ++r.flash_gets;
    buf.reserve(plan.length);
    const ssize_t got = ::pread(fd, buf.data(), plan.length, static_cast<off_t>(plan.offset));
    const int64_t io_result = got < 0 ? -errno : got;
    if (shared_flash) {
      HoldTimer t(time_holds, r, kFlashFinishShared);
      std::shared_lock held(lock);
      if (std::optional<ReadOutcome> o =
              ext->try_finish_read_shared(key, header, plan, buf.data(), io_result)) {
        out.assign(o->value);
        ++r.hits;
        return;
      }
    }
    HoldTimer t(time_holds, r, kFlashFinish);
    std::lock_guard held(lock);
    const ReadOutcome outcome = ext->finish_read(key, header, plan, buf.data(), io_result);
    if (outcome.hit()) {
      out.assign(outcome.value);
      ++r.hits;
    }
  }

  void run_thread(const Script& script, bool driver, bool time_holds, std::atomic<bool>& stop,
                  ThreadResult& r) {
    const int fd = flash ? ::open(path.c_str(), O_RDONLY) : -1;
    if (flash && fd < 0) throw std::runtime_error(path + ": " + std::strerror(errno));
    std::string out;
    AlignedBuffer buf;
    const double cpu_start = thread_cpu_ns();
    const uint64_t switches_start = thread_voluntary_switches();
    size_t i = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      for (int burst = 0; burst < 256; ++burst, ++i) {
        if (i == script.keys.size()) i = 0;
        const std::string& key = names[script.keys[i]];
        if (script.is_get[i]) {
          if (item_locks) {
            const uint32_t k = script.keys[i];
            std::atomic<uint32_t>& refs = refcounts[k].refs;
            {
              std::lock_guard item_lock(item_locks[(k * 0x9E3779B97F4A7C15ull) >> 54]);
              refs.fetch_add(1, std::memory_order_relaxed);
            }
            get(fd, key, r, time_holds, out, buf);
            refs.fetch_sub(1, std::memory_order_release);
          } else {
            get(fd, key, r, time_holds, out, buf);
          }
        } else {
          StoreRequest request;
          request.key = key;
          request.value = value;
          PreparedStore prepared;
          if (stage3) prepared = engine->prepare_store(request);
          if (concurrent_sets) {
            if (warm_lookup) {
              lock.lock_shared();
              engine->warm_lookup(key);
              lock.unlock_shared();
            }
            HoldTimer t(time_holds, r, kSetConcurrent);
            lock.lock_mutator();
            const bool done = engine->try_store_concurrent(request, prepared).has_value();
            lock.unlock_mutator();
            if (done) {
              ++r.ops;
              continue;
            }
          }
          HoldTimer t(time_holds, r, kSet);
          std::lock_guard held(lock);
          engine->store(request, prepared);
        }
        ++r.ops;
      }
      if (driver) background_due(r, time_holds);
    }
    r.cpu_ns = thread_cpu_ns() - cpu_start;
    r.voluntary_switches = thread_voluntary_switches() - switches_start;
    if (fd >= 0) ::close(fd);
  }
};

// `separate`: each thread drives an engine of its own (nothing shared), the
// 2-thread ceiling of this machine at this moment (the load of other
// processes included), against which the shared engine's 2T/1T is read.
// `cpus`: thread t runs on cpus[t] (empty: unpinned); it runs scripts[t].
Cell run_cell(const Options& o, bool flash, const std::string& mode, int threads, bool time_holds,
              const std::vector<Script>& scripts, const std::vector<int>& cpus,
              bool separate = false) {
  assert(scripts.size() >= static_cast<size_t>(threads));
  assert(cpus.empty() || cpus.size() >= static_cast<size_t>(threads));
  std::vector<std::unique_ptr<Bench>> benches;
  for (int b = 0; b < (separate ? threads : 1); ++b) {
    benches.push_back(std::make_unique<Bench>(o, flash, mode));
  }
  const auto lru_moves = [&] {
    uint64_t n = 0;
    for (const auto& b : benches) {
      const Stats st = b->engine->stats();
      n += st.moves_to_cold + st.moves_to_warm + st.moves_within_lru;
    }
    return n;
  };
  Cell cell;
  cell.threads.resize(static_cast<size_t>(threads));
  const uint64_t moves_before = lru_moves();
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  const auto t0 = Clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      if (!cpus.empty()) pin_to(cpus[static_cast<size_t>(t)]);
      Bench& bench = *benches[separate ? static_cast<size_t>(t) : 0];
      bench.run_thread(scripts[static_cast<size_t>(t)], separate || t == 0, time_holds, stop,
                       cell.threads[static_cast<size_t>(t)]);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  stop = true;
  for (auto& w : workers) w.join();
  cell.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  cell.lru_moves = lru_moves() - moves_before;
  return cell;
}

double amdahl(double serial, double n) {
  return 1.0 / (serial + (1.0 - serial) / n);
}

void print_holds(const char* label, const Cell& c) {
  const ThreadResult& r = c.threads[0];
  double exclusive_ns = 0;
  double mutator_ns = 0;
  double all_ns = 0;
  std::printf("  %s lock holds (1 thread, %.0f ops):\n", label, static_cast<double>(r.ops));
  for (int k = 0; k < kHolds; ++k) {
    if (r.hold_count[k] == 0) continue;
    std::printf("    %-16s %10llu holds  mean %7.0f ns  %5.1f%% of wall time\n", kHoldNames[k],
                static_cast<unsigned long long>(r.hold_count[k]),
                r.hold_ns[k] / static_cast<double>(r.hold_count[k]),
                100.0 * r.hold_ns[k] / (c.seconds * 1e9));
    all_ns += r.hold_ns[k];
    if (!shared_hold(k)) exclusive_ns += r.hold_ns[k];
    if (mutator_hold(k)) mutator_ns += r.hold_ns[k];
  }
  const double serial = exclusive_ns / (c.seconds * 1e9);
  std::printf(
      "    serial fraction %.3f (exclusive holds / wall; all holds %.3f)  Amdahl: 2T %.2fx  "
      "16T %.1fx  64T %.1fx\n",
      serial, all_ns / (c.seconds * 1e9), amdahl(serial, 2), amdahl(serial, 16),
      amdahl(serial, 64));
  // The mutator side admits one holder at a time and none beside the
  // exclusive side, so its holds and the exclusive ones together are work
  // that runs one at a time: N threads cannot go faster than 1 / that
  // fraction times one thread, whatever N (holds at N threads only grow).
  const double one_at_a_time = serial + mutator_ns / (c.seconds * 1e9);
  if (mutator_ns > 0) {
    const auto bounded = [&](double n) { return std::min(amdahl(serial, n), 1.0 / one_at_a_time); };
    std::printf(
        "    with the mutator side (sets, maintainer beside; one at a time) %.3f: at most %.1fx "
        "at any thread count; 2T %.2fx  16T %.1fx  64T %.1fx\n",
        one_at_a_time, 1.0 / one_at_a_time, bounded(2), bounded(16), bounded(64));
  }
}

// Pinned (Options::cpus), `one` ran on the first CPU and `one_b` on the
// second, and 2T is read against their mean: the 1-thread rate of a machine
// whose two cores were equal. Each 2T thread's CPU per op is read against
// the 1-thread cell on its own CPU.
struct Round {
  Cell one, one_b, two, apart;
  double transfer_ns = 0;  // line_transfer_ns, the mean of one before and one after the 2T cell
  bool pinned() const { return !one_b.threads.empty(); }
  double one_thread_rate() const {
    return pinned() ? (one.ops_per_s() + one_b.ops_per_s()) / 2 : one.ops_per_s();
  }
  double scaling() const { return two.ops_per_s() / one_thread_rate(); }
  double ceiling() const { return apart.ops_per_s() / one_thread_rate(); }
  double cpu_growth_of(const Cell& c) const {
    if (!pinned()) return c.cpu_ns_per_op() / one.cpu_ns_per_op();
    double sum = 0;
    for (size_t t = 0; t < 2; ++t) {
      const ThreadResult& r = c.threads[t];
      const double per_op = r.ops ? r.cpu_ns / static_cast<double>(r.ops) : 0.0;
      sum += per_op / (t == 0 ? one : one_b).cpu_ns_per_op();
    }
    return sum / 2;
  }
  double cpu_growth() const { return cpu_growth_of(two); }
  double apart_cpu_growth() const { return cpu_growth_of(apart); }
  double flash_share() const {
    uint64_t gets = 0;
    uint64_t flash_gets = 0;
    for (const auto& t : two.threads) {
      gets += t.gets;
      flash_gets += t.flash_gets;
    }
    return gets ? 100.0 * static_cast<double>(flash_gets) / static_cast<double>(gets) : 0.0;
  }
};

template <class Value>
double median_of(const std::vector<Round>& rounds, Value value) {
  std::vector<double> v;
  for (const Round& r : rounds) v.push_back(value(r));
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void print_round(bool flash, const std::string& mode, int index, const Round& r) {
  std::printf("  round %d: %-5s %-6s 1T %10.0f", index, flash ? "flash" : "ram", mode.c_str(),
              r.one.ops_per_s());
  if (r.pinned()) std::printf(" / %.0f", r.one_b.ops_per_s());
  std::printf(
      "  2T %10.0f ops/s  2T/1T %.2fx  separate %.2fx  CPU per op %.2fx  line transfer %.0f ns\n",
      r.two.ops_per_s(), r.scaling(), r.ceiling(), r.cpu_growth(), r.transfer_ns);
}

// One round: its figures. Several: each figure's median over the rounds
// (so the line's ratios need not divide into each other exactly).
void print_summary(bool flash, const std::string& mode, const std::vector<Round>& rounds) {
  const char* what = rounds.size() > 1 ? "median of rounds: " : "";
  auto median = [&](auto value) { return median_of(rounds, value); };
  std::printf(
      "%-5s %-6s %s1T %10.0f ops/s  2T %10.0f ops/s  2T/1T %.2fx  (2 separate engines "
      "%.2fx; %.0f%% of gets from flash)\n",
      flash ? "flash" : "ram", mode.c_str(), what,
      median([](const Round& r) { return r.one_thread_rate(); }),
      median([](const Round& r) { return r.two.ops_per_s(); }),
      median([](const Round& r) { return r.scaling(); }),
      median([](const Round& r) { return r.ceiling(); }),
      median([](const Round& r) { return r.flash_share(); }));
  std::printf(
      "  CPU per op 1T %.0f ns, 2T %.0f ns (%.2fx; 2 separate engines %.2fx); voluntary "
      "switches per 1000 ops 1T %.2f, 2T %.2f; LRU moves per 1000 ops 1T %.0f, 2T %.0f; line "
      "transfer %.0f ns\n",
      median([](const Round& r) { return r.one.cpu_ns_per_op(); }),
      median([](const Round& r) { return r.two.cpu_ns_per_op(); }),
      median([](const Round& r) { return r.cpu_growth(); }),
      median([](const Round& r) { return r.apart_cpu_growth(); }),
      median([](const Round& r) { return r.one.switches_per_kop(); }),
      median([](const Round& r) { return r.two.switches_per_kop(); }),
      median([](const Round& r) { return r.one.lru_moves_per_kop(); }),
      median([](const Round& r) { return r.two.lru_moves_per_kop(); }),
      median([](const Round& r) { return r.transfer_ns; }));
}

// The rounds split at kFastTransferNs of line transfer, each part's medians
// on a line of its own, when the run met both: a median over rounds of both
// states describes neither.
constexpr double kFastTransferNs = 150;
void print_by_transfer(bool flash, const std::string& mode, const std::vector<Round>& rounds) {
  std::vector<Round> fast, slow;
  for (const Round& r : rounds) (r.transfer_ns < kFastTransferNs ? fast : slow).push_back(r);
  if (fast.empty() || slow.empty()) return;
  for (const auto* part : {&fast, &slow}) {
    std::printf(
        "  %s %s, the %zu rounds at line transfer %s %.0f ns: 2T/1T %.2fx, CPU per op %.2fx\n",
        flash ? "flash" : "ram", mode.c_str(), part->size(),
        part == &fast ? "<" : ">=", kFastTransferNs,
        median_of(*part, [](const Round& r) { return r.scaling(); }),
        median_of(*part, [](const Round& r) { return r.cpu_growth(); }));
  }
}

int usage(const char* argv0, int rc) {
  std::printf(
      "usage: %s [--seconds S] [--keys N] [--value-bytes B] [--get-ratio R] [--skew Z]\n"
      "          [--ram-mb M] [--flash-ram-mb M] [--dir DIR] [--mode "
      "mutex|shared|shared2|stage3|stage4|stage5|stage6]\n"
      "          [--tier ram|flash|both] [--get-kind get|mg|mg-exclusive]\n"
      "          [--rounds N] [--no-pin] [--memcached-get-writes] [--split-keys]\n"
      "          [--one-writer] [--flat-lru] [--cold-store-lookup] [--io-thread]\n"
      "  In-process engine scaling: a Zipf(Z) get/set mix over N keys of B-byte values,\n"
      "  1 then 2 threads, RAM-only (-m M) and with flash (-m flash-ram-mb, an ext_path\n"
      "  file in DIR, default /dev/shm), each mode (default all) in one run; each cell\n"
      "  runs S seconds (default 2). Prints ops/s ratios 2T/1T, the share of gets served\n"
      "  from flash, CPU time and voluntary context switches per op (CPU per op rises with\n"
      "  cache-line contention whatever else loads the machine), and lock hold times with\n"
      "  an Amdahl estimate for 16 and 64 threads. --tier picks the RAM-only cells, the\n"
      "  flash cells or both (default). --get-kind mg issues the gets as meta gets\n"
      "  (mg key v), mg-exclusive as meta gets under the exclusive side only (the\n"
      "  server before mg took the shared side); default get. --rounds N runs the 1T,\n"
      "  2T and separate-engines cells N times back to back (default 1), prints each\n"
      "  round and the medians: this VM drifts more between runs than within a round.\n"
      "  Each round measures how long a cache line takes to move between the two CPUs\n"
      "  (before and after its 2T cell; on this VM ~60 or ~240 ns, changing within\n"
      "  minutes, and 2T/1T with it); a run that meets both also prints the medians of\n"
      "  the rounds under and over 150 ns.\n"
      "  Thread t of each cell runs pinned to the t-th CPU this process may use, and the\n"
      "  1-thread cell runs once on each: 2T/1T reads 2T against the mean of the two\n"
      "  1-thread rates (this VM's CPUs differ in speed by up to 1.6x), CPU per op each\n"
      "  2T thread's against its own CPU's 1-thread cell. --no-pin lets the scheduler\n"
      "  place threads and reads 2T against the one 1-thread cell.\n"
      "  --memcached-get-writes adds what memcached's get writes and memext's does not\n"
      "  (a striped item lock, 1024 mutexes, and a refcount on a line of the key's own,\n"
      "  incremented under the lock and decremented after the copy) around every get:\n"
      "  an estimate of memcached's design on the same engine, not memcached.\n"
      "  --split-keys gives thread t only the keys k with k %% 2 == t (Zipf over its half;\n"
      "  the 1-thread and separate cells run both halves' ops in turn): one engine, no\n"
      "  item shared between the threads, which parts the engine's shared structures\n"
      "  from the items' sharing.\n"
      "  --one-writer makes thread 0 do every set (2x its share) and thread 1 only gets\n"
      "  (the 1-thread cells run both in turn; needs --get-ratio 0.5 or more): the set\n"
      "  path's lines stay on one core.\n"
      "  --flat-lru runs memcached's flat LRU (-o no_lru_segmented): no segment moves.\n"
      "  Each cell also reports the engine's LRU moves (moves_to_cold + moves_to_warm +\n"
      "  moves_within_lru) per 1000 ops: the segmented LRU moves more items per op as\n"
      "  the hot set grows, so a workload change that alters it is not like for like.\n"
      "  --cold-store-lookup: concurrent sets (stage4 on) skip Engine::warm_lookup, the\n"
      "  lookup under the shared side that brings the key's lines in before the serial\n"
      "  store (the server makes it).\n"
      "  --io-thread: the flash cells use the server's ExtStore options (kIoThread: wbuf\n"
      "  writes on an IO thread, flusher steps in slices), so the lock holds and the\n"
      "  16/64-thread estimate are the server's; by default each full wbuf is written\n"
      "  inside the flusher step that filled it, under the lock, so that only the cell's\n"
      "  threads work (an IO thread would use the CPU a 1-thread cell leaves idle).\n",
      argv0);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool mode_given = false;
  bool pin = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto number = [&](double lo, double hi) {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      const std::string text = argv[++i];
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || v < lo || v > hi) {
        throw std::invalid_argument(arg + ": '" + text + "' is not a number in [" +
                                    std::to_string(lo) + ", " + std::to_string(hi) + "]");
      }
      return v;
    };
    try {
      if (arg == "--help") return usage(argv[0], 0);
      if (arg == "--seconds") {
        o.seconds = number(0.1, 600);
      } else if (arg == "--keys") {
        o.keys = static_cast<uint32_t>(number(100, 10'000'000));
      } else if (arg == "--value-bytes") {
        o.value_bytes = static_cast<uint32_t>(number(1, 100'000));
      } else if (arg == "--rounds") {
        o.rounds = static_cast<int>(number(1, 100));
      } else if (arg == "--split-keys") {
        o.split_keys = true;
      } else if (arg == "--one-writer") {
        o.one_writer = true;
      } else if (arg == "--flat-lru") {
        o.flat_lru = true;
      } else if (arg == "--io-thread") {
        o.io_thread = true;
      } else if (arg == "--cold-store-lookup") {
        o.cold_store_lookup = true;
      } else if (arg == "--memcached-get-writes") {
        o.memcached_get_writes = true;
      } else if (arg == "--no-pin") {
        pin = false;
      } else if (arg == "--get-ratio") {
        o.get_ratio = number(0, 1);
      } else if (arg == "--skew") {
        o.skew = number(0, 3);
      } else if (arg == "--ram-mb") {
        o.ram_mb = static_cast<uint64_t>(number(2, 65536));
      } else if (arg == "--flash-ram-mb") {
        o.flash_ram_mb = static_cast<uint64_t>(number(2, 65536));
      } else if (arg == "--tier" && i + 1 < argc) {
        const std::string t = argv[++i];
        if (t != "ram" && t != "flash" && t != "both") {
          throw std::invalid_argument("--tier: '" + t + "' is not ram, flash or both");
        }
        o.ram = t != "flash";
        o.flash = t != "ram";
      } else if (arg == "--get-kind" && i + 1 < argc) {
        o.get_kind = argv[++i];
        if (o.get_kind != "get" && o.get_kind != "mg" && o.get_kind != "mg-exclusive") {
          throw std::invalid_argument("--get-kind: '" + o.get_kind +
                                      "' is not get, mg or mg-exclusive");
        }
      } else if (arg == "--dir" && i + 1 < argc) {
        o.dir = argv[++i];
      } else if (arg == "--mode" && i + 1 < argc) {
        const std::string m = argv[++i];
        if (stage_of(m) < 0) {
          throw std::invalid_argument("--mode: '" + m +
                                      "' is not mutex, shared, shared2, stage3, stage4, stage5 or "
                                      "stage6");
        }
        if (!mode_given) o.modes.clear();
        mode_given = true;
        o.modes.push_back(m);
      } else {
        std::fprintf(stderr, "unknown argument '%s'\n", arg.c_str());
        return usage(argv[0], 2);
      }
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 2;
    }
  }
  if (o.one_writer && o.get_ratio < 0.5) {
    // Thread 0 would need more than all of its ops to be sets.
    std::fprintf(stderr, "--one-writer needs --get-ratio 0.5 or more (got %.2f)\n", o.get_ratio);
    return 2;
  }
  if (pin) {
    try {
      o.cpus = first_two_cpus();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 2;
    }
  }
  std::vector<Script> scripts;
  for (int t = 0; t < 2; ++t) {
    scripts.push_back(make_script(o, 1000 + t, 1u << 20, static_cast<uint32_t>(t)));
  }
  // The 1-thread cells (and each separate engine) run what the two threads
  // run together: with --split-keys a half alone would be a smaller hot set
  // (a sixth of the LRU moves per op that 2T makes: measured), with
  // --one-writer a different mix; neither the same workload on one thread.
  std::vector<Script> alone = scripts;
  if (o.split_keys || o.one_writer)
    alone = {interleave(scripts[0], scripts[1]), interleave(scripts[1], scripts[0])};
  std::printf("%u keys x %u B, get ratio %.2f (as %s), Zipf %.2f, %.1f s per cell, %s\n", o.keys,
              o.value_bytes, o.get_ratio, o.get_kind.c_str(), o.skew, o.seconds,
              o.cpus.empty() ? "unpinned"
                             : ("threads pinned to CPUs " + std::to_string(o.cpus[0]) + "," +
                                std::to_string(o.cpus[1]))
                                   .c_str());
  try {
    for (const bool flash : {false, true}) {
      if (!(flash ? o.flash : o.ram)) continue;
      for (const std::string& mode : o.modes) {
        if (mode == "shared2" && !flash) continue;  // the same as shared without flash
        // Rounds of 1T, 2T and separate engines back to back: each ratio
        // compares cells seconds apart, and the median over rounds stands
        // against this VM's drift (1T alone varies 1.3-1.9M ops/s between
        // runs minutes apart).
        std::vector<Round> rounds;
        for (int r = 0; r < o.rounds; ++r) {
          Round round;
          round.one = run_cell(o, flash, mode, 1, false, alone, o.cpus);
          if (!o.cpus.empty()) {
            round.one_b = run_cell(o, flash, mode, 1, false, {alone[1]}, {o.cpus[1]});
          }
          const double transfer_before = line_transfer_ns(o.cpus);
          round.two = run_cell(o, flash, mode, 2, false, scripts, o.cpus);
          round.transfer_ns = (transfer_before + line_transfer_ns(o.cpus)) / 2;
          round.apart = run_cell(o, flash, mode, 2, false, alone, o.cpus, true);
          if (o.rounds > 1) print_round(flash, mode, r + 1, round);
          rounds.push_back(std::move(round));
        }
        const Cell timed = run_cell(o, flash, mode, 1, true, alone, o.cpus);
        print_summary(flash, mode, rounds);
        print_by_transfer(flash, mode, rounds);
        print_holds(mode.c_str(), timed);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
