// Engine sizes for a sampled replay (`--sample R`): what the engine is told
// so that the fraction R of the keys sees the cache a full replay's keys see.
//
// RAM, the flash tier's capacity and its page and write-buffer sizes scale by
// R; what cannot scale is handled by the rules in traces/README.md
// ("Sampled replays"): item sizes and the 1 MB slab page stay as they are,
// RAM keeps one slab page per slab class the sample uses, the flash tier
// keeps its page count (so page evictions and the ext_compact_under /
// ext_drop_under page counts mean the same), and a write buffer never shrinks
// below the largest item the sample brings (memcached's -I <= ext_wbuf_size,
// with -I and slab_chunk_max lowered only as far as leaves every slab class
// the sample uses unchanged). The model SSD shrinks to the sample's share of
// the drive (scale_model).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "memext/config.h"
#include "ssd/ssd_presets.h"

namespace memext {

class TraceReader;

// What a first pass over the sampled keys' requests learns.
struct SampleProfile {
  uint64_t trace_records = 0;   // records read
  uint64_t records = 0;         // records of sampled keys
  uint64_t max_item_bytes = 0;  // largest item (memcached's ITEM_ntotal) the sample stores
  uint32_t active_classes = 0;  // slab classes those items fall in
  uint32_t largest_class = 0;   // highest class id among them
};

// Reads the records of `reader` that hold its first max_requests requests
// (op_count repeats included; 0 = all), as Replayer::run does.
SampleProfile profile_sample(TraceReader& reader, double rate, uint64_t seed,
                             const EngineConfig& config, uint64_t max_requests);

struct SampleScaling {
  double rate = 1;
  uint64_t seed = 0;
  EngineConfig full;          // the configuration as given
  SsdModelParams full_model;  // the model SSD as given (--device model:...)
  bool profiled = false;      // a first pass measured the sample (not for stdin)
  SampleProfile profile;
  std::vector<std::string> rules;  // each rule that changed a size, in words
};

// The engine configuration for sampling `full` at `rate`; profile may be null
// (stdin: nothing is known of the items, so -I and the write buffers stay).
// Write buffers are multiples of io_alignment: 4096 for a real file
// (O_DIRECT), 8 for the model device, where rounding a 41,943-byte share
// down to 40,960 took 2.3% off the flash tier (-0.6 points on a tier just
// filling).
EngineConfig scale_config(const EngineConfig& full, double rate, const SampleProfile* profile,
                          std::vector<std::string>* rules, uint64_t io_alignment = 4096);

// The model SSD for a sampled replay: the sample's share of `full`, so that
// R of the IO a second keeps it as busy as the full replay keeps `full` and
// reads queue as long. Units x R (each unit keeps its own speed: a unit sees
// the IO a full replay's unit sees, and the wait behind it); the read caps
// and the write bandwidth cap x R; the write IOPS cap x the sample's share
// of the wbuf writes (R x full_wbuf / sampled_wbuf: the flusher writes as
// many, R times smaller, write buffers a second). Units are whole: when
// units x R is not, every service time is stretched by units' / (units x R)
// so the busy time still matches (a single read then takes that much more or
// less than on the full drive). Appends the rule to *rules.
SsdModelParams scale_model(const SsdModelParams& full, double rate, uint64_t full_wbuf,
                           uint64_t sampled_wbuf, std::vector<std::string>* rules);

// report inputs.sample: rate, the full and scaled sizes, the rules applied.
nlohmann::json sample_scaling_json(const SampleScaling& scaling, const EngineConfig& scaled);

}  // namespace memext
