// reply_matcher.h — pairs one pipelined connection's replies with the
// requests `memext-sim validate` sent on it, in order.
//
// memcached answers each text request once, in order, but for one case: a
// get whose response it cannot build (1.6.18's process_get_command, e.g. no
// memory to read a chunked value back from flash: get_oom_extstore) is
// answered "SERVER_ERROR out of memory writing get response" after memcached
// drops every reply it had stacked since its last write to the socket
// (conn_release_items): up to reqs_per_event requests before the get ran but
// get no reply, and the line does not say which get it answers. So on that
// line the matcher asks for a marker command (`version`) to be sent and
// collects the replies up to the marker's VERSION line: counted back from
// the marker, the replies after the last such error answer the last
// requests one for one, and the error the get before them; every request
// before that get lost its reply. With two such errors before the marker,
// the requests between them are placed where each reply fits its request
// (a value's key, END for a get, STORED for a store...), fewest drops first.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "traces/trace_request.h"
#include "validate/live_protocol.h"

namespace memext {

// The error line that follows dropped replies, and the marker sent after it.
inline constexpr std::string_view kGetResponseOomLine =
    "SERVER_ERROR out of memory writing get response";
inline constexpr std::string_view kMarkerCommand = "version\r\n";

// A request sent and not yet answered: the trace request as sent, and
// whether it is a fill on miss (a set) rather than the trace's own.
struct AwaitedReply {
  TraceRequest request;
  bool fill = false;
  bool marker = false;  // the matcher's own `version`
};

struct MatchedReply {
  AwaitedReply awaited;
  bool dropped = false;  // the server ran the request but dropped its reply
  ReplyStatus status = ReplyStatus::kLine;
  std::string line;  // the reply's first line (empty when dropped)
};

// Whether a reply could answer a request of `op` whose key is `key`.
bool reply_fits(ReplyStatus status, std::string_view line, Op op, std::string_view key);

class ReplyMatcher {
 public:
  // In send order.
  void expect(const AwaitedReply& awaited);
  // Reads the replies at the start of buf; returns the bytes they took and
  // appends to *out, in request order, each request answered or dropped.
  // Returns with *error set when a reply cannot answer its request.
  size_t consume(std::string_view buf, std::vector<MatchedReply>* out, std::string* error);
  // After consume: the caller must send kMarkerCommand next, then call
  // marker_sent().
  bool marker_wanted() const { return marker_wanted_; }
  void marker_sent();
  bool empty() const { return awaited_.empty() && collected_.empty(); }

 private:
  struct Collected {
    ReplyStatus status;
    std::string line;
  };
  // Places collected_ over the requests before the marker.
  bool resolve(std::vector<MatchedReply>* out, std::string* error);
  bool place(size_t reply_end, size_t request_end, std::vector<int>* reply_of) const;
  bool fits(const Collected& reply, const AwaitedReply& awaited) const;

  std::deque<AwaitedReply> awaited_;
  std::vector<Collected> collected_;  // since the out-of-memory line, it first
  bool marker_wanted_ = false;
  bool marker_awaited_ = false;
};

}  // namespace memext
