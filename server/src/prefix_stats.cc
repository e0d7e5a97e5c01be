#include "prefix_stats.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace memext::server {
namespace {

uint32_t rotl32(uint32_t x, int r) {
  return (x << r) | (x >> (32 - r));
}

}  // namespace

uint32_t murmur3_32(std::string_view data, uint32_t seed) {
  constexpr uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  const size_t len = data.size();
  uint32_t h = seed;
  const size_t blocks = len / 4;
  for (size_t i = 0; i < blocks; ++i) {
    uint32_t k = static_cast<uint32_t>(bytes[i * 4]) |
                 static_cast<uint32_t>(bytes[i * 4 + 1]) << 8 |
                 static_cast<uint32_t>(bytes[i * 4 + 2]) << 16 |
                 static_cast<uint32_t>(bytes[i * 4 + 3]) << 24;
    k *= c1;
    k = rotl32(k, 15);
    k *= c2;
    h ^= k;
    h = rotl32(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  const uint8_t* tail = bytes + blocks * 4;
  uint32_t k = 0;
  switch (len & 3) {
    case 3:
      k ^= static_cast<uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      k ^= static_cast<uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      k ^= tail[0];
      k *= c1;
      k = rotl32(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= static_cast<uint32_t>(len);
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

PrefixStats::Entry* PrefixStats::find_locked(std::string_view key) {
  const void* at = std::memchr(key.data(), delimiter_, key.size());
  if (at == nullptr) return nullptr;
  std::string_view prefix = key.substr(0, static_cast<const char*>(at) - key.data());
  std::list<Entry>& bucket = buckets_[murmur3_32(prefix) % kBuckets];
  for (Entry& e : bucket) {
    if (e.prefix == prefix) return &e;
  }
  bucket.push_front(Entry{std::string(prefix)});
  return &bucket.front();
}

void PrefixStats::record_get(std::string_view key, bool hit) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  if (Entry* e = find_locked(key)) {
    ++e->gets;
    if (hit) ++e->hits;
  }
}

void PrefixStats::record_set(std::string_view key) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  if (Entry* e = find_locked(key)) ++e->sets;
}

void PrefixStats::record_delete(std::string_view key) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  if (Entry* e = find_locked(key)) ++e->deletes;
}

std::string PrefixStats::dump() const {
  std::string out;
  std::lock_guard lock(mutex_);
  char line[96];
  for (const std::list<Entry>& bucket : buckets_) {
    for (const Entry& e : bucket) {
      out.append("PREFIX ");
      out.append(e.prefix);
      std::snprintf(line, sizeof line,
                    " get %" PRIu64 " hit %" PRIu64 " set %" PRIu64 " del %" PRIu64 "\r\n", e.gets,
                    e.hits, e.sets, e.deletes);
      out.append(line);
    }
  }
  out.append("END\r\n");
  return out;
}

void PrefixStats::clear() {
  std::lock_guard lock(mutex_);
  for (std::list<Entry>& bucket : buckets_) bucket.clear();
}

}  // namespace memext::server
