// server/src/binary_sasl.h — the binary protocol's SASL commands under -S,
// as memcached 1.6.18 answers them: list mechanisms (0x20), auth (0x21,
// sasl_server_start with the key as the mechanism and the value as the
// client's data) and step (0x22), with "Authenticated", the challenge under
// status 0x21 (continue) or "Auth failure." (0x20), and the auth_cmds /
// auth_errors counts. Every SASL command first makes the connection
// unauthenticated, as memcached's does. Until a connection authenticates,
// any command but these three and version is answered "Auth failure." and
// the connection closed.
// Used by one Session on one thread; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "binary_commands.h"

namespace memext::server {

class Session;

// False when -S is on, the connection has not authenticated and `opcode`
// needs it.
bool binary_command_allowed(Session& s, uint8_t opcode);

// Precondition: -S is on.
void binary_sasl_list_mechs(Session& s, const BinaryRequest& r);

// Auth or step whose header, key and extras were read; `rest` is the input
// after them and `value_len` the client's data length. Returns the bytes of
// `rest` used, or Session::kNeedMore while `rest` does not hold the whole
// data. Precondition: -S is on.
size_t binary_sasl_auth(Session& s, const BinaryRequest& r, std::string_view rest,
                        size_t value_len);

}  // namespace memext::server
