#include "plan/calibrate_workload.h"

#include <algorithm>
#include <cassert>
#include <stdexcept>
#include <vector>

#include "ssd/ssd_model.h"

namespace memext {

namespace {

// splitmix64: small, fast and the same on every platform.
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

// Enough IOs that queueing on randomly chosen units averages out (the
// figures' sampling noise is about 1 / sqrt(measured) of the mean). A mixed
// job's minority direction is a random share of the IOs, so it gets more.
uint64_t default_measured(const FioJob& job) {
  const uint64_t base = std::clamp<uint64_t>(uint64_t{64} * job.depth, 6000, 60000);
  const bool mixed = job.read_fraction > 0 && job.read_fraction < 1;
  return mixed ? 4 * base : base;
}

}  // namespace

ModelledJob run_job_on_model(const SsdModelParams& params, const FioJob& job,
                             const ModelRunOptions& options) {
  assert(job.depth >= 1);
  SsdModelParams model = params;
  model.queue_depth = 0;  // fio's depth is the limit here
  model.alignment = 1;
  const uint32_t largest = std::max(job.read_bs, job.write_bs);
  const uint64_t span = std::max<uint64_t>(job.span_bytes, largest);
  ModelDevice device(model, span);

  const uint64_t warmup = options.warmup_ios != 0
                              ? options.warmup_ios
                              : std::max<uint64_t>(uint64_t{8} * job.depth, 512);
  const uint64_t measured =
      options.measured_ios != 0 ? options.measured_ios : default_measured(job);

  Rng rng{options.seed * 0x2545f4914f6cdd1dull + 1};
  uint64_t read_cursor = 0;
  uint64_t write_cursor = 0;
  std::vector<IoRequest> requests(job.depth);
  std::vector<uint64_t> submitted_at(job.depth);
  auto issue = [&](size_t slot) {
    IoRequest& req = requests[slot];
    const bool read =
        job.read_fraction >= 1 || (job.read_fraction > 0 && rng.unit() < job.read_fraction);
    req.op = read ? IoOp::kRead : IoOp::kWrite;
    req.len = read ? job.read_bs : job.write_bs;
    const uint64_t blocks = span / req.len;
    uint64_t& cursor = read ? read_cursor : write_cursor;
    uint64_t block;
    if (job.random) {
      block = rng.next() % blocks;
    } else {
      block = cursor;
      cursor = cursor + 1 == blocks ? 0 : cursor + 1;
    }
    req.offset = block * req.len;
    req.user = reinterpret_cast<void*>(slot);
    submitted_at[slot] = device.now_ns();
    if (device.submit(&req) != 0) throw std::logic_error("SSD model refused a calibration IO");
  };
  for (size_t slot = 0; slot < requests.size(); ++slot) issue(slot);

  ModelledJob out;
  double read_latency = 0;
  double write_latency = 0;
  uint64_t completed = 0;
  uint64_t window_start = 0;
  uint64_t window_end = 0;
  std::vector<IoRequest*> done(job.depth);
  while (completed < warmup + measured) {
    const size_t got = device.reap(done.data(), done.size(), true);
    assert(got > 0);
    for (size_t i = 0; i < got && completed < warmup + measured; ++i) {
      IoRequest* req = done[i];
      const auto slot = reinterpret_cast<size_t>(req->user);
      ++completed;
      if (completed == warmup) {
        window_start = req->completed_at_ns;
      } else if (completed > warmup) {
        const double latency = static_cast<double>(req->completed_at_ns - submitted_at[slot]);
        if (req->op == IoOp::kRead) {
          ++out.read.ios;
          read_latency += latency;
        } else {
          ++out.write.ios;
          write_latency += latency;
        }
        window_end = req->completed_at_ns;
      }
      issue(slot);
    }
  }
  const double seconds = std::max<double>(1, static_cast<double>(window_end - window_start)) / 1e9;
  for (auto [side, latency, bs] : {std::tuple{&out.read, read_latency, job.read_bs},
                                   std::tuple{&out.write, write_latency, job.write_bs}}) {
    if (side->ios == 0) continue;
    side->iops = static_cast<double>(side->ios) / seconds;
    side->bytes_per_s = side->iops * bs;
    side->lat_mean_ns = latency / static_cast<double>(side->ios);
  }
  return out;
}

}  // namespace memext
