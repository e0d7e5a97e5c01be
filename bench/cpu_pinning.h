// Pinning bench threads to this machine's CPUs, and the one figure that
// says how costly sharing a cache line between two of them is right now.
// Used by the benches that compare 1 and 2 threads (engine_threads_bench)
// and printed by the server benches beside each run (line_transfer_probe).
#pragma once

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace memext::bench {

// Why pin: this VM's two vCPUs run single-threaded code at different
// speeds (a pure loop measured 1.6x slower on CPU 0 than on CPU 1 at one
// moment, 1.2x at another), so an unpinned 1-thread cell reads whichever
// CPU the scheduler picked, and its 2T/1T says as much about that as about
// the engine. Pinned, each round runs the 1-thread cell on both CPUs.
inline void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
    throw std::runtime_error("cannot pin a thread to CPU " + std::to_string(cpu));
  }
}

// The first two CPUs this process may run on.
inline std::vector<int> first_two_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) throw std::runtime_error("sched_getaffinity");
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  if (cpus.size() < 2) {
    throw std::invalid_argument("pinning needs 2 CPUs and this process may use " +
                                std::to_string(cpus.size()) + " (use --no-pin)");
  }
  return cpus;
}

// One cache line's transfer between the two CPUs: a line handed back and
// forth (each thread waits for the other's store, then stores), the mean
// of one hand-over. This VM's figure moves between ~60 ns and ~230 ns from
// one minute to the next (the host placing the two vCPUs on cores that do
// or do not share a cache, presumably), and every 2T figure that shares
// lines moves with it, so each round reports it. Unpinned (`cpus` empty),
// the scheduler places the two threads.
inline double line_transfer_ns(const std::vector<int>& cpus) {
  constexpr int kHandOvers = 100'000;
  alignas(64) std::atomic<int> turn{0};
  const auto play = [&](int cpu_index, int parity) {
    if (!cpus.empty()) pin_to(cpus[static_cast<size_t>(cpu_index)]);
    for (int i = parity; i < kHandOvers; i += 2) {
      while (turn.load(std::memory_order_acquire) != i) {
      }
      turn.store(i + 1, std::memory_order_release);
    }
  };
  const auto t0 = std::chrono::steady_clock::now();
  std::thread first(play, 0, 0);
  std::thread second(play, 1, 1);
  first.join();
  second.join();
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() /
         kHandOvers;
}

}  // namespace memext::bench
