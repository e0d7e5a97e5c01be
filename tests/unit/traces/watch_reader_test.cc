// --format watch: memcached 1.6.18's `watch fetchers mutations` lines
// (fixtures captured from Debian's memcached 1.6.18) read as a trace.
#include <doctest/doctest.h>

#include "trace_test_util.h"
#include "traces/trace_detect.h"
#include "traces/trace_key_hash.h"
#include "traces/watch_log.h"

namespace memext::test {
namespace {

constexpr uint64_t kUs = 1000;

struct Expect {
  uint64_t time_us;
  Op op;
  std::string_view key;
  uint32_t size;
  int64_t ttl;
};

void check_requests(const std::vector<TraceRequest>& got, const std::vector<Expect>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i].time_ns == want[i].time_us * kUs);
    CHECK(got[i].op == want[i].op);
    CHECK(got[i].key_id == hash_key_bytes(want[i].key));
    CHECK(got[i].key_size == want[i].key.size());
    CHECK(got[i].value_size == want[i].size);
    CHECK(got[i].ttl == want[i].ttl);
    CHECK(got[i].op_count == 1);
  }
}

TEST_CASE("watch: one line of each kind, as memcached 1.6.18 prints them") {
  WatchLine get = parse_watch_line(
      "ts=1796545117.4321 gid=26 type=item_get key=user%3A1 status=found clsid=1 cfd=26 "
      "size=3\r");
  REQUIRE(get.kind == WatchLineKind::kEvent);
  // tv_usec printed with %d: ".4321" is 4321 microseconds, not 0.4321 s.
  CHECK(get.event.time_ns == 1796545117'004321'000ull);
  CHECK(get.event.gid == 26);
  CHECK_FALSE(get.event.store);
  CHECK(get.event.found);
  CHECK(get.event.key == "user:1");
  CHECK(get.event.size == 3);
  CHECK(get.event.cfd == 26);

  WatchLine store = parse_watch_line(
      "ts=1796545116.728208 gid=19 type=item_store key=n status=stored cmd=prepend "
      "ttl=4294967229 clsid=1 cfd=26 size=1");
  REQUIRE(store.kind == WatchLineKind::kEvent);
  CHECK(store.event.store);
  CHECK(store.event.op == Op::kPrepend);
  CHECK(store.event.ttl == -1);  // exptime in the past, printed unsigned
  CHECK(parse_watch_line("ts=1.1 gid=1 type=item_store key=n status=stored cmd=set ttl=30 "
                         "clsid=1 cfd=2 size=1")
            .event.ttl == 30);

  WatchLine skipped = parse_watch_line("skipped=128510");
  CHECK(skipped.kind == WatchLineKind::kSkipped);
  CHECK(skipped.skipped == 128510);
  CHECK(parse_watch_line("OK").kind == WatchLineKind::kOther);
  CHECK(parse_watch_line("ts=1796545117.303441 gid=33 type=eviction key=a fetch=no ttl=0 la=1 "
                         "clsid=1 size=2")
            .kind == WatchLineKind::kOther);

  struct Bad {
    std::string_view line;
    std::string_view field;
  };
  for (const Bad& bad : {
           Bad{"VALUE foo 0 3", "(line)"},
           Bad{"ts=17965.x gid=1 type=item_get key=a status=found clsid=1 cfd=1 size=1", "ts"},
           Bad{"ts=17965.1000000 gid=1 type=item_get key=a status=found cfd=1 size=1", "ts"},
           Bad{"ts=1.1 gid=-3 type=item_get key=a status=found clsid=1 cfd=1 size=1", "gid"},
           Bad{"ts=1.1 gid=3 type=item_get key=a%4 status=found clsid=1 cfd=1 size=1", "key"},
           Bad{"ts=1.1 gid=3 type=item_get status=found clsid=1 cfd=1 size=1", "key"},
           Bad{"ts=1.1 gid=3 type=item_get key=a status=lost clsid=1 cfd=1 size=1", "status"},
           Bad{"ts=1.1 gid=3 type=item_store key=a status=stored cmd=na ttl=0 cfd=1 size=1", "cmd"},
           Bad{"ts=1.1 gid=3 type=item_store key=a status=stored cmd=set ttl=x cfd=1 size=1",
               "ttl"},
           Bad{"ts=1.1 gid=3 type=item_get key=a status=found clsid=1 cfd=1 size=", "size"},
           Bad{"ts=1.1 gid=3 type=item_get key=a status=found clsid=1 cfd=1 si", "size"},
           Bad{"ts=1.1 gid=3", "type"},
           Bad{"skipped=lots", "skipped"},
       }) {
    CAPTURE(bad.line);
    const WatchLine line = parse_watch_line(bad.line);
    CHECK(line.kind == WatchLineKind::kMalformed);
    CHECK(line.field == bad.field);
  }
}

