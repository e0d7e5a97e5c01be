// memext/engine_lock.h — the lock a multi-threaded driver (memext-server)
// holds around engine calls: exclusive for anything that changes the
// engine, shared for the lookups the engine offers as shared-safe
// (Engine::try_get_shared). The simulator, single-threaded, takes none.
//
// Why a lock of its own and not std::shared_mutex: the shared side is taken
// for every get hit, ~100 ns of work. A pthread rwlock makes every reader
// write the same counter, so two cores reading bounce one cache line and
// the reads serialise on it. Here a reader marks a slot of its own (a
// cache line per thread, 64 slots), so readers on different cores share
// nothing; a writer raises a flag and waits until every slot is empty.
// Writers are short (a set, a background step). A reader that meets a
// raised flag, and a writer or mutator that finds its mutex taken, first
// spin on a plain load for up to kSpinTime (about what a sleep costs, and
// longer than a background step's hold) and only then sleep on the mutex:
// a futex sleep and wake-up costs tens of microseconds on a VM (the idle
// vCPU halts), far more than the section it waits out, and with 10% sets
// most gets on a second core would otherwise pay it. The flag,
// the mutex and each slot have cache lines of their own, so the lines a
// reader touches (its slot, the flag) change only when a writer comes.
// A third side, the mutator's, admits one thread at a time beside the
// readers (a set that changes only what readers do not read, or publishes
// by one atomic store: Engine::try_store_concurrent). Mutators queue on a
// mutex of their own, which the exclusive side takes first too, so a
// mutator never meets the writer flag and an exclusive holder excludes all.
// See engine/README.md for the locking design.
//
// Lock order (outermost first): EngineLock (inside it: the mutators' mutex,
// then the writers' mutex), then the server's own mutexes
// (ConnRegistry, PrefixStats) which never call into the engine. Inside the
// engine there are no further locks: under the shared side the engine only
// reads, and writes relaxed atomics: counters in per-thread stripes, an
// item's FETCHED/ACTIVE bits and time, flash page pins and the recache
// counter (extstore.h, pagestore.h), and it queues COLD -> WARM moves on
// per-thread stripes (core/bump_queue.h) that the on-exclusive hook applies
// as soon as a thread takes the exclusive side. This lock's acquire/release
// orders them against the exclusive side.
#pragma once

#include <pthread.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace memext {

class EngineLock {
 public:
  EngineLock();
  ~EngineLock();
  EngineLock(const EngineLock&) = delete;
  EngineLock& operator=(const EngineLock&) = delete;

  // Exclusive: no other holder, shared or exclusive.
  void lock();
  bool try_lock();
  void unlock();

  // Shared: only other shared holders and a mutator. Not recursive; a
  // thread holding the exclusive side must not take the shared one.
  void lock_shared();
  void unlock_shared();

  // Mutator: beside shared holders, never beside another mutator or an
  // exclusive holder. A mutator that must go exclusive releases first.
  // A thread waiting for the exclusive side goes first: mutators wait
  // for it before they queue (see exclusive_waiting_).
  void lock_mutator();
  void unlock_mutator();

  // Runs hook(arg) each time a thread takes the exclusive side, after the
  // readers have left and before lock()/try_lock() return: the engine's
  // deferred work that shared holders queued (Engine::apply_deferred_bumps)
  // is applied before anything else runs exclusively. Set it before any
  // thread uses the lock.
  void set_on_exclusive(void (*hook)(void*), void* arg) {
    on_exclusive_ = hook;
    on_exclusive_arg_ = arg;
  }

  // Whether some thread holds the exclusive side: for the asserts behind
  // "Precondition: the exclusive side is held" (it cannot tell which thread).
  bool exclusive_held() const { return writer_.load(std::memory_order_relaxed); }

 private:
  static constexpr unsigned kSlots = 64;
  // How long a waiter spins before it sleeps on a mutex: about what a
  // futex sleep and wake-up costs on a VM (tens of microseconds: the idle
  // vCPU halts), so a wait never costs more than twice the better choice
  // made knowing the hold's length; longer than a background step's hold
  // (~10 us), so gets and sets beside those never sleep. (256 pauses were
  // 1 us on one CPU and 12 us on another.)
  static constexpr std::chrono::nanoseconds kSpinTime{30'000};
  struct alignas(64) Slot {
    std::atomic<uint32_t> readers{0};
  };
  Slot& my_slot();
  void wait_for_readers();
  static void lock_spinning(pthread_mutex_t& mutex, const std::atomic<bool>* busy);
  void lock_mutators();
  void unlock_mutators();
  void yield_to_exclusive();
  void lock_writers();
  void enter_exclusive();

  std::array<Slot, kSlots> slots_{};
  // Read by every reader; written only when a writer comes and goes.
  alignas(64) std::atomic<bool> writer_{false};
  // Threads in lock() that do not hold the mutators' mutex yet; read by
  // every mutator, written only when a writer comes. The mutex is not
  // fair: a worker running a batch of sets retakes it as soon as it lets it
  // go, so without this a background step that asks for the exclusive side
  // again and again (the flusher, 64 KB a hold) waited behind whole batches
  // and fell behind the sets.
  std::atomic<uint32_t> exclusive_waiting_{0};
  void (*on_exclusive_)(void*) = nullptr;
  void* on_exclusive_arg_ = nullptr;
  // Written by every writer (and a queued reader); apart from the flag.
  // (The class's alignment pads its end to a whole line, so whatever
  // follows the lock in its owner does not share the mutex's line.)
  alignas(64) pthread_mutex_t writers_;
  // Taken by every mutator and, before writers_, every exclusive holder;
  // the flag says it is held, for waiters to spin on without writing.
  alignas(64) pthread_mutex_t mutators_;
  std::atomic<bool> mutators_held_{false};
};

}  // namespace memext
