// The 64-bit key identity used by every trace reader: readers of formats whose
// keys are strings hash the key bytes with hash_key_bytes, so the same key in
// any text format gets the same id. The function is fixed (it is part of what
// makes a converted trace reproducible): never change its output.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace memext {

// murmur3's 64-bit finalizer: a bijection that spreads every input bit.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// Not cryptographic; collisions matter only at the 2^-64 level per key pair.
inline uint64_t hash_key_bytes(std::string_view key) {
  const char* p = key.data();
  size_t n = key.size();
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xc2b2ae3d27d4eb4fULL);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);  // host order: callers run on little-endian hosts (checked in .cc)
    h = mix64(h ^ w) * 0x9e3779b97f4a7c15ULL;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    for (size_t i = 0; i < n; ++i)
      w |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
    h = mix64(h ^ w ^ 0x5bd1e9955bd1e995ULL) * 0x9e3779b97f4a7c15ULL;
  }
  return mix64(h);
}

}  // namespace memext
