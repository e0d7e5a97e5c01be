// cell_summary.h — the one place that turns a replay report into the figures
// a planner compares: one row of a sweep table (Contract 1 of the planning
// layer). A field the report does not carry yet is null; whoever adds the
// figure to the report fills it in here.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

namespace memext {

// report: a memext-sim-report/1 object. Returns hit_ratio, byte_hit_ratio,
// ram_hit_ratio, flash_hit_ratio, gets, misses, misses_by_cause{not_found,
// flash_read_miss}, ram_evictions, flash_page_evictions, flash_bytes_written,
// dwpd, ram_bytes (memcached's bytes: flash objects at full size),
// ram_used_bytes (slab pages held), flash_header_bytes and flash_header_items
// (RAM held by flash objects' headers), compaction_rescues, compaction_lost,
// ceiling_hit_ratio, steady_state_hit_ratio, steady_state_byte_hit_ratio,
// steady_state_dwpd (after --warmup), production_hit_ratio (the trace's own)
// and warnings (the report's warning codes, comma-separated).
nlohmann::json summarize_report(const nlohmann::json& report);

// The hit ratio to rank cells by: a sampled replay's estimate of the full
// trace's (totals.sample_adjusted.hit_ratio; a sample's own ratio leans on
// which hot keys it holds: a 5% sample of the shipped trace hits 0.81 where
// the full replay hits 0.69), else the replay's own. nullopt when the report
// has no hit ratio.
struct RankingHitRatio {
  double value = 0;
  bool sample_adjusted = false;
};
std::optional<RankingHitRatio> ranking_hit_ratio(const nlohmann::json& report);

}  // namespace memext
