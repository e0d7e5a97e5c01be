// Oracle annotation: computes every request's next_access (libCacheSim's
// next_access_vtime) for traces that do not carry it, so that Belady-style
// analyses can run on any trace after `memext-sim convert --oracle`.
// Holds 16 bytes per request plus a hash map of distinct keys in memory: meant
// for traces up to a few hundred million requests.
#pragma once

#include <cstdint>
#include <vector>

#include "traces/trace_reader.h"

namespace memext {

// Reads `reader` to its end. Element i is the index (0-based, counting
// records, not op_count repeats) of the next request for the same key_id, or
// kNextAccessNever.
std::vector<int64_t> compute_next_access(TraceReader& reader);

}  // namespace memext