TEST_CASE("watch: a real 1.6.18 capture reads back as the workload that made it") {
  // tests/fixtures/traces/watch-1.6.18.log: two clients (cfd 17, 18) against
  // memcached 1.6.18 -t 2; the commands are in the comments.
  const std::string path = fixture("watch-1.6.18.log");
  auto reader = open_trace(path);
  CHECK(reader->format() == TraceFormat::kWatch);
  const auto requests = read_all(*reader);
  constexpr uint64_t t = 1796545908'000000;
  check_requests(requests, {
                               {t + 309685, Op::kSet, "user:1", 5, 300},  // set user:1 ttl 300
                               {t + 330300, Op::kGet, "user:1", 5, 0},    // hit
                               {t + 351065, Op::kGet, "user:2", 3, 0},    // miss, sized by the set
                               {t + 371513, Op::kSet, "user:2", 3, 60},
                               {t + 391980, Op::kGet, "user:2", 3, 0},  // get user:2 user:3: the
                               // miss of user:3 (never stored) has no size: dropped
                               {t + 412560, Op::kAppend, "user:1", 4, 0},  // 4 bytes sent
                               {t + 433046, Op::kGet, "user:1", 9, 0},       // gets
                               {t + 453534, Op::kAdd, "user:1", 1, 0},       // not_stored
                               {t + 474112, Op::kReplace, "user:9", 1, 0},   // not_stored
                               {t + 494642, Op::kSet, "sp%ce", 2, -1},       // exptime -1
                               // "get user:1\r\nset page:7 ..." in one packet
                               {t + 514983, Op::kGet, "user:1", 9, 0},
                               {t + 515038, Op::kSet, "page:7", 10, 0},
                               // delete user:2 logs only its lookup: a get
                               {t + 535564, Op::kGet, "user:2", 3, 0},
                               // after the delete: a miss, sized by the last size seen
                               {t + 556055, Op::kGet, "user:2", 3, 0},
                           });
  const TraceReadStats& s = reader->stats();
  CHECK(s.records == 14);
  CHECK(s.malformed == 0);
  CHECK(s.store_lookups == 7);  // one per store
  CHECK(s.unsized_gets == 1);   // user:3
  CHECK(s.source_dropped_lines == 0);
  CHECK(s.ignored_lines == 1);  // the watch command's "OK"
}

TEST_CASE("watch: lines the server dropped (skipped=N) are counted") {
  // An excerpt of a real capture: a client flooded 200,000 get misses while
  // the watcher did not read; then three sets.
  auto reader = open_trace(fixture("watch-1.6.18-skipped.log"));
  const auto requests = read_all(*reader);
  CHECK(reader->stats().source_dropped_lines == 23363 + 128510);
  CHECK(reader->stats().unsized_gets == 15);  // the flood's misses of never-stored keys
  REQUIRE(requests.size() == 3);
  for (const TraceRequest& r : requests) CHECK(r.op == Op::kSet);
}

