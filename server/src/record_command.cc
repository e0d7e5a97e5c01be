#include "record_command.h"

#include <cstdio>
#include <string>

#include "session.h"

namespace memext::server {
namespace {

void append_stat(std::string& out, std::string_view name, std::string_view value) {
  out.append("STAT ");
  out.append(name);
  out.push_back(' ');
  out.append(value);
  out.append("\r\n");
}

void record_start(Session& s, const std::vector<std::string_view>& t) {
  RecordSettings settings = s.ctx().config.record;
  std::string problem;
  if (t.size() > 5) {
    problem = "CLIENT_ERROR usage: record start [PATH [SAMPLE [MAX_BYTES]]]";
  } else if (t.size() < 3 && settings.prefix.empty()) {
    problem = "CLIENT_ERROR record start: no PATH given and no -o record_path set";
  } else {
    if (t.size() >= 3) settings.prefix = std::string(t[2]);
    std::string why = check_record_prefix(settings.prefix);
    if (why.empty() && t.size() >= 4) why = parse_record_sample(t[3], settings.sample);
    if (why.empty() && t.size() >= 5) why = parse_record_max_bytes(t[4], settings.max_bytes);
    if (!why.empty()) problem = "CLIENT_ERROR record start: " + why;
  }
  if (problem.empty()) {
    std::string why = s.ctx().recorder.start(settings);
    if (!why.empty()) {
      problem = (why.starts_with("already recording") ? "CLIENT_ERROR record start: "
                                                      : "SERVER_ERROR record start: ") +
                why;
    }
  }
  s.responses().append(problem.empty() ? "OK\r\n" : problem + "\r\n");
}

void record_status(Session& s) {
  const RequestRecorder::Status st = s.ctx().recorder.status();
  std::string out;
  char number[32];
  append_stat(out, "recording", st.recording ? "yes" : "no");
  if (!st.settings.prefix.empty()) {
    append_stat(out, "path", st.settings.prefix);
    std::snprintf(number, sizeof number, "%g", st.settings.sample);
    append_stat(out, "sample", number);
    append_stat(out, "max_bytes", std::to_string(st.settings.max_bytes));
    append_stat(out, "file", st.file);
  }
  append_stat(out, "requests_recorded", std::to_string(st.recorded));
  append_stat(out, "requests_dropped", std::to_string(st.dropped));
  append_stat(out, "bytes_written", std::to_string(st.bytes));
  append_stat(out, "files", std::to_string(st.files));
  if (!st.error.empty()) append_stat(out, "error", st.error);
  out.append("END\r\n");
  s.responses().append(out);
}

}  // namespace

void record_command(Session& s, const std::vector<std::string_view>& t) {
  if (!s.ctx().config.ops.watch_enabled) {
    s.responses().append("CLIENT_ERROR record not allowed (-W)\r\n");
    return;
  }
  const std::string_view sub = t.size() >= 2 ? t[1] : std::string_view();
  if (sub == "start") {
    record_start(s, t);
  } else if (sub == "stop" && t.size() == 2) {
    s.responses().append(s.ctx().recorder.stop() ? "OK\r\n"
                                                 : "CLIENT_ERROR record stop: not recording\r\n");
  } else if (sub == "status" && t.size() == 2) {
    record_status(s);
  } else if (!sub.empty() && sub != "stop" && sub != "status") {
    s.responses().append("CLIENT_ERROR record: unknown subcommand '" + std::string(sub) +
                         "' (allowed: start, stop, status)\r\n");
  } else {
    s.responses().append(
        "CLIENT_ERROR usage: record start [PATH [SAMPLE [MAX_BYTES]]] | "
        "record stop | record status\r\n");
  }
}

}  // namespace memext::server
