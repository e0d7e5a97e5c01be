#include "replay/sample_scaling.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

#include "memext/slabs.h"
#include "report/report.h"
#include "traces/trace_reader.h"
#include "traces/trace_sample.h"

namespace memext {

namespace {

std::string mb(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g MB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

bool is_store(Op op) {
  return op == Op::kSet || op == Op::kAdd || op == Op::kReplace || op == Op::kCas ||
         op == Op::kAppend || op == Op::kPrepend;
}

bool is_get(Op op) {
  return op == Op::kGet || op == Op::kGets || op == Op::kGat || op == Op::kGats;
}

// Whether slab_chunk_max = page (memcached's table ends in a class of
// slab_chunk_max) leaves every class up to largest_class as the full
// configuration has it and holds the sample's largest item.
bool keeps_classes(const EngineConfig& full, const SampleProfile& profile, uint32_t page) {
  if (page < profile.max_item_bytes || page < 1024) return false;
  const SlabClassTable table(full);
  EngineConfig c = full;
  c.slab_page_size = page;
  c.slab_chunk_max = page;
  c.item_size_max = page;
  const SlabClassTable smaller(c);
  if (smaller.largest() <= profile.largest_class) return false;
  for (uint32_t id = 1; id <= profile.largest_class; ++id) {
    if (smaller[id].size != table[id].size) return false;
  }
  return true;
}

// The smallest slab_chunk_max (= -I) that leaves every class up to
// largest_class as the full configuration has it: slab classes grow by -f up
// to slab_chunk_max / f, so a smaller slab_chunk_max only truncates the top of
// the table. 0 when none below the configured one does.
uint32_t smallest_unchanged_chunk_max(const EngineConfig& full, const SampleProfile& profile) {
  const SlabClassTable table(full);
  if (profile.largest_class == 0 || profile.largest_class >= table.largest()) return 0;
  for (uint32_t x = 4096; x < full.slab_chunk_max; x *= 2) {
    if (full.slab_page_size % x != 0 || x < profile.max_item_bytes) continue;
    EngineConfig c = full;
    c.slab_chunk_max = x;
    c.item_size_max = x;
    const SlabClassTable smaller(c);
    if (smaller.largest() <= profile.largest_class) continue;
    bool same = true;
    for (uint32_t id = 1; id <= profile.largest_class; ++id) {
      same = same && smaller[id].size == table[id].size;
    }
    if (same) return x;
  }
  return 0;
}

}  // namespace

SampleProfile profile_sample(TraceReader& reader, double rate, uint64_t seed,
                             const EngineConfig& config, uint64_t max_requests) {
  const KeySampler sampler(rate, seed);
  const SlabClassTable table(config);
  std::vector<bool> used(table.largest() + 1, false);
  SampleProfile p;
  std::vector<TraceRequest> batch(4096);
  // The same stretch of trace Replayer::run reads: max_requests requests,
  // op_count repeats included.
  const uint64_t limit = max_requests == 0 ? UINT64_MAX : max_requests;
  uint64_t requests = 0;
  while (requests < limit) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(batch.size(), limit - requests));
    size_t got = reader.next_batch(batch.data(), want);
    if (got == 0) break;
    for (size_t i = 0; i < got; ++i) {
      if (requests == limit) {
        got = i;
        break;
      }
      requests += std::min<uint64_t>(std::max<uint32_t>(batch[i].op_count, 1), limit - requests);
    }
    p.trace_records += got;
    for (size_t i = 0; i < got; ++i) {
      const TraceRequest& r = batch[i];
      if (!sampler.keeps(r.key_id)) continue;
      ++p.records;
      // Gets count too: a look-aside fill stores the traced size.
      if (!is_store(r.op) && !is_get(r.op)) continue;
      const uint32_t nkey = std::min<uint32_t>(r.key_size, kKeyMaxLength);
      const uint64_t size = item_total_size(nkey, r.value_size + 2, 0, config.use_cas);
      const uint8_t id = table.clsid(size);
      if (id == 0) continue;  // above -I: refused at any scale
      p.max_item_bytes = std::max(p.max_item_bytes, size);
      if (!used[id]) {
        used[id] = true;
        ++p.active_classes;
        p.largest_class = std::max<uint32_t>(p.largest_class, id);
      }
    }
  }
  return p;
}

