// server/src/binary_commands.h — the binary protocol's commands once their
// header has been checked (binary_protocol.cc frames and validates): opcodes,
// status codes with memcached 1.6.18's error texts, and one handler per
// command family, each reaching the engine as the text protocol does.
// Used by one Session on one thread; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "binary_protocol.h"

namespace memext::server {

class Session;

enum : uint8_t {
  kOpGet = 0x00,
  kOpSet = 0x01,
  kOpAdd = 0x02,
  kOpReplace = 0x03,
  kOpDelete = 0x04,
  kOpIncrement = 0x05,
  kOpDecrement = 0x06,
  kOpQuit = 0x07,
  kOpFlush = 0x08,
  kOpGetQ = 0x09,
  kOpNoop = 0x0a,
  kOpVersion = 0x0b,
  kOpGetK = 0x0c,
  kOpGetKQ = 0x0d,
  kOpAppend = 0x0e,
  kOpPrepend = 0x0f,
  kOpStat = 0x10,
  kOpSetQ = 0x11,
  kOpAddQ = 0x12,
  kOpReplaceQ = 0x13,
  kOpDeleteQ = 0x14,
  kOpIncrementQ = 0x15,
  kOpDecrementQ = 0x16,
  kOpQuitQ = 0x17,
  kOpFlushQ = 0x18,
  kOpAppendQ = 0x19,
  kOpPrependQ = 0x1a,
  kOpTouch = 0x1c,
  kOpGat = 0x1d,
  kOpGatQ = 0x1e,
  kOpSaslListMechs = 0x20,
  kOpSaslAuth = 0x21,
  kOpSaslStep = 0x22,
  kOpGatK = 0x23,
  kOpGatKQ = 0x24,
};

enum : uint16_t {
  kStatusSuccess = 0x00,
  kStatusKeyNotFound = 0x01,
  kStatusKeyExists = 0x02,
  kStatusTooLarge = 0x03,
  kStatusInvalidArguments = 0x04,
  kStatusNotStored = 0x05,
  kStatusNonNumeric = 0x06,
  kStatusAuthError = 0x20,
  kStatusAuthContinue = 0x21,
  kStatusUnknownCommand = 0x81,
  kStatusOutOfMemory = 0x82,
};

// One request whose header passed the framing checks.
struct BinaryRequest {
  BinaryHeader header;
  uint8_t command = 0;  // the opcode, quiet variants mapped to their loud form
  bool quiet = false;
  std::string_view extras;
  std::string_view key;
  std::string_view value;  // storage commands: the body after extras and key
};

// An error response with memcached's text for `status` as its body; quiet
// commands get errors too.
void binary_error(Session& s, const BinaryRequest& r, uint16_t status);
// A success response with `body` (no extras or key), unless the command is
// quiet.
void binary_response(Session& s, const BinaryRequest& r, uint16_t status, std::string_view body,
                     uint64_t cas);

// get/getk/getq/getkq, touch, gat/gatk/gatq/gatkq.
void binary_get(Session& s, const BinaryRequest& r);
// set/add/replace/append/prepend: false (answered "Too large." and the value
// swallowed) when a value of `value_len` bytes can never be stored.
bool binary_store_fits(Session& s, const BinaryRequest& r, size_t value_len);
// Precondition: r.value holds the whole value.
void binary_store(Session& s, const BinaryRequest& r);
void binary_delete(Session& s, const BinaryRequest& r);
void binary_delta(Session& s, const BinaryRequest& r);
void binary_flush(Session& s, const BinaryRequest& r);
void binary_stat(Session& s, const BinaryRequest& r);

}  // namespace memext::server
