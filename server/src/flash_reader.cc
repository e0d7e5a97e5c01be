#include "flash_reader.h"

#include <fcntl.h>
#include <liburing.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

#include "memext/device.h"
#include "server_context.h"

namespace asio = boost::asio;

namespace memext::server {

Fetch fetch_locked(SharedEngine& shared, std::string_view key, const GetOptions& options) {
  Fetch f;
  GetResult r = shared.engine.get(key, options);
  if (r.source == HitSource::kMiss) return f;
  if (r.source == HitSource::kRam) {
    f.kind = FetchKind::kValue;
    f.info = r.info;
    f.value = r.value;
    return f;
  }
  if (shared.flash == nullptr) return f;
  memext::FlashRead plan = shared.flash->plan_read(key, r);
  if (plan.kind == FlashReadKind::kMiss) return f;
  if (plan.kind == FlashReadKind::kBuffered) {
    ReadOutcome outcome = shared.flash->finish_read(key, r, plan, nullptr, 0);
    if (!outcome.hit()) return f;
    f.kind = FetchKind::kValue;
    f.info = outcome.info;
    f.value = outcome.value;
    return f;
  }
  f.kind = FetchKind::kDeferred;
  f.info = r.info;
  f.pending = std::make_unique<PendingFlashRead>();
  f.pending->key.assign(key);
  f.pending->header = r;
  f.pending->header.value = {};
  f.pending->plan = plan;
  return f;
}

// Precondition: shared.mutex is held.
void complete_flash_read_locked(SharedEngine& shared, PendingFlashRead& read, int64_t io_result) {
  ResponseQueue::Segment& slot = *read.slot;
  ReadOutcome outcome =
      shared.flash->finish_read(read.key, read.header, read.plan, read.buffer, io_result);
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

struct FlashReader::Impl {
  Impl(asio::io_context& io_context, SharedEngine& s) : io(io_context), shared(s), notify(io) {}

  asio::io_context& io;
  SharedEngine& shared;
  std::vector<int> fds;
  io_uring ring{};
  bool ring_ok = false;
  bool fixed_files = false;
  std::string fallback;
  // Watches the ring's own fd, which polls readable while completions wait.
  asio::posix::stream_descriptor notify;
  // SQEs prepared but not yet submitted. Every connection made ready by one
  // epoll round queues its reads first; one io_uring_enter then submits them
  // all, and the block layer notifies the device once per batch instead of
  // once per read (a virtio notify is a VM exit: it cost ~20% of the
  // server's CPU on the flash benchmark when each read was submitted alone).
  unsigned unsubmitted = 0;
  bool submit_posted = false;
  std::vector<std::pair<PendingFlashRead*, int64_t>> completed;  // reused by reap()

  // Finishes reads under one engine lock acquisition, then resumes their
  // connections (which may take the lock again) without it.
  void finish(std::vector<std::pair<PendingFlashRead*, int64_t>>& batch) {
    {
      std::lock_guard lock(shared.mutex);
      for (auto& [read, result] : batch) complete_flash_read_locked(shared, *read, result);
    }
    for (auto& [raw, result] : batch) {
      std::unique_ptr<PendingFlashRead> read(raw);
      free_aligned(read->buffer);
      read->buffer = nullptr;
      if (read->done) read->done();
    }
    batch.clear();
  }

  void arm() {
    notify.async_wait(asio::posix::stream_descriptor::wait_read,
                      [this](const boost::system::error_code& ec) {
                        if (ec) return;
                        reap();
                        arm();
                      });
  }

  void submit_now() {
    submit_posted = false;
    if (unsubmitted == 0) return;
    unsubmitted = 0;
    io_uring_submit(&ring);
  }

  void submit_soon() {
    if (submit_posted) return;
    submit_posted = true;
    asio::post(io, [this] { submit_now(); });
  }

  void reap() {
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&ring, &cqe) == 0) {
      completed.emplace_back(static_cast<PendingFlashRead*>(io_uring_cqe_get_data(cqe)), cqe->res);
      io_uring_cqe_seen(&ring, cqe);
    }
    if (!completed.empty()) finish(completed);
  }

  void submit_sync(PendingFlashRead* read) {
    int fd = fds[read->plan.file_index];
    int64_t done = 0;
    while (done < read->plan.length) {
      ssize_t n = ::pread(fd, read->buffer + done, read->plan.length - done,
                          static_cast<off_t>(read->plan.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n < 0) done = -errno;
        break;
      }
      done += n;
    }
    asio::post(io, [this, read, done] {
      std::vector<std::pair<PendingFlashRead*, int64_t>> one{{read, done}};
      finish(one);
    });
  }
};

FlashReader::FlashReader(asio::io_context& io, SharedEngine& shared,
                         const std::vector<std::string>& paths, bool try_uring)
    : impl_(std::make_unique<Impl>(io, shared)) {
  for (const std::string& path : paths) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw std::runtime_error("cannot open " + path + " for reading: " + std::strerror(errno));
    }
    impl_->fds.push_back(fd);
  }
  if (!try_uring) {
    impl_->fallback = "io_uring disabled";
    return;
  }
  int rc = io_uring_queue_init(256, &impl_->ring, 0);
  if (rc < 0) {
    impl_->fallback = std::string("io_uring_queue_init: ") + std::strerror(-rc);
    return;
  }
  impl_->notify.assign(impl_->ring.ring_fd);
  impl_->ring_ok = true;
  // Registered files spare each read the kernel's fd lookup and reference
  // count; without them reads use the plain descriptors.
  impl_->fixed_files = io_uring_register_files(&impl_->ring, impl_->fds.data(),
                                               static_cast<unsigned>(impl_->fds.size())) == 0;
  impl_->arm();
}

FlashReader::~FlashReader() {
  if (impl_->ring_ok) {
    boost::system::error_code ignored;
    impl_->notify.cancel(ignored);
    impl_->notify.release();  // io_uring_queue_exit closes the ring fd
    io_uring_queue_exit(&impl_->ring);
  }
  for (int fd : impl_->fds) ::close(fd);
}

bool FlashReader::use_uring() const {
  return impl_->ring_ok;
}
const std::string& FlashReader::fallback_reason() const {
  return impl_->fallback;
}

void FlashReader::submit(std::vector<std::unique_ptr<PendingFlashRead>> reads) {
  for (std::unique_ptr<PendingFlashRead>& owned : reads) {
    PendingFlashRead* read = owned.release();
    read->buffer = alloc_aligned(read->plan.length);
    if (!impl_->ring_ok) {
      impl_->submit_sync(read);
      continue;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&impl_->ring);
    if (sqe == nullptr) {
      impl_->submit_now();
      sqe = io_uring_get_sqe(&impl_->ring);
    }
    if (sqe == nullptr) {
      impl_->submit_sync(read);
      continue;
    }
    if (impl_->fixed_files) {
      io_uring_prep_read(sqe, static_cast<int>(read->plan.file_index), read->buffer,
                         read->plan.length, read->plan.offset);
      sqe->flags |= IOSQE_FIXED_FILE;
    } else {
      io_uring_prep_read(sqe, impl_->fds[read->plan.file_index], read->buffer, read->plan.length,
                         read->plan.offset);
    }
    io_uring_sqe_set_data(sqe, read);
    ++impl_->unsubmitted;
  }
  if (impl_->unsubmitted > 0) impl_->submit_soon();
}

}  // namespace memext::server
