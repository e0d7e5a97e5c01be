// server/src/text_protocol.h — memcached's classic text commands (get, gets,
// gat, gats, touch, set, add, replace, append, prepend, cas, incr, decr,
// delete, flush_all, version, verbosity) with memcached 1.6.18's exact reply
// and error lines.
//
// Handlers are plain functions over already-tokenized lines so tests can call
// them without sockets. Storage handlers also get the bytes that follow the
// line and return how many they used as the data block, or Session::kNeedMore.
// Each engine call holds the engine mutex only while it copies bytes.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "memext/engine.h"
#include "session.h"

namespace memext::server {

using Tokens = std::vector<std::string_view>;

void text_get(Session& s, const Tokens& t, bool return_cas, bool touch);
size_t text_store(Session& s, const Tokens& t, StoreMode mode, std::string_view rest);
void text_delta(Session& s, const Tokens& t, bool incr);
void text_delete(Session& s, const Tokens& t);
void text_touch(Session& s, const Tokens& t);
void text_flush_all(Session& s, const Tokens& t);
void text_verbosity(Session& s, const Tokens& t);

// memcached's set_noreply_maybe: true when the last token is "noreply".
bool last_token_is_noreply(const Tokens& t);

}  // namespace memext::server
