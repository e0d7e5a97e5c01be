// server/src/tls_options.h — memcached 1.6.18's TLS settings: -Z and the -o
// options ssl_chain_cert, ssl_key, ssl_keyformat, ssl_verify_mode,
// ssl_ciphers, ssl_ca_cert, ssl_wbuf_size, ssl_session_cache,
// ssl_kernel_tls and ssl_min_version, with memcached's spelling, checks and
// error texts; and the `notls:` prefix of a -l listener.
//
// Only parsing lives here; tls_context.h turns the settings into an OpenSSL
// context. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace memext::server {

struct TlsConfig {
  bool enabled = false;                   // -Z
  std::optional<std::string> chain_cert;  // ssl_chain_cert (PEM chain, leaf first)
  std::optional<std::string> key;         // ssl_key (memcached requires it with -Z)
  int keyformat = 1;                      // ssl_keyformat: OpenSSL's SSL_FILETYPE_* (1 PEM, 2 DER)
  int verify_mode = 0;                    // 0 none, 1 request, 2 require, 3 once
  std::optional<std::string> ciphers;     // ssl_ciphers (TLS 1.2 and older cipher list)
  std::optional<std::string> ca_cert;     // ssl_ca_cert: CAs client certificates must chain to
  uint64_t wbuf_size = 16u << 10;         // ssl_wbuf_size, given in KB
  bool session_cache = false;             // ssl_session_cache
  bool kernel_tls = false;                // ssl_kernel_tls
  int min_version = 2;                    // ssl_min_version: 0 tlsv1.0 .. 3 tlsv1.3
};

// One -o option of the list above: true when it was one (and applied), false
// for any other name. Throws ConfigError with memcached's text (exit status 1)
// for a missing or bad value.
bool apply_tls_suboption(TlsConfig& tls, const std::string& name, const std::string& value);

// OpenSSL's SSL_VERIFY_* flags for an ssl_verify_mode, as memcached sets
// them and prints them in `stats settings`: none 0, request PEER (1),
// require PEER|FAIL_IF_NO_PEER_CERT (3), once that and CLIENT_ONCE (7).
int tls_verify_flags(int verify_mode);

// ssl_min_version's name in `stats settings` ("tlsv1.2").
std::string_view tls_version_name(int min_version);

// A -l entry: "[notls:]host[:port]" (IPv6 as "[addr]:port", or bare without a
// port). memcached's syntax; the port falls back to -p.
struct ListenSpec {
  std::string host;
  std::optional<uint16_t> port;
  bool notls = false;
};
// Throws std::runtime_error naming the entry when the port is not a number.
ListenSpec parse_listen_spec(std::string_view entry);

}  // namespace memext::server
