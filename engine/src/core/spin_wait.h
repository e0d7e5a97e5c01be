// core/spin_wait.h — waiting for another thread that is a few instructions
// from done (a reader leaving its section, a push filling the slot it
// reserved): pause-spin, and past a bound yield the CPU, because the thread
// waited for may have been preempted right there and need this CPU to go on.
#pragma once

#include <sched.h>

namespace memext::core {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Step `step` (counted from 0) of such a wait: a pause for the first
// `pauses` steps, a sched_yield after.
inline void pause_or_yield(unsigned step, unsigned pauses) {
  if (step < pauses) {
    cpu_relax();
  } else {
    sched_yield();
  }
}

}  // namespace memext::core
