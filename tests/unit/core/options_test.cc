#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "memext/engine.h"
#include "memext/options.h"

using namespace memext;

TEST_CASE("memcached flags set the config in memcached's units") {
  EngineConfig c;
  CHECK(apply_memcached_option(c, "m", "1024").ok());
  CHECK(c.memory_limit == 1024ull << 20);
  CHECK(apply_memcached_option(c, "I", "2m").ok());
  CHECK(c.item_size_max == 2u << 20);
  CHECK(apply_memcached_option(c, "I", "1536k").ok());
  CHECK(c.item_size_max == 1536u << 10);
  CHECK(apply_memcached_option(c, "f", "1.08").ok());
  CHECK(c.growth_factor == doctest::Approx(1.08));
  CHECK(apply_memcached_option(c, "n", "32").ok());
  CHECK(c.chunk_min_size == 32);
  CHECK(apply_memcached_option(c, "M", "").ok());
  CHECK(!c.evict_to_free);
  CHECK(apply_memcached_option(c, "C", "").ok());
  CHECK(!c.use_cas);
}

TEST_CASE("bad values are refused naming the option, the value and what is allowed") {
  EngineConfig c;
  OptionResult r = apply_memcached_option(c, "f", "1");
  CHECK(r.status == OptionStatus::kInvalidValue);
  CHECK(r.error.find("'1'") != std::string::npos);
  CHECK(r.error.find("greater than 1") != std::string::npos);
  CHECK(!apply_memcached_option(c, "f", "abc").ok());
  CHECK(!apply_memcached_option(c, "n", "0").ok());
  CHECK(!apply_memcached_option(c, "I", "512").ok());
  CHECK(!apply_memcached_option(c, "I", "2000m").ok());
  CHECK(!apply_memcached_option(c, "m", "1g").ok());
  r = apply_memcached_option(c, "hot_lru_pct", "80");
  CHECK(r.error.find("hot_lru_pct") != std::string::npos);
  CHECK(!apply_memcached_option(c, "hot_max_factor", "0").ok());
  CHECK(!apply_memcached_option(c, "slab_chunk_max", "16k").ok());
  CHECK(apply_memcached_option(c, "bogus", "").status == OptionStatus::kUnknownOption);
  CHECK(apply_memcached_option(c, "idle_timeout", "5").status == OptionStatus::kUnknownOption);
}

TEST_CASE("-f nan and inf are refused like -f 0.5, not divided by later") {
  for (const char* bad : {"nan", "NAN", "-nan", "inf", "-inf", "infinity", "1e400"}) {
    CAPTURE(bad);
    EngineConfig c;
    OptionResult r = apply_memcached_option(c, "f", bad);
    CHECK(r.status == OptionStatus::kInvalidValue);
    CHECK(r.error == "invalid value '" + std::string(bad) +
                         "' for option f: growth factor must be a number greater than 1");
    CHECK(c.growth_factor == doctest::Approx(1.25));
  }
  EngineConfig c;
  CHECK(apply_memcached_option(c, "f", "0.5").error ==
        "invalid value '0.5' for option f: growth factor must be a number greater than 1");
  c.growth_factor = std::numeric_limits<double>::quiet_NaN();
  CHECK(validate_config(c) == "growth factor (-f) must be greater than 1");
  c.growth_factor = std::numeric_limits<double>::infinity();
  CHECK(validate_config(c) == "growth factor (-f) must be greater than 1");
}

TEST_CASE("no option takes nan or inf for a number") {
  EngineConfig c;
  CHECK(!apply_memcached_option(c, "hot_max_factor", "nan").ok());
  CHECK(!apply_memcached_option(c, "warm_max_factor", "inf").ok());
  CHECK(!apply_memcached_option(c, "slab_automove_freeratio", "nan").ok());
}

TEST_CASE("-o suboptions: LRU settings") {
  EngineConfig c;
  CHECK(apply_memcached_suboptions(c,
                                   "hot_lru_pct=30,warm_lru_pct=30,hot_max_factor=0.5,"
                                   "warm_max_factor=3,temporary_ttl=120,slab_chunk_max=16384")
            .ok());
  CHECK(c.hot_lru_pct == 30);
  CHECK(c.warm_lru_pct == 30);
  CHECK(c.hot_max_factor == doctest::Approx(0.5));
  CHECK(c.warm_max_factor == doctest::Approx(3.0));
  CHECK(c.temp_lru);
  CHECK(c.temporary_ttl == 120);
  CHECK(c.slab_chunk_max == 16384);
  CHECK(apply_memcached_suboptions(c, "no_lru_maintainer").ok());
  CHECK(!c.lru_segmented);
  CHECK(apply_memcached_suboptions(c, "lru_maintainer").ok());
  CHECK(c.lru_segmented);
}

