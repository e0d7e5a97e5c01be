// The sweep's grid expansion, its args, its stored spec, and the summary and
// CSV of the merged table.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "plan/cell_summary.h"
#include "plan/sweep_merge.h"
#include "plan/sweep_spec.h"

namespace memext {

namespace {

SweepAxis axis(const std::string& text) {
  SweepAxis a;
  REQUIRE(parse_grid_option(text, &a) == "");
  return a;
}

using Args = std::vector<std::string>;

}  // namespace

TEST_CASE("grid option shape") {
  SweepAxis a;
  CHECK(parse_grid_option("m=64,128", &a) == "");
  CHECK(a.name == "m");
  CHECK(a.values == Args{"64", "128"});
  CHECK(parse_grid_option("=1", &a).find("is not NAME=v1,v2") != std::string::npos);
  CHECK(parse_grid_option("m=1,", &a).find("empty value") != std::string::npos);
  CHECK(parse_grid_option("m=1,1", &a).find("twice") != std::string::npos);
}

TEST_CASE("cross product: last axis fastest, each cell's args the replay's") {
  SweepSpec spec;
  REQUIRE(build_sweep_spec("/t.mxt", {"--seed", "3"},
                           {axis("m=64,128"), axis("ext_low_ttl=0,60,600"), axis("C=on,off")},
                           &spec) == "");
  REQUIRE(spec.cells.size() == 12);
  CHECK(spec.cells[0].id == "c0000");
  CHECK(spec.cells[11].id == "c0011");
  CHECK(spec.cells[0].args ==
        Args{"/t.mxt", "--seed", "3", "-m", "64", "-o", "ext_low_ttl=0", "-C"});
  CHECK(spec.cells[1].args == Args{"/t.mxt", "--seed", "3", "-m", "64", "-o", "ext_low_ttl=0"});
  CHECK(spec.cells[7].args == Args{"/t.mxt", "--seed", "3", "-m", "128", "-o", "ext_low_ttl=0"});
  const std::vector<std::pair<std::string, std::string>> flags{
      {"m", "128"}, {"ext_low_ttl", "0"}, {"C", "off"}};
  CHECK(spec.cells[7].flags == flags);
}

TEST_CASE("ext_path_size rewrites every ext_path in place, wherever its -o is") {
  SweepSpec spec;
  REQUIRE(build_sweep_spec("/t.mxt",
                           {"-oext_path=/a:1g,ext_item_age=5", "--extended=ext_path=/b:1g:compact",
                            "-o", "no_lru_crawler"},
                           {axis("ext_path_size=2g,3g/4g")}, &spec) == "");
  REQUIRE(spec.cells.size() == 2);
  CHECK(spec.cells[0].args == Args{"/t.mxt", "-oext_path=/a:2g,ext_item_age=5",
                                   "--extended=ext_path=/b:2g:compact", "-o", "no_lru_crawler"});
  CHECK(spec.cells[1].args == Args{"/t.mxt", "-oext_path=/a:3g,ext_item_age=5",
                                   "--extended=ext_path=/b:4g:compact", "-o", "no_lru_crawler"});
}

TEST_CASE("many cells get wider ids; a runaway grid is refused") {
  std::string values = "0";
  for (int i = 1; i < 120; ++i) values += "," + std::to_string(i);
  SweepSpec spec;
  REQUIRE(build_sweep_spec("/t.mxt", {},
                           {axis("ext_item_age=" + values), axis("M=on,off"), axis("C=on,off"),
                            axis("hot_lru_pct=10,20,30,35,40")},
                           &spec) == "");
  CHECK(spec.cells.size() == 2400);
  CHECK(spec.cells.back().id == "c2399");
  CHECK(build_sweep_spec("/t.mxt", {},
                         {axis("ext_item_age=" + values), axis("ext_low_ttl=" + values),
                          axis("hot_lru_pct=1,2,3,4,5,6,7,8,9,10")},
                         &spec)
            .find("more than 100000 cells") != std::string::npos);
}

TEST_CASE("bad grids name the value and what is allowed") {
  SweepSpec spec;
  CHECK(build_sweep_spec("/t.mxt", {}, {axis("nosuch=1")}, &spec)
            .find("'nosuch' is not a grid axis (allowed:") != std::string::npos);
  CHECK(build_sweep_spec("/t.mxt", {}, {axis("ext_path=/a:1g")}, &spec).find("ext_path_size") !=
        std::string::npos);
  CHECK(build_sweep_spec("/t.mxt", {}, {axis("hot_lru_pct=20,95")}, &spec)
            .find("value '95' is rejected by replay") != std::string::npos);
  CHECK(build_sweep_spec("/t.mxt", {"--out", "x"}, {axis("m=64")}, &spec).find("--out") !=
        std::string::npos);
  CHECK(build_sweep_spec("/t.mxt", {"--seed", "x"}, {axis("m=64")}, &spec)
            .find("the replay flags are rejected: --seed 'x'") != std::string::npos);
  CHECK(build_sweep_spec("/t.mxt", {}, {}, &spec).find("no --grid") != std::string::npos);
}

TEST_CASE("spec JSON round trip") {
  SweepSpec spec;
  REQUIRE(build_sweep_spec("/t.mxt", {"-m", "64"}, {axis("ext_item_age=0,60"), axis("f=1.25,2")},
                           &spec) == "");
  const nlohmann::json json = sweep_spec_to_json(spec);
  CHECK(json["schema"] == "memext-sim-sweep-spec/1");
  CHECK(json["cells"][3]["flags"] == nlohmann::json{{"ext_item_age", "60"}, {"f", "2"}});
  SweepSpec back;
  REQUIRE(sweep_spec_from_json(json, &back) == "");
  CHECK(sweep_spec_to_json(back) == json);
  CHECK(back.cells[3].flags == spec.cells[3].flags);
  CHECK(sweep_spec_from_json(nlohmann::json{{"schema", "x"}}, &back) != "");
}

TEST_CASE("summarize_report reads the report's figures") {
  const nlohmann::json report = {
      {"totals",
       {{"hit_ratio", 0.75},
        {"byte_hit_ratio", 0.5},
        {"ram_hit_ratio", 0.25},
        {"flash_hit_ratio", 0.5},
        {"gets", 100},
        {"misses", 25},
        {"flash_read_misses", 5}}},
      {"engine", {{"stats", {{"bytes", 1000}, {"total_malloced", 2048}}}}},
      {"evictions", {{"ram", 7}, {"flash_pages", 2}}},
      {"device", {{"bytes_written", 4096}, {"drive_writes_per_day", 1.5}}},
      {"compaction", {{"rescues", 3}, {"lost", 1}}}};
  const nlohmann::json row = summarize_report(report);
  CHECK(row["hit_ratio"] == 0.75);
  CHECK(row["misses_by_cause"] == nlohmann::json{{"not_found", 20}, {"flash_read_miss", 5}});
  CHECK(row["dwpd"] == 1.5);
  CHECK(row["flash_bytes_written"] == 4096);
  CHECK(row["ram_bytes"] == 1000);
  CHECK(row["ram_used_bytes"] == 2048);
  CHECK(row["compaction_rescues"] == 3);
  CHECK(row["compaction_lost"] == 1);
  CHECK(row["flash_page_evictions"] == 2);
  CHECK(row["ceiling_hit_ratio"].is_null());
  CHECK(row["flash_header_bytes"].is_null());

  nlohmann::json ram_only = report;
  ram_only.erase("device");
  ram_only.erase("compaction");
  ram_only["evictions"].erase("flash_pages");
  ram_only["totals"]["ceiling_hit_ratio"] = 0.9;
  ram_only["totals"]["ram_used_bytes"] = 4096;
  ram_only["totals"]["flash_header_bytes"] = 512;
  const nlohmann::json ram_row = summarize_report(ram_only);
  CHECK(ram_row["dwpd"].is_null());
  CHECK(ram_row["flash_bytes_written"] == 0);
  CHECK(ram_row["compaction_rescues"] == 0);
  CHECK(ram_row["ceiling_hit_ratio"] == 0.9);
  CHECK(ram_row["ram_used_bytes"] == 4096);
  CHECK(ram_row["flash_header_bytes"] == 512);
}

TEST_CASE("CSV: flag columns first, nested fields flattened, null empty, quoting") {
  const nlohmann::json table = {
      {"axes",
       {{{"name", "m"}, {"values", {"64"}}}, {{"name", "ext_path_size"}, {"values", {"1g"}}}}},
      {"rows",
       {{{"id", "c0000"},
         {"flags", {{"m", "64"}, {"ext_path_size", "1g/2g,\"x\""}}},
         {"hit_ratio", 0.5},
         {"dwpd", nullptr},
         {"misses_by_cause", {{"not_found", 3}, {"flash_read_miss", 1}}}}}}};
  CHECK(sweep_table_csv(table) ==
        "flag.m,flag.ext_path_size,id,dwpd,hit_ratio,misses_by_cause.flash_read_miss,"
        "misses_by_cause.not_found\n"
        "64,\"1g/2g,\"\"x\"\"\",c0000,,0.5,1,3\n");
}

}  // namespace memext
