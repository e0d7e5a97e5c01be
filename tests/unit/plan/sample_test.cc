// --sample: the key sampler and the engine sizes a sampled replay runs with.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "memext/options.h"
#include "memext/slabs.h"
#include "replay/key_set.h"
#include "replay/sample_scaling.h"
#include "traces/trace_sample.h"

namespace memext {
namespace {

EngineConfig config_from(const std::string& flags) {
  EngineConfig c;
  c.phantom = true;
  REQUIRE(apply_memcached_suboptions(c, flags).ok());
  return c;
}

TEST_CASE("the sampler keeps a fraction R of consecutive key ids, the same ones every time") {
  for (double rate : {0.5, 0.1, 0.01}) {
    const KeySampler a(rate);
    const KeySampler b(rate);
    uint64_t kept = 0;
    const uint64_t n = 1'000'000;
    for (uint64_t id = 0; id < n; ++id) {
      const bool keep = a.keeps(id);
      CHECK(keep == b.keeps(id));
      kept += keep;
    }
    // Binomial: 5 standard deviations.
    const double expect = rate * n;
    CHECK(std::abs(static_cast<double>(kept) - expect) < 5 * std::sqrt(expect));
  }
}

TEST_CASE("a smaller rate's sample is inside a larger one's; another seed is another sample") {
  const KeySampler small(0.01), large(0.1), other(0.1, 7);
  uint64_t both = 0, in_large = 0;
  for (uint64_t id = 0; id < 200'000; ++id) {
    if (small.keeps(id)) CHECK(large.keeps(id));
    in_large += large.keeps(id);
    both += large.keeps(id) && other.keeps(id);
  }
  // Independent samples overlap in about R of each other.
  CHECK(static_cast<double>(both) / static_cast<double>(in_large) ==
        doctest::Approx(0.1).epsilon(0.2));
}

TEST_CASE("KeySet tells first sightings, key 0 included, across growth") {
  KeySet set;
  for (uint64_t id = 0; id < 100'000; ++id) CHECK(set.insert(id * 7));
  for (uint64_t id = 0; id < 100'000; ++id) CHECK_FALSE(set.insert(id * 7));
  CHECK(set.size() == 100'000);
}

TEST_CASE("scaled sizes: RAM and flash by R, flash page count and wbufs per page kept") {
  const EngineConfig full = config_from("ext_path=/f:1g");
  SampleProfile profile;
  profile.max_item_bytes = 3000;
  const SlabClassTable table(full);
  profile.largest_class = table.clsid(3000);
  profile.active_classes = 10;
  EngineConfig f = full;
  f.memory_limit = 1024ull << 20;
  std::vector<std::string> rules;
  const EngineConfig c = scale_config(f, 0.1, &profile, &rules);
  // -I and slab_chunk_max shrink to a chunk that keeps classes up to 3000 B.
  CHECK(c.slab_chunk_max < f.slab_chunk_max);
  CHECK(c.item_size_max == c.slab_chunk_max);
  const SlabClassTable scaled(c);
  for (uint32_t id = 1; id <= profile.largest_class; ++id) CHECK(scaled[id].size == table[id].size);
  // Slab page: 0.1 MB (8-byte aligned), one largest chunk; -m holds the
  // full replay's 1024 pages.
  CHECK(c.slab_page_size == 104'856);
  CHECK(c.slab_chunk_max == c.slab_page_size);
  CHECK(c.memory_limit == 1024 * uint64_t{c.slab_page_size});
  // Flash: same 16 pages, 16 wbufs per page, each a tenth (4 KB aligned).
  CHECK(c.ext.paths[0].size_bytes / c.ext.page_size == 16);
  CHECK(c.ext.page_size / c.ext.wbuf_size == 16);
  CHECK(c.ext.wbuf_size % 4096 == 0);
  CHECK(static_cast<double>(c.ext.wbuf_size) == doctest::Approx(0.1 * (4 << 20)).epsilon(0.01));
  CHECK(validate_config(c).empty());
}

TEST_CASE("scaled sizes: floors where items and slab pages cannot scale, each named in a rule") {
  EngineConfig full = config_from("ext_path=/f:1g");
  full.memory_limit = 64ull << 20;
  SampleProfile profile;
  profile.max_item_bytes = 60'000;  // larger than R x 4 MB wbuf at R = 0.01
  profile.largest_class = SlabClassTable(full).clsid(60'000);
  profile.active_classes = 30;
  std::vector<std::string> rules;
  const EngineConfig c = scale_config(full, 0.01, &profile, &rules);
  CHECK(c.ext.wbuf_size >= c.item_size_max);  // a wbuf holds the largest item
  CHECK(c.item_size_max >= 60'000);
  CHECK(c.ext.paths[0].size_bytes / c.ext.page_size == 16);  // page count kept
  CHECK(c.memory_limit / c.slab_page_size >= 30);            // one page per class
  // The 60 KB item needs more than the 10 KB page (R x 1 MB): the page keeps
  // its share, and items above half of it are stored chunked.
  CHECK(c.slab_page_size == 10'480);
  CHECK(c.slab_chunk_max == c.slab_page_size / 2);
  CHECK(c.memory_limit == 64 * uint64_t{c.slab_page_size});
  CHECK(rules.size() >= 3);
  CHECK(rules[0].find("stored chunked") != std::string::npos);
  CHECK(validate_config(c).empty());

  // Without a profile (stdin) -I stays, so the wbuf is floored at it.
  rules.clear();
  const EngineConfig blind = scale_config(full, 0.01, nullptr, &rules);
  CHECK(blind.item_size_max == full.item_size_max);
  CHECK(blind.ext.wbuf_size == full.item_size_max);
  CHECK(blind.slab_page_size == full.slab_page_size);
  CHECK(validate_config(blind).empty());
}

}  // namespace
}  // namespace memext
