// server/src/record_command.h — the text command that drives the request
// recorder (request_recorder.h), memext's own (memcached has none):
//   record start [PATH [SAMPLE [MAX_BYTES]]]   OK, or an error naming the value
//   record stop                                OK once the last file is complete
//   record status                              STAT lines, END
// Omitted values come from -o record_path, record_sample, record_max_bytes.
// Refused under -W, as `watch` is: both hand out the request stream.
#pragma once

#include <string_view>
#include <vector>

namespace memext::server {

class Session;

void record_command(Session& s, const std::vector<std::string_view>& t);

}  // namespace memext::server
