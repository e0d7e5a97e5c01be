#include "traces/trace_csv_writer.h"

#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "traces/trace_error.h"

namespace memext {

CsvTraceWriter::CsvTraceWriter(std::string path) : path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "w");
  if (file_ == nullptr) throw TraceError(path_ + ": cannot create: " + std::strerror(errno));
  std::fputs("time_ns,key_id,key_size,value_size,op,ttl,op_count,next_access\n", file_);
}

CsvTraceWriter::~CsvTraceWriter() {
  if (file_ != nullptr) std::fclose(file_);  // errors only reach callers of close()
}

void CsvTraceWriter::write(const TraceRequest& r) {
  std::fprintf(file_,
               "%" PRIu64 ",%" PRIu64 ",%" PRIu32 ",%" PRIu32 ",%.*s,%" PRId64 ",%" PRIu32 ",",
               r.time_ns, r.key_id, r.key_size, r.value_size,
               static_cast<int>(op_name(r.op).size()), op_name(r.op).data(), r.ttl, r.op_count);
  if (r.next_access == kNextAccessNever) {
    std::fputs("never\n", file_);
  } else {
    std::fprintf(file_, "%" PRId64 "\n", r.next_access);
  }
}

void CsvTraceWriter::close() {
  if (file_ == nullptr) return;
  bool failed = std::ferror(file_) != 0;
  failed = std::fclose(file_) != 0 || failed;
  file_ = nullptr;
  if (failed) throw TraceError(path_ + ": write failed: " + std::strerror(errno));
}

}  // namespace memext
