#include "write_error_log.h"

#include <cstring>

namespace memext::server {

std::string WriteErrorLog::observe(uint64_t write_errors, int64_t last_result, Micros now) {
  if (write_errors <= reported_) return "";
  if (printed_ && now - last_line_ < interval_) return "";
  const uint64_t failed = write_errors - reported_;
  reported_ = write_errors;
  last_line_ = now;
  printed_ = true;
  const std::string cause = last_result < 0
                                ? std::strerror(static_cast<int>(-last_result))
                                : "short write of " + std::to_string(last_result) + " bytes";
  return "extstore: " + std::to_string(failed) + (failed == 1 ? " flash write" : " flash writes") +
         " failed (" + cause +
         "); the objects of each failed write are dropped from flash "
         "(extstore_write_errors " +
         std::to_string(write_errors) + ")\n";
}

}  // namespace memext::server
