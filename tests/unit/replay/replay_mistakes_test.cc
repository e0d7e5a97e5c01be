// Mistakes get a clear answer: --max-requests bounds a record's op_count,
// options are called unknown or named with what is allowed, settings
// memcached silently ignores or reinterprets are applied as memcached does
// and warned about, and an empty or mostly malformed trace fails.
#include <doctest/doctest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "replay/replay_command.h"
#include "replay_test_util.h"
#include "report/report.h"

namespace memext {
using namespace replay_test;

namespace {

int run_replay(std::vector<std::string> args) {
  args.insert(args.begin(), "replay");
  args.push_back("--progress");
  args.push_back("off");
  return run_replay_main(std::move(args));
}

std::vector<std::string> codes(const Replayer& r) {
  std::vector<std::string> out;
  for (const ReplayWarning& w : r.warnings()) out.push_back(w.code);
  return out;
}

const ReplayWarning* find_warning(const Replayer& r, const std::string& code) {
  for (const ReplayWarning& w : r.warnings()) {
    if (w.code == code) return &w;
  }
  return nullptr;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("--max-requests caps a record's op_count") {
  TraceRequest many = req(0, Op::kGet, 1, 100);
  many.op_count = 1000;
  auto r = replay({many, req(kSec, Op::kGet, 2, 100)}, {"--max-requests", "10"});
  CHECK(r->counters().requests == 10);
  CHECK(r->counters().records == 1);
  // A corrupt op_count of 2^32 - 1 ends as fast.
  many.op_count = 4294967295u;
  auto huge = replay({many}, {"--max-requests", "5"});
  CHECK(huge->counters().requests == 5);
  // Records with op_count 1 still stop at the limit.
  auto plain = replay({req(0, Op::kGet, 1), req(1, Op::kGet, 2), req(2, Op::kGet, 3)},
                      {"--max-requests", "2"});
  CHECK(plain->counters().requests == 2);
  CHECK(plain->counters().records == 2);
}

TEST_CASE("an unknown option is called unknown, even without a value after it") {
  CHECK(parse_error({"t", "--bogus"}) == "unknown option --bogus (see --help)");
  CHECK(parse_error({"t", "--bogus=1"}) == "unknown option --bogus (see --help)");
  CHECK(parse_error({"t", "--seed"}) == "--seed needs a value");
  CHECK(parse_error({"t", "-m"}) == "-m needs a value");
}

TEST_CASE("--device model: with an empty preset takes the default preset") {
  SimOptions o = options_from({"t.mxt", "--device", "model:,units=4"});
  CHECK(o.model.preset == "nvme-gen4");
  CHECK(o.model.units == 4);
  CHECK(o.model.wa == kSimDefaultWriteAmplification);
  CHECK(options_from({"t.mxt", "--device", "model:"}).model.preset == "nvme-gen4");
  CHECK(parse_error({"t", "--device", "model:,units=0"}).find("allowed: integer 1..65536") !=
        std::string::npos);
  CHECK(parse_error({"t", "--device", "model:,,units=4"}).find("empty setting") !=
        std::string::npos);
}

TEST_CASE("ext_* options without ext_path are ignored, as memcached does, with a warning") {
  auto r = replay({req(0, Op::kSet, 1, 100)},
                  {"-o", "ext_item_age=5,ext_drop_under=3", "-o", "hot_lru_pct=30"});
  CHECK(r->flash() == nullptr);
  REQUIRE(codes(*r) == std::vector<std::string>{"ext_without_path"});
  CHECK(r->warnings()[0].message.find("ext_item_age, ext_drop_under given without ext_path") !=
        std::string::npos);
  CHECK(codes(*replay({req(0, Op::kSet, 1, 100)}, {"-o", "hot_lru_pct=30"})).empty());
}

TEST_CASE("ext_drop_under without ext_compact_under becomes a quarter of the pages, warned") {
  // 1 GB of 64 MB pages: memcached 1.6.18 reports ext_compact_under 4 and
  // ext_drop_under 4 whatever ext_drop_under says.
  auto r =
      replay({req(0, Op::kSet, 1, 100)}, {"-o", "ext_path=/tmp/memext-w1.dat:1g,ext_drop_under=3"});
  const ReplayWarning* w = find_warning(*r, "ext_drop_under_ignored");
  REQUIRE(w != nullptr);
  CHECK(w->message.find("ext_drop_under=3") != std::string::npos);
  CHECK(w->message.find("(4)") != std::string::npos);
  const nlohmann::json report = build_report(*r, *open_trace(write_trace(TempDir(), {})));
  CHECK(report["compaction"]["drop_under"] == 4);
  CHECK(report["compaction"]["compact_under"] == 4);
  // Both given: taken as they are, no warning.
  auto both = replay({req(0, Op::kSet, 1, 100)},
                     {"-o", "ext_path=/tmp/memext-w1.dat:1g,ext_compact_under=2,ext_drop_under=3"});
  CHECK(codes(*both).empty());
}

TEST_CASE("ext_paths without two pages: memcached writes nothing to flash, warned") {
  const TraceRequest big = req(0, Op::kSet, 1, 5000);
  // Smaller than one page: no page at all, no flash tier.
  auto none = replay({big, req(kSec, Op::kGet, 1, 5000)},
                     {"-o", "ext_path=/tmp/memext-w2.dat:1m,ext_item_age=0"});
  CHECK(none->flash() == nullptr);
  const ReplayWarning* w = find_warning(*none, "ext_path_no_page");
  REQUIRE(w != nullptr);
  CHECK(w->message.find("/tmp/memext-w2.dat (1 MB) is smaller than one page") != std::string::npos);
  CHECK(w->message.find("without a flash tier") != std::string::npos);
  CHECK(none->counters().hits_ram == 1);
  // One page: the flash tier exists and writes nothing.
  auto one = replay({big, req(kSec, Op::kGet, 1, 5000)},
                    {"-o", "ext_path=/tmp/memext-w2.dat:100m,ext_item_age=0"});
  REQUIRE(one->flash() != nullptr);
  CHECK(find_warning(*one, "ext_path_one_page") != nullptr);
  CHECK(one->engine_stats().curr_items == 1);
  // A small path beside a big one gets no page; the big one works.
  auto mixed = replay(
      {big}, {"-o", "ext_path=/tmp/memext-w2.dat:1g", "-o", "ext_path=/tmp/memext-w3.dat:10m"});
  REQUIRE(mixed->flash() != nullptr);
  REQUIRE(codes(*mixed) == std::vector<std::string>{"ext_path_no_page"});
  CHECK(mixed->warnings()[0].message.find("without a flash tier") == std::string::npos);
}

TEST_CASE("warnings land in the report as {code, message} objects") {
  TempDir dir;
  const std::string trace = write_trace(dir, {req(0, Op::kSet, 1, 100)});
  const std::string out = dir.file("r.json");
  REQUIRE(run_replay({trace, "-o", "ext_item_age=5", "--out", out}) == 0);
  std::ifstream in(out);
  const nlohmann::json j = nlohmann::json::parse(in);
  REQUIRE(j["warnings"].is_array());
  REQUIRE(j["warnings"].size() == 1);
  CHECK(j["warnings"][0]["code"] == "ext_without_path");
  CHECK(j["warnings"][0]["message"].get<std::string>().find("ext_item_age") != std::string::npos);
  // A clean run has an empty array.
  REQUIRE(run_replay({trace, "--out", out}) == 0);
  std::ifstream clean(out);
  CHECK(nlohmann::json::parse(clean)["warnings"] == nlohmann::json::array());
}

TEST_CASE("an empty or mostly malformed trace fails, with no report") {
  TempDir dir;
  const std::string out = dir.file("r.json");
  const std::string header_only = dir.file("h.csv");
  write_text(header_only, "op_time,key,key_size,op,op_count,size\n");
  CHECK(run_replay({header_only, "--out", out}) == 1);
  CHECK_FALSE(std::filesystem::exists(out));
  const std::string empty = dir.file("empty.bin");
  write_text(empty, "");
  CHECK(run_replay({empty, "--format", "oracle", "--out", out}) == 1);
  CHECK(run_replay({empty, "--format", "twitter", "--out", out}) == 1);
  // kvcache rows read as twitter: every row is malformed.
  const std::string kv = dir.file("kv.csv");
  write_text(kv,
             "op_time,key,key_size,op,op_count,size,cache_hits,ttl,usecase,sub_usecase\n"
             "100,aa11,10,GET,1,87,1,0,36,30\n101,bb22,10,SET,1,87,0,0,36,30\n");
  CHECK(run_replay({kv, "--format", "twitter", "--out", out}) == 1);
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK(run_replay({kv, "--out", out}) == 0);
  // One bad row in three is tolerated (and counted in the report).
  write_text(kv,
             "op_time,key,key_size,op,op_count,size\n100,aa,10,GET,1,87\n101,bb,ten,GET,1,87\n"
             "102,cc,10,GET,1,87\n");
  CHECK(run_replay({kv, "--out", out}) == 0);
}

TEST_CASE("a wrong --format that still yields records is warned about") {
  TempDir dir;
  // Two 24-byte twitter rows read as oracle: two garbage records, no
  // malformed one, so the replay runs, and says the file looks like twitter.
  const std::string trace = dir.file("t.csv");
  write_text(trace, "0,nz:aaaaa,4,10,1,get,0\n0,nz:bbbbb,4,10,1,get,0\n");
  const std::string out = dir.file("r.json");
  REQUIRE(run_replay({trace, "--format", "oracle", "--out", out}) == 0);
  std::ifstream in(out);
  const nlohmann::json j = nlohmann::json::parse(in);
  CHECK(j["totals"]["records"] == 2);
  REQUIRE(j["warnings"].size() == 1);
  CHECK(j["warnings"][0]["code"] == "format_mismatch");
  CHECK(j["warnings"][0]["message"] ==
        "--format oracle given, but the file looks like twitter, not oracle: pass --format "
        "twitter");
}

}  // namespace memext
