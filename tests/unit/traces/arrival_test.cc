// --arrival: where a second's requests go in traces timed in whole seconds.
#include <doctest/doctest.h>

#include <cstring>
#include <set>

#include "trace_test_util.h"
#include "traces/trace_native.h"

namespace memext::test {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

// Twitter rows: 4 requests in second 5, 1 in second 6, 3 in second 8.
std::string twitter_trace(const TempDir& dir) {
  const std::string path = dir.file("t.csv");
  write_file(path,
             "5,a,1,10,1,get,0\n5,b,1,10,1,set,0\n5,c,1,10,1,get,0\n5,d,1,10,1,get,0\n"
             "6,e,1,10,1,get,0\n8,f,1,10,1,get,0\n8,g,1,10,1,get,0\n8,h,1,10,1,get,0\n");
  return path;
}

TraceReadOptions with(Arrival arrival, uint64_t seed = 1) {
  TraceReadOptions o;
  o.arrival = arrival;
  o.arrival_seed = seed;
  return o;
}

std::vector<uint64_t> times(const std::vector<TraceRequest>& rs) {
  std::vector<uint64_t> t;
  for (const TraceRequest& r : rs) t.push_back(r.time_ns);
  return t;
}

TEST_CASE("arrival: burst keeps whole seconds, uniform spreads each second evenly") {
  TempDir dir;
  const std::string path = twitter_trace(dir);
  const auto burst = read_all(path, with(Arrival::kBurst));
  CHECK(times(burst) == std::vector<uint64_t>{5 * kSec, 5 * kSec, 5 * kSec, 5 * kSec, 6 * kSec,
                                              8 * kSec, 8 * kSec, 8 * kSec});
  auto reader = open_trace(path, with(Arrival::kUniform));
  CHECK(reader->second_resolution());
  CHECK(reader->format() == TraceFormat::kTwitter);
  CHECK(reader->path() == path);
  const auto uniform = read_all(*reader);
  CHECK(times(uniform) == std::vector<uint64_t>{5 * kSec, 5 * kSec + kSec / 4, 5 * kSec + kSec / 2,
                                                5 * kSec + 3 * kSec / 4, 6 * kSec, 8 * kSec,
                                                8 * kSec + kSec / 3, 8 * kSec + 2 * kSec / 3});
  CHECK(reader->stats().records == 8);
  // Only times change: keys, ops and sizes stay in the trace's order.
  REQUIRE(uniform.size() == burst.size());
  for (size_t i = 0; i < burst.size(); ++i) {
    TraceRequest b = burst[i];
    b.time_ns = uniform[i].time_ns;
    CHECK(b == uniform[i]);
  }
}

TEST_CASE("arrival: poisson points stay in their second, in order, and follow the seed") {
  TempDir dir;
  const std::string path = twitter_trace(dir);
  const auto a = times(read_all(path, with(Arrival::kPoisson, 1)));
  REQUIRE(a.size() == 8);
  const uint64_t seconds[] = {5, 5, 5, 5, 6, 8, 8, 8};
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i] >= seconds[i] * kSec);
    CHECK(a[i] < (seconds[i] + 1) * kSec);
    if (i > 0) CHECK(a[i] >= a[i - 1]);
  }
  CHECK(a != times(read_all(path, with(Arrival::kUniform))));
  CHECK(a == times(read_all(path, with(Arrival::kPoisson, 1))));
  CHECK(a != times(read_all(path, with(Arrival::kPoisson, 2))));
}

TEST_CASE("arrival: poisson over many seconds spreads like uniform points") {
  // 200 seconds of 50 requests: the offsets within the second average half
  // a second and fill every tenth of it.
  TempDir dir;
  const std::string path = dir.file("many.mxt");
  {
    NativeWriterOptions wo;
    wo.flags = kNativeFlagSecondResolution;
    NativeTraceWriter w(path, wo);
    for (uint64_t s = 0; s < 200; ++s) {
      for (uint64_t i = 0; i < 50; ++i) {
        TraceRequest r;
        r.time_ns = s * kSec;
        r.key_id = s * 50 + i;
        w.write(r);
      }
    }
    w.close();
  }
  const auto t = times(read_all(path, with(Arrival::kPoisson, 9)));
  REQUIRE(t.size() == 10000);
  double sum = 0;
  std::set<uint64_t> tenths;
  for (uint64_t x : t) {
    sum += static_cast<double>(x % kSec) / kSec;
    tenths.insert(x % kSec / (kSec / 10));
  }
  CHECK(sum / t.size() == doctest::Approx(0.5).epsilon(0.02));
  CHECK(tenths.size() == 10);
}

TEST_CASE("arrival: native files spread only when flagged as whole seconds") {
  TempDir dir;
  auto write = [&](const std::string& name, uint32_t flags) {
    const std::string path = dir.file(name);
    NativeWriterOptions wo;
    wo.flags = flags;
    NativeTraceWriter w(path, wo);
    for (uint64_t i = 0; i < 4; ++i) {
      TraceRequest r;
      r.time_ns = 3 * kSec;
      r.key_id = i;
      w.write(r);
    }
    w.close();
    return path;
  };
  const std::string exact = write("exact.mxt", 0);
  const std::string seconds = write("seconds.mxt", kNativeFlagSecondResolution);
  CHECK(times(read_all(exact, with(Arrival::kUniform))) == std::vector<uint64_t>(4, 3 * kSec));
  CHECK(times(read_all(seconds, with(Arrival::kUniform))) ==
        std::vector<uint64_t>{3 * kSec, 3 * kSec + kSec / 4, 3 * kSec + kSec / 2,
                              3 * kSec + 3 * kSec / 4});
  CHECK_FALSE(open_trace(exact)->second_resolution());
  CHECK(open_trace(seconds)->second_resolution());
}

TEST_CASE("arrival: names") {
  CHECK(parse_arrival("burst") == Arrival::kBurst);
  CHECK(parse_arrival("uniform") == Arrival::kUniform);
  CHECK(parse_arrival("poisson") == Arrival::kPoisson);
  CHECK_FALSE(parse_arrival("random").has_value());
  CHECK(arrival_name(Arrival::kPoisson) == "poisson");
}

}  // namespace
}  // namespace memext::test
