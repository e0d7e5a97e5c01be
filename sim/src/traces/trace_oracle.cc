// libCacheSim's oracleGeneral binary format: 24-byte little-endian records
// {uint32 clock_time (s), uint64 obj_id, uint32 obj_size, int64 next_access_vtime}.
// It has no operations, keys or TTLs: every record is a get of an 8-byte key.
#include <cstring>
#include <limits>

#include "traces/trace_input.h"
#include "traces/trace_reader.h"

namespace memext {
namespace {

constexpr size_t kRecordBytes = 24;
constexpr uint32_t kOracleKeySize = 8;

class OracleReader final : public TraceReader {
 public:
  bool second_resolution() const override { return true; }

  OracleReader(std::unique_ptr<TraceInput> in, const TraceReadOptions& options)
      : TraceReader(TraceFormat::kOracleGeneral, std::move(in), options) {
    if (auto size = input().plain_file_size()) expected_ = *size / kRecordBytes;
  }

  std::optional<uint64_t> expected_records() const override { return expected_; }

  bool next(TraceRequest& out) override { return next_batch(&out, 1) == 1; }

  size_t next_batch(TraceRequest* out, size_t n) override {
    size_t done = 0;
    while (done < n) {
      std::string_view buf = input().fetch(kRecordBytes);
      if (buf.size() < kRecordBytes) {
        if (!buf.empty()) {
          uint64_t at = input().offset();
          input().consume(buf.size());
          reject_offset(at, "record",
                        "truncated record: " + std::to_string(buf.size()) + " of 24 bytes");
        }
        break;
      }
      size_t whole = std::min(buf.size() / kRecordBytes, n - done);
      const char* p = buf.data();
      for (size_t i = 0; i < whole; ++i, p += kRecordBytes) {
        uint32_t clock;
        uint64_t id;
        uint32_t size;
        int64_t next_vtime;
        std::memcpy(&clock, p, 4);
        std::memcpy(&id, p + 4, 8);
        std::memcpy(&size, p + 12, 4);
        std::memcpy(&next_vtime, p + 16, 8);
        if (next_vtime < -1) {
          reject_offset(input().offset() + (p - buf.data()), "next_access_vtime",
                        std::to_string(next_vtime) + " is neither -1 nor a request index");
          continue;
        }
        TraceRequest& r = out[done++];
        r.time_ns = uint64_t{clock} * 1000000000ULL;
        r.key_id = id;
        r.next_access = next_vtime == -1 ? kNextAccessNever : next_vtime;
        r.ttl = 0;
        r.key_size = kOracleKeySize;
        r.value_size = size;
        r.op_count = 1;
        r.op = Op::kGet;
      }
      input().consume(whole * kRecordBytes);
    }
    stats_.records += done;
    return done;
  }

 private:
  std::optional<uint64_t> expected_;
};

}  // namespace

std::unique_ptr<TraceReader> make_oracle_reader(std::unique_ptr<TraceInput> input,
                                                const TraceReadOptions& options) {
  return std::make_unique<OracleReader>(std::move(input), options);
}

}  // namespace memext
