// Fuzzes the memcached watch log reader (sim/src/traces/trace_watch.cc,
// watch_log.cc); see trace_fuzz.h for what is checked.
#include "trace_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return memext::fuzzing::fuzz_trace(data, size, memext::TraceFormat::kWatch);
}
