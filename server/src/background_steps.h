// server/src/background_steps.h — runs the engine's background work (LRU
// maintainer, extstore flusher and compactor, the one-second clock) on one
// thread of its own, each step at the wake-up time it asked for.
//
// Why not Asio timers: under load the flusher asks to run again every few
// hundred microseconds (memcached's WRITE_SLEEP_MIN backoff). With a timer
// each wake-up cost a timerfd_settime plus an epoll_wait; here it is one
// futex wait with a deadline, like memcached's usleep in its own threads.
//
// Thread-safety: add() before start(); stop() from any thread. Steps run on
// the background thread with SharedEngine::mutex held, all steps due at one
// wake-up under one lock acquisition.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "memext/time.h"

namespace memext::server {

struct SharedEngine;

class BackgroundSteps {
 public:
  using Clock = std::chrono::steady_clock;
  // Called with the engine lock held and the current time in microseconds
  // since `epoch`; returns when it wants to run next (same scale).
  using Step = std::function<Micros(Micros now)>;

  BackgroundSteps(SharedEngine& shared, Clock::time_point epoch);
  ~BackgroundSteps();
  BackgroundSteps(const BackgroundSteps&) = delete;
  BackgroundSteps& operator=(const BackgroundSteps&) = delete;

  void add(Step step);
  void start();
  // Returns once the thread has finished its current step and exited.
  void stop();

 private:
  void run();
  Micros now_micros() const;

  SharedEngine& shared_;
  Clock::time_point epoch_;
  std::vector<Step> steps_;
  std::vector<Micros> due_;
  std::mutex wait_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace memext::server
