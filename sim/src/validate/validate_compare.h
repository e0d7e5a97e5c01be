// validate_compare.h — the live server's figures (its `stats` deltas and
// what the client saw) beside the simulator's (its report), metric by
// metric, with the deltas and whether they stay within the thresholds.
//
// Ratios are over the gets sent (get, gets, gat, gats): RAM hits are the
// client's hits less the flash hits, flash hits are get_extstore -
// miss_from_extstore - get_aborted_extstore, misses are the client's. The
// counts are stat deltas with memcached's names on both sides:
// extstore_objects_written, extstore_compact_rescues, extstore_compact_lost,
// extstore_page_evictions, evictions, expired = get_expired + reclaimed +
// crawler_reclaimed (every path an expired item leaves by),
// recache_from_extstore. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "validate/server_settings.h"

namespace memext {

struct LiveResult;

struct Thresholds {
  double ratio_points = 1;    // |predicted - live| of a ratio, in points (1 = 0.01)
  double count_pct = 5;       // |predicted - live| of a count, % of live
  uint64_t count_floor = 10;  // count differences up to this always pass
};

struct MetricRow {
  std::string name;
  bool ratio = false;
  double live = 0;
  double predicted = 0;
  bool within = true;
};

// after - before for every stat that is an unsigned integer in both.
StatMap stat_deltas(const StatMap& before, const StatMap& after);

std::vector<MetricRow> compare(const LiveResult& live, const StatMap& deltas,
                               const nlohmann::json& report, const Thresholds& limits);

// The side-by-side table, one metric a line.
std::string format_table(const std::vector<MetricRow>& rows, const Thresholds& limits);

nlohmann::json rows_json(const std::vector<MetricRow>& rows, const Thresholds& limits);

}  // namespace memext