TEST_CASE("watch: malformed lines are skipped and counted with their line numbers") {
  TempDir dir;
  const std::string path = dir.file("m.log");
  std::string text = read_file(fixture("watch-1.6.18.log"));
  // A line cut short (a capture killed mid-line), a response line, garbage.
  text.insert(text.find("ts=1796545908.330300"), "ts=1796545908.33 gid=4 ty\n");
  text += "END\nts=1796545909.1 gid=x type=item_get key=a status=found clsid=1 cfd=1 size=1\n";
  write_file(path, text);
  auto reader = open_trace(path);
  CHECK(reader->format() == TraceFormat::kWatch);
  CHECK(read_all(*reader).size() == 14);
  const TraceReadStats& s = reader->stats();
  CHECK(s.malformed == 3);
  REQUIRE(s.errors.size() == 3);
  CHECK(s.errors[0] == path + ": line 4: field 'type': '' is missing");
  CHECK(s.errors[1].starts_with(path + ": line 25: field '(line)': 'END' is not a memcached"));
  CHECK(s.errors[2] == path + ": line 26: field 'gid': 'x' is not an unsigned integer");
  TraceReadOptions strict;
  strict.strict = true;
  CHECK_THROWS_WITH_AS(read_all(path, strict), doctest::Contains("line 4: field 'type'"),
                       TraceError);
}

TEST_CASE("watch: lines out of gid order come out in order; a store's lookup pairs by cfd") {
  WatchAssembler a;
  auto event = [](uint64_t gid, int64_t cfd, bool store, std::string key, uint32_t size,
                  bool found = false) {
    WatchEvent e;
    e.gid = gid;
    e.time_ns = 1'000'000'000 + gid * 1000;
    e.cfd = cfd;
    e.store = store;
    e.op = store ? Op::kSet : Op::kGet;
    e.found = found;
    e.key = std::move(key);
    e.size = size;
    return e;
  };
  // Thread 2's batch (cfd 8) arrives before thread 1's (cfd 7).
  a.add(event(3, 8, false, "k", 0));  // a client's get miss of k
  a.add(event(5, 8, false, "k", 0));  // the lookup of cfd 8's set
  a.add(event(6, 8, true, "k", 40));  // set k, 40 bytes
  a.add(event(1, 7, false, "k", 0));  // cfd 7: get miss before any store
  a.add(event(2, 7, false, "j", 7, true));
  a.add(event(4, 7, false, "k", 0));  // the lookup of cfd 7's set
  a.add(event(7, 7, true, "k", 50));  // set k, 50 bytes
  TraceRequest r;
  CHECK_FALSE(a.next(r));  // held for a second of log time
  a.finish();
  std::vector<TraceRequest> out;
  while (a.next(r)) out.push_back(r);
  REQUIRE(out.size() == 5);
  CHECK(out[0].time_ns == 1'000'001'000);  // gid 1: sized by the first later store, 40
  CHECK(out[0].value_size == 40);
  CHECK(out[1].key_id == hash_key_bytes("j"));
  CHECK(out[2].time_ns == 1'000'003'000);
  CHECK(out[2].value_size == 40);
  CHECK(out[3].op == Op::kSet);
  CHECK(out[3].value_size == 40);
  CHECK(out[4].value_size == 50);
  CHECK(a.counts().store_lookups == 2);
  CHECK(a.counts().sized_by_later_store == 2);

  // With room for one event, gid 5 is let out when 6 comes; 4 is then late
  // (and still comes out first of what is left).
  WatchAssembler small(1);
  small.add(event(5, 1, false, "a", 1, true));
  small.add(event(6, 1, false, "b", 1, true));
  small.add(event(4, 2, false, "c", 1, true));
  small.finish();
  std::vector<uint64_t> keys;
  while (small.next(r)) keys.push_back(r.key_id);
  CHECK(keys ==
        std::vector<uint64_t>{hash_key_bytes("a"), hash_key_bytes("c"), hash_key_bytes("b")});
  CHECK(small.counts().out_of_order == 1);
}

TEST_CASE("watch: detection") {
  CHECK(looks_like_watch("OK\r\nts=1.2 gid=2 type=item_get key=a\n"));
  CHECK(looks_like_watch("ts=1.2 gid=2 type=item_get key=a\n"));
  CHECK(looks_like_watch("skipped=3\n"));
  CHECK_FALSE(looks_like_watch("OK\r\n"));
  CHECK_FALSE(looks_like_watch("time,key\n"));
  CHECK(detect_from_prefix("ts=1.2 gid=2 type=item_get key=a status=found\n", std::nullopt) ==
        TraceFormat::kWatch);
  CHECK(parse_trace_format("watch") == TraceFormat::kWatch);
}

}  // namespace
}  // namespace memext::test
