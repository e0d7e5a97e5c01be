// server/src/write_error_log.h — tells the operator on stderr that flash
// writes fail.
//
// A failed write-buffer flush (a full filesystem, a dying device) drops its
// flash page: the objects in it miss from then on, while sets keep answering
// STORED and only `extstore_write_errors` counts it. memcached's logger would
// say so; a full disk fails every flush, so the line is rate-limited: at most
// one per interval, counting the failures since the last line.
//
// Plain state, no IO; the caller prints. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "memext/time.h"

namespace memext::server {

class WriteErrorLog {
 public:
  explicit WriteErrorLog(Micros interval = 1'000'000) : interval_(interval) {}

  // `write_errors` is extstore_write_errors now and `last_result` the last
  // failed flush's result (-errno, or the bytes a short write wrote). Returns
  // the line to print ('\n'-terminated), or "" when nothing failed since the
  // last line or the last line was less than an interval ago.
  std::string observe(uint64_t write_errors, int64_t last_result, Micros now);

 private:
  Micros interval_;
  uint64_t reported_ = 0;
  Micros last_line_ = 0;
  bool printed_ = false;
};

}  // namespace memext::server
