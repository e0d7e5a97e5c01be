// cell_summary.h — the one place that turns a replay report into the figures
// a planner compares: one row of a sweep table (Contract 1 of the planning
// layer). A field the report does not carry yet is null; whoever adds the
// figure to the report fills it in here.
#pragma once

#include <nlohmann/json.hpp>

namespace memext {

// report: a memext-sim-report/1 object. Returns hit_ratio, byte_hit_ratio,
// ram_hit_ratio, flash_hit_ratio, gets, misses, misses_by_cause{not_found,
// flash_read_miss}, ram_evictions, flash_page_evictions, flash_bytes_written,
// dwpd, ram_bytes, ram_used_bytes, flash_header_bytes, compaction_rescues,
// compaction_lost, ceiling_hit_ratio.
nlohmann::json summarize_report(const nlohmann::json& report);

}  // namespace memext
