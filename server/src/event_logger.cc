#include "event_logger.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/time.h>

#include <cassert>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "memext/slabs.h"
#include "per_thread_buffers.h"

namespace memext::server {
namespace {

// memcached's LOGGER_PARSE_SCRATCH: no line is longer.
constexpr size_t kLineMax = 4096;
// Room kept for a "skipped=N\n" line in front of the next one.
constexpr size_t kSkippedLineMax = 128;
// Worker buffer entry header: stream bits, gid, line length.
struct EntryHeader {
  uint32_t streams;
  uint32_t length;
  uint64_t gid;
};

thread_local int current_fd = -1;

struct EncodedKey {
  char text[kKeyMaxLength * 3 + 1];
};

EncodedKey encode(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  EncodedKey out;
  size_t d = 0;
  for (unsigned char c : key.substr(0, kKeyMaxLength)) {
    const bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out.text[d++] = static_cast<char>(c);
    } else {
      out.text[d++] = '%';
      out.text[d++] = kHex[c >> 4];
      out.text[d++] = kHex[c & 15];
    }
  }
  out.text[d] = '\0';
  return out;
}

struct Endpoint {
  char ip[64] = "";
  unsigned port = 0;
};

Endpoint endpoint_of(const sockaddr* addr, socklen_t len, bool unix_socket) {
  Endpoint e;
  if (unix_socket || addr == nullptr || len == 0) {
    std::strcpy(e.ip, "unix");
    return e;
  }
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    inet_ntop(AF_INET, &in->sin_addr, e.ip, sizeof e.ip - 1);
    e.port = ntohs(in->sin_port);
  } else if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, e.ip, sizeof e.ip - 1);
    e.port = ntohs(in6->sin6_port);
  }
  return e;
}

const char* store_status(StoreResult r) {
  switch (r) {
    case StoreResult::kNotStored:
      return "not_stored";
    case StoreResult::kStored:
      return "stored";
    case StoreResult::kExists:
      return "exists";
    case StoreResult::kNotFound:
      return "not_found";
    case StoreResult::kTooLarge:
      return "too_large";
    case StoreResult::kOutOfMemory:
      return "no_memory";
  }
  return "not_stored";
}

const char* store_command(StoreMode m) {
  switch (m) {
    case StoreMode::kAdd:
      return "add";
    case StoreMode::kSet:
      return "set";
    case StoreMode::kReplace:
      return "replace";
    case StoreMode::kAppend:
      return "append";
    case StoreMode::kPrepend:
      return "prepend";
    case StoreMode::kCas:
      return "cas";
  }
  return "na";
}

const char* lookup_status(LookupStatus s) {
  static constexpr const char* kNames[] = {"not_found", "found", "flushed", "expired"};
  return kNames[static_cast<unsigned>(s)];
}

}  // namespace

void append_uri_encoded(std::string& out, std::string_view key) {
  out.append(encode(key).text);
}

EventLogger::EventLogger(size_t worker_buffer_bytes, size_t watcher_buffer_bytes)
    : worker_capacity_(worker_buffer_bytes),
      watcher_capacity_(watcher_buffer_bytes),
      instance_(next_buffer_owner_id()) {}

EventLogger::~EventLogger() {
  stop();
}

void EventLogger::start() {
  std::lock_guard lock(mutex_);
  if (running_) return;
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void EventLogger::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!running_) return;
    running_ = false;
    watchers_.clear();
  }
  recompute_streams();
  wakeup_.notify_all();
  thread_.join();
}

std::shared_ptr<Watcher> EventLogger::add_watcher(uint32_t streams) {
  auto watcher = std::make_shared<Watcher>();
  watcher->streams = streams;
  {
    std::lock_guard lock(mutex_);
    if (!running_ || watchers_.size() >= kWatcherLimit) return nullptr;
    // memcached's watcher sees the lines logged after it was added.
    watcher->min_gid = gid_.fetch_add(1, std::memory_order_relaxed) + 1;
    watchers_.push_back(watcher);
  }
  recompute_streams();
  wakeup_.notify_all();
  return watcher;
}

void EventLogger::remove_watcher(const std::shared_ptr<Watcher>& watcher) {
  {
    std::lock_guard lock(mutex_);
    std::erase(watchers_, watcher);
  }
  recompute_streams();
}

void EventLogger::recompute_streams() {
  uint32_t streams = 0;
  {
    std::lock_guard lock(mutex_);
    for (const auto& w : watchers_) streams |= w->streams;
  }
  watcher_streams_.store(streams, std::memory_order_relaxed);
  if (stderr_lookups_.load(std::memory_order_relaxed)) {
    streams |= log_stream::kFetchers | log_stream::kCrawlerProgress;
  }
  set_streams(streams);
}

void EventLogger::set_stderr_lookups(bool on) {
  if (stderr_lookups_.exchange(on) != on) recompute_streams();
}

void EventLogger::set_current_fd(int fd) {
  current_fd = fd;
}

