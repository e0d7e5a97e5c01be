// Writes requests as generic CSV (the `csv` format of traces/README.md) with
// every field: time_ns,key_id,key_size,value_size,op,ttl,op_count,next_access.
// Reading the file back gives the same requests, so traces can be inspected or
// handed to other tools (pandas) and returned. Not thread-safe.
#pragma once

#include <cstdio>
#include <string>

#include "traces/trace_request.h"

namespace memext {

class CsvTraceWriter {
 public:
  // Throws TraceError if the file cannot be created.
  explicit CsvTraceWriter(std::string path);
  ~CsvTraceWriter();
  CsvTraceWriter(const CsvTraceWriter&) = delete;
  CsvTraceWriter& operator=(const CsvTraceWriter&) = delete;

  void write(const TraceRequest& r);
  // Flushes and closes; throws TraceError on I/O errors.
  void close();

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace memext
