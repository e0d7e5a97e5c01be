#include "traces/trace_oracle_pass.h"

#include <unordered_map>

namespace memext {

std::vector<int64_t> compute_next_access(TraceReader& reader) {
  std::vector<uint64_t> keys;
  if (auto n = reader.expected_records()) keys.reserve(*n);
  std::vector<TraceRequest> batch(4096);
  while (size_t got = reader.next_batch(batch.data(), batch.size())) {
    for (size_t i = 0; i < got; ++i) keys.push_back(batch[i].key_id);
  }
  std::vector<int64_t> next(keys.size(), kNextAccessNever);
  // Walking backwards, the map holds each key's nearest later request.
  std::unordered_map<uint64_t, int64_t> later;
  later.reserve(keys.size() / 4 + 16);
  for (size_t i = keys.size(); i-- > 0;) {
    auto [it, inserted] = later.try_emplace(keys[i], static_cast<int64_t>(i));
    if (!inserted) {
      next[i] = it->second;
      it->second = static_cast<int64_t>(i);
    }
  }
  return next;
}

}  // namespace memext
