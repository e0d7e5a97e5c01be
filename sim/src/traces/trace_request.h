// One request of a cache trace, in the single form every trace reader produces
// and the replayer consumes. Keys are carried as a 64-bit id (a hash of the
// original key bytes, or the id a trace already uses) plus the original key
// length, so the hot replay path never touches key bytes.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace memext {

// memcached's storage and retrieval commands. The numeric values are part of
// the native trace format (traces/README.md): append only, never renumber.
enum class Op : uint8_t {
  kGet = 0,
  kGets = 1,
  kSet = 2,
  kAdd = 3,
  kReplace = 4,
  kCas = 5,
  kAppend = 6,
  kPrepend = 7,
  kDelete = 8,
  kIncr = 9,
  kDecr = 10,
  kTouch = 11,
  kGat = 12,
  kGats = 13,
};
inline constexpr int kOpCount = 14;

// get, gets, gat and gats: the requests hit ratios count.
constexpr bool is_get_op(Op op) {
  return op == Op::kGet || op == Op::kGets || op == Op::kGat || op == Op::kGats;
}

// Lower-case memcached command name ("get", "gats").
std::string_view op_name(Op op);
// Accepts memcached command names in any letter case; nullopt otherwise.
std::optional<Op> parse_op_name(std::string_view name);
// The comma-separated list of accepted names, for error messages.
std::string_view op_names_list();

// next_access value when the trace carries no oracle information.
inline constexpr int64_t kNextAccessUnknown = -1;
// next_access value when the oracle says the key is never requested again.
inline constexpr int64_t kNextAccessNever = std::numeric_limits<int64_t>::max();

// 48 bytes, trivially copyable; the native format stores exactly these fields.
struct TraceRequest {
  uint64_t time_ns = 0;  // request time in nanoseconds since the trace's own epoch
  uint64_t key_id = 0;   // stable 64-bit identity of the key (see trace_key_hash.h)
  // Oracle: the virtual time (request number, as the trace counts it) of the
  // next request for this key, kNextAccessNever, or kNextAccessUnknown.
  int64_t next_access = kNextAccessUnknown;
  int64_t ttl = 0;          // seconds as sent by the client (memcached exptime), 0 = none
  uint32_t key_size = 0;    // length in bytes of the original key
  uint32_t value_size = 0;  // bytes of the value (for reads: the size the trace recorded)
  uint32_t op_count = 1;    // how many times this request repeats back to back (kvcache)
  Op op = Op::kGet;

  friend bool operator==(const TraceRequest&, const TraceRequest&) = default;
};

}  // namespace memext
