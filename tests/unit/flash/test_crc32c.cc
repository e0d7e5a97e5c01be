#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "memext/crc32c.h"

using memext::crc32c;

TEST_CASE("crc32c matches the Castagnoli check value and known vectors") {
  const char* check = "123456789";
  CHECK(crc32c(0, check, 9) == 0xE3069283u);
  CHECK(memext::crc32c_software(0, check, 9) == 0xE3069283u);
  CHECK(crc32c(0, "", 0) == 0u);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, and 32 bytes of 0xff.
  std::vector<unsigned char> zeros(32, 0), ones(32, 0xff);
  CHECK(crc32c(0, zeros.data(), zeros.size()) == 0x8A9136AAu);
  CHECK(crc32c(0, ones.data(), ones.size()) == 0x62A8AB43u);
  std::vector<unsigned char> ascending(32);
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<unsigned char>(i);
  CHECK(crc32c(0, ascending.data(), ascending.size()) == 0x46DD794Eu);
}

TEST_CASE("crc32c chains like memcached's crc32c(crc, buf, len)") {
  const std::string a = "hello, ", b = "extstore world";
  const std::string ab = a + b;
  CHECK(crc32c(crc32c(0, a.data(), a.size()), b.data(), b.size()) ==
        crc32c(0, ab.data(), ab.size()));
}

TEST_CASE("hardware and software crc32c agree on every length and alignment") {
  if (!memext::crc32c_hardware_available()) {
    MESSAGE("CPU has no SSE4.2; only the software path is tested");
    return;
  }
  std::mt19937 rng(7);
  std::vector<unsigned char> data(4096 + 16);
  for (auto& c : data) c = static_cast<unsigned char>(rng());
  for (size_t start = 0; start < 8; ++start) {
    for (size_t len = 0; len < 300; ++len) {
      REQUIRE(memext::crc32c_hardware(0x1234u, data.data() + start, len) ==
              memext::crc32c_software(0x1234u, data.data() + start, len));
    }
  }
  CHECK(memext::crc32c_hardware(0, data.data(), 4096) ==
        memext::crc32c_software(0, data.data(), 4096));
}

TEST_CASE("a single flipped bit changes the crc32c") {
  std::vector<unsigned char> data(1000, 'x');
  const uint32_t before = crc32c(0, data.data(), data.size());
  data[517] ^= 0x04;
  CHECK(crc32c(0, data.data(), data.size()) != before);
}
