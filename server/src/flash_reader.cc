#include "flash_reader.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cassert>
#include <cerrno>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "memext/device.h"
#include "server_context.h"

namespace asio = boost::asio;

namespace memext::server {

Fetch fetch_locked(SharedEngine& shared, std::string_view key, const GetOptions& options,
                   uint64_t* recache_counter) {
  assert(shared.mutex.exclusive_held());
  Fetch f;
  GetResult r = shared.engine.get(key, options);
  if (r.source == HitSource::kMiss) return f;
  if (r.source == HitSource::kRam) return value_fetch(r.info, r.value);
  if (shared.flash == nullptr) return f;
  return plan_locked(shared, key, r, recache_counter);
}

Fetch plan_locked(SharedEngine& shared, std::string_view key, const GetResult& header,
                  uint64_t* recache_counter) {
  assert(shared.mutex.exclusive_held());
  assert(header.source == HitSource::kFlashHeader && shared.flash != nullptr);
  Fetch f;
  memext::FlashRead plan = shared.flash->plan_read(key, header);
  if (plan.kind == FlashReadKind::kMiss) return f;
  plan.recache_counter = recache_counter;
  if (plan.kind == FlashReadKind::kBuffered) {
    ReadOutcome outcome = shared.flash->finish_read(key, header, plan, nullptr, 0);
    if (!outcome.hit()) return f;
    return value_fetch(outcome.info, outcome.value);
  }
  return deferred_fetch(key, header, plan);
}

Fetch deferred_fetch(std::string_view key, const GetResult& header, const memext::FlashRead& plan) {
  Fetch f;
  f.kind = FetchKind::kDeferred;
  f.info = header.info;
  f.pending = PendingFlashRead::make();
  f.pending->key.assign(key);
  f.pending->header = header;
  f.pending->header.value = {};
  f.pending->plan = plan;
  return f;
}

namespace {

// Finished reads kept per thread for the next ones; buffers larger than
// kPooledBufferMax go back to the allocator.
constexpr size_t kPooledReads = 32;
constexpr size_t kPooledBufferMax = 16 * 1024;

std::vector<std::unique_ptr<PendingFlashRead>>& read_pool() {
  thread_local std::vector<std::unique_ptr<PendingFlashRead>> pool;
  return pool;
}

}  // namespace

std::unique_ptr<PendingFlashRead> PendingFlashRead::make() {
  auto& pool = read_pool();
  if (pool.empty()) return std::make_unique<PendingFlashRead>();
  std::unique_ptr<PendingFlashRead> read = std::move(pool.back());
  pool.pop_back();
  return read;
}

void PendingFlashRead::recycle(std::unique_ptr<PendingFlashRead> read) {
  auto& pool = read_pool();
  if (pool.size() >= kPooledReads) return;
  read->key.clear();
  read->header = GetResult();
  read->plan = memext::FlashRead();
  read->slot = nullptr;
  read->prefix.clear();
  read->suffix.clear();
  read->on_miss.clear();
  read->done = nullptr;
  read->keep_alive.reset();
  if (read->buffer.size() > kPooledBufferMax) read->buffer = AlignedBuffer();
  read->io = IoRequest();
  pool.push_back(std::move(read));
}

namespace {
void fill_slot(PendingFlashRead& read, const ReadOutcome& outcome) {
  ResponseQueue::Segment& slot = *read.slot;
  if (outcome.hit()) {
    slot.bytes.reserve(read.prefix.size() + outcome.value.size() + read.suffix.size());
    slot.bytes.append(read.prefix);
    slot.bytes.append(outcome.value);
    slot.bytes.append(read.suffix);
  } else {
    slot.bytes = read.on_miss;
  }
  slot.ready = true;
}
}  // namespace

// Precondition: shared.mutex is held.
void complete_flash_read_locked(SharedEngine& shared, PendingFlashRead& read, int64_t io_result) {
  assert(shared.mutex.exclusive_held());
  fill_slot(read, shared.flash->finish_read(read.key, read.header, read.plan, read.buffer.data(),
                                            io_result));
}

bool try_complete_flash_read_shared(SharedEngine& shared, PendingFlashRead& read,
                                    int64_t io_result) {
  std::optional<ReadOutcome> outcome = shared.flash->try_finish_read_shared(
      read.key, read.header, read.plan, read.buffer.data(), io_result);
  if (!outcome) return false;
  fill_slot(read, *outcome);
  return true;
}

struct FlashReader::Impl {
  Impl(asio::io_context& io_context, SharedEngine& s) : io(io_context), shared(s) {}

