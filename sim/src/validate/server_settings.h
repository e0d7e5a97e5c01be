// server_settings.h — a live server's `stats settings` and `stats` turned
// into the memcached flags the simulator is run with, so its prediction is
// for the server's own configuration.
//
// What maps: -m (maxbytes), -f, -n, -I, -M, -C, slab_chunk_max, the LRU and
// crawler settings, slab_reassign / slab_automove*, and every ext_* setting
// memcached 1.6.18 prints. The flash tier is one ext_path of the server's
// extstore_limit_maxbytes with ext_page_size = that / its page count (1.6.18
// prints neither the ext_path list nor ext_page_size); several ext_paths
// with their own buckets cannot be seen and are modelled as one. What the
// simulator cannot model is refused with the setting and its value: an
// ext_* or lru_* setting it does not know, slab_automove 2 (memext runs it
// as 1), tail_repair_time, a flash size that is no whole number of pages
// or a page size that is no whole number of megabytes. Pure; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace memext {

// name -> value, as the server printed them.
using StatMap = std::map<std::string, std::string, std::less<>>;

// Reads "STAT name value\r\n" lines (up to "END"); other lines are ignored.
StatMap parse_stat_lines(std::string_view text);

struct ServerFlags {
  // memcached flags for the simulator, only the settings that differ from
  // memcached 1.6.18's defaults ("-m", "32", "-o", "ext_path=...", ...).
  std::vector<std::string> flags;
  bool flash = false;  // the server runs extstore
  std::string error;   // why the configuration cannot be simulated, or ""
};

// ext_path_name is the (never opened) file name the modelled flash tier gets.
ServerFlags server_flags(const StatMap& settings, const StatMap& stats,
                         std::string_view ext_path_name);

}  // namespace memext
