// report_figures.h — the report's figures for capacity planning: the RAM the
// slab pages and the flash objects' item headers really take, steady state
// after --warmup, the trace's own hit ratio beside the simulated one, and
// the warnings a planner must see (report.warnings, also on stderr).
//
// Everything here is computed from the replay's counters and samples, so it
// is as deterministic as the rest of the report.
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace memext {

class Replayer;
class TraceReader;

// Peak share of the flash tier's pages in use at or above which the tier
// counts as having filled (memcached keeps a few pages free for compaction).
inline constexpr double kFlashFilledShare = 0.9;
// Share of the slab pages held by flash item headers at or above which,
// with RAM evicting and the flash tier not filled, headers crowd out RAM.
inline constexpr double kHeadersFillRamShare = 0.5;

// Appends {"code", "message"} to report["warnings"] (made an array if absent).
void add_report_warning(nlohmann::json& report, const std::string& code,
                        const std::string& message);

// report.totals' memory figures: ram_used_bytes (slab pages held),
// flash_header_items, flash_header_bytes.
void add_memory_totals(nlohmann::json& totals, const Replayer& replay);

// report.steady_state: the totals after --warmup, or null.
nlohmann::json steady_state_json(const Replayer& replay);

// report.validation: the production hit ratio the trace records beside the
// simulated one, or null when the format records none.
nlohmann::json validation_json(const TraceReader& trace, const nlohmann::json& totals);

// Adds each time-series sample's per-interval flash write rate and DWPD
// (relative to capacity_bytes, the ext_path sizes) to report["time_series"].
void add_flash_rates(nlohmann::json& report, unsigned long long capacity_bytes);

// The planner warnings (flash_never_filled, headers_fill_ram,
// warmup_not_reached) from a built report.
void add_planner_warnings(nlohmann::json& report, const Replayer& replay);

// "warning: CODE: MESSAGE" per warning.
void print_warnings(const nlohmann::json& report, std::FILE* out);

}  // namespace memext
