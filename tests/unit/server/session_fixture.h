// A server context with its own engine, and sessions fed text the way a
// connection feeds them, for the server's unit tests.
#pragma once

#include <string>

#include "session.h"

namespace memext::server::testing {

struct SessionFixture {
  SessionFixture() : shared(config.engine), ctx(config, shared, 1'000'000) {
    shared.engine.set_time(2);
  }
  // Feeds `input` to `s` the way a connection would (everything consumable,
  // leftover kept) and returns the replies that are ready.
  std::string run(const std::string& input, Session& s, size_t* used = nullptr) {
    size_t n = s.consume(input);
    if (used) *used = n;
    std::string out = s.responses().ready_text();
    s.responses().clear();
    return out;
  }
  // The same with a fresh session.
  std::string run(const std::string& input) {
    Session s(ctx);
    return run(input, s);
  }
  ServerConfig config;
  SharedEngine shared;
  ServerContext ctx;
};

}  // namespace memext::server::testing
