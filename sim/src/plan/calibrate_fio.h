// calibrate_fio.h — the fio results `memext-sim calibrate` fits: each job of
// fio's JSON output (`fio --output-format=json`) as an IO pattern (random or
// sequential, read share, block sizes, IOs in flight) and what the device
// did under it (IOPS, bandwidth, mean latency per direction).
//
// Jobs must have run one at a time (stonewall, or one fio run per job) and
// with group_reporting when numjobs > 1: each job's figures are taken as
// the device's answer to that job alone.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace memext {

// What the device did in one direction of a job.
struct FioSide {
  uint64_t ios = 0;  // 0: the job did no IO this way
  double iops = 0;
  double bytes_per_s = 0;
  double lat_mean_ns = 0;  // submission to completion (fio's lat_ns)
};

struct FioJob {
  std::string name;    // fio's jobname
  std::string source;  // the file it came from
  bool random = true;  // rand* patterns; else sequential
  double read_fraction = 1;
  uint32_t read_bs = 4096;
  uint32_t write_bs = 4096;
  // IOs kept in flight: iodepth x numjobs (1 x numjobs for synchronous engines).
  uint32_t depth = 1;
  uint64_t span_bytes = 0;  // the region the offsets fall in (fio's size)
  FioSide read;
  FioSide write;
};

// The jobs of one fio JSON document (text before the first '{' line, such
// as fio's notes, is skipped). source names the file in errors and job
// names. Throws std::invalid_argument naming the job and the option fio
// used that calibrate cannot model (trim, bssplit, a failed job...).
std::vector<FioJob> parse_fio_json(std::string_view text, const std::string& source);

// Reads and parses a file; throws std::invalid_argument naming the file.
std::vector<FioJob> read_fio_file(const std::string& path);

// fio's size strings: "4k", "128KiB", "1m", "256M", plain bytes; k = 1024
// as fio's default kb_base. Returns false when text is none of those.
bool parse_fio_size(std::string_view text, uint64_t* bytes);

}  // namespace memext
