// Deterministic random numbers for the trace generator. Our own generators and
// transforms (not <random>'s distributions, whose output differs between
// standard library versions), so a workload and seed give the same trace
// everywhere with IEEE doubles and the same libm.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

namespace memext {

// splitmix64 (Steele, Lea, Flood): seeds other generators, and derives
// independent per-key streams from (seed, key id).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// xoshiro256** (Blackman, Vigna): the generator's main stream.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    SplitMix64 sm(seed);
    for (uint64_t& w : s_) w = sm.next();
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// Uniform in [0, 1) with 53 random bits.
inline double to_unit(uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}
// Uniform in (0, 1]: safe to take the logarithm of.
inline double to_unit_open0(uint64_t bits) {
  return static_cast<double>((bits >> 11) + 1) * 0x1.0p-53;
}
// Uniform integer in [0, n) by the multiply-shift method (bias below 2^-64 * n).
inline uint64_t to_below(uint64_t bits, uint64_t n) {
  __extension__ using Wide = unsigned __int128;  // GCC and Clang on 64-bit targets
  return static_cast<uint64_t>((static_cast<Wide>(bits) * n) >> 64);
}
// Standard normal from two uniforms (Box-Muller, one output).
inline double to_normal(uint64_t bits1, uint64_t bits2) {
  return std::sqrt(-2.0 * std::log(to_unit_open0(bits1))) *
         std::cos(2.0 * std::numbers::pi * to_unit(bits2));
}

}  // namespace memext
