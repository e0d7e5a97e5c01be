// EngineLock: per-thread reader slots plus a writer flag (see
// memext/engine_lock.h). The reader's "mark slot, then read flag" and the
// writer's "raise flag, then read slots" are sequentially consistent, so at
// least one side sees the other: a reader never runs beside a writer.
#include "memext/engine_lock.h"

#include <sched.h>

#include <cassert>
#include <chrono>

#include "core/spin_wait.h"

namespace memext {

namespace {

std::atomic<unsigned> next_slot{0};

}  // namespace

EngineLock::EngineLock() {
  // A waiter spins a little before sleeping (glibc's adaptive mutex):
  // critical sections are far shorter than a futex sleep and wake-up.
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
  pthread_mutex_init(&writers_, &attr);
  pthread_mutex_init(&mutators_, &attr);
  pthread_mutexattr_destroy(&attr);
}

EngineLock::~EngineLock() {
  pthread_mutex_destroy(&mutators_);
  pthread_mutex_destroy(&writers_);
}

EngineLock::Slot& EngineLock::my_slot() {
  // Threads beyond kSlots share slots: still correct (a counter), only the
  // cache line is shared.
  thread_local const unsigned index = next_slot.fetch_add(1, std::memory_order_relaxed) % kSlots;
  return slots_[index];
}

void EngineLock::wait_for_readers() {
  for (Slot& slot : slots_) {
    // A reader descheduled inside its section (a loaded machine) would
    // otherwise burn the writer's whole time slice.
    for (unsigned spins = 0; slot.readers.load(std::memory_order_seq_cst) != 0; ++spins) {
      core::pause_or_yield(spins, 128);
    }
  }
}

namespace {

using core::cpu_relax;

// Pause-spins until done() or kSpinTime has passed; returns done()'s last
// answer. The clock is read every 32 pauses (a pause is 10-50 ns, a clock
// read ~20-70 ns on a VM), so a bound in time holds on any CPU, where a
// bound in pauses varied 10x between machines.
template <class Done>
bool spin_until(Done done, std::chrono::nanoseconds limit) {
  if (done()) return true;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      cpu_relax();
      if (done()) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
  }
}

}  // namespace

void EngineLock::lock_spinning(pthread_mutex_t& mutex, const std::atomic<bool>* busy) {
  // Try the mutex only while `busy` says no holder is inside (a load of
  // the flag stays in this core's cache; a failed trylock would pull the
  // mutex's line away from the holder that is about to release it).
  const bool taken = spin_until(
      [&] {
        return (busy == nullptr || !busy->load(std::memory_order_relaxed)) &&
               pthread_mutex_trylock(&mutex) == 0;
      },
      kSpinTime);
  if (!taken) pthread_mutex_lock(&mutex);
}

void EngineLock::lock_mutators() {
  lock_spinning(mutators_, &mutators_held_);
  mutators_held_.store(true, std::memory_order_relaxed);
}

void EngineLock::unlock_mutators() {
  mutators_held_.store(false, std::memory_order_relaxed);
  pthread_mutex_unlock(&mutators_);
}

void EngineLock::lock_writers() {
  lock_mutators();
  lock_spinning(writers_, &writer_);
}

void EngineLock::enter_exclusive() {
  writer_.store(true, std::memory_order_seq_cst);
  wait_for_readers();
  if (on_exclusive_ != nullptr) on_exclusive_(on_exclusive_arg_);
}

void EngineLock::lock() {
  exclusive_waiting_.fetch_add(1, std::memory_order_seq_cst);
  lock_writers();
  exclusive_waiting_.fetch_sub(1, std::memory_order_relaxed);
  enter_exclusive();
}

void EngineLock::yield_to_exclusive() {
  while (exclusive_waiting_.load(std::memory_order_relaxed) != 0) {
    if (spin_until([&] { return exclusive_waiting_.load(std::memory_order_relaxed) == 0; },
                   kSpinTime)) {
      return;
    }
    // A long wait: the writer is in (sleep on its mutex until it leaves) or
    // still waits for a descheduled mutator (let that one run).
    pthread_mutex_lock(&writers_);
    pthread_mutex_unlock(&writers_);
    sched_yield();
  }
}

bool EngineLock::try_lock() {
  if (pthread_mutex_trylock(&mutators_) != 0) return false;
  mutators_held_.store(true, std::memory_order_relaxed);
  if (pthread_mutex_trylock(&writers_) != 0) {
    unlock_mutators();
    return false;
  }
  enter_exclusive();
  return true;
}

void EngineLock::unlock() {
  assert(writer_.load(std::memory_order_relaxed));
  writer_.store(false, std::memory_order_release);
  pthread_mutex_unlock(&writers_);
  unlock_mutators();
}

void EngineLock::lock_mutator() {
  yield_to_exclusive();
  lock_mutators();
  // No writer can be inside or come (it would hold mutators_ first), so
  // this never waits; the slot keeps a later writer out until unlock.
  lock_shared();
}

void EngineLock::unlock_mutator() {
  unlock_shared();
  unlock_mutators();
}

void EngineLock::lock_shared() {
  Slot& slot = my_slot();
  for (;;) {
    slot.readers.fetch_add(1, std::memory_order_seq_cst);
    if (!writer_.load(std::memory_order_seq_cst)) return;
    slot.readers.fetch_sub(1, std::memory_order_release);
    // Wait out a short writer on the flag (a load that stays in this core's
    // cache until the writer clears it); a long one, on the writers' mutex.
    if (!spin_until([&] { return !writer_.load(std::memory_order_relaxed); }, kSpinTime)) {
      pthread_mutex_lock(&writers_);
      pthread_mutex_unlock(&writers_);
    }
  }
}

void EngineLock::unlock_shared() {
  Slot& slot = my_slot();
  assert(slot.readers.load(std::memory_order_relaxed) > 0);
  slot.readers.fetch_sub(1, std::memory_order_release);
}

}  // namespace memext
