// server/src/binary_protocol.h — memcached 1.6.18's binary protocol: the
// 24-byte request and response headers, every command 1.6.18 answers (get,
// getk, getq, getkq, set, add, replace, append, prepend with their quiet
// variants, delete, incr, decr, touch, gat, gatk and quiet variants, flush,
// noop, version, stat and its groups, quit, quitq) with its status codes and
// error texts, and 1.6.18's framing rules: a malformed header answers
// "Invalid arguments" or "Unknown command" and closes, a bad magic byte
// closes without a reply, an unknown opcode is refused and its body
// swallowed.
//
// Requests reach the engine through the same calls as the text and meta
// protocols (fetch_locked, Engine::store/incr/decr/remove/flush_all), and a
// value on flash is read as for a text get: the response's slot waits in
// request order. Stat groups are the text `stats` output, framed as binary.
// Used by one Session on one thread; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace memext::server {

class Session;

inline constexpr uint8_t kBinaryRequestMagic = 0x80;
inline constexpr uint8_t kBinaryResponseMagic = 0x81;
inline constexpr size_t kBinaryHeaderSize = 24;

// The request header's fields, host byte order.
struct BinaryHeader {
  uint8_t magic = 0;
  uint8_t opcode = 0;
  uint16_t keylen = 0;
  uint8_t extlen = 0;
  uint8_t datatype = 0;
  uint16_t vbucket = 0;
  uint32_t bodylen = 0;
  uint32_t opaque = 0;
  uint64_t cas = 0;
};

// Precondition: bytes.size() >= kBinaryHeaderSize.
BinaryHeader parse_binary_header(std::string_view bytes);

// Appends a response header (magic 0x81, datatype 0).
void append_binary_header(std::string& out, uint8_t opcode, uint16_t status, uint8_t extlen,
                          uint16_t keylen, uint32_t bodylen, uint32_t opaque, uint64_t cas);

// Consumes complete binary requests from the front of `input` and returns
// how many bytes were used; like Session::consume it stops when closing,
// when a flash read is queued, or when a request is incomplete (the
// session's bytes_wanted() then says how many bytes it needs).
size_t binary_consume(Session& s, std::string_view input);

}  // namespace memext::server