  // One ext_path file as this worker reads it.
  struct File {
    std::unique_ptr<Device> device;
    // Watches the device's completion_fd (io_uring's ring fd, readable while
    // completions wait); null for a pread device, reaped right after flush.
    std::unique_ptr<asio::posix::stream_descriptor> notify;
    // Refused with -EAGAIN (the ring is full): submitted as reads complete.
    std::deque<PendingFlashRead*> backlog;
    bool unflushed = false;
  };

  asio::io_context& io;
  SharedEngine& shared;
  std::vector<File> files;
  bool uring = false;
  std::string fallback;
  // Every connection made ready by one epoll round queues its reads first;
  // one flush per device then submits them all, and the block layer notifies
  // the device once per batch instead of once per read (a virtio notify is a
  // VM exit: it cost ~20% of the server's CPU on the flash benchmark when
  // each read was submitted alone).
  bool flush_posted = false;
  std::vector<std::pair<PendingFlashRead*, int64_t>> completed;    // not yet finished
  std::vector<std::pair<PendingFlashRead*, int64_t>> spare_batch;  // finish()'s, reused

  // Finishes reads under one engine lock acquisition, then resumes their
  // connections (which may take the lock again) without it.
  void finish(std::vector<std::pair<PendingFlashRead*, int64_t>>& done) {
    // A resumed connection may submit (and add to `done`) from its callback.
    std::vector<std::pair<PendingFlashRead*, int64_t>> batch = std::move(spare_batch);
    batch.clear();
    batch.swap(done);
    // Most finish on the shared side; the rest (recache due, a page to free,
    // a miss to unlink) under one exclusive acquisition.
    std::vector<std::pair<PendingFlashRead*, int64_t>> exclusive;
    {
      SharedSection lock(shared.mutex, Holder::kFlashFinish);
      for (auto& [read, result] : batch) {
        if (!try_complete_flash_read_shared(shared, *read, result)) {
          exclusive.emplace_back(read, result);
        }
      }
    }
    if (!exclusive.empty()) {
      ExclusiveSection lock(shared.mutex, Holder::kFlashFinish);
      for (auto& [read, result] : exclusive) complete_flash_read_locked(shared, *read, result);
    }
    for (auto& [raw, result] : batch) {
      std::unique_ptr<PendingFlashRead> read(raw);
      if (read->done) read->done();
      PendingFlashRead::recycle(std::move(read));
    }
    // Its storage serves the next round (a resumed connection's reads went
    // to `done`, not here).
    batch.clear();
    spare_batch = std::move(batch);
  }

  void arm(File& file) {
    file.notify->async_wait(asio::posix::stream_descriptor::wait_read,
                            [this, &file](const boost::system::error_code& ec) {
                              if (ec) return;
                              reap(file);
                              arm(file);
                            });
  }

  // Queues a read on its file's device; false when the device is full.
  bool try_submit(File& file, PendingFlashRead* read) {
    const int rc = file.device->submit(&read->io);
    if (rc == -EAGAIN) return false;
    if (rc != 0) {
      completed.emplace_back(read, rc);  // a plan the device refuses: a miss
    } else {
      file.unflushed = true;
    }
    return true;
  }

