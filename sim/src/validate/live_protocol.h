// live_protocol.h — what `memext-sim validate` sends a memcached-compatible
// server for one trace request (text protocol), and how it reads the reply.
//
// Keys: a trace carries a 64-bit key id and the key's length, not its bytes.
// The live key is the id in base 62 (11 characters, so distinct ids stay
// distinct) padded with 'x' to the traced length; a traced length under 11
// is sent as 11 and above 250 as 250, and the simulator is given the length
// that was sent. Values are filler bytes of the traced size, flags 0.
// A traced cas is sent as `replace` (a cas that succeeds on the item as it
// is, which is what the simulator replays; the client holds no CAS values).
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "traces/trace_request.h"

namespace memext {

inline constexpr uint32_t kMinLiveKeyBytes = 11;
inline constexpr uint32_t kMaxLiveKeyBytes = 250;

// The length of the key sent for a traced key length.
uint32_t live_key_length(uint32_t traced);
// Appends the live key of key_id, `length` (>= kMinLiveKeyBytes) bytes.
void append_live_key(std::string& out, uint64_t key_id, uint32_t length);

// Appends one command for `request` (one of its op_count repeats) with a key
// of key_length bytes; `filler` holds at least request.value_size bytes.
void append_request(std::string& out, const TraceRequest& request, uint32_t key_length,
                    std::string_view filler);

enum class ReplyStatus : uint8_t {
  kIncomplete,     // more bytes needed
  kHit,            // a retrieval answered with one VALUE
  kMiss,           // a retrieval answered END
  kLine,           // a one-line reply (STORED, NOT_FOUND, DELETED, a number, ...)
  kError,          // ERROR, CLIENT_ERROR or SERVER_ERROR (line holds it)
  kProtocolError,  // not a reply this request can get; line holds the text
};

struct Reply {
  ReplyStatus status = ReplyStatus::kIncomplete;
  size_t consumed = 0;    // bytes of buf the reply took
  std::string_view line;  // its first line, without "\r\n"
};

// Reads the reply at the start of buf to a request of `op`.
Reply parse_reply(std::string_view buf, Op op);

}  // namespace memext
