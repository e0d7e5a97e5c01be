// ssd_presets.h — parameters of the simulator's SSD model, its named presets
// and the "model:<preset>,key=value,..." spec parser used by memext-sim's
// device option.
//
// The parameters are kept in the units an operator reads on a datasheet
// (µs, MB/s, IOPS); ModelDevice converts them to integer nanoseconds and
// bytes per second once, at construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memext {

struct SsdModelParams {
  std::string preset;  // name of the preset these values started from

  // Parallel units (channels x dies x planes that serve IO independently).
  uint32_t units = 1;
  // Striping unit: an IO is cut at multiples of chunk_bytes and chunk c goes
  // to unit c % units, like an FTL spreading consecutive pages over dies.
  uint32_t chunk_bytes = 16384;

  // Service time of one chunk on its unit: fixed part plus len / unit rate.
  double read_us = 0;
  double write_us = 0;
  double unit_read_mb_per_s = 0;  // MB = 10^6 bytes
  double unit_write_mb_per_s = 0;

  // Device-wide caps (token buckets in virtual time); 0 = no cap.
  uint64_t read_iops = 0;
  uint64_t write_iops = 0;
  double read_mb_per_s = 0;
  double write_mb_per_s = 0;
  // Bucket depth of every cap, as time of credit: this much idle credit lets
  // a burst through unthrottled. 0 = strict pacing.
  double burst_us = 0;

  // Over-provisioning (spare / user capacity) and the write amplification
  // it implies; wa > 0 overrides the estimate.
  double op = 0.07;
  double wa = 0;

  // True: reads and writes share the units' FIFO queues, so writes (and
  // their garbage collection) delay reads. False: separate queues.
  bool interference = true;
  // Most IOs in flight before submit returns -EAGAIN; 0 = unlimited.
  uint32_t queue_depth = 0;
  // Offset/length/buffer alignment the device demands (1 = none).
  uint32_t alignment = 1;
};

struct SsdPreset {
  std::string_view name;
  std::string_view summary;  // one line for --help
  SsdModelParams params;
};

// Write amplification of uniformly random overwrites under greedy garbage
// collection for over-provisioning op: (1 + op) / (2 op), never below 1.
double greedy_write_amplification(double op);

// The write amplification the model applies: params.wa when set, else the
// greedy estimate from params.op.
double effective_write_amplification(const SsdModelParams& params);

const std::vector<SsdPreset>& ssd_presets();
constexpr std::string_view kDefaultSsdPreset = "nvme-gen4";

// Parses "[model:][<preset>][,key=value...]" into *out, starting from the
// named preset (kDefaultSsdPreset when none is named). Returns "" on
// success, else a message naming the bad preset, key or value and listing
// what is allowed; *out is then unspecified.
std::string parse_ssd_model_spec(std::string_view spec, SsdModelParams* out);

// The canonical spec of params ("model:<preset>,units=...,..."); parsing it
// gives back params exactly.
std::string format_ssd_model_spec(const SsdModelParams& params);

// Multi-line text for --help: the presets with their headline figures and
// every key the spec accepts.
std::string ssd_model_help();

}  // namespace memext
