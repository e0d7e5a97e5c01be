#include "storage/flash_object.h"

#include <algorithm>
#include <cstring>

#include "memext/crc32c.h"

namespace memext::storage {

namespace {

template <typename T>
void put(char* out, uint32_t at, T v) {
  std::memcpy(out + at, &v, sizeof(v));  // x86-64 and aarch64 Linux are little-endian
}

template <typename T>
T get(const char* in, uint32_t at) {
  T v;
  std::memcpy(&v, in + at, sizeof(v));
  return v;
}

constexpr uint32_t kCrcOffset = 32;

}  // namespace

void encode_object(const ObjectFields& f, char* out) {
  put<uint16_t>(out, 0, kObjectMagic);
  put<uint8_t>(out, 2, static_cast<uint8_t>(f.key.size()));
  put<uint8_t>(out, 3, f.chunked ? kObjectChunked : 0);
  put<uint32_t>(out, 4, f.value_len);
  put<uint32_t>(out, 8, f.client_flags);
  put<uint32_t>(out, 12, f.exptime);
  put<uint32_t>(out, 16, f.time);
  put<uint32_t>(out, 20, f.ntotal);
  put<uint64_t>(out, 24, f.cas);
  char* key = out + kObjectHeaderSize;
  std::memcpy(key, f.key.data(), f.key.size());
  char* value = key + f.key.size();
  const size_t given = std::min<size_t>(f.value.size(), f.value_len);
  if (given != 0) std::memcpy(value, f.value.data(), given);
  const uint64_t written = kObjectHeaderSize + f.key.size() + given;
  std::memset(value + given, 0, f.ntotal - written);
  uint32_t crc = crc32c(0, out, kCrcOffset);
  crc = crc32c(crc, key, f.key.size() + f.value_len);
  put<uint32_t>(out, kCrcOffset, crc);
}

ObjectCheck decode_object(const char* data, uint64_t available, ObjectFields* f) {
  if (available < kObjectHeaderSize || get<uint16_t>(data, 0) != kObjectMagic) {
    return ObjectCheck::kEmpty;
  }
  const uint32_t key_len = get<uint8_t>(data, 2);
  f->chunked = (get<uint8_t>(data, 3) & kObjectChunked) != 0;
  f->value_len = get<uint32_t>(data, 4);
  f->client_flags = get<uint32_t>(data, 8);
  f->exptime = get<uint32_t>(data, 12);
  f->time = get<uint32_t>(data, 16);
  f->ntotal = get<uint32_t>(data, 20);
  f->cas = get<uint64_t>(data, 24);
  const uint64_t used = uint64_t{kObjectHeaderSize} + key_len + f->value_len;
  if (key_len == 0 || f->ntotal < used || f->ntotal > available) return ObjectCheck::kCorrupt;
  const char* key = data + kObjectHeaderSize;
  uint32_t crc = crc32c(0, data, kCrcOffset);
  crc = crc32c(crc, key, key_len + f->value_len);
  if (crc != get<uint32_t>(data, kCrcOffset)) return ObjectCheck::kCorrupt;
  f->key = std::string_view(key, key_len);
  f->value = std::string_view(key + key_len, f->value_len);
  return ObjectCheck::kOk;
}

}  // namespace memext::storage
