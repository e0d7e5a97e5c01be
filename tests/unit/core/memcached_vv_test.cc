// Compares our slab class table with what Debian's memcached prints with -vv.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "memext/options.h"
#include "memext/slabs.h"

using namespace memext;

namespace {

constexpr const char* kMemcached = "/usr/bin/memcached";

struct Row {
  uint32_t id, size, perslab;
  bool operator==(const Row&) const = default;
};

// Runs memcached -vv with the options. It prints the table while starting
// and then exits at once because its unix socket cannot be created;
// `timeout` only guards against a hang.
std::vector<Row> memcached_table(const std::string& options) {
  const std::string cmd = std::string("timeout 10 ") + kMemcached +
                          " -u root -U 0 -s /nonexistent-memext-dir/none.sock -vv " + options +
                          " 2>&1";
  std::vector<Row> rows;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return rows;
  std::array<char, 512> line{};
  while (fgets(line.data(), line.size(), pipe) != nullptr) {
    Row row{};
    if (std::sscanf(line.data(), "slab class %u: chunk size %u perslab %u", &row.id, &row.size,
                    &row.perslab) == 3) {
      rows.push_back(row);
    }
  }
  pclose(pipe);
  return rows;
}

std::vector<Row> our_table(const std::vector<std::pair<std::string, std::string>>& options) {
  EngineConfig config;
  for (const auto& [name, value] : options) {
    REQUIRE(apply_memcached_option(config, name, value).ok());
  }
  REQUIRE(validate_config(config).empty());
  SlabClassTable table(config);
  std::vector<Row> rows;
  for (uint32_t id = 1; id <= table.largest(); ++id)
    rows.push_back({id, table[id].size, table[id].perslab});
  return rows;
}

void compare(const std::string& cli, const std::vector<std::pair<std::string, std::string>>& opts) {
  if (!std::filesystem::exists(kMemcached)) {
    MESSAGE("SKIPPED: " << kMemcached << " is not installed; apt-get install memcached to run");
    return;
  }
  INFO("memcached options: " << cli);
  const std::vector<Row> theirs = memcached_table(cli);
  REQUIRE(!theirs.empty());
  const std::vector<Row> ours = our_table(opts);
  REQUIRE(ours.size() == theirs.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    INFO("class " << theirs[i].id);
    CHECK(ours[i] == theirs[i]);
  }
}

}  // namespace

TEST_CASE("slab table equals memcached -vv: defaults") {
  compare("", {});
}

TEST_CASE("slab table equals memcached -vv: -f 1.5 -n 64") {
  compare("-f 1.5 -n 64", {{"f", "1.5"}, {"n", "64"}});
}

TEST_CASE("slab table equals memcached -vv: -f 2 -I 4m") {
  compare("-f 2 -I 4m", {{"f", "2"}, {"I", "4m"}});
}

TEST_CASE("slab table equals memcached -vv: -f 1.08 -n 16 -I 2m") {
  compare("-f 1.08 -n 16 -I 2m", {{"f", "1.08"}, {"n", "16"}, {"I", "2m"}});
}

TEST_CASE("slab table equals memcached -vv: -o slab_chunk_max=16384") {
  compare("-o slab_chunk_max=16384", {{"slab_chunk_max", "16384"}});
}

TEST_CASE("slab table equals memcached -vv: -I 512k -f 1.3") {
  compare("-I 512k -f 1.3", {{"I", "512k"}, {"f", "1.3"}});
}
