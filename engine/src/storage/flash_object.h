// storage/flash_object.h — the layout of one object on flash (documented in
// memext/extstore.h): a 36-byte header, the key, the value, zero padding up
// to the item's ITEM_ntotal. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace memext::storage {

inline constexpr uint16_t kObjectMagic = 0x4D58;
inline constexpr uint32_t kObjectHeaderSize = 36;
inline constexpr uint8_t kObjectChunked = 1;

struct ObjectFields {
  std::string_view key;
  std::string_view value;  // without "\r\n"; may be shorter than value_len (phantom engine)
  uint32_t value_len = 0;
  uint32_t client_flags = 0;
  uint32_t exptime = 0;
  uint32_t time = 0;
  uint32_t ntotal = 0;
  uint64_t cas = 0;
  bool chunked = false;
};

// Writes the object into out[0, ntotal). Precondition: ntotal >=
// kObjectHeaderSize + key.size() + value_len. Missing value bytes are zeros.
void encode_object(const ObjectFields& fields, char* out);

enum class ObjectCheck : uint8_t {
  kOk,
  kEmpty,    // no magic: zeroed space after the last object of a wbuf
  kCorrupt,  // lengths impossible for `available` bytes, or crc mismatch
};

// Parses and verifies (crc) the object at data[0, available). On kOk the
// fields' key/value point into data.
ObjectCheck decode_object(const char* data, uint64_t available, ObjectFields* fields);

}  // namespace memext::storage
