#include "ssd/ssd_model.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace memext {

namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr double kNsPerDay = 86400.0 * 1e9;

uint64_t us_to_ns(double us) {
  return static_cast<uint64_t>(std::llround(us * 1000.0));
}

uint64_t mb_to_bytes(double mb) {
  return static_cast<uint64_t>(std::llround(mb * 1e6));
}

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("SSD model: " + what);
}

}  // namespace

double drive_writes_per_day(uint64_t bytes_written, uint64_t device_bytes, uint64_t duration_ns) {
  if (device_bytes == 0 || duration_ns == 0) return 0;
  double days = static_cast<double>(duration_ns) / kNsPerDay;
  return static_cast<double>(bytes_written) / static_cast<double>(device_bytes) / days;
}

uint64_t ModelDevice::RateGate::earliest(uint64_t arrival_ns) const {
  if (per_second == 0) return arrival_ns;
  // Conforming once t >= tat - tolerance; t is whole ns, so round tat up.
  uint64_t tat_ceil = tat_ns + (tat_rem != 0 ? 1 : 0);
  uint64_t limit = tat_ceil > tolerance_ns ? tat_ceil - tolerance_ns : 0;
  return std::max(arrival_ns, limit);
}

void ModelDevice::RateGate::charge(uint64_t start_ns, uint64_t amount) {
  if (per_second == 0) return;
  // Idle: the bucket refilled, pacing restarts at start_ns. A start at tat
  // rounded up to the whole ns is not idleness; resetting there would drop
  // the fraction and drift below the cap.
  const uint64_t tat_ceil = tat_ns + (tat_rem != 0 ? 1 : 0);
  if (tat_ceil < start_ns) {
    tat_ns = start_ns;
    tat_rem = 0;
  }
  // amount <= 2^32 (an IO's length), so amount * 1e9 fits in 64 bits.
  uint64_t scaled = amount * kNsPerSecond;
  tat_ns += scaled / per_second;
  tat_rem += scaled % per_second;
  if (tat_rem >= per_second) {
    tat_rem -= per_second;
    ++tat_ns;
  }
}

ModelDevice::ModelDevice(const SsdModelParams& params, uint64_t size)
    : Device(size, params.alignment),
      params_(params),
      write_amplification_(effective_write_amplification(params)) {
  require(params.units >= 1, "units must be >= 1");
  require(params.chunk_bytes >= 1, "chunk size must be >= 1 byte");
  require(params.alignment >= 1 && (params.alignment & (params.alignment - 1)) == 0,
          "align must be a power of two");
  require(params.read_us >= 0 && params.write_us >= 0, "read_us and write_us must be >= 0");
  require(std::isfinite(write_amplification_) && write_amplification_ >= 1,
          "op must be > 0 (or wa >= 1 given)");
  read_.base_ns = us_to_ns(params.read_us);
  write_.base_ns = us_to_ns(params.write_us);
  read_.unit_bytes_per_s = mb_to_bytes(params.unit_read_mb_per_s);
  write_.unit_bytes_per_s = mb_to_bytes(params.unit_write_mb_per_s);
  require(read_.unit_bytes_per_s > 0 && write_.unit_bytes_per_s > 0,
          "unit_read_mb_per_s and unit_write_mb_per_s must be > 0");
  read_.iops.per_second = params.read_iops;
  write_.iops.per_second = params.write_iops;
  read_.bandwidth.per_second = mb_to_bytes(params.read_mb_per_s);
  write_.bandwidth.per_second = mb_to_bytes(params.write_mb_per_s);
  uint64_t tolerance = us_to_ns(params.burst_us);
  for (RateGate* gate : {&read_.iops, &read_.bandwidth, &write_.iops, &write_.bandwidth}) {
    gate->tolerance_ns = tolerance;
  }
  read_free_at_.assign(params.units, 0);
  if (!params.interference) write_free_at_.assign(params.units, 0);
}

uint64_t ModelDevice::transfer_ns(const Direction& dir, uint32_t len) const {
  uint64_t scaled = static_cast<uint64_t>(len) * kNsPerSecond;
  return (scaled + dir.unit_bytes_per_s - 1) / dir.unit_bytes_per_s;
}

uint64_t ModelDevice::chunk_service_ns(IoOp op, uint32_t len) const {
  const Direction& dir = op == IoOp::kRead ? read_ : write_;
  return dir.base_ns + transfer_ns(dir, len);
}

uint64_t ModelDevice::occupancy_ns(IoOp op, uint64_t service_ns) const {
  if (op == IoOp::kRead || write_amplification_ == 1.0) return service_ns;
  return static_cast<uint64_t>(
      std::llround(static_cast<double>(service_ns) * write_amplification_));
}

