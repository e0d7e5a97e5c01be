// memext/restart.h — memcached's restartable cache (-e): the engine's items
// written to a stream when the server stops gracefully, and read back into
// an empty engine at the next start.
//
// memcached keeps its items in an mmap'd memory file and relinks them at
// restart; memext writes a snapshot at the stop instead. What carries over
// is what a client can see: every linked RAM item's key, value, client
// flags, CAS, exptime and last access (engine-relative: the driver must
// restart the engine's clock on the same process_started), its LRU segment
// and position, its FETCHED/ACTIVE/stale/token bits, plus the CAS counter
// and a pending flush_all. Items whose value is on flash (extstore headers)
// are not saved: memcached 1.6.18 refuses to restore a cache that has
// extstore configured, and a header means nothing without its flash file.
// The stream's format is memext's own (little-endian, CRC-32C checked).
// Thread-safety: that of Engine's exclusive calls.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "memext/engine.h"

namespace memext {

struct SaveOutcome {
  bool ok = false;             // false: the stream failed (disk full, ...)
  uint64_t items = 0;          // items written
  uint64_t flash_skipped = 0;  // extstore headers left out
  uint64_t cas_id = 0;         // the last CAS handed out
};

// Writes the engine's items and restart state to `out`.
SaveOutcome save_items(const Engine& engine, std::ostream& out);

struct LoadOutcome {
  bool ok = false;
  std::string error;       // when !ok: what is wrong with the stream
  uint64_t items = 0;      // items linked
  uint64_t no_memory = 0;  // items that found no memory (a smaller -m is refused earlier)
};

// Checks the whole stream (structure, lengths, checksum) and only then links
// its items into `engine`, which must hold no item and run in the mode
// (real or phantom) the snapshot was taken in. A bad stream loads nothing.
// `in` must be seekable. The first CAS handed out afterwards is the last
// saved one + 2, as memcached 1.6.18 gives after a restart.
LoadOutcome load_items(Engine& engine, std::istream& in);

}  // namespace memext
