#include "ascii_auth.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "parse_util.h"

namespace memext::server {
namespace {

// memcached closes an unauthenticated connection whose input holds this
// many bytes without a newline (no multiget exception here).
constexpr size_t kMaxLine = 2048;
// memcached's read buffer: a data block that cannot fit closes the
// connection once more than this has arrived.
constexpr size_t kReadBufferSize = 16 * 1024;

constexpr std::string_view kUnauthenticated = "CLIENT_ERROR unauthenticated\r\n";
constexpr std::string_view kBadTermination = "CLIENT_ERROR bad command line termination\r\n";
constexpr std::string_view kBadFormat = "CLIENT_ERROR bad authentication token format\r\n";
constexpr std::string_view kFailure = "CLIENT_ERROR authentication failure\r\n";
constexpr std::string_view kStored = "STORED\r\n";

// memcached tokenizes C strings: a NUL ends the text.
std::string_view up_to_nul(std::string_view text) {
  return text.substr(0, text.find('\0'));
}

}  // namespace

AsciiAuthExchange::Step AsciiAuthExchange::next(std::string_view input, const AuthFile& file,
                                                ServerCounters& counters) {
  if (reading_block_) return finish_block(input, 0, file, counters);
  Step step;
  // memcached waits for two bytes before it looks for a line.
  if (input.size() < 2) {
    step.need_more = true;
    return step;
  }
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) {
    if (input.size() > kMaxLine) {
      step.close = true;
      step.discard = true;
    } else {
      step.need_more = true;
    }
    return step;
  }
  step.used = newline + 1;
  // The '\r' stays on the line, as in memcached: the length token then ends
  // in it, which its number parser accepts.
  std::vector<std::string_view> tokens;
  tokenize(up_to_nul(input.substr(0, newline)), tokens);
  uint32_t length = 0;
  if (tokens.size() < 5 || tokens[0] != "set" || !parse_uint32(tokens[4], length)) {
    step.reply = kUnauthenticated;
    return step;
  }
  // The key, flags and exptime are ignored, as memcached does.
  block_length_ = length + 2;
  line_end_[0] = newline > 0 ? input[newline - 1] : '\0';
  line_end_[1] = '\n';
  reading_block_ = true;
  return finish_block(input.substr(step.used), step.used, file, counters);
}

AsciiAuthExchange::Step AsciiAuthExchange::finish_block(std::string_view input, size_t used,
                                                        const AuthFile& file,
                                                        ServerCounters& counters) {
  Step step;
  step.used = used;
  const size_t length = block_length_;
  if (length > kReadBufferSize && input.size() > kReadBufferSize) {
    // memcached's full read buffer reads nothing and closes; the replies
    // before it were sent while it waited.
    step.close = true;
    return step;
  }
  if (input.size() < length) {
    step.need_more = true;
    step.wanted = std::min(length, kReadBufferSize + 1);
    return step;
  }
  reading_block_ = false;
  step.used += length;
  // The block's last two bytes must be "\r\n"; a wrapped length reaches back
  // into the set line for them.
  char last[2];
  if (length >= 2) {
    last[0] = input[length - 2];
    last[1] = input[length - 1];
  } else if (length == 1) {
    last[0] = line_end_[1];
    last[1] = input[0];
  } else {
    last[0] = line_end_[0];
    last[1] = line_end_[1];
  }
  if (last[0] != '\r' || last[1] != '\n') {
    step.reply = kBadTermination;
    return step;
  }
  std::vector<std::string_view> tokens;
  tokenize(up_to_nul(input.substr(0, length >= 2 ? length - 2 : 0)), tokens);
  if (tokens.size() < 2) {
    step.reply = kBadFormat;
    return step;
  }
  counters.auth_cmds.fetch_add(1, std::memory_order_relaxed);
  if (file.check(tokens[0], tokens[1])) {
    step.reply = kStored;
    step.authenticated = true;
  } else {
    counters.auth_errors.fetch_add(1, std::memory_order_relaxed);
    step.reply = kFailure;
  }
  return step;
}

}  // namespace memext::server