EngineConfig scale_config(const EngineConfig& full, double rate, const SampleProfile* profile,
                          std::vector<std::string>* rules, uint64_t io_alignment) {
  assert(io_alignment >= 8 && io_alignment % 8 == 0);
  const uint64_t align = io_alignment;
  EngineConfig c = full;
  if (rate >= 1) return c;
  const std::string rate_text = std::to_string(rate);

  // Slab geometry: the slab page R x memcached's, one largest chunk per page,
  // so -m holds as many pages as in the full replay; else (a page that small
  // would change a class the sample uses) the largest chunk (= -I) as small
  // as the sample's items allow and the page as near its R share as that
  // chunk allows.
  if (profile != nullptr && profile->largest_class != 0) {
    const double ideal_page = static_cast<double>(full.slab_page_size) * rate;
    const auto exact = static_cast<uint32_t>(std::llround(ideal_page / 8)) * 8;  // chunk alignment
    if (exact < full.slab_page_size && keeps_classes(full, *profile, exact)) {
      c.slab_chunk_max = exact;
      c.item_size_max = exact;
      c.slab_page_size = exact;
      rules->push_back("slab page, -I and slab_chunk_max " + std::to_string(exact) +
                       " bytes (memcached: fixed " + mb(full.slab_page_size) +
                       " page): the page's x" + rate_text +
                       " share, one largest chunk per page; every slab class the sample uses "
                       "(its largest item " +
                       std::to_string(profile->max_item_bytes) +
                       " bytes) keeps its chunk size, and -m holds as many pages as in the full "
                       "replay");
    } else if (const uint32_t half = exact / 16 * 8; half >= 1024 && exact < full.slab_page_size) {
      // The sample's largest items need a chunk above the page's share:
      // memcached's own answer to items above slab_chunk_max (page / 2 by
      // default) is to store them chunked, so the page keeps its share and
      // only the classes above half of it change.
      const auto page = 2 * half;
      const auto item_max =
          static_cast<uint32_t>((profile->max_item_bytes + half - 1) / half * half);
      c.slab_chunk_max = half;
      c.item_size_max = std::max(item_max, half);
      c.slab_page_size = page;
      rules->push_back(
          "slab page " + std::to_string(page) + " bytes (memcached: fixed " +
          mb(full.slab_page_size) + "): the page's x" + rate_text +
          " share, so -m holds as many pages as in the full replay; slab_chunk_max " +
          std::to_string(half) + " (half the page, memcached's default ratio) and -I " +
          std::to_string(c.item_size_max) + ": the sample's items above " + std::to_string(half) +
          " bytes (its largest " + std::to_string(profile->max_item_bytes) +
          ") are stored chunked, as memcached stores items above slab_chunk_max, "
          "and the slab classes above " +
          std::to_string(half) + " / -f change; their items hold memory a little differently");
    } else if (const uint32_t chunk_max = smallest_unchanged_chunk_max(full, *profile)) {
      // A whole number of the largest chunks, as memcached's page is of its
      // slab_chunk_max.
      const auto chunks =
          std::max<uint64_t>(static_cast<uint64_t>(std::llround(ideal_page / chunk_max)), 1);
      const auto page =
          static_cast<uint32_t>(std::min<uint64_t>(chunks * chunk_max, full.slab_page_size));
      c.slab_chunk_max = chunk_max;
      c.item_size_max = chunk_max;
      c.slab_page_size = page;
      rules->push_back("slab page " + mb(page) + " (memcached: fixed " + mb(full.slab_page_size) +
                       "), -I and slab_chunk_max " + mb(chunk_max) +
                       ": the whole number of largest chunks nearest the page's x" + rate_text +
                       " share (a page of exactly that share cannot hold the sample's largest "
                       "item, " +
                       std::to_string(profile->max_item_bytes) +
                       " bytes, in an unchanged slab class); -m holds " +
                       (page > ideal_page ? "fewer" : "more") + " pages than in the full replay");
    }
  }

  if (full.ext.enabled()) {
    const ExtConfig& x = full.ext;
    const uint64_t ideal_wbuf = static_cast<uint64_t>(static_cast<double>(x.wbuf_size) * rate);
    const uint64_t item_max = c.item_size_max;
    uint64_t wbuf = std::max<uint64_t>(ideal_wbuf / align * align, align);
    if (wbuf < item_max) {
      wbuf = (item_max + align - 1) / align * align;
      rules->push_back("ext_wbuf_size " + mb(wbuf) + ", not " + mb(ideal_wbuf) + " (x" + rate_text +
                       "): a write buffer must hold the largest item (-I " + mb(item_max) +
                       "); items do not scale");
    }
    const uint64_t wbufs_per_page = std::max<uint64_t>(x.page_size / x.wbuf_size, 1);
    const double ideal_page = static_cast<double>(x.page_size) * rate;
    const uint64_t scaled_wbufs = std::clamp<uint64_t>(
        static_cast<uint64_t>(std::llround(ideal_page / static_cast<double>(wbuf))), 1,
        wbufs_per_page);
    c.ext.wbuf_size = wbuf;
    c.ext.page_size = wbuf * scaled_wbufs;
    if (scaled_wbufs != wbufs_per_page) {
      rules->push_back("ext_page_size " + mb(c.ext.page_size) + " = " +
                       std::to_string(scaled_wbufs) +
                       " write buffers (full: " + std::to_string(wbufs_per_page) +
                       "): the nearest whole number of the larger write buffers to " +
                       mb(static_cast<uint64_t>(ideal_page)));
    }
    for (size_t i = 0; i < c.ext.paths.size(); ++i) {
      const uint64_t pages = x.paths[i].size_bytes / x.page_size;
      if (pages == 0) {
        c.ext.paths[i].size_bytes =
            static_cast<uint64_t>(static_cast<double>(x.paths[i].size_bytes) * rate);
        continue;
      }
      // Same page count: page evictions free the same share of the tier and
      // the ext_compact_under / ext_drop_under defaults (1/4 of the pages)
      // stay the same.
      c.ext.paths[i].size_bytes = pages * c.ext.page_size;
    }
  }

  if (full.memory_limit != 0) {
    const uint64_t page = c.slab_page_size;
    const double ideal = static_cast<double>(full.memory_limit) * rate;
    uint64_t pages = std::max<uint64_t>(
        static_cast<uint64_t>(std::llround(ideal / static_cast<double>(page))), 1);
    // memcached's -I <= -m / 2.
    const uint64_t item_floor = (2 * uint64_t{c.item_size_max} + page - 1) / page;
    if (pages < item_floor) {
      pages = item_floor;
      rules->push_back("-m " + mb(pages * page) + ", not " + mb(static_cast<uint64_t>(ideal)) +
                       ": memcached needs -I <= -m / 2");
    }
    if (profile != nullptr && pages < profile->active_classes) {
      pages = profile->active_classes;
      rules->push_back("-m " + mb(pages * page) + ", not " + mb(static_cast<uint64_t>(ideal)) +
                       ": each of the " + std::to_string(profile->active_classes) +
                       " slab classes the sample uses needs one slab page; the sampled RAM is "
                       "larger than its share, hit ratios read high");
    }
    c.memory_limit = pages * page;
  }
  return c;
}

