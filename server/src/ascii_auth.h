// server/src/ascii_auth.h — memcached 1.6.18's ASCII authentication (-Y):
// until a connection has authenticated, every request must be
// `set <any key> <any> <any> <len>` followed by a <len>-byte data block
// "user password"; anything else is answered "CLIENT_ERROR
// unauthenticated", a good pair "STORED" (the connection then speaks the
// text protocol), a bad one "CLIENT_ERROR authentication failure", a block
// not ending in "\r\n" "CLIENT_ERROR bad command line termination" and one
// without two words "CLIENT_ERROR bad authentication token format".
// memcached's limits hold too: 2048 bytes without a newline close the
// connection, and so does a data block longer than its 16 KB read buffer.
//
// One exchange per connection, used on its thread; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth_file.h"
#include "server_context.h"

namespace memext::server {

class AsciiAuthExchange {
 public:
  // What one request from the front of the input did.
  struct Step {
    size_t used = 0;         // input bytes consumed
    bool need_more = false;  // the request is incomplete: wait for input
    size_t wanted = 0;       // with need_more: bytes needed after the used ones (0: unknown)
    bool close = false;      // close the connection
    bool discard = false;    // with close: unsent replies are dropped
    bool authenticated = false;
    std::string_view reply;  // the reply line with "\r\n", or empty
  };

  // Handles the request at the front of `input`, counting auth_cmds and
  // auth_errors in `counters`.
  Step next(std::string_view input, const AuthFile& file, ServerCounters& counters);

 private:
  Step finish_block(std::string_view input, size_t used, const AuthFile& file,
                    ServerCounters& counters);

  // A valid set line was read; its data block is awaited.
  bool reading_block_ = false;
  // The block's length with its "\r\n", as memcached computes it (32 bits:
  // the largest lengths wrap to 0 and 1).
  uint32_t block_length_ = 0;
  // The two bytes before the block (the set line's end): a wrapped length
  // makes memcached look there for the block's "\r\n".
  char line_end_[2] = {0, 0};
};

}  // namespace memext::server
