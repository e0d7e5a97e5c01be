// server/src/tls_context.h — the OpenSSL server context behind -Z: built from
// TlsConfig at startup (memcached's error lines and exit status 64 when a
// certificate, key, CA file or cipher list cannot be used), swapped by
// `refresh_certs` (connections already open keep the one they started with),
// and the counters `stats` prints (ssl_handshake_errors, ssl_new_sessions,
// time_since_server_cert_refresh).
//
// Thread-safe: workers take current() as they accept; refresh() runs on any
// worker.
#pragma once

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "memext/time.h"
#include "tls_options.h"

namespace memext::server {

class TlsContext {
 public:
  // Loads the certificates; throws ConfigError (exit status 64) with
  // memcached's message, after printing OpenSSL's other queued errors to
  // stderr as memcached does.
  explicit TlsContext(const TlsConfig& config);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // The context a new TLS connection uses.
  std::shared_ptr<boost::asio::ssl::context> current() const;
  // `refresh_certs`: reloads every file; "" when it worked (the new context
  // serves connections from now on), else memcached's error line.
  std::string refresh(rel_time_t now);
  rel_time_t last_refresh() const { return last_refresh_.load(std::memory_order_relaxed); }

  std::atomic<uint64_t> handshake_errors{0};
  std::atomic<uint64_t> new_sessions{0};

 private:
  // Builds a context from config_, or returns null with `error` set.
  std::shared_ptr<boost::asio::ssl::context> build(std::string& error);

  const TlsConfig config_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;  // guarded by mutex_
  // memcached's refresh time starts at 0, before its clock does.
  std::atomic<rel_time_t> last_refresh_{0};
};

}  // namespace memext::server
