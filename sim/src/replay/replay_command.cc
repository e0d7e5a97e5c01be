#include "replay/replay_command.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memext/options.h"

#include "replay/progress.h"
#include "replay/replay.h"
#include "replay/sim_options.h"
#include "report/report.h"
#include "traces/trace_detect.h"
#include "traces/trace_error.h"
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

void print_warnings(const Replayer& replay, size_t from) {
  const std::vector<ReplayWarning>& warnings = replay.warnings();
  for (size_t i = from; i < warnings.size(); ++i) {
    std::fprintf(stderr, "memext-sim replay: warning: %s\n", warnings[i].message.c_str());
  }
}

void print_malformed(const TraceReader& reader) {
  const TraceReadStats& stats = reader.stats();
  if (reader.format() == TraceFormat::kWatch && stats.source_dropped_lines != 0) {
    std::fprintf(stderr,
                 "the server dropped %llu watch lines (skipped=N): the trace lacks those "
                 "requests\n",
                 static_cast<unsigned long long>(stats.source_dropped_lines));
  }
  if (stats.malformed == 0) return;
  std::fprintf(stderr, "%llu malformed records skipped; first ones:\n",
               static_cast<unsigned long long>(stats.malformed));
  for (const std::string& e : stats.errors) std::fprintf(stderr, "  %s\n", e.c_str());
}

// Why a finished read is no trace to report on, or "": nothing replayed,
// or more malformed records than good ones (most likely a wrong --format).
std::string unusable_trace(const Replayer& replay, const TraceReader& reader) {
  const TraceReadStats& stats = reader.stats();
  const std::string format(trace_format_name(reader.format()));
  if (stats.records == 0 && stats.malformed == 0) {
    return reader.path() + ": the trace holds no requests (read as " + format + ")";
  }
  if (stats.malformed <= stats.records) return "";
  const std::string of = replay.stopped_on_malformed() ? " of the first " : " of ";
  return reader.path() + ": " + std::to_string(stats.malformed) + of +
         std::to_string(stats.malformed + stats.records) + " records are malformed read as " +
         format + "; " + format_hint(reader.path(), reader.format());
}

// After an error reading with a forced --format: the format the file looks
// like, when it is another one.
void print_other_format(const SimOptions& options) {
  if (options.format == TraceFormat::kAuto) return;
  const std::optional<TraceFormat> seen = sniff_trace_format(options.trace_path);
  if (seen && *seen != options.format) {
    std::fprintf(stderr, "memext-sim replay: %s\n",
                 format_hint(options.trace_path, options.format).c_str());
  }
}

bool write_report(const std::string& out_path, const std::string& text) {
  if (out_path == "-") {
    return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() &&
           std::fflush(stdout) == 0;
  }
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

}  // namespace

void apply_sample_scaling(SimOptions* options) {
  SampleScaling& sample = options->sample;
  sample.rate = options->sample_rate;
  sample.seed = options->sample_seed;
  sample.full = options->engine;
  sample.full_model = options->model;
  sample.rules.clear();
  if (options->sample_rate >= 1) return;
  if (options->trace_path != "-") {
    auto reader = open_trace(options->trace_path, trace_read_options(*options));
    sample.profile = profile_sample(*reader, options->sample_rate, options->sample_seed,
                                    options->engine, options->max_requests);
    sample.profiled = true;
  }
  options->engine =
      scale_config(sample.full, options->sample_rate, sample.profiled ? &sample.profile : nullptr,
                   &sample.rules, options->device_kind == SimDeviceKind::kFile ? 4096 : 8);
  // The sample brings R of the objects a virtual second, each as large as
  // in the full replay: a flusher R times as slow per object is as busy
  // relative to its load, so a write storm that outruns the full replay's
  // flusher outruns the sample's.
  if (options->engine.ext.enabled() &&
      (options->flusher_ns_per_object != 0 || options->flusher_ns_per_kib != 0)) {
    const auto scale = [&](uint32_t ns) {
      return static_cast<uint32_t>(
          std::min(999'999'999.0, std::round(static_cast<double>(ns) / options->sample_rate)));
    };
    options->flusher_ns_per_object = scale(options->flusher_ns_per_object);
    options->flusher_ns_per_kib = scale(options->flusher_ns_per_kib);
    sample.rules.push_back("flusher cost x 1/R: " + std::to_string(options->flusher_ns_per_object) +
                           " ns per object, " + std::to_string(options->flusher_ns_per_kib) +
                           " ns per KiB (R of the objects a second, each unscaled)");
  }
  if (options->engine.ext.enabled() && options->device_kind == SimDeviceKind::kModel) {
    options->model = scale_model(sample.full_model, options->sample_rate, sample.full.ext.wbuf_size,
                                 options->engine.ext.wbuf_size, &sample.rules);
    options->model_spec = format_ssd_model_spec(options->model);
  }
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
    std::unique_ptr<TraceReader> reader;
    try {
      reader = open_trace(options.trace_path, trace_read_options(options));
    } catch (const TraceError& e) {
      // A header the forced --format cannot read: say what the file is.
      std::fprintf(stderr, "memext-sim replay: %s\n", e.what());
      print_other_format(options);
      return 1;
    }
    Replayer replay(options, fill_on_miss_by_default(reader->format()));
    if (options.format != TraceFormat::kAuto) {
      const std::optional<TraceFormat> seen = sniff_trace_format(options.trace_path);
      if (seen && *seen != options.format) {
        replay.add_warning({"format_mismatch",
                            "--format " + std::string(trace_format_name(options.format)) +
                                " given, but " + format_hint(options.trace_path, options.format)});
      }
    }
    print_warnings(replay, 0);
    const size_t warned = replay.warnings().size();
    uint64_t total = expected_records(*reader);
    if (options.max_requests != 0 && (total == 0 || options.max_requests < total)) {
      total = options.max_requests;
    }
    try {
      ReplayProgress progress(options.progress, total);
      replay.run(*reader, progress.enabled() ? &progress : nullptr);
    } catch (const TraceError& e) {
      // --strict stops at the first malformed record: say what the file is.
      std::fprintf(stderr, "memext-sim replay: %s\n", e.what());
      print_other_format(options);
      return 1;
    }
    print_warnings(replay, warned);
    if (const std::string unusable = unusable_trace(replay, *reader); !unusable.empty()) {
      print_malformed(*reader);
      std::fprintf(stderr, "memext-sim replay: %s; no report written\n", unusable.c_str());
      return 1;
    }
    const nlohmann::json report = build_report(replay, *reader);
    if (!options.out_path.empty() && !write_report(options.out_path, dump_report(report))) {
      std::fprintf(stderr, "memext-sim replay: cannot write report '%s'\n",
                   options.out_path.c_str());
      return 1;
    }
    print_summary(report, stderr);
    print_malformed(*reader);
    if (options.out_path.empty()) {
      std::fprintf(stderr,
                   "no report written: pass --out REPORT.json to keep it (--out - for stdout)\n");
    } else if (options.out_path == "-") {
      std::fprintf(stderr, "report written to stdout\n");
    } else {
      std::fprintf(stderr, "report written to %s\n", options.out_path.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memext-sim replay: %s\n", e.what());
    return 1;
  }
}

}  // namespace memext
