// plan/curves.h — hit and byte-hit ratio against RAM size and against flash
// size, from a set of replay results (a sweep's rows or the plan's own
// candidates), with the ceiling no cache size can pass (1 - first-request
// misses / gets). Output is JSON the HTML report draws (schema
// memext-sim-curves/1, traces/REPORT_SCHEMA.md).
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace memext {

// rows: [{"flags": {"m": "64", "ext_path_size": "1g", ...}, "hit_ratio": ...,
// "byte_hit_ratio": ..., "ceiling_hit_ratio": ...}, ...] as in sweep.json;
// a row's NAME_estimate fields (sampled cells' estimates) are preferred.
// For each axis among `m` and `ext_path_size` that takes two or more values,
// one curve per combination of the other flags, its points sorted by size
// (sizes in bytes, parsed from memcached's spelling: -m in MB, k/m/g/t
// suffixes for ext_path_size). Rows without a hit_ratio are left out.
nlohmann::json curves_from_rows(const nlohmann::json& rows);

// curves_from_rows(sweep["rows"]) for a sweep.json document.
nlohmann::json curves_from_sweep(const nlohmann::json& sweep);

// Bytes for an axis value: "64" for m is 64 MB; "1g" for ext_path_size.
// Returns false when the text is not a size.
bool axis_value_bytes(const std::string& axis, const std::string& value, double* bytes);

}  // namespace memext
