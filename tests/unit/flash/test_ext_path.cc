#include <doctest/doctest.h>

#include <string>

#include "memext/pagestore.h"

using memext::PageBucket;
using memext::parse_ext_path;

namespace {

std::string error_of(const char* arg) {
  std::string error;
  const auto spec = parse_ext_path(arg, &error);
  CHECK_FALSE(spec.has_value());
  return error;
}

bool mentions(const std::string& text, const char* needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("ext_path accepts FILE:SIZE with memcached's units") {
  std::string error;
  auto spec = parse_ext_path("/data/ext:64m", &error);
  REQUIRE(spec);
  CHECK(spec->path == "/data/ext");
  CHECK(spec->size_bytes == 64ull << 20);
  CHECK(spec->free_bucket == PageBucket::kDefault);
  CHECK(parse_ext_path("/f:5G", &error)->size_bytes == 5ull << 30);
  CHECK(parse_ext_path("/f:2t", &error)->size_bytes == 2ull << 40);
  CHECK(parse_ext_path("/f:1P", &error)->size_bytes == 1ull << 50);
}

TEST_CASE("ext_path takes a free bucket by name") {
  std::string error;
  CHECK(parse_ext_path("/f:1g:compact", &error)->free_bucket == PageBucket::kCompact);
  CHECK(parse_ext_path("/f:1g:chunked", &error)->free_bucket == PageBucket::kChunked);
  CHECK(parse_ext_path("/f:1g:lowttl", &error)->free_bucket == PageBucket::kLowTtl);
  CHECK(parse_ext_path("/f:1g:coldcompact", &error)->free_bucket == PageBucket::kColdCompact);
  CHECK(parse_ext_path("/f:1g:old", &error)->free_bucket == PageBucket::kOld);
  CHECK(parse_ext_path("/f:1g:default", &error)->free_bucket == PageBucket::kDefault);
  for (unsigned b = 0; b < memext::kPageBucketCount; ++b) {
    CHECK(memext::page_bucket_from_name(memext::page_bucket_name(b)) == PageBucket(b));
  }
  CHECK(memext::page_bucket_name(99) == "unknown");
}

TEST_CASE("ext_path rejects what memcached would silently misread") {
  CHECK(mentions(error_of("/f:0m"), "greater than zero"));
  CHECK(mentions(error_of("/f:64"), "needs a unit"));
  CHECK(mentions(error_of("/f:64k"), "allowed units are m, g, t and p"));
  CHECK(mentions(error_of("/f:1.5g"), "whole number"));
  CHECK(mentions(error_of("/f:-1g"), "whole number"));
  CHECK(mentions(error_of("/f:g"), "whole number"));
  CHECK(mentions(error_of("/f:99999999999p"), "too large"));
  CHECK(mentions(error_of("/f"), "no size"));
  CHECK(mentions(error_of("/f:"), "no size"));
  CHECK(mentions(error_of(":64m"), "no file name"));
  const std::string bucket = error_of("/f:1g:bogus");
  CHECK(mentions(bucket, "'bogus'"));
  CHECK(mentions(bucket, "default, compact, chunked, lowttl, coldcompact, old"));
  CHECK(mentions(error_of("/f:1g:default:extra"), "'default:extra'"));
}

TEST_CASE("ext_path sizes round down to whole pages like memcached") {
  std::string error;
  const auto spec = parse_ext_path("/f:100m", &error);
  REQUIRE(spec);
  CHECK(memext::ext_path_page_count(*spec, 64ull << 20, &error) == 1);
  CHECK(memext::ext_path_page_count(*parse_ext_path("/f:1g", &error), 64ull << 20, &error) == 16);
  CHECK(memext::ext_path_page_count(*parse_ext_path("/f:32m", &error), 64ull << 20, &error) == 0);
  CHECK(mentions(error, "smaller than one page"));
  CHECK(mentions(error, "/f"));
}

TEST_CASE("memcached's extstore_init limits") {
  CHECK(memext::memcached_extstore_limits_error(64 << 20, 4 << 20, 16).empty());
  CHECK(mentions(memext::memcached_extstore_limits_error(64 << 20, 6 << 20, 16),
                 "divisible by wbuf_size"));
  CHECK(mentions(memext::memcached_extstore_limits_error(3 << 20, 3 << 20, 16), "1024*1024*2"));
  CHECK(mentions(memext::memcached_extstore_limits_error(64 << 20, 4 << 20, 65536), "< 65536"));
}