TEST_CASE("-o ext_* options all land in ExtConfig") {
  EngineConfig c;
  CHECK(apply_memcached_suboptions(
            c,
            "ext_path=/tmp/a:64m,ext_path=/tmp/b:2t:compact,ext_page_size=32,ext_wbuf_size=8,"
            "ext_threads=4,ext_io_depth=8,ext_item_size=1024,ext_item_age=30,ext_low_ttl=60,"
            "ext_recache_rate=100,ext_compact_under=10,ext_drop_under=5,ext_max_frag=0.5,"
            "ext_drop_unread,ext_max_sleep=5000,ext_frag_policy=fixed,slab_automove_freeratio=0.02")
            .ok());
  const ExtConfig& e = c.ext;
  REQUIRE(e.paths.size() == 2);
  CHECK(e.paths[0].path == "/tmp/a");
  CHECK(e.paths[0].size_bytes == 64ull << 20);
  CHECK(e.paths[0].bucket.empty());
  CHECK(e.paths[1].size_bytes == 2ull << 40);
  CHECK(e.paths[1].bucket == "compact");
  CHECK(e.page_size == 32ull << 20);
  CHECK(e.wbuf_size == 8ull << 20);
  CHECK(e.threads == 4);
  CHECK(e.io_depth == 8);
  CHECK(e.item_size == 1024);
  CHECK(e.item_age == 30);
  CHECK(e.low_ttl == 60);
  CHECK(e.recache_rate == 100);
  CHECK(e.compact_under == 10);
  CHECK(e.drop_under == 5);
  CHECK(e.max_frag == doctest::Approx(0.5));
  CHECK(e.drop_unread);
  CHECK(e.max_sleep_us == 5000);
  CHECK(e.frag_policy == ExtFragPolicy::kFixed);
  CHECK(e.slab_automove_freeratio == doctest::Approx(0.02));
  CHECK(!apply_memcached_option(c, "ext_path", "/tmp/x").ok());
  CHECK(!apply_memcached_option(c, "ext_path", "/tmp/x:64x").ok());
  CHECK(!apply_memcached_option(c, "ext_path", "/tmp/x:1g:hot").ok());
  CHECK(!apply_memcached_option(c, "ext_page_size", "abc").ok());
  CHECK(!apply_memcached_option(c, "ext_frag_policy", "random").ok());
}

TEST_CASE("parse_suboptions splits names and values") {
  auto v = parse_suboptions("a=1,b,,c=x=y");
  REQUIRE(v.size() == 3);
  CHECK(v[0] == std::pair<std::string, std::string>{"a", "1"});
  CHECK(v[1] == std::pair<std::string, std::string>{"b", ""});
  CHECK(v[2] == std::pair<std::string, std::string>{"c", "x=y"});
}

TEST_CASE("validate_config applies memcached's cross-option checks") {
  EngineConfig c;
  CHECK(validate_config(c).empty());
  c.item_size_max = 256 << 10;
  CHECK(validate_config(c).find("slab_chunk_max") != std::string::npos);
  c = EngineConfig{};
  c.slab_chunk_max = 300;
  CHECK(validate_config(c).find("evenly divisible") != std::string::npos);
  c = EngineConfig{};
  c.hot_lru_pct = 50;
  c.warm_lru_pct = 40;
  CHECK(validate_config(c).find("80%") != std::string::npos);
  c = EngineConfig{};
  c.memory_limit = 1 << 20;
  CHECK(!validate_config(c).empty());
  CHECK_THROWS_AS(Engine{c}, std::invalid_argument);
}

TEST_CASE("parse_size_with_unit") {
  uint64_t b = 0;
  CHECK(parse_size_with_unit("64", b));
  CHECK(b == 64);
  CHECK(parse_size_with_unit("4K", b));
  CHECK(b == 4096);
  CHECK(parse_size_with_unit("1p", b));
  CHECK(b == 1ull << 50);
  CHECK(!parse_size_with_unit("", b));
  CHECK(!parse_size_with_unit("x", b));
  CHECK(!parse_size_with_unit("99999999999p", b));
}

TEST_CASE("a bare slab_automove is mode 1; no_modern puts slab_chunk_max back to the page") {
  EngineConfig c;
  c.slab_automove = 0;
  CHECK(apply_memcached_option(c, "slab_automove", "").ok());
  CHECK(c.slab_automove == 1);
  CHECK_FALSE(apply_memcached_option(c, "slab_automove", "3").ok());
  EngineConfig old;
  CHECK(apply_memcached_option(old, "no_modern", "").ok());
  CHECK(old.slab_chunk_max == old.slab_page_size);
  CHECK(validate_config(old).empty());
  CHECK(apply_memcached_option(old, "I", "512k").ok());
  CHECK(validate_config(old).find("slab_chunk_max (bytes: 1048576) cannot be larger than -I") !=
        std::string::npos);
}
