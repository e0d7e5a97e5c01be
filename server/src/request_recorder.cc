#include "request_recorder.h"

#include <time.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <filesystem>
#include <limits>
#include <utility>

#include "per_thread_buffers.h"
#include "traces/trace_error.h"
#include "traces/trace_native.h"

namespace memext::server {
namespace {

// The writer wakes this often to take the workers' buffers.
constexpr auto kWriterTick = std::chrono::milliseconds(10);
// ...and pushes what it compressed to the file (and checks its size) at
// least this often.
constexpr auto kFlushEvery = std::chrono::seconds(1);
// zstd level: the writer shares the CPU with the workers.
constexpr int kZstdLevel = 1;

uint64_t now_microsecond_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 +
         static_cast<uint64_t>(ts.tv_nsec) / 1000 * 1000;
}

// One past the highest number of an existing PREFIX.NNNN.mxt.zst, so a new
// recording never overwrites an old one.
uint32_t first_free_number(const std::string& prefix) {
  namespace fs = std::filesystem;
  const fs::path path(prefix);
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const std::string stem = path.filename().string() + ".";
  constexpr std::string_view kSuffix = ".mxt.zst";
  uint32_t highest = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= stem.size() + kSuffix.size() || !name.starts_with(stem) ||
        !name.ends_with(kSuffix)) {
      continue;
    }
    const std::string digits = name.substr(stem.size(), name.size() - stem.size() - kSuffix.size());
    if (digits.size() < 4 || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    highest = std::max(highest, static_cast<uint32_t>(std::stoul(digits)));
  }
  return highest + 1;
}

}  // namespace

// The files of one recording: the current one and the rotation.
class RequestRecorder::Writer {
 public:
  explicit Writer(const RecordSettings& settings)
      : settings_(settings),
        check_every_(settings.max_bytes == 0
                         ? uint64_t{1} << 16
                         : std::clamp<uint64_t>(settings.max_bytes / kNativeRecordBytes / 4, 1024,
                                                uint64_t{1} << 16)),
        number_(first_free_number(settings.prefix)) {
    open();
  }

  void write(const TraceRequest& r) {
    out_->write(r);
    if (++since_check_ >= check_every_) check_size();
  }

  // Flushes to the file, and begins the next file when this one is full.
  void check_size() {
    since_check_ = 0;
    out_->flush();
    if (settings_.max_bytes != 0 && out_->bytes_written() >= settings_.max_bytes) {
      close_current();
      open();
    }
  }

  void finish() { close_current(); }

  const std::string& file() const { return file_; }
  uint64_t files() const { return files_; }
  uint64_t records() const { return closed_records_ + (out_ ? out_->records_written() : 0); }
  uint64_t bytes() const { return closed_bytes_ + (out_ ? out_->bytes_written() : 0); }

 private:
  void open() {
    file_ = record_file_name(settings_.prefix, number_++);
    NativeWriterOptions options;
    options.zstd_level = kZstdLevel;
    out_ = std::make_unique<NativeTraceWriter>(file_, options);
    ++files_;
  }

  void close_current() {
    if (!out_) return;
    out_->close();
    closed_records_ += out_->records_written();
    closed_bytes_ += out_->bytes_written();
    out_.reset();
  }

  const RecordSettings settings_;
  const uint64_t check_every_;
  uint32_t number_;
  std::unique_ptr<NativeTraceWriter> out_;
  std::string file_;
  uint64_t since_check_ = 0;
  uint64_t files_ = 0;
  uint64_t closed_records_ = 0;
  uint64_t closed_bytes_ = 0;
};

RequestRecorder::RequestRecorder(size_t buffer_records)
    : capacity_(buffer_records), instance_(next_buffer_owner_id()) {
  assert(buffer_records > 0);
}

RequestRecorder::~RequestRecorder() {
  stop();
}

RequestRecorder::WorkerBuffer& RequestRecorder::thread_buffer() {
  return this_thread_buffer(instance_, mutex_, buffers_);
}

void RequestRecorder::record_sampled(Op op, std::string_view key, uint32_t value_size,
                                     int64_t ttl) {
  // Acquire: the sample set by start() before it turned recording on.
  if (!active_.load(std::memory_order_acquire)) return;
  TraceRequest r;
  r.key_id = hash_key_bytes(key);
  if (!sample_all_.load(std::memory_order_relaxed) &&
      sample_hash(r.key_id) >= sample_threshold_.load(std::memory_order_relaxed)) {
    return;
  }
  r.time_ns = now_microsecond_ns();
  r.ttl = ttl;
  r.key_size = static_cast<uint32_t>(key.size());
  r.value_size = value_size;
  r.op = op;
  WorkerBuffer& buffer = thread_buffer();
  std::lock_guard lock(buffer.mutex);
  // stop() turned recording off before the writer's last collect(): whoever
  // takes the buffer after it sees that, so nothing is left behind.
  if (!active_.load(std::memory_order_relaxed)) return;
  if (buffer.records.size() >= capacity_) {
    ++buffer.dropped;
    return;
  }
  buffer.records.push_back(r);
}

