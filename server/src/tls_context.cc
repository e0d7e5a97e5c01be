#include "tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdio>

#include "config.h"

namespace asio = boost::asio;

namespace memext::server {
namespace {

constexpr int kMinVersions[] = {TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION};
constexpr unsigned char kSessionIdContext[] = "memext";

// The ex_data slot of an SSL_CTX that points at its TlsContext.
int owner_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// OpenSSL calls this for every session the server creates (TLS 1.3 issues
// two tickets per handshake); 0: the cache keeps no extra reference.
int count_new_session(SSL* ssl, SSL_SESSION*) {
  auto* owner =
      static_cast<std::atomic<uint64_t>*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), owner_index()));
  if (owner != nullptr) owner->fetch_add(1, std::memory_order_relaxed);
  return 0;
}

// memcached's error line: what failed, the file, and OpenSSL's first queued
// error; the rest of the queue goes to stderr.
std::string failure(const std::string& what, const std::optional<std::string>& file) {
  char reason[256] = "";
  unsigned long code = ERR_get_error();
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  ERR_print_errors_fp(stderr);
  return what + ": " + file.value_or("(null)") + " : " + reason;
}

}  // namespace

TlsContext::TlsContext(const TlsConfig& config) : config_(config) {
  std::string error;
  context_ = build(error);
  if (!context_) throw ConfigError::memcached(error, 64);
}

TlsContext::~TlsContext() = default;

std::shared_ptr<asio::ssl::context> TlsContext::current() const {
  std::lock_guard lock(mutex_);
  return context_;
}

std::string TlsContext::refresh(rel_time_t now) {
  std::string error;
  auto fresh = build(error);
  if (!fresh) return error;
  std::lock_guard lock(mutex_);
  context_ = std::move(fresh);
  last_refresh_.store(now, std::memory_order_relaxed);
  return "";
}

std::shared_ptr<asio::ssl::context> TlsContext::build(std::string& error) {
  ERR_clear_error();
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, kMinVersions[config_.min_version]);
  if (!config_.chain_cert) {
    error = "Error loading the certificate chain: (null) : no -o ssl_chain_cert=FILE given";
    return nullptr;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, config_.chain_cert->c_str()) != 1) {
    error = failure("Error loading the certificate chain", config_.chain_cert);
    return nullptr;
  }
  if (!config_.key) {
    error = "Error loading the key: (null) : no -o ssl_key=FILE given";
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, config_.key->c_str(), config_.keyformat) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    error = failure("Error loading the key", config_.key);
    return nullptr;
  }
  if (config_.ca_cert) {
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config_.ca_cert->c_str());
    if (names == nullptr ||
        SSL_CTX_load_verify_locations(ctx, config_.ca_cert->c_str(), nullptr) != 1) {
      if (names != nullptr) sk_X509_NAME_pop_free(names, X509_NAME_free);
      error = failure("Error loading the CA certificate", config_.ca_cert);
      return nullptr;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
  }
  if (config_.ciphers && SSL_CTX_set_cipher_list(ctx, config_.ciphers->c_str()) != 1) {
    ERR_clear_error();
    error = "Error setting the provided cipher(s): " + *config_.ciphers;
    return nullptr;
  }
  static_assert(SSL_VERIFY_PEER == 1 && SSL_VERIFY_FAIL_IF_NO_PEER_CERT == 2 &&
                SSL_VERIFY_CLIENT_ONCE == 4);
  SSL_CTX_set_verify(ctx, tls_verify_flags(config_.verify_mode), nullptr);
  // A resumed session must come from this server's contexts (OpenSSL refuses
  // resumption with client verification otherwise).
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
  if (config_.session_cache) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_ex_data(ctx, owner_index(), &new_sessions);
    SSL_CTX_sess_set_new_cb(ctx, count_new_session);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  // Asked of OpenSSL as memcached does; Asio's stream runs OpenSSL over
  // memory buffers, so the kernel never sees the keys (README).
  if (config_.kernel_tls) SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
  return context;
}

}  // namespace memext::server
