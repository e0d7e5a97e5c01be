#include "binary_sasl.h"

#include <cstdio>
#include <string>

#include "memext/slabs.h"
#include "sasl_auth.h"
#include "session.h"

namespace memext::server {
namespace {

// memcached's MAX_SASL_MECH_LEN.
constexpr size_t kMaxMechLength = 32;

bool verbose(Session& s) {
  return s.ctx().verbosity.load(std::memory_order_relaxed) >= 1;
}

// memcached reads the client's data into an item keyed by the mechanism; an
// item that would need chunks (over slab_chunk_max) or fits no slab class
// answers "Out of memory".
bool data_fits(Session& s, size_t mech_len, size_t data_len) {
  const Engine& engine = s.ctx().engine.engine;
  const EngineConfig& config = engine.config();
  if (data_len > UINT32_MAX - 2) return false;
  const uint64_t total = item_total_size(static_cast<uint32_t>(mech_len),
                                         static_cast<uint32_t>(data_len + 2), 0, config.use_cas);
  return total <= config.slab_chunk_max && engine.slab_classes().clsid(total) != 0;
}

}  // namespace

bool binary_command_allowed(Session& s, uint8_t opcode) {
  if (!s.ctx().config.sasl || s.authenticated()) return true;
  switch (opcode) {
    case kOpSaslListMechs:
    case kOpSaslAuth:
    case kOpSaslStep:
    case kOpVersion:
      return true;
    default:
      return false;
  }
}

void binary_sasl_list_mechs(Session& s, const BinaryRequest& r) {
  s.set_authenticated(false);
  std::string mechs;
  if (!s.sasl().list_mechs(mechs)) {
    if (verbose(s)) std::fprintf(stderr, "Failed to list SASL mechanisms.\n");
    binary_error(s, r, kStatusAuthError);
    return;
  }
  binary_response(s, r, kStatusSuccess, mechs, 0);
}

size_t binary_sasl_auth(Session& s, const BinaryRequest& r, std::string_view rest,
                        size_t value_len) {
  if (r.key.size() > kMaxMechLength) {
    binary_error(s, r, kStatusInvalidArguments);
    s.swallow(value_len);
    return 0;
  }
  if (!data_fits(s, r.key.size(), value_len)) {
    binary_error(s, r, kStatusOutOfMemory);
    s.swallow(value_len);
    return 0;
  }
  if (rest.size() < value_len) return Session::kNeedMore;
  const std::string_view data = rest.substr(0, value_len);
  s.set_authenticated(false);
  // The mechanism is a C string to libsasl and in memcached's log line.
  const std::string mech(r.key.substr(0, r.key.find('\0')));
  if (verbose(s)) {
    std::fprintf(stderr, "mech:  ``%s'' with %zu bytes of data\n", mech.c_str(), value_len);
  }
  SaslSession& sasl = s.sasl();
  std::string challenge;
  int result;
  if (r.command == kOpSaslAuth) {
    result = sasl.start(mech, data, challenge);
  } else if (!sasl.started()) {
    if (verbose(s)) {
      std::fprintf(stderr,
                   "%d: SASL_STEP called but sasl_server_start not called for this connection!\n",
                   s.log_id());
    }
    result = kSaslNotStarted;
  } else {
    result = sasl.step(data, challenge);
  }
  if (verbose(s)) std::fprintf(stderr, "sasl result code:  %d\n", result);
  ServerCounters& counters = s.ctx().counters;
  switch (result) {
    case kSaslOk:
      s.set_authenticated(true);
      binary_response(s, r, kStatusSuccess, "Authenticated", 0);
      counters.auth_cmds.fetch_add(1, std::memory_order_relaxed);
      break;
    case kSaslContinue:
      binary_response(s, r, kStatusAuthContinue, challenge, 0);
      break;
    default:
      if (verbose(s)) std::fprintf(stderr, "Unknown sasl response:  %d\n", result);
      binary_error(s, r, kStatusAuthError);
      counters.auth_cmds.fetch_add(1, std::memory_order_relaxed);
      counters.auth_errors.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  return value_len;
}

}  // namespace memext::server
