// ssd_model.h — the simulator's model SSD: a memext::Device that stores no
// bytes and completes each IO at a virtual time computed from a queueing
// model of an SSD.
//
// Model, applied at submit() in submission order:
//  1. Admission: per-direction token buckets (IOPS and bandwidth caps, as a
//     GCRA in virtual time) delay the IO's start until it conforms.
//  2. Units: the IO is cut at chunk boundaries; chunk c queues FIFO on unit
//     c % units and is served for op_us + chunk_len / unit rate. The IO
//     completes when its last chunk does.
//  3. Writes keep their unit busy for service x write amplification (garbage
//     collection), while the host sees completion after the plain service.
//     With interference on, reads queue behind that work.
// The simulator drives time: set_now() before submitting, reap() returns the
// IOs whose completion time <= now in (completion time, submission) order.
// Nothing is random and no clock is read, so runs are reproducible.
//
// Thread-safety: one thread at a time, like every Device.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "memext/device.h"
#include "ssd/ssd_presets.h"

namespace memext {

// Totals beyond DeviceStats. Per-IO counts and latencies are taken when the
// IO is reaped; throttling and unit time when it is submitted (its schedule
// is fixed then).
struct SsdModelStats {
  uint64_t reads_completed = 0;
  uint64_t writes_completed = 0;
  uint64_t host_bytes_read = 0;
  uint64_t host_bytes_written = 0;
  uint64_t read_latency_ns_total = 0;  // submit -> completion
  uint64_t write_latency_ns_total = 0;
  uint64_t read_latency_ns_max = 0;
  uint64_t write_latency_ns_max = 0;
  uint64_t throttled_ns_total = 0;  // time IOs waited for the IOPS/bandwidth caps
  uint64_t unit_busy_ns = 0;        // sum over units of scheduled busy time
  uint64_t first_submit_ns = 0;     // virtual time of the first submit
  uint64_t scheduled_until_ns = 0;  // latest time any unit is busy until
};

// Drive writes per day: bytes_written spread over duration_ns, in multiples
// of device_bytes per 24 h. 0 when device_bytes or duration_ns is 0.
double drive_writes_per_day(uint64_t bytes_written, uint64_t device_bytes, uint64_t duration_ns);

class ModelDevice final : public Device {
 public:
  static constexpr uint64_t kNoCompletion = UINT64_MAX;

  // Throws std::invalid_argument when params are out of the ranges the spec
  // parser accepts (units 0, a zero unit rate, op <= 0 without wa...).
  ModelDevice(const SsdModelParams& params, uint64_t size);

  // Moves virtual time forward; an earlier time than now_ns() is ignored
  // (time never runs backwards).
  void set_now(uint64_t now_ns) {
    if (now_ns > now_ns_) now_ns_ = now_ns;
  }
  uint64_t now_ns() const { return now_ns_; }
  // Completion time of the earliest IO in flight, or kNoCompletion.
  uint64_t next_completion_ns() const {
    return completions_.empty() ? kNoCompletion : completions_.front().done_ns;
  }

  // Host-visible time one chunk of len bytes takes on an idle unit.
  uint64_t chunk_service_ns(IoOp op, uint32_t len) const;
  double write_amplification() const { return write_amplification_; }
  const SsdModelParams& params() const { return params_; }
  const SsdModelStats& model_stats() const { return model_stats_; }

  // host_bytes_written x write amplification.
  uint64_t estimated_nand_bytes_written() const;
  // Fraction of unit time busy from the first submit to the later of now and
  // the end of the scheduled work; 0 before any IO.
  double utilization() const;

  // The model's figures for the simulator's report: spec, write
  // amplification, host and estimated NAND bytes, utilization, mean and max
  // latencies, and drive writes per day (host and NAND) over duration_ns of
  // simulated time.
  nlohmann::json to_json(uint64_t duration_ns) const;

  bool stores_data() const override { return false; }
  // The canonical spec (format_ssd_model_spec) and the size.
  std::string describe() const override;

 protected:
  int submit_impl(IoRequest* req) override;
  // Without wait, returns only IOs done by now_ns(). With wait and nothing
  // done yet, virtual time jumps to next_completion_ns() first — the model's
  // equivalent of blocking, so submit_and_wait() works on it.
  size_t reap_impl(IoRequest** out, size_t max, bool wait) override;

 private:
  // A cap as a generic cell rate algorithm: tat is the theoretical arrival
  // time of the next unit of work, kept exactly as tat_ns + tat_rem /
  // per_second so long runs hit the cap without rounding drift.
  struct RateGate {
    uint64_t per_second = 0;  // 0 = no cap
    uint64_t tolerance_ns = 0;
    uint64_t tat_ns = 0;
    uint64_t tat_rem = 0;
    uint64_t earliest(uint64_t arrival_ns) const;
    void charge(uint64_t start_ns, uint64_t amount);
  };

  struct Direction {
    uint64_t base_ns = 0;
    uint64_t unit_bytes_per_s = 0;
    RateGate iops;
    RateGate bandwidth;
  };

  struct Completion {
    uint64_t done_ns;
    uint64_t seq;
    uint64_t submitted_ns;
    IoRequest* req;
  };
  // Min-heap order for std::push_heap/pop_heap.
  static bool later(const Completion& a, const Completion& b) {
    return a.done_ns != b.done_ns ? a.done_ns > b.done_ns : a.seq > b.seq;
  }

  uint64_t transfer_ns(const Direction& dir, uint32_t len) const;
  uint64_t occupancy_ns(IoOp op, uint64_t service_ns) const;
  void account_completion(const Completion& done);

  SsdModelParams params_;
  double write_amplification_;
  Direction read_;
  Direction write_;
  // Per-unit time the unit's FIFO queue drains. With interference both
  // directions use read_free_at_.
  std::vector<uint64_t> read_free_at_;
  std::vector<uint64_t> write_free_at_;
  std::vector<Completion> completions_;  // heap, earliest first
  uint64_t now_ns_ = 0;
  uint64_t next_seq_ = 0;
  SsdModelStats model_stats_;
};

// Parses spec (see parse_ssd_model_spec) and builds the device; throws
// std::invalid_argument with the parser's message on a bad spec.
std::unique_ptr<ModelDevice> make_model_device(std::string_view spec, uint64_t size);

}  // namespace memext