uint64_t RequestRecorder::collect(std::vector<std::vector<TraceRequest>>& batches) {
  uint64_t dropped = 0;
  std::lock_guard lock(mutex_);
  batches.resize(buffers_.size());
  for (size_t i = 0; i < buffers_.size(); ++i) {
    WorkerBuffer& buffer = *buffers_[i];
    batches[i].clear();
    std::lock_guard buffer_lock(buffer.mutex);
    batches[i].swap(buffer.records);
    dropped += std::exchange(buffer.dropped, 0);
  }
  return dropped;
}

std::string RequestRecorder::start(const RecordSettings& settings) {
  assert(settings.sample > 0 && settings.sample <= 1);
  std::lock_guard control(control_mutex_);
  if (thread_.joinable()) {
    if (active_.load()) {
      std::lock_guard lock(status_mutex_);
      return "already recording to " + status_.file + " (record stop first)";
    }
    thread_.join();  // a writer that stopped on an error
  }
  std::unique_ptr<Writer> writer;
  try {
    writer = std::make_unique<Writer>(settings);
  } catch (const TraceError& e) {
    return e.what();
  }
  {
    std::lock_guard lock(status_mutex_);
    status_ = Status{};
    status_.recording = true;
    status_.settings = settings;
    status_.file = writer->file();
    status_.files = 1;
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
    // Requests left from before the last stop are not this recording's.
    for (auto& buffer : buffers_) {
      std::lock_guard buffer_lock(buffer->mutex);
      buffer->records.clear();
      buffer->dropped = 0;
    }
  }
  const KeySampler sampler(settings.sample);
  sample_all_.store(sampler.all(), std::memory_order_relaxed);
  sample_threshold_.store(sampler.threshold(), std::memory_order_relaxed);
  active_.store(true, std::memory_order_release);
  thread_ = std::thread([this, w = std::move(writer)]() mutable { run(std::move(w)); });
  return "";
}

bool RequestRecorder::stop() {
  std::lock_guard control(control_mutex_);
  if (!thread_.joinable()) return false;
  active_.store(false);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_one();
  thread_.join();
  std::lock_guard lock(mutex_);
  for (auto& buffer : buffers_) {
    std::lock_guard buffer_lock(buffer->mutex);
    std::vector<TraceRequest>().swap(buffer->records);
  }
  return true;
}

RequestRecorder::Status RequestRecorder::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

void RequestRecorder::run(std::unique_ptr<Writer> writer) {
  std::vector<std::vector<TraceRequest>> batches;
  std::vector<size_t> next;
  uint64_t dropped = 0;
  auto last_flush = std::chrono::steady_clock::now();
  std::string error;
  for (;;) {
    bool last;
    {
      std::unique_lock lock(mutex_);
      wakeup_.wait_for(lock, kWriterTick, [this] { return stopping_; });
      last = stopping_;
    }
    dropped += collect(batches);
    try {
      // Merged by time; ties and clock steps keep each worker's own order.
      next.assign(batches.size(), 0);
      for (;;) {
        size_t pick = batches.size();
        for (size_t i = 0; i < batches.size(); ++i) {
          if (next[i] == batches[i].size()) continue;
          if (pick == batches.size() ||
              batches[i][next[i]].time_ns < batches[pick][next[pick]].time_ns) {
            pick = i;
          }
        }
        if (pick == batches.size()) break;
        writer->write(batches[pick][next[pick]++]);
      }
      const auto now = std::chrono::steady_clock::now();
      if (last) {
        writer->finish();
      } else if (now - last_flush >= kFlushEvery) {
        writer->check_size();
        last_flush = now;
      }
    } catch (const TraceError& e) {
      error = e.what();
      active_.store(false);
    }
    {
      std::lock_guard lock(status_mutex_);
      status_.recorded = writer->records();
      status_.dropped = dropped;
      status_.bytes = writer->bytes();
      status_.files = writer->files();
      status_.file = writer->file();
      if (!error.empty()) status_.error = error;
      if (last || !error.empty()) status_.recording = false;
    }
    if (last || !error.empty()) return;
  }
}

}  // namespace memext::server
