// server/src/meta_request.h — what every meta command shares: its flags
// read like memcached 1.6.18's _meta_flag_preparse (one letter set for all
// commands, the same error lines in the same order), the key (base64 with
// b), and the return-flag helpers. Private to the meta protocol handlers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "memext/time.h"
#include "meta_protocol.h"
#include "session.h"
#include "text_protocol.h"

namespace memext::server {

// memcached's MFLAG_MAX_OPT_LENGTH, compared with its token count, which
// includes an empty terminal token.
inline constexpr size_t kMaxMetaTokens = 20;

enum class MetaCommand : uint8_t { kGet, kSet, kDelete, kArithmetic };

// The values of the flags that carry tokens, as _meta_flag_preparse reads them.
struct MetaValues {
  int32_t ttl = 0;            // T
  int32_t vivify_ttl = 0;     // N
  int32_t recache_ttl = 0;    // R
  uint32_t client_flags = 0;  // F
  uint64_t cas = 0;           // C
  uint64_t delta = 1;         // D
  uint64_t initial = 0;       // J
  char mode = 0;              // M
};

struct MetaRequest {
  std::string key_storage;
  std::string_view key;  // decoded when the b flag is given
  MetaFlags flags;
  MetaValues values;
};

// memcached prints a TTL as exptime - current_time in 32 bits, so an exptime
// in the past (T-1 sets exptime 1) wraps; 0 means never.
void append_ttl(std::string& out, rel_time_t exptime, rel_time_t now);

// Reads the flag tokens from t[first_flag] on and decodes a base64 key.
// Returns "" or the error line _meta_flag_preparse would report: a bad or
// repeated letter stops at once, a bad token is remembered and the last one
// is reported.
std::string_view preparse(const Tokens& t, size_t first_flag, MetaRequest& req);

// memcached refuses an O token of 32 bytes or more.
bool opaque_too_long(const MetaRequest& req);

// Common prelude of mg, md and ma; ms has its own order of checks. Reports
// the error itself and returns false when the request is unusable.
bool parse_request(Session& s, const Tokens& t, MetaCommand command, MetaRequest& req);

// Appends a k return flag the way memcached 1.6.18's META_KEY does: a binary
// key base64-encoded (from its bytes, so a token decoding the same way
// always prints alike) and followed by " b".
void append_key(std::string& out, std::string_view key, bool binary);

// Appends the k and O return flags (the ones every command echoes). Replies
// that echo the request print its key binary when it came with b; only an mg
// hit prints the item's key, binary when the item was stored with b.
void append_key_opaque(std::string& out, char flag, const MetaRequest& req);

// A status-only reply line (EN, NF, EX, HD...): the code, the k and O flags
// echoed in the request's order, CRLF.
std::string echoed_status(std::string_view code, const MetaRequest& req);

}  // namespace memext::server