EventLogger::WorkerBuffer& EventLogger::thread_buffer() {
  return this_thread_buffer(instance_, mutex_, buffers_);
}

void EventLogger::log(uint32_t stream, const char* format, ...) {
  const uint64_t gid = gid_.fetch_add(1, std::memory_order_relaxed) + 1;
  timeval tv;
  gettimeofday(&tv, nullptr);
  char line[kLineMax];
  int head =
      std::snprintf(line, sizeof line, "ts=%lld.%d gid=%llu ", static_cast<long long>(tv.tv_sec),
                    static_cast<int>(tv.tv_usec), static_cast<unsigned long long>(gid));
  va_list args;
  va_start(args, format);
  const int body = std::vsnprintf(line + head, sizeof line - head, format, args);
  va_end(args);
  if (body < 0) return;
  const size_t length = std::min<size_t>(head + body, sizeof line - 1);
  const EntryHeader header{stream, static_cast<uint32_t>(length), gid};
  WorkerBuffer& buffer = thread_buffer();
  std::lock_guard lock(buffer.mutex);
  if (buffer.bytes.size() + sizeof header + length > worker_capacity_) {
    ++buffer.dropped;
    return;
  }
  buffer.bytes.append(reinterpret_cast<const char*>(&header), sizeof header);
  buffer.bytes.append(line, length);
  ++buffer.written;
}

void EventLogger::item_get(const ItemGetEvent& e) {
  if (stderr_lookups_.load(std::memory_order_relaxed)) {
    // memcached reports what the lookup returns: expired and flushed are
    // not found.
    std::fprintf(stderr, "> %s %.*s\n",
                 e.status == LookupStatus::kFound ? "FOUND KEY" : "NOT FOUND",
                 static_cast<int>(e.key.size()), e.key.data());
  }
  if ((watcher_streams_.load(std::memory_order_relaxed) & log_stream::kFetchers) == 0) return;
  log(log_stream::kFetchers, "type=item_get key=%s status=%s clsid=%u cfd=%d size=%u\n",
      encode(e.key).text, lookup_status(e.status), e.clsid, current_fd, e.value_len);
}

void EventLogger::item_store(const ItemStoreEvent& e) {
  log(log_stream::kMutations,
      "type=item_store key=%s status=%s cmd=%s ttl=%u clsid=%u cfd=%d size=%u\n",
      encode(e.key).text, store_status(e.result), store_command(e.mode), e.ttl, e.clsid, current_fd,
      e.value_len);
}

void EventLogger::eviction(const ItemLeaveEvent& e) {
  log(log_stream::kEvictions, "type=eviction key=%s fetch=%s ttl=%lld la=%d clsid=%u size=%u\n",
      encode(e.key).text, e.fetched ? "yes" : "no", static_cast<long long>(e.ttl),
      static_cast<int>(e.last_access), e.clsid, e.value_len);
}

void EventLogger::extstore_write(const ItemLeaveEvent& e) {
  log(log_stream::kEvictions, "type=extwrite key=%s fetch=%s ttl=%lld la=%d clsid=%u bucket=%u\n",
      encode(e.key).text, e.fetched ? "yes" : "no", static_cast<long long>(e.ttl),
      static_cast<int>(e.last_access), e.clsid, e.bucket);
}

void EventLogger::compaction(const CompactEvent& e) {
  const unsigned long page = e.page_id;
  switch (e.step) {
    case CompactStep::kStart:
      log(log_stream::kSysevents, "type=compact_start id=%lu version=%llu\n", page,
          static_cast<unsigned long long>(e.version));
      break;
    case CompactStep::kAbort:
      log(log_stream::kSysevents, "type=compact_abort id=%lu\n", page);
      break;
    case CompactStep::kReadStart:
      log(log_stream::kSysevents, "type=compact_read_start id=%lu offset=%llu\n", page,
          static_cast<unsigned long long>(e.offset));
      break;
    case CompactStep::kReadEnd:
      log(log_stream::kSysevents,
          "type=compact_read_end id=%lu offset=%llu rescues=%lu lost=%lu skipped=%lu\n", page,
          static_cast<unsigned long long>(e.offset), static_cast<unsigned long>(e.rescues),
          static_cast<unsigned long>(e.lost), static_cast<unsigned long>(e.skipped));
      break;
    case CompactStep::kEnd:
      log(log_stream::kSysevents, "type=compact_end id=%lu\n", page);
      break;
    case CompactStep::kFragInfo:
      log(log_stream::kSysevents, "type=compact_fraginfo ratio=%.2f bytes=%llu\n", e.frag_ratio,
          static_cast<unsigned long long>(e.frag_limit));
      break;
  }
}

void EventLogger::slab_move(uint32_t src_clsid, uint32_t dst_clsid) {
  log(log_stream::kSysevents, "type=slab_move src=%d dst=%d\n", static_cast<int>(src_clsid),
      static_cast<int>(dst_clsid));
}

