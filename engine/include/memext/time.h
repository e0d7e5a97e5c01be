// memext/time.h — the engine's notion of time.
//
// The engine never reads a clock. The driver (server timer or simulator
// replay loop) pushes time in: rel_time_t seconds for item times, like
// memcached's `current_time`, and Micros for the wake-ups that background
// step() objects ask for.
#pragma once

#include <cstdint>

namespace memext {

// Seconds since the engine's epoch (EngineConfig::process_started), exactly
// like memcached's rel_time_t / current_time.
using rel_time_t = uint32_t;

// Microseconds on the driver's monotonic clock. Background step(now) calls
// take and return this unit; the driver chooses the epoch.
using Micros = uint64_t;

inline constexpr Micros kMicrosPerSecond = 1'000'000;

// memcached's ITEM_UPDATE_INTERVAL: an item hit within this many seconds of
// its last bump is not bumped again, and counts as "recently hit" for
// recache. memcached's clock starts at ITEM_UPDATE_INTERVAL + 2, so that
// now - kItemUpdateInterval never wraps; drivers start theirs there too.
inline constexpr rel_time_t kItemUpdateInterval = 60;
inline constexpr rel_time_t kStartRelTime = kItemUpdateInterval + 2;

// Largest exptime that is treated as relative (30 days), memcached's
// REALTIME_MAXDELTA. Larger values are absolute unix times.
inline constexpr int64_t kRealtimeMaxDelta = 60 * 60 * 24 * 30;

}  // namespace memext
