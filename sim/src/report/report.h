// report.h — the simulator's JSON report (schema "memext-sim-report/1",
// documented in traces/REPORT_SCHEMA.md) and the human summary.
//
// Determinism: in model mode the report holds no wall-clock figure and every
// object is built from ordered data (nlohmann::json objects sort their keys),
// so the same trace, flags and seed give a byte-identical document.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "memext/version.h"

namespace memext {

class Replayer;
class TraceReader;
struct EngineConfig;

inline constexpr std::string_view kReportSchema = "memext-sim-report/1";
inline constexpr std::string_view kMemextVersion = kVersion;

// Every engine and -o ext_* setting, with memcached's option names.
nlohmann::json engine_config_json(const EngineConfig& config);

// The whole report. trace is the reader the replay consumed (for its path,
// format and malformed-record count).
nlohmann::json build_report(const Replayer& replay, const TraceReader& trace);

// Serialises with 1-space indentation and a final newline.
std::string dump_report(const nlohmann::json& report);

// A few lines for a human: requests, hit ratios, flash figures, latencies.
void print_summary(const nlohmann::json& report, std::FILE* out);

}  // namespace memext
