#include <doctest/doctest.h>

#include <cerrno>
#include <string>

#include "write_error_log.h"

using memext::server::WriteErrorLog;

TEST_CASE("a failed flash write is logged with its cause and the counter") {
  WriteErrorLog log;
  CHECK(log.observe(0, 0, 5'000'000) == "");
  CHECK(log.observe(1, -ENOSPC, 6'000'000) ==
        "extstore: 1 flash write failed (No space left on device); the objects of each failed "
        "write are dropped from flash (extstore_write_errors 1)\n");
  CHECK(log.observe(1, -ENOSPC, 9'000'000) == "");
}

TEST_CASE("at most one line per interval, counting what it held back") {
  WriteErrorLog log(1'000'000);
  CHECK(log.observe(3, -EIO, 1'000'000).starts_with("extstore: 3 flash writes failed (Input"));
  // A full disk fails every flush: nothing more within the second...
  for (uint64_t n = 4; n < 50; ++n) CHECK(log.observe(n, -EIO, 1'000'000 + n * 1000) == "");
  // ...then one line with everything since the last one.
  std::string line = log.observe(60, 4096, 2'000'000);
  CHECK(line.starts_with("extstore: 57 flash writes failed (short write of 4096 bytes)"));
  CHECK(line.ends_with("(extstore_write_errors 60)\n"));
}
