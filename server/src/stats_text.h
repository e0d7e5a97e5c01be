// server/src/stats_text.h — the `stats` family (general, settings, items,
// slabs, sizes, conns, extstore, reset) with memcached 1.6.18's names and
// order.
//
// Values come from the engine's Stats snapshot (taken under the engine
// mutex), the ExtStore's stats when flash is configured, and the server's own
// connection counters.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "session.h"

namespace memext::server {

void stats_command(Session& s, const std::vector<std::string_view>& t);

// The text of `stats <group>` ("" = general) as memcached writes it; ok is
// false for an unknown group.
std::string stats_text(ServerContext& ctx, std::string_view group, bool& ok);

}  // namespace memext::server