void EventLogger::crawler_status(const CrawlerStatusEvent& e) {
  static constexpr const char* kSegments[] = {"hot", "warm", "cold", "temp"};
  log(log_stream::kSysevents,
      "type=lru_crawler crawler=%u lru=%s low_mark=%llu next_reclaims=%llu since_run=%u "
      "next_run=%u elapsed=%u examined=%llu reclaimed=%llu\n",
      e.lru_id & 63, kSegments[(e.lru_id >> 6) & 3], static_cast<unsigned long long>(e.low_mark),
      static_cast<unsigned long long>(e.next_reclaims), e.since_run, e.next_run, e.elapsed,
      static_cast<unsigned long long>(e.examined), static_cast<unsigned long long>(e.reclaimed));
}

void EventLogger::crawler_started(uint32_t lru_id) {
  if (stderr_lookups_.load(std::memory_order_relaxed)) {
    std::fprintf(stderr, "Kicking LRU crawler off for LRU %u\n", lru_id);
  }
}

void EventLogger::crawler_finished(uint32_t lru_id) {
  if (stderr_lookups_.load(std::memory_order_relaxed)) {
    std::fprintf(stderr, "Nothing left to crawl for %u\n", lru_id);
  }
}

void EventLogger::crawler_idle() {
  if (stderr_lookups_.load(std::memory_order_relaxed)) {
    std::fprintf(stderr, "LRU crawler thread sleeping\n");
  }
}

void EventLogger::conn_new(const sockaddr* addr, socklen_t len, bool unix_socket, int fd) {
  if (!wants(log_stream::kConnevents)) return;
  const Endpoint e = endpoint_of(addr, len, unix_socket);
  log(log_stream::kConnevents, "type=conn_new rip=%s rport=%hu transport=%s cfd=%d\n", e.ip,
      static_cast<unsigned short>(e.port), unix_socket ? "local" : "tcp", fd);
}

void EventLogger::conn_close(const sockaddr* addr, socklen_t len, bool unix_socket,
                             CloseReason reason, int fd) {
  if (!wants(log_stream::kConnevents)) return;
  static constexpr const char* kReasons[] = {"error", "normal", "idle_timeout", "shutdown"};
  const Endpoint e = endpoint_of(addr, len, unix_socket);
  log(log_stream::kConnevents, "type=conn_close rip=%s rport=%hu transport=%s reason=%s cfd=%d\n",
      e.ip, static_cast<unsigned short>(e.port), unix_socket ? "local" : "tcp",
      kReasons[static_cast<unsigned>(reason)], fd);
}

EventLogger::Counters EventLogger::counters() const {
  Counters c;
  std::lock_guard lock(mutex_);
  for (const auto& b : buffers_) {
    std::lock_guard buffer_lock(b->mutex);
    c.worker_dropped += b->dropped;
    c.worker_written += b->written;
  }
  c.watcher_skipped = watcher_skipped_.load(std::memory_order_relaxed);
  c.watcher_sent = watcher_sent_.load(std::memory_order_relaxed);
  c.watchers = watchers_.size();
  return c;
}

void EventLogger::run() {
  std::unique_lock lock(mutex_);
  while (running_) {
    // memcached's logger polls its buffers; a millisecond keeps a watcher's
    // lines close to real time without busy waiting.
    if (watchers_.empty()) {
      wakeup_.wait(lock);
    } else {
      wakeup_.wait_for(lock, std::chrono::milliseconds(1));
    }
    if (!running_) break;
    lock.unlock();
    drain();
    lock.lock();
  }
}

void EventLogger::drain() {
  std::vector<WorkerBuffer*> buffers;
  std::vector<std::shared_ptr<Watcher>> watchers;
  {
    std::lock_guard lock(mutex_);
    for (const auto& b : buffers_) buffers.push_back(b.get());
    watchers = watchers_;
  }
  for (WorkerBuffer* buffer : buffers) {
    scratch_.clear();
    {
      std::lock_guard lock(buffer->mutex);
      buffer->bytes.swap(scratch_);
    }
    if (scratch_.empty()) continue;
    for (const auto& w : watchers) {
      std::lock_guard lock(w->mutex);
      for (size_t pos = 0; pos < scratch_.size();) {
        EntryHeader header;
        std::memcpy(&header, scratch_.data() + pos, sizeof header);
        const std::string_view line(scratch_.data() + pos + sizeof header, header.length);
        pos += sizeof header + header.length;
        if ((header.streams & w->streams) == 0 || header.gid < w->min_gid) continue;
        if (w->pending.size() + line.size() + kSkippedLineMax > watcher_capacity_) {
          ++w->skipped;
          watcher_skipped_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        if (w->skipped > 0) {
          w->pending.append("skipped=");
          w->pending.append(std::to_string(w->skipped));
          w->pending.push_back('\n');
          w->skipped = 0;
        }
        w->pending.append(line);
        watcher_sent_.fetch_add(1, std::memory_order_relaxed);
      }
      if (!w->pending.empty() && !w->wake_posted && w->wake) {
        w->wake_posted = true;
        w->wake();
      }
    }
  }
}

}  // namespace memext::server
