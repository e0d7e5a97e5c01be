#include "sasl_auth.h"

#include <sasl/sasl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "auth_file.h"

namespace memext::server {
namespace {

std::mutex& sasl_mutex() {
  static std::mutex mutex;
  return mutex;
}

// Set once by init_sasl, before any connection.
const std::atomic<int>* g_verbosity = nullptr;
char g_hostname[1025];

int verbosity() {
  return g_verbosity == nullptr ? 0 : g_verbosity->load(std::memory_order_relaxed);
}

// memcached's filter: traces and notes at -vv, failures and warnings at -v,
// errors always.
int log_line(void*, int level, const char* message) {
  bool print = true;
  switch (level) {
    case SASL_LOG_NONE:
      print = false;
      break;
    case SASL_LOG_PASS:
    case SASL_LOG_TRACE:
    case SASL_LOG_DEBUG:
    case SASL_LOG_NOTE:
      print = verbosity() >= 2;
      break;
    case SASL_LOG_WARN:
    case SASL_LOG_FAIL:
      print = verbosity() >= 1;
      break;
    default:
      break;
  }
  if (print) std::fprintf(stderr, "SASL (severity %d): %s\n", level, message);
  return SASL_OK;
}

// The directory libsasl reads memcached.conf from. Without SASL_CONF_PATH,
// memcached looks for /etc/sasl/memcached.conf, then /etc/sasl2/...; when
// that name is a directory, the file inside it.
int conf_path(void*, char** path) {
  const char* from_env = std::getenv("SASL_CONF_PATH");
  const char* found = from_env;
  if (found == nullptr) {
    static const char* const kLocations[][2] = {
        {"/etc/sasl/memcached.conf", "/etc/sasl"},
        {"/etc/sasl2/memcached.conf", "/etc/sasl2"},
    };
    for (const auto& [file, dir] : kLocations) {
      struct stat st {};
      if (::stat(file, &st) != 0) continue;
      found = S_ISDIR(st.st_mode) ? file : dir;
      break;
    }
  }
  if (found == nullptr) {
    if (verbosity() >= 1) std::fprintf(stderr, "Failed to locate a config path\n");
    return SASL_FAIL;
  }
  if (verbosity() >= 1) std::fprintf(stderr, "Reading configuration from: <%s>\n", found);
  // sasl.h says libsasl frees the path, but 2.1.28 never does (its own
  // default hands out getenv's string): a copy that lives as long as the
  // process, called once by sasl_server_init.
  static std::string kept;
  kept = found;
  *path = kept.data();
  return SASL_OK;
}

// libsasl's callback slot is int (*)(void); through void (*)(void), which
// converts to and from any function type without a warning.
using Callback = int (*)();
template <typename F>
Callback callback(F* f) {
  return reinterpret_cast<Callback>(reinterpret_cast<void (*)()>(f));
}

const sasl_callback_t kCallbacks[] = {
    {SASL_CB_LOG, callback(&log_line), nullptr},
    {SASL_CB_GETCONFPATH, callback(&conf_path), nullptr},
    {SASL_CB_LIST_END, nullptr, nullptr},
};

}  // namespace

void init_sasl(const std::atomic<int>& verbosity_level) {
  std::lock_guard lock(sasl_mutex());
  g_verbosity = &verbosity_level;
  std::memset(g_hostname, 0, sizeof g_hostname);
  if (::gethostname(g_hostname, sizeof g_hostname - 1) != 0) {
    if (verbosity() >= 1) std::fprintf(stderr, "Error discovering hostname for SASL\n");
    g_hostname[0] = '\0';
  }
  if (sasl_server_init(kCallbacks, "memcached") != SASL_OK) {
    throw AuthStartupError("Error initializing sasl.");
  }
  if (verbosity() >= 1) std::fprintf(stderr, "Initialized SASL.\n");
}

SaslSession::~SaslSession() {
  if (conn_ == nullptr) return;
  std::lock_guard lock(sasl_mutex());
  sasl_dispose(&conn_);
}

void SaslSession::ensure_conn() {
  if (conn_ != nullptr) return;
  const int result = sasl_server_new("memcached", nullptr, g_hostname[0] ? g_hostname : nullptr,
                                     nullptr, nullptr, nullptr, 0, &conn_);
  if (result != SASL_OK) {
    if (verbosity() >= 1) std::fprintf(stderr, "Failed to initialize SASL conn.\n");
    conn_ = nullptr;
  }
}

bool SaslSession::list_mechs(std::string& out) {
  std::lock_guard lock(sasl_mutex());
  ensure_conn();
  const char* text = nullptr;
  unsigned length = 0;
  if (sasl_listmech(conn_, nullptr, "", " ", "", &text, &length, nullptr) != SASL_OK) {
    return false;
  }
  out.assign(text, length);
  return true;
}

int SaslSession::start(std::string_view mech, std::string_view data, std::string& out) {
  std::lock_guard lock(sasl_mutex());
  ensure_conn();
  const std::string name(mech);
  const char* reply = nullptr;
  unsigned reply_length = 0;
  const int result = sasl_server_start(conn_, name.c_str(), data.empty() ? nullptr : data.data(),
                                       static_cast<unsigned>(data.size()), &reply, &reply_length);
  started_ = result == SASL_OK || result == SASL_CONTINUE;
  if (reply != nullptr) out.assign(reply, reply_length);
  return result;
}

int SaslSession::step(std::string_view data, std::string& out) {
  assert(started_);
  std::lock_guard lock(sasl_mutex());
  const char* reply = nullptr;
  unsigned reply_length = 0;
  const int result = sasl_server_step(conn_, data.empty() ? nullptr : data.data(),
                                      static_cast<unsigned>(data.size()), &reply, &reply_length);
  if (reply != nullptr) out.assign(reply, reply_length);
  return result;
}

}  // namespace memext::server
