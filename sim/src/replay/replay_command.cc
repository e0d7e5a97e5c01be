#include "replay/replay_command.h"

#include <sys/stat.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "memext/options.h"

#include "replay/progress.h"
#include "replay/replay.h"
#include "replay/sim_options.h"
#include "report/report.h"
#include "traces/trace_native.h"
#include "traces/trace_reader.h"

namespace memext {

namespace {

// Records in an uncompressed fixed-size-record trace, for the ETA; 0 when
// it cannot be known without reading the trace.
uint64_t expected_records(const TraceReader& reader) {
  if (reader.compressed() || reader.path() == "-") return 0;
  struct stat st {};
  if (::stat(reader.path().c_str(), &st) != 0) return 0;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (reader.format() == TraceFormat::kNative && size >= kNativeHeaderBytes) {
    return (size - kNativeHeaderBytes) / kNativeRecordBytes;
  }
  if (reader.format() == TraceFormat::kOracleGeneral) return size / 24;
  return 0;
}

}  // namespace

void apply_sample_scaling(SimOptions* options) {
  SampleScaling& sample = options->sample;
  sample.rate = options->sample_rate;
  sample.seed = options->sample_seed;
  sample.full = options->engine;
  sample.rules.clear();
  if (options->sample_rate >= 1) return;
  if (options->trace_path != "-") {
    TraceReadOptions read_options;
    read_options.format = options->format;
    read_options.strict = options->strict;
    auto reader = open_trace(options->trace_path, read_options);
    sample.profile = profile_sample(*reader, options->sample_rate, options->sample_seed,
                                    options->engine, options->max_requests);
    sample.profiled = true;
  }
  options->engine = scale_config(sample.full, options->sample_rate,
                                 sample.profiled ? &sample.profile : nullptr, &sample.rules);
  if (const std::string error = validate_config(options->engine); !error.empty()) {
    throw std::invalid_argument("--sample " + std::to_string(options->sample_rate) +
                                ": the scaled configuration is not valid: " + error);
  }
}

int replay_main(int argc, char** argv) {
  SimOptions options;
  const std::string error = parse_sim_options(argc, argv, &options);
  if (!error.empty()) {
    std::fprintf(stderr, "memext-sim replay: %s\n", error.c_str());
    return 2;
  }
  if (options.help) {
    std::fputs(sim_options_help().c_str(), stdout);
    return 0;
  }
  try {
    apply_sample_scaling(&options);
    TraceReadOptions read_options;
    read_options.format = options.format;
    read_options.strict = options.strict;
    auto reader = open_trace(options.trace_path, read_options);
    // oracleGeneral records only reads: without look-aside fills nothing
    // would ever be cached.
    const bool fill_default = reader->format() == TraceFormat::kOracleGeneral;
    Replayer replay(options, fill_default);
    uint64_t total = expected_records(*reader);
    if (options.max_requests != 0 && (total == 0 || options.max_requests < total)) {
      total = options.max_requests;
    }
    {
      ReplayProgress progress(options.progress, total);
      replay.run(*reader, progress.enabled() ? &progress : nullptr);
    }
    const nlohmann::json report = build_report(replay, *reader);
    if (!options.out_path.empty()) {
      std::ofstream out(options.out_path, std::ios::binary | std::ios::trunc);
      out << dump_report(report);
      out.close();
      if (!out) {
        std::fprintf(stderr, "memext-sim replay: cannot write report '%s'\n",
                     options.out_path.c_str());
        return 1;
      }
    }
    print_summary(report, stderr);
    if (reader->stats().malformed != 0) {
      std::fprintf(stderr, "%llu malformed records skipped; first ones:\n",
                   static_cast<unsigned long long>(reader->stats().malformed));
      for (const std::string& e : reader->stats().errors) std::fprintf(stderr, "  %s\n", e.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memext-sim replay: %s\n", e.what());
    return 1;
  }
}

}  // namespace memext
