// Fuzzes the simulator's SSD model spec parser (`--device
// model:[preset][,key=value...]`, ssd_presets.*) and the model device built
// from an accepted spec (ssd_model.*).
//
// Checked beyond the sanitizers: a refused spec comes with a message; an
// accepted one formats to a canonical spec that parses back to the same
// parameters (the header's promise), and the device it builds serves a few
// reads and writes, completing each at a virtual time no earlier than its
// submission.
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "memext/device.h"
#include "ssd/ssd_model.h"
#include "ssd/ssd_presets.h"

using namespace memext;

namespace {

bool same(const SsdModelParams& a, const SsdModelParams& b) {
  // Bitwise for the doubles: a NaN that round-trips is the same NaN.
  auto eq = [](double x, double y) { return std::memcmp(&x, &y, sizeof x) == 0; };
  return a.preset == b.preset && a.units == b.units && a.chunk_bytes == b.chunk_bytes &&
         eq(a.read_us, b.read_us) && eq(a.write_us, b.write_us) &&
         eq(a.unit_read_mb_per_s, b.unit_read_mb_per_s) &&
         eq(a.unit_write_mb_per_s, b.unit_write_mb_per_s) && a.read_iops == b.read_iops &&
         a.write_iops == b.write_iops && eq(a.read_mb_per_s, b.read_mb_per_s) &&
         eq(a.write_mb_per_s, b.write_mb_per_s) && eq(a.burst_us, b.burst_us) && eq(a.op, b.op) &&
         eq(a.wa, b.wa) && a.interference == b.interference && a.queue_depth == b.queue_depth &&
         a.alignment == b.alignment;
}

void exercise_device(std::string_view spec) {
  constexpr uint64_t kSize = 64ull << 20;
  std::unique_ptr<ModelDevice> dev;
  try {
    dev = make_model_device(spec, kSize);
  } catch (const std::invalid_argument&) {
    // A spec parse_ssd_model_spec accepted but the device refuses (e.g. an
    // alignment beyond the device): a clear error is fine.
    return;
  }
  const uint32_t align = dev->alignment();
  if (align == 0 || align > (1u << 20)) return;
  const uint32_t len = align * ((16384 + align - 1) / align);
  for (int i = 0; i < 4; ++i) {
    IoRequest req{i % 2 == 0 ? IoOp::kWrite : IoOp::kRead, uint64_t{align} * i, len, nullptr};
    if (uint64_t{req.offset} + len > kSize) break;
    const uint64_t before = dev->now_ns();
    const int64_t rc = submit_and_wait(*dev, &req);
    fuzz_check(rc == len, "a model IO did not transfer its length");
    fuzz_check(req.completed_at_ns >= before, "an IO completed before it was submitted");
  }
  // The report's figures divide by rates and durations.
  dev->to_json(dev->now_ns() + 1);
  dev->utilization();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view spec(reinterpret_cast<const char*>(data), size);
  SsdModelParams params;
  const std::string error = parse_ssd_model_spec(spec, &params);
  if (!error.empty()) return 0;
  const std::string canonical = format_ssd_model_spec(params);
  SsdModelParams again;
  const std::string error2 = parse_ssd_model_spec(canonical, &again);
  fuzz_check(error2.empty(), "the canonical spec of an accepted spec is refused");
  fuzz_check(same(params, again), "the canonical spec parses to other parameters");
  exercise_device(spec);
  return 0;
}