int ModelDevice::submit_impl(IoRequest* req) {
  if (params_.queue_depth != 0 && completions_.size() >= params_.queue_depth) return -EAGAIN;
  const uint64_t arrival = now_ns_;
  if (next_seq_ == 0) model_stats_.first_submit_ns = arrival;

  Direction& dir = req->op == IoOp::kRead ? read_ : write_;
  const uint64_t start = std::max(dir.iops.earliest(arrival), dir.bandwidth.earliest(arrival));
  dir.iops.charge(start, 1);
  dir.bandwidth.charge(start, req->len);
  model_stats_.throttled_ns_total += start - arrival;

  std::vector<uint64_t>& free_at =
      (req->op == IoOp::kWrite && !params_.interference) ? write_free_at_ : read_free_at_;
  const uint64_t chunk = params_.chunk_bytes;
  const uint64_t end = req->offset + req->len;
  uint64_t pos = req->offset;
  uint64_t chunk_index = pos / chunk;
  uint32_t unit = static_cast<uint32_t>(chunk_index % params_.units);
  uint64_t done = start;
  while (pos < end) {
    uint64_t chunk_end = std::min(end, (chunk_index + 1) * chunk);
    uint64_t service = chunk_service_ns(req->op, static_cast<uint32_t>(chunk_end - pos));
    uint64_t occupancy = occupancy_ns(req->op, service);
    uint64_t begin = std::max(start, free_at[unit]);
    free_at[unit] = begin + occupancy;
    done = std::max(done, begin + service);
    model_stats_.unit_busy_ns += occupancy;
    model_stats_.scheduled_until_ns = std::max(model_stats_.scheduled_until_ns, free_at[unit]);
    pos = chunk_end;
    ++chunk_index;
    if (++unit == params_.units) unit = 0;
  }

  completions_.push_back(Completion{done, next_seq_++, arrival, req});
  std::push_heap(completions_.begin(), completions_.end(), later);
  return 0;
}

void ModelDevice::account_completion(const Completion& done) {
  const uint64_t latency = done.done_ns - done.submitted_ns;
  IoRequest* req = done.req;
  if (req->op == IoOp::kRead) {
    ++model_stats_.reads_completed;
    model_stats_.host_bytes_read += req->len;
    model_stats_.read_latency_ns_total += latency;
    model_stats_.read_latency_ns_max = std::max(model_stats_.read_latency_ns_max, latency);
  } else {
    ++model_stats_.writes_completed;
    model_stats_.host_bytes_written += req->len;
    model_stats_.write_latency_ns_total += latency;
    model_stats_.write_latency_ns_max = std::max(model_stats_.write_latency_ns_max, latency);
  }
}

size_t ModelDevice::reap_impl(IoRequest** out, size_t max, bool wait) {
  if (wait && !completions_.empty() && completions_.front().done_ns > now_ns_) {
    now_ns_ = completions_.front().done_ns;
  }
  size_t n = 0;
  while (n < max && !completions_.empty() && completions_.front().done_ns <= now_ns_) {
    std::pop_heap(completions_.begin(), completions_.end(), later);
    const Completion done = completions_.back();
    completions_.pop_back();
    done.req->result = done.req->len;
    done.req->completed_at_ns = done.done_ns;
    account_completion(done);
    out[n++] = done.req;
  }
  return n;
}

uint64_t ModelDevice::estimated_nand_bytes_written() const {
  return static_cast<uint64_t>(
      std::llround(static_cast<double>(model_stats_.host_bytes_written) * write_amplification_));
}

double ModelDevice::utilization() const {
  if (next_seq_ == 0) return 0;
  uint64_t horizon = std::max(now_ns_, model_stats_.scheduled_until_ns);
  uint64_t span = horizon - model_stats_.first_submit_ns;
  if (span == 0) return 0;
  return static_cast<double>(model_stats_.unit_busy_ns) /
         (static_cast<double>(span) * static_cast<double>(params_.units));
}

nlohmann::json ModelDevice::to_json(uint64_t duration_ns) const {
  const SsdModelStats& s = model_stats_;
  auto mean = [](uint64_t total, uint64_t count) {
    return count == 0 ? 0.0 : static_cast<double>(total) / static_cast<double>(count);
  };
  const uint64_t nand_bytes = estimated_nand_bytes_written();
  return nlohmann::json{
      {"spec", format_ssd_model_spec(params_)},
      {"size_bytes", size()},
      {"write_amplification", write_amplification_},
      {"reads_completed", s.reads_completed},
      {"writes_completed", s.writes_completed},
      {"host_bytes_read", s.host_bytes_read},
      {"host_bytes_written", s.host_bytes_written},
      {"nand_bytes_written_estimate", nand_bytes},
      {"read_latency_ns_mean", mean(s.read_latency_ns_total, s.reads_completed)},
      {"read_latency_ns_max", s.read_latency_ns_max},
      {"write_latency_ns_mean", mean(s.write_latency_ns_total, s.writes_completed)},
      {"write_latency_ns_max", s.write_latency_ns_max},
      {"throttled_ns_total", s.throttled_ns_total},
      {"utilization", utilization()},
      {"duration_ns", duration_ns},
      {"host_dwpd", drive_writes_per_day(s.host_bytes_written, size(), duration_ns)},
      {"nand_dwpd", drive_writes_per_day(nand_bytes, size(), duration_ns)},
  };
}

std::string ModelDevice::describe() const {
  return format_ssd_model_spec(params_) + " (" + std::to_string(size()) + " bytes)";
}

std::unique_ptr<ModelDevice> make_model_device(std::string_view spec, uint64_t size) {
  SsdModelParams params;
  std::string error = parse_ssd_model_spec(spec, &params);
  if (!error.empty()) throw std::invalid_argument(error);
  return std::make_unique<ModelDevice>(params, size);
}

}  // namespace memext
