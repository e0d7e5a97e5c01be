// memext-sim validate's pure parts: the live keys and commands, the reply
// reader, and a server's `stats settings` mapped to simulator flags (and
// refused when the simulator cannot model them).
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "validate/live_protocol.h"
#include "validate/reply_matcher.h"
#include "validate/server_settings.h"
#include "validate/validate_compare.h"

namespace memext {

namespace {

// What memcached 1.6.18 prints for -m 32 -o ext_page_size=8,ext_path=F:64m
// (the lines the mapping reads, and an unrelated one).
constexpr std::string_view kSettings =
    "STAT maxbytes 33554432\r\nSTAT growth_factor 1.25\r\nSTAT chunk_size 48\r\n"
    "STAT evictions on\r\nSTAT cas_enabled yes\r\nSTAT item_size_max 1048576\r\n"
    "STAT slab_reassign yes\r\nSTAT slab_automove 1\r\nSTAT slab_automove_ratio 0.80\r\n"
    "STAT slab_automove_window 30\r\nSTAT slab_chunk_max 524288\r\nSTAT lru_crawler yes\r\n"
    "STAT lru_crawler_sleep 100\r\nSTAT lru_crawler_tocrawl 0\r\nSTAT tail_repair_time 0\r\n"
    "STAT hash_algorithm murmur3\r\nSTAT lru_maintainer_thread yes\r\nSTAT lru_segmented yes\r\n"
    "STAT hot_lru_pct 20\r\nSTAT warm_lru_pct 40\r\nSTAT hot_max_factor 0.20\r\n"
    "STAT warm_max_factor 2.00\r\nSTAT temp_lru no\r\nSTAT temporary_ttl 61\r\n"
    "STAT ext_item_size 512\r\nSTAT ext_item_age 4294967295\r\nSTAT ext_low_ttl 0\r\n"
    "STAT ext_recache_rate 2000\r\nSTAT ext_wbuf_size 4194304\r\nSTAT ext_compact_under 2\r\n"
    "STAT ext_drop_under 2\r\nSTAT ext_max_sleep 1000000\r\nSTAT ext_max_frag 0.80\r\n"
    "STAT slab_automove_freeratio 0.010\r\nSTAT ext_drop_unread no\r\nEND\r\n";
constexpr std::string_view kStats =
    "STAT version 1.6.18\r\nSTAT extstore_pages_free 7\r\nSTAT extstore_pages_used 1\r\n"
    "STAT extstore_limit_maxbytes 67108864\r\nEND\r\n";

StatMap with(StatMap m, const std::string& name, const std::string& value) {
  m[name] = value;
  return m;
}

StatMap with(std::string_view text, const std::string& name, const std::string& value) {
  return with(parse_stat_lines(text), name, value);
}

}  // namespace

TEST_CASE("live keys have the traced length and stay distinct") {
  std::set<std::string> keys;
  for (uint64_t id : {0ull, 1ull, 61ull, 62ull, ~0ull, 0x8000000000000000ull}) {
    std::string key;
    append_live_key(key, id, live_key_length(30));
    CHECK(key.size() == 30);
    CHECK(key.find_first_of(" \r\n") == std::string::npos);
    keys.insert(key);
  }
  CHECK(keys.size() == 6);
  CHECK(live_key_length(3) == kMinLiveKeyBytes);
  CHECK(live_key_length(400) == kMaxLiveKeyBytes);
}

TEST_CASE("requests are memcached text commands; cas is sent as replace") {
  TraceRequest r;
  r.key_id = 1;
  r.value_size = 3;
  r.ttl = 60;
  std::string out;
  r.op = Op::kSet;
  append_request(out, r, 11, "abcdef");
  CHECK(out == "set 10000000000 0 60 3\r\nabc\r\n");
  out.clear();
  r.op = Op::kCas;
  append_request(out, r, 11, "abc");
  CHECK(out == "replace 10000000000 0 60 3\r\nabc\r\n");
  out.clear();
  r.op = Op::kGat;
  append_request(out, r, 12, "");
  CHECK(out == "gat 60 10000000000x\r\n");
  out.clear();
  r.op = Op::kIncr;
  append_request(out, r, 11, "");
  CHECK(out == "incr 10000000000 1\r\n");
}

TEST_CASE("replies are read whole, values by their byte count") {
  const std::string hit = "VALUE k 0 7 9\r\nab\r\nEND\r\nEND\r\nSTORED\r\n";
  Reply r = parse_reply(hit, Op::kGets);
  CHECK(r.status == ReplyStatus::kHit);
  CHECK(r.consumed == hit.size() - 8);
  for (size_t cut = 0; cut < hit.size() - 8; ++cut) {
    CHECK(parse_reply(std::string_view(hit).substr(0, cut), Op::kGet).status ==
          ReplyStatus::kIncomplete);
  }
  CHECK(parse_reply("END\r\n", Op::kGet).status == ReplyStatus::kMiss);
  CHECK(parse_reply("STORED\r\n", Op::kSet).status == ReplyStatus::kLine);
  CHECK(parse_reply("SERVER_ERROR out of memory storing object\r\n", Op::kSet).status ==
        ReplyStatus::kError);
  CHECK(parse_reply("END\r\n", Op::kSet).status == ReplyStatus::kProtocolError);
  CHECK(parse_reply("STORED\r\n", Op::kGet).status == ReplyStatus::kProtocolError);
  CHECK(parse_reply("VALUE k 0 2\r\nabXXEND\r\n", Op::kGet).status == ReplyStatus::kProtocolError);
}

namespace {

AwaitedReply awaited(Op op, uint64_t key_id) {
  AwaitedReply a;
  a.request.op = op;
  a.request.key_id = key_id;
  a.request.key_size = kMinLiveKeyBytes;
  a.request.value_size = 1;
  return a;
}

std::string live_key(uint64_t key_id) {
  std::string key;
  append_live_key(key, key_id, kMinLiveKeyBytes);
  return key;
}

// Feeds `bytes` one at a time, as a socket may deliver them, keeping what
// the matcher has not taken yet; then, when it wants one, sends the marker
// and feeds memcached's reply to it.
std::vector<MatchedReply> feed(ReplyMatcher& m, std::string_view bytes, bool marker) {
  std::vector<MatchedReply> out;
  std::string in;
  std::string error;
  for (char ch : bytes) {
    in += ch;
    in.erase(0, m.consume(in, &out, &error));
    REQUIRE(error.empty());
  }
  CHECK(m.marker_wanted() == marker);
  if (marker) {
    m.marker_sent();
    CHECK(m.consume("VERSION 1.6.18\r\n", &out, &error) == 16);
    CHECK(error.empty());
  }
  CHECK(m.empty());
  return out;
}

}  // namespace

TEST_CASE("replies are matched in order, a reply that cannot answer its request refused") {
  ReplyMatcher m;
  m.expect(awaited(Op::kSet, 1));
  m.expect(awaited(Op::kGet, 2));
  m.expect(awaited(Op::kDelete, 3));
  const std::string hit = "VALUE " + live_key(2) + " 0 1\r\nv\r\nEND\r\n";
  const auto out = feed(m, "STORED\r\n" + hit + "NOT_FOUND\r\n", false);
  REQUIRE(out.size() == 3);
  CHECK(out[1].status == ReplyStatus::kHit);
  CHECK(out[2].line == "NOT_FOUND");

  ReplyMatcher wrong_key;
  wrong_key.expect(awaited(Op::kGet, 3));
  std::vector<MatchedReply> ignored;
  std::string error;
  wrong_key.consume(hit, &ignored, &error);
  CHECK(error.find("to a get request") != std::string::npos);
  ReplyMatcher shifted;
  shifted.expect(awaited(Op::kGet, 3));
  error.clear();
  shifted.consume("STORED\r\n", &ignored, &error);
  CHECK(error == "answered 'STORED' to a get request");
}

// memcached 1.6.18 ran set a and get b in one batch; b's chunked value could
// not be read back (get_oom_extstore), so the STORED stacked for a was
// dropped and the error sent in its place; c and d came in the next batch.
// Before the matcher, the client read the error as a's reply and aborted
// with "the server answered 'STORED' to a get request".
TEST_CASE("a get's out-of-memory error after dropped replies is placed by a marker") {
  ReplyMatcher m;
  m.expect(awaited(Op::kSet, 1));
  m.expect(awaited(Op::kGet, 2));
  m.expect(awaited(Op::kSet, 3));
  m.expect(awaited(Op::kGet, 4));
  const auto out = feed(m,
                        "SERVER_ERROR out of memory writing get response\r\n"
                        "STORED\r\nEND\r\n",
                        true);
  REQUIRE(out.size() == 4);
  CHECK(out[0].dropped);
  CHECK(out[0].awaited.request.key_id == 1);
  CHECK(!out[1].dropped);
  CHECK(out[1].status == ReplyStatus::kError);
  CHECK(out[1].line == kGetResponseOomLine);
  CHECK(out[2].line == "STORED");
  CHECK(out[3].status == ReplyStatus::kMiss);
}

TEST_CASE("two out-of-memory errors before the marker: the replies between placed by fit") {
  ReplyMatcher m;
  m.expect(awaited(Op::kGet, 1));  // fails alone
  m.expect(awaited(Op::kSet, 2));
  m.expect(awaited(Op::kGet, 3));  // a hit
  m.expect(awaited(Op::kGet, 4));  // dropped
  m.expect(awaited(Op::kSet, 5));  // dropped
  m.expect(awaited(Op::kGet, 6));  // fails
  const std::string oom = std::string(kGetResponseOomLine) + "\r\n";
  const auto out =
      feed(m, oom + "STORED\r\nVALUE " + live_key(3) + " 0 1\r\nv\r\nEND\r\n" + oom, true);
  REQUIRE(out.size() == 6);
  CHECK(out[0].line == kGetResponseOomLine);
  CHECK(out[1].line == "STORED");
  CHECK(out[2].status == ReplyStatus::kHit);
  CHECK(out[3].dropped);
  CHECK(out[4].dropped);
  CHECK(out[5].line == kGetResponseOomLine);
}

TEST_CASE("replies after an out-of-memory error that no order of the requests fits are refused") {
  ReplyMatcher m;
  m.expect(awaited(Op::kGet, 1));
  m.expect(awaited(Op::kGet, 2));
  std::vector<MatchedReply> out;
  std::string error;
  m.consume(std::string(kGetResponseOomLine) + "\r\nDELETED\r\n", &out, &error);
  REQUIRE(m.marker_wanted());
  m.marker_sent();
  m.consume("VERSION 1.6.18\r\n", &out, &error);
  CHECK(error.find("in an order none of them fits") != std::string::npos);
  CHECK(out.empty());
}

TEST_CASE("a server's settings become the simulator's flags, defaults left out") {
  const ServerFlags f = server_flags(parse_stat_lines(kSettings), parse_stat_lines(kStats), "/f");
  CHECK(f.error.empty());
  CHECK(f.flash);
  CHECK(f.flags ==
        std::vector<std::string>{"-m", "32", "-o", "ext_page_size=8,ext_path=/f:67108864"});

  const ServerFlags tuned = server_flags(
      with(with(with(kSettings, "ext_item_age", "0"), "evictions", "off"), "temp_lru", "yes"),
      parse_stat_lines("STAT version 1.6.18\r\n"), "/f");
  CHECK(tuned.error.empty());
  CHECK(!tuned.flash);
  CHECK(tuned.flags == std::vector<std::string>{"-m", "32", "-M", "-o", "temporary_ttl=61"});
}

TEST_CASE("settings the simulator cannot model are refused by name and value") {
  const StatMap stats = parse_stat_lines(kStats);
  CHECK(server_flags(with(kSettings, "slab_automove", "2"), stats, "/f")
            .error.find("slab_automove 2") != std::string::npos);
  CHECK(server_flags(with(kSettings, "ext_global_pool_min", "4"), stats, "/f")
            .error.find("ext_global_pool_min 4") != std::string::npos);
  CHECK(server_flags(with(kSettings, "maxbytes", "1000"), stats, "/f").error.find("1000") !=
        std::string::npos);
  StatMap no_growth = parse_stat_lines(kSettings);
  no_growth.erase("growth_factor");
  CHECK(server_flags(no_growth, stats, "/f").error.find("growth_factor") != std::string::npos);
  CHECK(server_flags(parse_stat_lines(kSettings),
                     with(kStats, "extstore_limit_maxbytes", "67108865"), "/f")
            .error.find("67108865") != std::string::npos);
}

TEST_CASE("stat deltas cover the counters in both snapshots") {
  const StatMap d = stat_deltas(parse_stat_lines("STAT evictions 5\r\nSTAT version 1.6\r\n"),
                                parse_stat_lines("STAT evictions 12\r\nSTAT version 1.6\r\n"
                                                 "STAT new 3\r\n"));
  CHECK(d.size() == 1);
  CHECK(d.at("evictions") == "7");
}

}  // namespace memext