  void flush_now() {
    flush_posted = false;
    for (File& file : files) {
      if (!file.unflushed) continue;
      file.unflushed = false;
      file.device->flush();
      if (!file.notify) reap(file);
    }
    if (!completed.empty()) finish(completed);
  }

  void flush_soon() {
    if (flush_posted) return;
    flush_posted = true;
    asio::post(io, [this] { flush_now(); });
  }

  void reap(File& file) {
    IoRequest* done[64];
    size_t n;
    while ((n = file.device->reap(done, 64, false)) > 0) {
      for (size_t i = 0; i < n; ++i) {
        completed.emplace_back(static_cast<PendingFlashRead*>(done[i]->user), done[i]->result);
      }
    }
    // Completions made room in the ring.
    while (!file.backlog.empty() && try_submit(file, file.backlog.front())) {
      file.backlog.pop_front();
    }
    if (file.unflushed) flush_soon();
    if (!completed.empty()) finish(completed);
  }
};

FlashReader::FlashReader(asio::io_context& io, SharedEngine& shared,
                         const std::vector<ExtPathConfig>& paths, bool try_uring)
    : impl_(std::make_unique<Impl>(io, shared)) {
  Impl& m = *impl_;
  m.uring = try_uring;
  if (!try_uring) m.fallback = "io_uring disabled";
  for (const ExtPathConfig& path : paths) {
    Impl::File file;
    if (m.uring) {
      try {
        file.device = make_uring_device(path.path, path.size_bytes, 256);
      } catch (const std::runtime_error& e) {
        // Refused for the first file means refused for all: pread throughout.
        if (!m.files.empty()) throw;
        m.uring = false;
        m.fallback = e.what();
      }
    }
    if (!file.device) file.device = make_file_device(path.path, path.size_bytes);
    m.files.push_back(std::move(file));
  }
  for (Impl::File& file : m.files) {
    const int fd = file.device->completion_fd();
    if (fd < 0) continue;
    file.notify = std::make_unique<asio::posix::stream_descriptor>(io, fd);
    m.arm(file);
  }
}

FlashReader::~FlashReader() {
  // Reads still out belong to no connection any more (the workers are
  // stopped): let the device give their buffers back, then drop them.
  for (Impl::File& file : impl_->files) {
    if (file.notify) {
      boost::system::error_code ignored;
      file.notify->cancel(ignored);
      file.notify->release();  // the device closes its own fd
    }
    file.device->flush();
    IoRequest* done[64];
    while (file.device->stats().in_flight > 0) {
      const size_t n = file.device->reap(done, 64, true);
      if (n == 0) break;
      for (size_t i = 0; i < n; ++i) delete static_cast<PendingFlashRead*>(done[i]->user);
    }
    for (PendingFlashRead* read : file.backlog) delete read;
  }
  for (auto& [read, result] : impl_->completed) delete read;
}

bool FlashReader::use_uring() const {
  return impl_->uring;
}
const std::string& FlashReader::fallback_reason() const {
  return impl_->fallback;
}

void FlashReader::submit(std::vector<std::unique_ptr<PendingFlashRead>>& reads) {
  Impl& m = *impl_;
  for (std::unique_ptr<PendingFlashRead>& owned : reads) {
    PendingFlashRead* read = owned.release();
    // A pooled record's buffer is reused: the device overwrites what it reads,
    // and finish_read looks only at those bytes.
    read->buffer.reserve(read->plan.length);
    read->io = IoRequest{IoOp::kRead, read->plan.offset, read->plan.length, read->buffer.data()};
    read->io.user = read;
    if (read->plan.file_index >= m.files.size()) {
      m.completed.emplace_back(read, -EINVAL);
      continue;
    }
    Impl::File& file = m.files[read->plan.file_index];
    if (!file.backlog.empty() || !m.try_submit(file, read)) file.backlog.push_back(read);
  }
  reads.clear();
  // Refused plans are answered in the same round as the rest.
  m.flush_soon();
}

}  // namespace memext::server
