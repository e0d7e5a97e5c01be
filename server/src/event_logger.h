// server/src/event_logger.h — memcached's logger for `watch`: the engine's
// events (memext/events.h) and the server's connection events become
// memcached 1.6.18's log lines, sent to the connections that asked for them.
//
// Flow (memcached's): the thread raising an event formats its line and
// appends it to that thread's own bounded buffer (worker_logbuf_size; a full
// buffer drops the line: log_worker_dropped), taking only that buffer's
// mutex, which the logger thread holds just long enough to swap the buffer
// out. The logger thread moves lines into each interested watcher's bounded
// buffer (watcher_logbuf_size); when a watcher's socket does not keep up its
// buffer fills, further lines are skipped and counted, and the next line
// that fits is preceded by `skipped=N`. A worker never waits for a watcher.
// With no watcher no stream is wanted, and the engine's check is one relaxed
// load per event.
//
// Locks: mutex_ (the watcher list and worker buffer registry) is taken
// before a Watcher::mutex, never after; a WorkerBuffer::mutex is taken alone.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "memext/events.h"

namespace memext::server {

// One `watch` connection's share of the log.
struct Watcher {
  uint32_t streams = 0;
  uint64_t min_gid = 0;  // lines logged before the watcher was added are not its
  std::mutex mutex;
  std::string pending;   // lines ready for the socket; guarded by mutex
  uint64_t skipped = 0;  // guarded by mutex
  // Posts the connection's flush to its worker; guarded by mutex. Empty
  // before the connection attaches and after it has gone.
  std::function<void()> wake;
  bool wake_posted = false;  // guarded by mutex
};

// memcached's close_reason for conn_close lines.
enum class CloseReason : uint8_t { kError = 0, kNormal, kIdleTimeout, kShutdown };

class EventLogger final : public EventSink {
 public:
  static constexpr size_t kWatcherLimit = 20;  // memcached's WATCHER_LIMIT

  EventLogger(size_t worker_buffer_bytes, size_t watcher_buffer_bytes);
  ~EventLogger() override;
  EventLogger(const EventLogger&) = delete;
  EventLogger& operator=(const EventLogger&) = delete;

  // The logger thread; stop() joins it (idempotent). Without start() no
  // watcher can be added.
  void start();
  void stop();

  // nullptr when kWatcherLimit watchers are attached (or not started).
  std::shared_ptr<Watcher> add_watcher(uint32_t streams);
  void remove_watcher(const std::shared_ptr<Watcher>& watcher);

  // The descriptor the lines of this thread's engine calls name (cfd=).
  static void set_current_fd(int fd);

  // Connection events (connevents stream). `addr` null for a UNIX socket.
  void conn_new(const sockaddr* addr, socklen_t len, bool unix_socket, int fd);
  void conn_close(const sockaddr* addr, socklen_t len, bool unix_socket, CloseReason reason,
                  int fd);

  // -vvv: every key lookup also prints memcached's "> FOUND KEY k" or
  // "> NOT FOUND k" on stderr, on the looking-up thread, and the LRU
  // crawler its "Kicking LRU crawler off ..." lines.
  void set_stderr_lookups(bool on);
  void item_get(const ItemGetEvent& event) override;
  void item_store(const ItemStoreEvent& event) override;
  void eviction(const ItemLeaveEvent& event) override;
  void extstore_write(const ItemLeaveEvent& event) override;
  void compaction(const CompactEvent& event) override;
  void slab_move(uint32_t src_clsid, uint32_t dst_clsid) override;
  void crawler_status(const CrawlerStatusEvent& event) override;
  // -vvv: memcached's crawler thread's stderr lines.
  void crawler_started(uint32_t lru_id) override;
  void crawler_finished(uint32_t lru_id) override;
  void crawler_idle() override;

  // memcached's log_* stats.
  struct Counters {
    uint64_t worker_dropped = 0, worker_written = 0, watcher_skipped = 0, watcher_sent = 0;
    uint64_t watchers = 0;
  };
  Counters counters() const;

 private:
  struct WorkerBuffer {
    std::mutex mutex;
    std::string bytes;  // entries: stream bits, gid, length, line
    uint64_t dropped = 0, written = 0;
  };

  // Formats "ts=... gid=... " + `body` and appends it to this thread's buffer.
  void log(uint32_t stream, const char* format, ...) __attribute__((format(printf, 3, 4)));
  WorkerBuffer& thread_buffer();
  void run();
  void drain();
  void recompute_streams();
  std::atomic<bool> stderr_lookups_{false};
  std::atomic<uint32_t> watcher_streams_{0};  // without stderr's

  const size_t worker_capacity_;
  const size_t watcher_capacity_;
  const uint64_t instance_;  // tells thread-local buffer caches of loggers apart
  std::atomic<uint64_t> gid_{0};
  mutable std::mutex mutex_;
  std::condition_variable wakeup_;
  std::vector<std::unique_ptr<WorkerBuffer>> buffers_;  // guarded by mutex_
  std::vector<std::shared_ptr<Watcher>> watchers_;      // guarded by mutex_
  bool running_ = false;                                // guarded by mutex_
  std::thread thread_;
  std::atomic<uint64_t> watcher_skipped_{0};
  std::atomic<uint64_t> watcher_sent_{0};
  std::string scratch_;  // logger thread only
};

// memcached's uriencode: bytes other than [A-Za-z0-9-._~] as %XX.
void append_uri_encoded(std::string& out, std::string_view key);

}  // namespace memext::server
