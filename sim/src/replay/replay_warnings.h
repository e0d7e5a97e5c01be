// replay_warnings.h — what a replay tells its user besides the figures:
// settings memcached 1.6.18 silently ignores or reinterprets (applied as
// memcached does, but said out loud), and doubts about the trace (a clock
// that jumps by days, a --format the file does not look like). Each warning
// is a stable code and a sentence; the replay prints them on stderr and the
// report lists them in its top-level "warnings" array
// (traces/REPORT_SCHEMA.md).
#pragma once

#include <string>
#include <vector>

namespace memext {

struct SimOptions;

struct ReplayWarning {
  std::string code;     // e.g. "ext_drop_under_ignored", "time_jump"
  std::string message;  // one sentence for a human, naming the setting or record
};

// Flash pages memcached 1.6.18 gives the ext_paths: each path's size rounded
// down to whole ext_page_size pages.
uint64_t ext_page_total(const SimOptions& options);

// The warnings about options.engine and options.memcached_flags (checked
// against memcached 1.6.18's `stats settings` and extstore stats):
//   ext_without_path        ext_* options but no ext_path: memcached ignores them
//   ext_drop_under_ignored  ext_drop_under without ext_compact_under: memcached
//                           overwrites it with a quarter of the pages
//   ext_path_no_page        an ext_path smaller than one page gets no page
//   ext_path_one_page       one page in all: memcached writes nothing to flash
//   sample_items_chunked    --sample R: the sample's largest items exceed the
//                           scaled slab page's share and are stored chunked
//   sample_drive_units      --sample R on a model SSD of N units: its share,
//                           N x R units, runs on one unit or on a whole number
//                           of them stretched by over 10%; latencies are off
std::vector<ReplayWarning> config_warnings(const SimOptions& options);

}  // namespace memext
