// Key sampling for miniature simulation (`memext-sim replay --sample R`): a
// key is in the sample when its sample hash falls in the lowest fraction R of
// the 64-bit range, so every request of a sampled key is kept and every
// request of any other key is dropped, the same way on every run.
//
// The sample hash is not the engine's hash (the engine hashes the 8 key-id
// bytes with its own function) nor trace_key_hash.h's mix64 alone: key ids of
// generated traces are small consecutive integers and Zipf ranks, so the id
// is first offset by a fixed odd constant and then mixed twice, which makes
// the in/out decision independent of both the rank and the engine's buckets.
#pragma once

#include <cassert>
#include <cmath>
#include <cstdint>

#include "traces/trace_key_hash.h"

namespace memext {

// seed picks another, independent sample of the same rate (--sample-seed).
inline uint64_t sample_hash(uint64_t key_id, uint64_t seed = 0) {
  return mix64(mix64(key_id + 0x5851f42d4c957f2dULL + seed * 0x9e3779b97f4a7c15ULL) ^
               0xd1b54a32d192ed03ULL);
}

// Keys whose sample_hash is below the threshold are in the sample.
class KeySampler {
 public:
  explicit KeySampler(double rate, uint64_t seed = 0) : rate_(rate), seed_(seed) {
    assert(rate > 0 && rate <= 1);
    all_ = rate >= 1;
    // 2^64 * rate, computed in long double so rates near 1 do not overflow.
    threshold_ =
        all_ ? UINT64_MAX : static_cast<uint64_t>(std::ldexp(static_cast<long double>(rate), 64));
  }
  bool keeps(uint64_t key_id) const { return all_ || sample_hash(key_id, seed_) < threshold_; }
  double rate() const { return rate_; }
  // keeps(id) is all() || sample_hash(id, seed) < threshold().
  uint64_t threshold() const { return threshold_; }
  bool all() const { return all_; }

 private:
  double rate_;
  uint64_t seed_;
  bool all_;
  uint64_t threshold_;
};

}  // namespace memext
