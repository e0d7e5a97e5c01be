// memext/device.h — the flash device seam.
//
// Everything the engine knows about flash goes through Device: submit reads
// and writes, reap their completions. Implementations: MemoryDevice (tests),
// FileDevice (pread/pwrite), UringDevice (io_uring + O_DIRECT, the server's
// default) and the simulator's model device (virtual-time queueing model, no
// bytes stored).
//
// The public submit()/reap() are non-virtual: they check bounds and
// alignment and keep the counters, then call the virtual *_impl hooks, so
// every implementation is counted and checked the same way.
//
// Thread-safety and locking: a Device is used by one thread at a time; a
// caller that shares one between threads serializes access itself (the
// server's ExtStore devices are reached only under the engine lock). No
// device IO may run while an engine lock is held: under the lock a caller
// only stages requests on a device whose IO happens elsewhere
// (make_io_thread_device: submit() queues, a thread of the device's own does
// the IO), and reads are planned under the lock, done without it on a device
// of the reading thread's own, and finished under it again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace memext {

enum class IoOp : uint8_t { kRead, kWrite };

// One IO. The caller owns the request and its buffer; both must stay valid
// and untouched from submit() until the request comes back from reap().
struct IoRequest {
  IoOp op = IoOp::kRead;
  uint64_t offset = 0;   // byte offset on the device
  uint32_t len = 0;      // bytes to transfer
  char* buf = nullptr;   // may be null only on a device where stores_data() is false
  void* user = nullptr;  // caller's cookie, untouched by the device
  // Filled at completion: bytes transferred (may be short), or -errno.
  int64_t result = 0;
  // Filled at completion by devices that model time (the simulator's model
  // device): the virtual time, in nanoseconds, at which the IO finished.
  uint64_t completed_at_ns = 0;
};

struct DeviceStats {
  uint64_t reads_submitted = 0;
  uint64_t writes_submitted = 0;
  uint64_t bytes_read = 0;     // bytes of completed reads
  uint64_t bytes_written = 0;  // bytes of completed writes
  uint64_t errors = 0;         // completions with result < 0
  uint64_t rejected = 0;       // submits refused by the checks below
  uint64_t in_flight = 0;
};

class Device {
 public:
  virtual ~Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Queues one IO. Returns 0, or -EINVAL when [offset, offset+len) does not
  // fit the device, len is 0, or offset/len/buf break alignment(); -EAGAIN
  // when the device's queue is full (reap, then retry).
  int submit(IoRequest* req);

  // Makes queued IOs visible to the device (io_uring_submit). submit() alone
  // may only stage a request; call flush() after a batch.
  void flush() { flush_impl(); }

  // Moves up to max completed requests into out[]; returns how many. With
  // wait, blocks until at least one completes if any is in flight.
  size_t reap(IoRequest** out, size_t max, bool wait);

  uint64_t size() const { return size_; }
  // Offset, length and buffer address alignment the device requires (1 when
  // it has none; 4096 for O_DIRECT).
  uint32_t alignment() const { return alignment_; }
  // False for devices that model timing only and keep no bytes.
  virtual bool stores_data() const { return true; }
  // A descriptor that polls readable while completions wait to be reaped
  // (io_uring's ring fd), for an event loop to watch; -1 on devices whose
  // reap() performs the IO itself (call it right after flush()).
  virtual int completion_fd() const { return -1; }
  const DeviceStats& stats() const { return stats_; }
  virtual std::string describe() const = 0;

 protected:
  Device(uint64_t size, uint32_t alignment) : size_(size), alignment_(alignment) {}

  virtual int submit_impl(IoRequest* req) = 0;
  virtual void flush_impl() {}
  virtual size_t reap_impl(IoRequest** out, size_t max, bool wait) = 0;

 private:
  uint64_t size_;
  uint32_t alignment_;
  DeviceStats stats_;
};

// Submits one IO, flushes and waits for it: for start-up, tests and the
// background steps that do their IO synchronously. Returns the request's
// result. Precondition: nothing else is in flight on the device.
int64_t submit_and_wait(Device& dev, IoRequest* req);

// A device holding its bytes in RAM; completes IOs in submission order on
// the next reap(). For tests.
std::unique_ptr<Device> make_memory_device(uint64_t size);

// A regular file of the given size (created or extended), pread/pwrite,
// completes synchronously inside reap(). Throws std::runtime_error naming the
// path and the errno text when the file cannot be opened, locked or sized.
std::unique_ptr<Device> make_file_device(const std::string& path, uint64_t size);

// io_uring over the file opened with O_DIRECT (buffers, offsets and lengths
// must be aligned to alignment()). Throws std::runtime_error with a clear
// message when io_uring is not permitted here or O_DIRECT is refused; callers
// may fall back to make_file_device().
std::unique_ptr<Device> make_uring_device(const std::string& path, uint64_t size,
                                          unsigned queue_depth = 64);

// Wraps `inner` so that its IO runs on a thread of the wrapper's own:
// submit() and flush() only queue requests (no system call), the thread
// submits them to `inner`, waits for them and queues the completions, and
// reap() hands those back (with wait, blocking until one arrives). It is what
// lets a caller holding the engine lock write a wbuf without doing IO, as
// memcached's extstore IO threads do. The wrapper itself is used by one thread
// at a time like any Device; `inner` is touched only by the IO thread.
std::unique_ptr<Device> make_io_thread_device(std::unique_ptr<Device> inner);

// Allocates len bytes aligned for O_DIRECT (4096), zeroed. Free with
// free_aligned(), or hold it in an AlignedBuffer.
char* alloc_aligned(size_t len);
void free_aligned(char* p);

// Owns one alloc_aligned() block: the buffer an O_DIRECT read or write needs,
// freed with its owner.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t len) : data_(alloc_aligned(len)), size_(len) {}
  ~AlignedBuffer() { free_aligned(data_); }
  AlignedBuffer(AlignedBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    if (this != &other) {
      free_aligned(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  char* data() const { return data_; }
  size_t size() const { return size_; }
  // Makes room for at least len bytes; the contents are not kept.
  void reserve(size_t len) {
    if (size_ < len) *this = AlignedBuffer(len);
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace memext