SsdModelParams scale_model(const SsdModelParams& full, double rate, uint64_t full_wbuf,
                           uint64_t sampled_wbuf, std::vector<std::string>* rules) {
  assert(rate > 0 && full_wbuf != 0 && sampled_wbuf != 0);
  SsdModelParams m = full;
  if (rate >= 1) return m;
  const double share_units = static_cast<double>(full.units) * rate;
  m.units = static_cast<uint32_t>(std::max(1.0, std::round(share_units)));
  const double stretch = static_cast<double>(m.units) / share_units;
  m.read_us = full.read_us * stretch;
  m.write_us = full.write_us * stretch;
  m.unit_read_mb_per_s = full.unit_read_mb_per_s / stretch;
  m.unit_write_mb_per_s = full.unit_write_mb_per_s / stretch;
  const auto cap = [](uint64_t per_second, double share) -> uint64_t {
    if (per_second == 0) return 0;  // no cap
    return std::max<uint64_t>(
        static_cast<uint64_t>(std::llround(static_cast<double>(per_second) * share)), 1);
  };
  const double write_share =
      rate * static_cast<double>(full_wbuf) / static_cast<double>(sampled_wbuf);
  m.read_iops = cap(full.read_iops, rate);
  m.write_iops = cap(full.write_iops, write_share);
  m.read_mb_per_s = full.read_mb_per_s * rate;
  m.write_mb_per_s = full.write_mb_per_s * rate;
  if (full.queue_depth != 0) m.queue_depth = static_cast<uint32_t>(cap(full.queue_depth, rate));
  char stretch_text[48] = "";
  if (stretch != 1) {
    std::snprintf(stretch_text, sizeof stretch_text, ", service times x %.4g", stretch);
  }
  rules->push_back("model SSD: the sample's x" + std::to_string(rate) + " share of the drive, " +
                   std::to_string(m.units) + " of its " + std::to_string(full.units) + " units" +
                   stretch_text +
                   " (so R of the IO a second keeps it as busy and reads wait as long), read "
                   "caps and write bandwidth x R, write IOPS x " +
                   std::to_string(write_share) + " (the sample's share of the wbuf writes)");
  return m;
}

nlohmann::json sample_scaling_json(const SampleScaling& s, const EngineConfig& scaled) {
  nlohmann::json j{
      {"rate", s.rate},
      {"seed", s.seed},
      {"units", "totals count the sampled keys' requests only; ratios compare with a full replay"},
      {"full_config", engine_config_json(s.full)},
      {"scaled",
       {{"memory_limit", scaled.memory_limit},
        {"item_size_max", scaled.item_size_max},
        {"slab_chunk_max", scaled.slab_chunk_max},
        {"ext_page_size", scaled.ext.page_size},
        {"ext_wbuf_size", scaled.ext.wbuf_size}}},
      {"rules", s.rules},
      {"profiled", s.profiled},
  };
  nlohmann::json paths = nlohmann::json::array();
  for (const ExtPathConfig& p : scaled.ext.paths) paths.push_back(p.size_bytes);
  j["scaled"]["ext_path_sizes"] = paths;
  if (s.profiled) {
    j["profile"] = {{"records", s.profile.records},
                    {"trace_records", s.profile.trace_records},
                    {"max_item_bytes", s.profile.max_item_bytes},
                    {"active_slab_classes", s.profile.active_classes}};
  }
  return j;
}

}  // namespace memext
