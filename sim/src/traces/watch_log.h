// memcached 1.6.18's `watch fetchers mutations` log, turned into trace
// requests: parsing one line (logger.c's item_get and item_store formats, the
// skipped=N marker) and assembling the lines into requests in log order.
// Shared by the `--format watch` reader and `memext-sim capture`. What the
// assembler does and why: traces/README.md, "watch".
#pragma once

#include <cstdint>
#include <deque>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "traces/trace_request.h"

namespace memext {

// One parsed item_get or item_store line.
struct WatchEvent {
  uint64_t gid = 0;      // the server's global log sequence number
  uint64_t time_ns = 0;  // ts= (microseconds) in ns since the Unix epoch
  bool store = false;    // item_store, else item_get
  bool found = false;    // item_get: status=found (the size is the object's)
  Op op = Op::kGet;      // kGet, or the store's cmd
  int64_t ttl = 0;       // item_store: seconds left, -1 when already expired
  uint32_t size = 0;     // value bytes (item_get: 0 unless found)
  int64_t cfd = -1;      // the client's connection
  std::string key;       // decoded (memcached URI-encodes keys in the log)
};

enum class WatchLineKind : uint8_t {
  kEvent,      // item_get / item_store: `event` is filled
  kSkipped,    // skipped=N: the server dropped N lines; `skipped` is N
  kOther,      // a well-formed line of another stream (eviction, conn_new, ...) or "OK"
  kMalformed,  // `error` names the field and `bad` its text
};

struct WatchLine {
  WatchLineKind kind = WatchLineKind::kMalformed;
  WatchEvent event;
  uint64_t skipped = 0;
  std::string field;  // kMalformed: which field
  std::string bad;    // kMalformed: its text
  std::string why;    // kMalformed: what is wrong with it
};

// Parses one line (without its "\n"; a trailing "\r" is ignored).
WatchLine parse_watch_line(std::string_view line);

// What WatchAssembler did with the events it was given.
struct WatchCounts {
  uint64_t gets = 0;           // item_get lines given
  uint64_t stores = 0;         // item_store lines given
  uint64_t store_lookups = 0;  // item_gets that were a store's own lookup (dropped)
  uint64_t sized_by_later_store = 0;
  uint64_t sized_by_earlier = 0;
  uint64_t unsized_skipped = 0;  // get misses with no size anywhere (dropped)
  uint64_t out_of_order = 0;     // events that came after a later gid had been let out
};

// Turns events, given in the order the server wrote them, into requests in
// gid order: memcached's logger writes each worker thread's lines in
// batches, so lines of different connections interleave out of order.
// - Every store logs an item_get of its key first (the store's own lookup):
//   that get is dropped; append/prepend sizes are the logged new size less
//   the lookup's (the bytes sent).
// - A get miss logs size 0: it takes the size of a later store of the key
//   within the window, else the key's last size seen before it, else it is
//   dropped (counted).
// An event waits until one second of log time or `max_events` newer events
// have arrived, whichever is first; finish() lets everything out.
class WatchAssembler {
 public:
  explicit WatchAssembler(size_t max_events = 1 << 18);

  void add(WatchEvent event);
  void finish();
  // The next request that is ready; false when none is (yet).
  bool next(TraceRequest& out);

  const WatchCounts& counts() const { return counts_; }

 private:
  struct Held {
    WatchEvent event;
    bool dropped = false;
    bool sized_later = false;
    bool has_earlier_size = false;
    uint32_t earlier_size = 0;
  };
  struct LaterGid {
    bool operator()(const WatchEvent& a, const WatchEvent& b) const { return a.gid > b.gid; }
  };

  void order(WatchEvent event);  // stage 2, in gid order
  void release(bool all);
  void emit(Held& held);

  size_t max_events_;
  uint64_t newest_ns_ = 0;
  uint64_t released_gid_ = 0;
  bool released_any_ = false;
  std::priority_queue<WatchEvent, std::vector<WatchEvent>, LaterGid> by_gid_;
  std::deque<Held> held_;
  uint64_t held_base_ = 0;                                 // absolute index of held_.front()
  std::unordered_map<int64_t, uint64_t> last_get_by_cfd_;  // absolute index
  std::unordered_map<std::string, std::vector<uint64_t>> unsized_by_key_;
  std::unordered_map<uint64_t, uint32_t> last_size_;  // by key id
  std::deque<TraceRequest> ready_;
  WatchCounts counts_;
};

}  // namespace memext
