#include "replay/replay_warnings.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "replay/sim_options.h"

namespace memext {

namespace {

std::string rate_text(double rate) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", rate);
  return text;
}

std::string megabytes(uint64_t bytes) {
  if (bytes % (1ull << 20) == 0) return std::to_string(bytes >> 20) + " MB";
  return std::to_string(bytes) + " bytes";
}

// The ext_* names given with -o (ext_path excepted), in the order given.
std::vector<std::string> ext_options_given(const std::vector<std::string>& flags) {
  std::vector<std::string> names;
  for (size_t i = 0; i + 1 < flags.size(); ++i) {
    if (flags[i] != "-o") continue;
    std::string_view list = flags[i + 1];
    while (!list.empty()) {
      const size_t comma = list.find(',');
      const std::string_view item = list.substr(0, comma);
      const std::string_view name = item.substr(0, item.find('='));
      if (name.starts_with("ext_") && name != "ext_path") names.emplace_back(name);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return names;
}

}  // namespace

uint64_t ext_page_total(const SimOptions& options) {
  const ExtConfig& ext = options.engine.ext;
  uint64_t pages = 0;
  for (const ExtPathConfig& path : ext.paths) pages += path.size_bytes / ext.page_size;
  return pages;
}

std::vector<ReplayWarning> config_warnings(const SimOptions& options) {
  std::vector<ReplayWarning> out;
  const SampleScaling& sample = options.sample;
  if (options.sample_rate < 1 && sample.profiled &&
      sample.profile.max_item_bytes > options.engine.slab_chunk_max) {
    // Measured on a 20M-request Zipf trace (bench/sweep_bench.sh): cells
    // that flush only under memory pressure (ext_item_age 3600) missed by up
    // to 2.8 points at R = 0.01 with 16 KB items chunked, 0.6 at R = 0.1.
    out.push_back(
        {"sample_items_chunked",
         "--sample " + rate_text(options.sample_rate) + ": the sample's items above " +
             std::to_string(options.engine.slab_chunk_max) +
             " bytes (its largest: " + std::to_string(sample.profile.max_item_bytes) +
             ") are larger than the scaled slab page's share and are stored chunked, unlike "
             "in the full replay: their slab classes, and which of them flash takes under "
             "memory pressure, differ; hit ratios may be off by a few points (use --sample " +
             rate_text(std::min(1.0, 2.0 * static_cast<double>(sample.profile.max_item_bytes) *
                                         1.25 / static_cast<double>(sample.full.slab_page_size))) +
             " or more for these items to keep their classes)"});
  }
  const ExtConfig& ext = options.engine.ext;
  if (options.sample_rate < 1 && ext.enabled() && options.device_kind == SimDeviceKind::kModel) {
    // Measured on tests/unit/replay's busy-drive trace (20 units, 55% busy):
    // mean flash-read latency within 1% on 2 units (R = 0.1) and more, +25%
    // on one (R = 0.05: an object across two chunks is read one chunk after
    // the other), +29% on 2 units stretched x 1.25 (R = 0.08).
    const double units = sample.full_model.units;
    const double share = units * options.sample_rate;
    const double stretch = static_cast<double>(options.model.units) / share;
    if (options.model.units < 2 || std::abs(stretch - 1) > 0.1) {
      out.push_back(
          {"sample_drive_units",
           "--sample " + rate_text(options.sample_rate) + ": the sample's share of the " +
               rate_text(units) + "-unit model SSD is " + rate_text(share) +
               " units, modelled as " + std::to_string(options.model.units) +
               " with service times x " + rate_text(stretch) +
               ": flash-read latencies may be off by tens of percent (device busy time still "
               "matches); a whole number of units from 2 up (--sample " +
               rate_text(std::min(1.0, 2 / units)) + ") or 5 units and more (--sample " +
               rate_text(std::min(1.0, 5 / units)) + ") keeps them close"});
    }
  }
  if (!ext.enabled()) {
    const std::vector<std::string> names = ext_options_given(options.memcached_flags);
    if (names.empty()) return out;
    std::string list;
    for (const std::string& name : names) {
      if (!list.empty()) list += ", ";
      list += name;
    }
    out.push_back({"ext_without_path",
                   "-o " + list + " given without ext_path: memcached 1.6.18 accepts and ignores " +
                       (names.size() == 1 ? "it" : "them") +
                       " (no flash tier), and so does this replay; add -o ext_path=FILE:SIZE"});
    return out;
  }
  const uint64_t pages = ext_page_total(options);
  if (ext.drop_under != 0 && ext.compact_under == 0) {
    // storage_init sizes both from the last ext_path given.
    const uint64_t quarter = ext.paths.back().size_bytes / ext.page_size / 4;
    out.push_back({"ext_drop_under_ignored",
                   "ext_drop_under=" + std::to_string(ext.drop_under) +
                       " has no effect without ext_compact_under: memcached 1.6.18 then sets both "
                       "to a quarter of the last ext_path's pages (" +
                       std::to_string(quarter) +
                       "), and so does this replay; set ext_compact_under "
                       "too"});
  }
  for (const ExtPathConfig& path : ext.paths) {
    if (path.size_bytes >= ext.page_size) continue;
    out.push_back({"ext_path_no_page",
                   "ext_path " + path.path + " (" + megabytes(path.size_bytes) +
                       ") is smaller than one page (ext_page_size " + megabytes(ext.page_size) +
                       "): memcached 1.6.18 gives it no page" +
                       (pages == 0 ? "; with no flash page at all it writes nothing to flash, and "
                                     "this replay runs without a flash tier"
                                   : "")});
  }
  if (pages == 1) {
    out.push_back({"ext_path_one_page",
                   "the ext_path" + std::string(ext.paths.size() > 1 ? "s hold" : " holds") +
                       " a single page of " + megabytes(ext.page_size) +
                       ": memcached 1.6.18 writes nothing to flash with fewer than two pages "
                       "(and nor does this replay); give at least " +
                       megabytes(2 * ext.page_size) + " or a smaller ext_page_size"});
  }
  return out;
}

}  // namespace memext
