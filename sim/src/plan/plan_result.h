// plan_result.h — how `memext-sim plan` writes its candidates out: the
// memcached command line to paste, a candidate's figures as JSON (with the
// drive's endurance at its write rate) and, when nothing met the targets,
// which limit binds. Shared by plan.cc; nothing here replays.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/plan.h"

namespace memext {

// "4g" when a whole number of GiB, else MB rounded up ("512m").
std::string plan_flash_text(uint64_t bytes);

// "ext_item_age=0,ext_recache_rate=2000" ("" for none).
std::string plan_settings_text(const PlanSettings& settings);

// Years until the drive's rated writes (tbw, else 1 DWPD for 5 years) are
// used at the candidate's write rate; +infinity without writes.
double plan_endurance_years(const PlanOptions& options, const PlanCandidate& candidate);

// memcached's command line for the candidate: -m, the memcached flags given
// to plan, and one -o with the ext_path and the searched ext_* settings.
std::string plan_command_line(const PlanOptions& options, const PlanCandidate& candidate);

nlohmann::json plan_candidate_json(const PlanOptions& options, const PlanCandidate& candidate);

// Why no candidate met the targets: {"limit": ceiling|dwpd|item_headers|grid,
// "detail": words}.
nlohmann::json plan_binding_limit(const PlanOptions& options,
                                  const std::vector<PlanCandidate>& candidates);

}  // namespace memext
