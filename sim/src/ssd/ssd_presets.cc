#include "ssd/ssd_presets.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace memext {

// Write amplification model: Agarwal & Marrow, "A closed-form expression for
// write amplification in NAND flash", IEEE GLOBECOM Workshops 2010. For
// uniformly random single-page overwrites with greedy victim selection it
// gives WA = (1 + op) / (2 op), op = (physical - user) / user capacity. It
// slightly underestimates the exact greedy figure (Xiang & Kurkoski 2012:
// 2.17 vs 2.35 measured at op = 0.3), and it is pessimistic for large
// sequential overwrites such as extstore's 64 MB pages, which free whole
// erase blocks (WA near 1): pass wa=1 to model that.
double greedy_write_amplification(double op) {
  if (!(op > 0)) return std::numeric_limits<double>::infinity();
  return std::max(1.0, (1.0 + op) / (2.0 * op));
}

double effective_write_amplification(const SsdModelParams& params) {
  return params.wa > 0 ? params.wa : greedy_write_amplification(params.op);
}

namespace {

// Preset figures are rounded, datasheet-class numbers for TLC drives of each
// interface generation:
//  - nvme-gen4: PCIe 4.0 x4 drives such as Samsung 980 PRO 1 TB (7,000 MB/s
//    read, 5,000 MB/s write, 1,000K/1,000K random 4 KB IOPS) and Intel
//    D7-P5500 (7,000/4,300 MB/s, 1M random read IOPS).
//  - nvme-gen3: PCIe 3.0 x4 drives such as Samsung 970 EVO Plus (3,500/3,300
//    MB/s, 600K/550K IOPS) and Intel DC P4510 (~3,200 MB/s, ~640K read IOPS);
//    rounded down to the ~500K IOPS class figure.
//  - sata-ssd: SATA 6 Gb/s drives such as Samsung 870 EVO (560/530 MB/s,
//    98K/88K IOPS) and Intel D3-S4510 (560/510 MB/s, 97K read IOPS).
// Datasheets give throughput, not structure: units, chunk and per-unit rates
// are chosen so the caps bind under load (units can out-run the caps) and a
// lone 4 KB read takes the typical queue-depth-1 latency of the class:
// read_us + 4096 B / unit rate (409.6 MB/s -> 10 µs) = 80 / 90 / 120 µs.
// Over-provisioning 0.07 is the usual client-drive figure (GB sold vs GiB of
// NAND); with the greedy estimate it makes sustained random writes several
// times slower than bursts, as steady-state datasheet figures show.
SsdModelParams make_params(std::string_view name, uint32_t units, double read_us, double write_us,
                           uint64_t read_iops, uint64_t write_iops, double read_mb_per_s,
                           double write_mb_per_s) {
  SsdModelParams p;
  p.preset = std::string(name);
  p.units = units;
  p.chunk_bytes = 16384;
  p.read_us = read_us;
  p.write_us = write_us;
  p.unit_read_mb_per_s = 409.6;
  p.unit_write_mb_per_s = 409.6;
  p.read_iops = read_iops;
  p.write_iops = write_iops;
  p.read_mb_per_s = read_mb_per_s;
  p.write_mb_per_s = write_mb_per_s;
  p.op = 0.07;
  return p;
}

// Everything the parser accepts: how to set a key from text, read it back
// as text, and the allowed values for error messages and --help.
struct KeySpec {
  std::string_view name;
  std::string_view allowed;
  std::string_view meaning;
  bool (*set)(SsdModelParams&, std::string_view);
  std::string (*get)(const SsdModelParams&);
};

bool parse_uint(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool parse_double(std::string_view text, double* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(*out);
}

std::string format_double(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

template <auto Member, uint64_t Min, uint64_t Max>
bool set_uint(SsdModelParams& p, std::string_view text) {
  uint64_t v = 0;
  if (!parse_uint(text, &v) || v < Min || v > Max) return false;
  p.*Member = static_cast<std::remove_reference_t<decltype(p.*Member)>>(v);
  return true;
}

template <auto Member>
std::string get_uint(const SsdModelParams& p) {
  return std::to_string(p.*Member);
}

// MinExclusive: the value must be > Min (rates), else >= Min. The bounds are
// whole numbers: clang 14 (the fuzz build) takes no double template arguments.
template <auto Member, uint64_t Min, uint64_t Max, bool MinExclusive = false>
bool set_double(SsdModelParams& p, std::string_view text) {
  double v = 0;
  if (!parse_double(text, &v) || v > static_cast<double>(Max)) return false;
  const auto min = static_cast<double>(Min);
  if (MinExclusive ? !(v > min) : v < min) return false;
  p.*Member = v;
  return true;
}

template <auto Member>
std::string get_double(const SsdModelParams& p) {
  return format_double(p.*Member);
}

bool set_chunk_kb(SsdModelParams& p, std::string_view text) {
  uint64_t kb = 0;
  if (!parse_uint(text, &kb) || kb < 1 || kb > 65536) return false;
  p.chunk_bytes = static_cast<uint32_t>(kb * 1024);
  return true;
}

std::string get_chunk_kb(const SsdModelParams& p) {
  return std::to_string(p.chunk_bytes / 1024);
}

bool set_wa(SsdModelParams& p, std::string_view text) {
  double v = 0;
  if (!parse_double(text, &v) || !(v == 0 || (v >= 1 && v <= 1000))) return false;
  p.wa = v;
  return true;
}

bool set_interference(SsdModelParams& p, std::string_view text) {
  if (text == "1" || text == "true" || text == "on" || text == "yes") {
    p.interference = true;
  } else if (text == "0" || text == "false" || text == "off" || text == "no") {
    p.interference = false;
  } else {
    return false;
  }
  return true;
}

std::string get_interference(const SsdModelParams& p) {
  return p.interference ? "1" : "0";
}

bool set_alignment(SsdModelParams& p, std::string_view text) {
  uint64_t v = 0;
  if (!parse_uint(text, &v) || v < 1 || v > (1u << 20) || (v & (v - 1)) != 0) return false;
  p.alignment = static_cast<uint32_t>(v);
  return true;
}

constexpr uint64_t kMaxU32 = std::numeric_limits<uint32_t>::max();

const KeySpec kKeys[] = {
    {"units", "integer 1..65536", "parallel units (channels x dies)",
     set_uint<&SsdModelParams::units, 1, 65536>, get_uint<&SsdModelParams::units>},
    {"chunk_kb", "integer 1..65536", "striping unit in KiB; chunk c goes to unit c % units",
     set_chunk_kb, get_chunk_kb},
    {"read_us", "number 0..1000000", "fixed service time of a read chunk, µs",
     set_double<&SsdModelParams::read_us, 0, 1000000>, get_double<&SsdModelParams::read_us>},
    {"write_us", "number 0..1000000", "fixed service time of a write chunk, µs",
     set_double<&SsdModelParams::write_us, 0, 1000000>, get_double<&SsdModelParams::write_us>},
    {"unit_read_mb_per_s", "number > 0 and <= 1000000", "transfer rate of one unit, reads, MB/s",
     set_double<&SsdModelParams::unit_read_mb_per_s, 0, 1000000, true>,
     get_double<&SsdModelParams::unit_read_mb_per_s>},
    {"unit_write_mb_per_s", "number > 0 and <= 1000000", "transfer rate of one unit, writes, MB/s",
     set_double<&SsdModelParams::unit_write_mb_per_s, 0, 1000000, true>,
     get_double<&SsdModelParams::unit_write_mb_per_s>},
    {"read_iops", "integer 0..1000000000 (0 = no cap)", "device read IOPS cap",
     set_uint<&SsdModelParams::read_iops, 0, 1000000000>, get_uint<&SsdModelParams::read_iops>},
    {"write_iops", "integer 0..1000000000 (0 = no cap)", "device write IOPS cap",
     set_uint<&SsdModelParams::write_iops, 0, 1000000000>, get_uint<&SsdModelParams::write_iops>},
    {"read_mb_per_s", "number 0..10000000 (0 = no cap)", "device read bandwidth cap, MB/s",
     set_double<&SsdModelParams::read_mb_per_s, 0, 10000000>,
     get_double<&SsdModelParams::read_mb_per_s>},
    {"write_mb_per_s", "number 0..10000000 (0 = no cap)", "device write bandwidth cap, MB/s",
     set_double<&SsdModelParams::write_mb_per_s, 0, 10000000>,
     get_double<&SsdModelParams::write_mb_per_s>},
    {"burst_us", "number 0..1000000000", "idle credit of the caps' token buckets, µs",
     set_double<&SsdModelParams::burst_us, 0, 1000000000>, get_double<&SsdModelParams::burst_us>},
    {"op", "number > 0 and <= 100", "over-provisioning, spare / user capacity",
     set_double<&SsdModelParams::op, 0, 100, true>, get_double<&SsdModelParams::op>},
    {"wa", "0 (estimate from op) or number 1..1000", "write amplification override", set_wa,
     get_double<&SsdModelParams::wa>},
    {"interference", "0|1|on|off|true|false|yes|no", "reads queue behind writes on shared units",
     set_interference, get_interference},
    {"qd", "integer 0..4294967295 (0 = unlimited)", "most IOs in flight (-EAGAIN beyond)",
     set_uint<&SsdModelParams::queue_depth, 0, kMaxU32>, get_uint<&SsdModelParams::queue_depth>},
    {"align", "power of two 1..1048576", "required offset/length/buffer alignment, bytes",
     set_alignment, get_uint<&SsdModelParams::alignment>},
};

const KeySpec* find_key(std::string_view name) {
  for (const KeySpec& key : kKeys) {
    if (key.name == name) return &key;
  }
  return nullptr;
}

const SsdPreset* find_preset(std::string_view name) {
  for (const SsdPreset& preset : ssd_presets()) {
    if (preset.name == name) return &preset;
  }
  return nullptr;
}

std::string allowed_keys() {
  std::string out;
  for (const KeySpec& key : kKeys) {
    if (!out.empty()) out += ", ";
    out += key.name;
  }
  return out;
}

std::string allowed_presets() {
  std::string out;
  for (const SsdPreset& preset : ssd_presets()) {
    if (!out.empty()) out += ", ";
    out += preset.name;
  }
  return out;
}

}  // namespace

const std::vector<SsdPreset>& ssd_presets() {
  static const std::vector<SsdPreset> presets = {
      {"nvme-gen4", "PCIe 4.0 NVMe TLC: 7000/5000 MB/s, 1M/1M IOPS, 80 µs 4K read at QD1",
       make_params("nvme-gen4", 128, 70, 10, 1000000, 1000000, 7000, 5000)},
      {"nvme-gen3", "PCIe 3.0 NVMe TLC: 3500/3000 MB/s, 500K/450K IOPS, 90 µs 4K read at QD1",
       make_params("nvme-gen3", 64, 80, 15, 500000, 450000, 3500, 3000)},
      {"sata-ssd", "SATA 6Gb/s TLC: 550/520 MB/s, 95K/88K IOPS, 120 µs 4K read at QD1",
       make_params("sata-ssd", 32, 110, 30, 95000, 88000, 550, 520)},
  };
  return presets;
}

std::string parse_ssd_model_spec(std::string_view spec, SsdModelParams* out) {
  constexpr std::string_view kPrefix = "model:";
  if (spec.substr(0, kPrefix.size()) == kPrefix) spec.remove_prefix(kPrefix.size());

  *out = find_preset(kDefaultSsdPreset)->params;
  bool first = true;
  while (true) {
    size_t comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      if (item.empty()) {
        if (first && comma == std::string_view::npos) return "";  // "" or "model:"
        return "empty setting in SSD model spec (expected <preset>,key=value,...)";
      }
      const SsdPreset* preset = find_preset(item);
      if (preset != nullptr && first) {
        *out = preset->params;
      } else if (preset != nullptr) {
        return "SSD model preset '" + std::string(item) + "' must come first in the spec";
      } else if (first && find_key(item) == nullptr) {
        return "unknown SSD model preset '" + std::string(item) +
               "' (allowed: " + allowed_presets() + ")";
      } else {
        return "SSD model setting '" + std::string(item) + "' has no value (expected key=value; " +
               "allowed keys: " + allowed_keys() + ")";
      }
    } else {
      std::string_view name = item.substr(0, eq);
      std::string_view value = item.substr(eq + 1);
      const KeySpec* key = find_key(name);
      if (key == nullptr) {
        return "unknown SSD model key '" + std::string(name) +
               "' (allowed keys: " + allowed_keys() + ")";
      }
      if (!key->set(*out, value)) {
        return "bad value '" + std::string(value) + "' for SSD model key '" + std::string(name) +
               "' (allowed: " + std::string(key->allowed) + ")";
      }
    }
    first = false;
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return "";
}

std::string format_ssd_model_spec(const SsdModelParams& params) {
  std::string out = "model:" + params.preset;
  for (const KeySpec& key : kKeys) {
    out += ',';
    out += key.name;
    out += '=';
    out += key.get(params);
  }
  return out;
}

std::string ssd_model_help() {
  std::string out = "SSD model spec: model:[<preset>][,key=value...]  (default preset " +
                    std::string(kDefaultSsdPreset) + ")\npresets:\n";
  for (const SsdPreset& preset : ssd_presets()) {
    out += "  " + std::string(preset.name) + "  " + std::string(preset.summary) + "\n";
  }
  out += "keys:\n";
  for (const KeySpec& key : kKeys) {
    out += "  " + std::string(key.name) + "  " + std::string(key.meaning) + " [" +
           std::string(key.allowed) + "]\n";
  }
  return out;
}

}  // namespace memext
