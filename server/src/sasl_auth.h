// server/src/sasl_auth.h — Cyrus SASL for `-S`, set up as memcached 1.6.18
// sets it up, so one SASL configuration serves both servers: service name
// "memcached", the configuration directory from SASL_CONF_PATH or else
// /etc/sasl or /etc/sasl2 when memcached.conf is there (a file such as
// "mech_list: plain" and "sasldb_path: /path/sasldb"), the host name as the
// server's FQDN (so sasldb users are "user@hostname", saslpasswd2's
// default), libsasl's log lines on stderr by memcached's verbosity rules.
//
// libsasl2 keeps global state without locks of its own (its default mutex
// hooks do nothing), so every call into it here holds one process-wide
// mutex; authentication is rare next to cache traffic.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

struct sasl_conn;

namespace memext::server {

// sasl_server_init: once, before any connection. `verbosity` (the server's
// live -v level) decides which log lines print and must outlive the
// process's use of SASL. Throws AuthStartupError("Error initializing
// sasl.") when libsasl refuses, as memcached exits.
void init_sasl(const std::atomic<int>& verbosity);

// libsasl's result codes that memcached tells apart.
inline constexpr int kSaslOk = 0;
inline constexpr int kSaslContinue = 1;
// What memcached reports for a step before any start (SASL_FAIL).
inline constexpr int kSaslNotStarted = -1;

// One connection's SASL state (memcached's c->sasl_conn), created at its
// first SASL command and disposed with the connection.
class SaslSession {
 public:
  SaslSession() = default;
  ~SaslSession();
  SaslSession(const SaslSession&) = delete;
  SaslSession& operator=(const SaslSession&) = delete;

  // The mechanisms, space separated; false when libsasl refuses.
  bool list_mechs(std::string& out);
  // sasl_server_start with `mech`; `data` empty means no initial response.
  // Returns the libsasl result; `out` gets the server's challenge.
  int start(std::string_view mech, std::string_view data, std::string& out);
  // A start on this connection succeeded or asked to continue.
  bool started() const { return started_; }
  // sasl_server_step. Precondition: started().
  int step(std::string_view data, std::string& out);

 private:
  void ensure_conn();

  sasl_conn* conn_ = nullptr;
  bool started_ = false;
};

}  // namespace memext::server
