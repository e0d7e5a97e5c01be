#include "session.h"

#include <cstring>
#include <mutex>

#include "binary_protocol.h"
#include "meta_protocol.h"
#include "parse_util.h"
#include "record_command.h"
#include "stats_text.h"
#include "text_protocol.h"
#include "tuning_commands.h"
#include "verbose_log.h"

namespace memext::server {
namespace {

// Tokens a line may have and leave their array allocated (memcached's
// MAX_TOKENS is 24).
constexpr size_t kKeptTokens = 64;

bool starts_multiget(std::string_view buffered) {
  size_t spaces = buffered.find_first_not_of(' ');
  if (spaces == std::string_view::npos) return false;
  if (spaces > 100) return false;
  std::string_view cmd = buffered.substr(spaces);
  return cmd.starts_with("get ") || cmd.starts_with("gets ");
}

}  // namespace

size_t Session::consume(std::string_view input) {
  if (protocol_ == BindingProtocol::kAuto && !input.empty()) {
    protocol_ = static_cast<uint8_t>(input[0]) == kBinaryRequestMagic ? BindingProtocol::kBinary
                                                                      : BindingProtocol::kAscii;
    if (ctx_.verbosity.load(std::memory_order_relaxed) >= 2) log_protocol(log_id_, binary());
  }
  const uint32_t budget = ctx_.config.ops.reqs_per_event;
  commands_run_ = 0;
  if (protocol_ == BindingProtocol::kBinary) {
    const size_t used = binary_consume(*this, input);
    if (commands_run_ == budget && !closing_) yielded_ = true;
    return used;
  }
  size_t pos = 0;
  bytes_wanted_ = 0;
  if (!authenticated_ && ctx_.auth_file != nullptr) {
    pos = consume_unauthenticated(input);
    if (!authenticated_ || closing_ || yielded_) return pos;
  }
  while (!closing_ && flash_reads_.empty() && !dumping_ && !watcher_) {
    if (commands_run_ == budget) {
      yielded_ = true;
      break;
    }
    if (swallow_ > 0) {
      size_t n = std::min(swallow_, input.size() - pos);
      swallow_ -= n;
      pos += n;
      if (swallow_ > 0) break;
      trace_.swallow_done();
      continue;
    }
    std::string_view rest = input.substr(pos);
    if (rest.empty()) break;
    const void* nl = std::memchr(rest.data(), '\n', rest.size());
    if (nl == nullptr) {
      if (rest.size() > kMaxCommandLine &&
          (!starts_multiget(rest) || rest.size() > kMaxMultigetLine)) {
        trace_.command_begins();
        closing_ = true;
        discard_output_ = true;
      }
      break;
    }
    size_t line_end = static_cast<const char*>(nl) - rest.data();
    std::string_view line = rest.substr(0, line_end);
    // As memcached: a lone "\r" stays (a blank line is the command "\r").
    if (line.size() > 1 && line.back() == '\r') line.remove_suffix(1);
    // memcached parses the line as a C string: a NUL ends the command.
    if (const void* nul = std::memchr(line.data(), '\0', line.size())) {
      line = line.substr(0, static_cast<const char*>(nul) - line.data());
    }
    std::string_view after = rest.substr(line_end + 1);
    noreply_ = false;
    // memcached starts a response object before it parses the command, and
    // closes the connection when it cannot.
    if (!begin_request()) break;
    begin_message();
    trace_.command_begins();
    size_t used;
    if (ctx_.verbosity.load(std::memory_order_relaxed) >= 2) {
      used = dispatch_logged(line, after);
    } else {
      used = dispatch(line, after);
    }
    noreply_ = false;
    line_logged_ = used == kNeedMore;
    // A multiget of thousands of keys must not leave its token array to an
    // idle connection.
    if (tokens_.capacity() > kKeptTokens) std::vector<std::string_view>().swap(tokens_);
    if (used == kNeedMore) {
      request_waits();
      bytes_wanted_ = line_end + 1 + data_wanted_;
      break;
    }
    pos += line_end + 1 + used;
    ++commands_run_;
    trace_command_end();
  }
  // memcached counts a yield after its R-th request even when no more wait.
  if (commands_run_ == budget && !closing_) yielded_ = true;
  if (!closing_ && !dumping_ && !watcher_ && bytes_wanted_ == 0 && swallow_ == 0) {
    if (yielded_) {
      trace_.yielded(!flash_reads_.empty());
    } else {
      trace_.batch_done(pos < input.size(), !flash_reads_.empty());
    }
  }
  return pos;
}

void Session::trace_command_end() {
  const bool at_once = std::exchange(respond_at_once_, false);
  if (swallow_ > 0) {
    trace_.swallow_begins();
  } else if (watcher_ || dumping_) {
    trace_.watching();
  } else if (!discard_output_) {
    // quit's response (none) is written before the connection closes.
    trace_.command_done(at_once || closing_, !flash_reads_.empty());
  }
}

bool Session::may_run_request() {
  if (commands_run_ < ctx_.config.ops.reqs_per_event) return true;
  yielded_ = true;
  return false;
}

bool Session::begin_request() {
  if (start_response()) return true;
  closing_ = true;
  discard_output_ = true;
  return false;
}

void Session::request_waits() {
  // Taken again when the request runs whole.
  if (budget_ == nullptr) return;
  budget_->give_response(responses_held_.back());
  responses_held_.pop_back();
}

bool Session::start_response() {
  if (budget_ == nullptr) return true;
  BufferBudget::Response r;
  if (!budget_->take_response(r)) {
    ctx_.counters.response_obj_oom.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  responses_held_.push_back(r);
  return true;
}

void Session::fail_get_out_of_memory() {
  responses_.drop_unsent();
  if (!flash_reads_.empty()) {
    SharedEngine& shared = ctx_.engine;
    std::lock_guard lock(shared.mutex);
    for (const auto& read : flash_reads_) {
      if (shared.flash != nullptr) shared.flash->abort_read(read->plan);
    }
  }
  flash_reads_.clear();
  release_responses();
  if (!start_response()) {
    closing_ = true;
    discard_output_ = true;
    return;
  }
  // UDP: the error is the one message sent.
  begin_message();
  responses_.append("SERVER_ERROR out of memory writing get response\r\n");
}

size_t Session::consume_unauthenticated(std::string_view input) {
  const uint32_t budget = ctx_.config.ops.reqs_per_event;
  // memcached writes these replies into the connection's current response
  // object without starting a new one, so of several in one batch (one read,
  // up to -R requests) only the last is sent. The batch's replies all go to
  // one segment: each replaces the one before.
  std::string* reply_segment = nullptr;
  size_t reply_at = 0;
  size_t pos = 0;
  while (!authenticated_ && !closing_) {
    if (commands_run_ == budget) {
      yielded_ = true;
      break;
    }
    const AsciiAuthExchange::Step step =
        ascii_auth_.next(input.substr(pos), *ctx_.auth_file, ctx_.counters);
    pos += step.used;
    if (step.close) {
      closing_ = true;
      discard_output_ = step.discard;
      break;
    }
    if (step.need_more) {
      bytes_wanted_ = step.wanted;
      break;
    }
    std::string& out = responses_.text();
    if (reply_segment == &out) out.resize(reply_at);
    reply_segment = &out;
    reply_at = out.size();
    out.append(step.reply);
    authenticated_ = step.authenticated;
    ++commands_run_;
  }
  return pos;
}

void Session::continue_dump() {
  // A batch as big as memcached's crawler writes between its sleeps.
  constexpr uint32_t kDumpBatch = 1000;
  std::string& out = responses_.text();
  bool more;
  {
    std::lock_guard lock(ctx_.engine.mutex);
    more = dump_.next(ctx_.engine.engine, out, kDumpBatch);
  }
  if (!more) {
    out.append("END\r\n");
    dumping_ = false;
    trace_.dump_done();
  }
}

size_t Session::dispatch_logged(std::string_view line, std::string_view rest) {
  // A storage command runs again once its data is in; it was logged the first time.
  if (!line_logged_) log_command(log_id_, line);
  // Deque elements stay put: the reference survives later segments.
  std::string& out = responses_.text();
  const size_t start = out.size();
  const size_t used = dispatch(line, rest);
  // memcached logs a reply as it writes it: after `verbosity 1` no more.
  // A watcher's OK goes out unlogged, as memcached's.
  if (used != kNeedMore && !watcher_ && ctx_.verbosity.load(std::memory_order_relaxed) >= 2) {
    // A get that ran out of memory emptied `out`.
    log_reply(log_id_, tokens_.empty() ? std::string_view() : tokens_[0],
              std::string_view(out).substr(std::min(start, out.size())));
  }
  return used;
}

void Session::shutdown_command(const std::vector<std::string_view>& t) {
  if (!ctx_.config.ops.shutdown_enabled) {
    responses_.append("ERROR: shutdown not enabled\r\n");
    return;
  }
  const bool graceful = t.size() == 2 && t[1] == "graceful";
  if (t.size() != 1 && !graceful) {
    responses_.append("CLIENT_ERROR invalid shutdown mode\r\n");
    return;
  }
  // memcached closes the asking connection without a reply.
  closing_ = true;
  discard_output_ = true;
  if (ctx_.request_shutdown) ctx_.request_shutdown(graceful);
}

void Session::watch_command(const std::vector<std::string_view>& t) {
  if (!ctx_.config.ops.watch_enabled) {
    responses_.append("CLIENT_ERROR watch commands not allowed\r\n");
    return;
  }
  // The connection becomes a log stream: nothing may wait to go out before it.
  if (responses_.has_ready_bytes() || responses_.has_pending()) {
    responses_.append("ERROR cannot pipeline other commands before watch\r\n");
    return;
  }
  // memcached 1.6.18's streams; it has no extstore or deletions stream.
  static constexpr std::pair<std::string_view, uint32_t> kStreams[] = {
      {"rawcmds", log_stream::kRawcmds},     {"evictions", log_stream::kEvictions},
      {"fetchers", log_stream::kFetchers},   {"mutations", log_stream::kMutations},
      {"sysevents", log_stream::kSysevents}, {"connevents", log_stream::kConnevents},
      {"proxyreqs", log_stream::kProxyreqs}, {"proxyevents", log_stream::kProxyevents},
      {"proxyuser", log_stream::kProxyuser},
  };
  uint32_t streams = 0;
  for (size_t i = 1; i < t.size(); ++i) {
    uint32_t bit = 0;
    for (const auto& [name, stream] : kStreams) {
      if (t[i] == name) bit = stream;
    }
    if (bit == 0) {
      responses_.append("ERROR\r\n");
      return;
    }
    streams |= bit;
  }
  if (t.size() == 1) streams = log_stream::kFetchers;
  watcher_ = ctx_.logger.add_watcher(streams);
  if (!watcher_) {
    responses_.append("WATCHER_TOO_MANY log watcher limit reached\r\n");
    return;
  }
  responses_.append("OK\r\n");
}

size_t Session::dispatch(std::string_view line, std::string_view rest) {
  tokenize(line, tokens_);
  const Tokens& t = tokens_;
  const size_t n = t.size();
  if (n == 0) {
    responses_.append("ERROR\r\n");
    return 0;
  }
  std::string_view cmd = t[0];
  if (cmd.size() == 2 && cmd[0] == 'm') {
    ctx_.counters.cmd_meta.fetch_add(1, std::memory_order_relaxed);
    return meta_command(*this, t, rest);
  }
  if (cmd == "get" || cmd == "gets") {
    if (n < 2) {
      responses_.append("ERROR\r\n");
      return 0;
    }
    text_get(*this, t, cmd == "gets", false);
    return 0;
  }
  if (cmd == "gat" || cmd == "gats") {
    if (n < 2) {
      responses_.append("ERROR\r\n");
      return 0;
    }
    text_get(*this, t, cmd == "gats", true);
    return 0;
  }
  StoreMode mode;
  bool storage = true;
  if (cmd == "set") {
    mode = StoreMode::kSet;
  } else if (cmd == "add") {
    mode = StoreMode::kAdd;
  } else if (cmd == "replace") {
    mode = StoreMode::kReplace;
  } else if (cmd == "append") {
    mode = StoreMode::kAppend;
  } else if (cmd == "prepend") {
    mode = StoreMode::kPrepend;
  } else if (cmd == "cas") {
    mode = StoreMode::kCas;
  } else {
    storage = false;
    mode = StoreMode::kSet;
  }
  if (storage) {
    size_t want = mode == StoreMode::kCas ? 6 : 5;
    if (n != want && n != want + 1) {
      responses_.append("ERROR\r\n");
      return 0;
    }
    return text_store(*this, t, mode, rest);
  }
  if (cmd == "incr" || cmd == "decr") {
    if (n != 3 && n != 4) {
      responses_.append("ERROR\r\n");
      return 0;
    }
    text_delta(*this, t, cmd == "incr");
    return 0;
  }
  if (cmd == "delete") {
    if (n < 2 || n > 4) {
      responses_.append("ERROR\r\n");
      return 0;
    }
    text_delete(*this, t);
    return 0;
  }
  if (cmd == "touch") {
    if (n != 3 && n != 4) {
      responses_.append("ERROR\r\n");
      return 0;
    }
    text_touch(*this, t);
    return 0;
  }
  if (cmd == "stats") {
    stats_command(*this, t);
    return 0;
  }
  if (cmd == "flush_all") {
    if (n > 3) {
      responses_.append("ERROR\r\n");
      return 0;
    }
    text_flush_all(*this, t);
    return 0;
  }
  if (cmd == "version") {
    responses_.append("VERSION ");
    responses_.append(kVersion);
    responses_.append("\r\n");
    return 0;
  }
  if (cmd == "quit") {
    closing_ = true;
    return 0;
  }
  if (cmd == "verbosity") {
    if (n != 2 && n != 3) {
      responses_.append("ERROR\r\n");
      return 0;
    }
    text_verbosity(*this, t);
    return 0;
  }
  if (cmd == "extstore") {
    extstore_command(*this, t);
    return 0;
  }
  if (cmd == "slabs") {
    slabs_command(*this, t);
    return 0;
  }
  if (cmd == "lru") {
    lru_command(*this, t);
    return 0;
  }
  if (cmd == "lru_crawler") {
    lru_crawler_command(*this, t);
    return 0;
  }
  if (cmd == "cache_memlimit") {
    cache_memlimit_command(*this, t);
    return 0;
  }
  if (cmd == "shutdown") {
    shutdown_command(t);
    return 0;
  }
  if (cmd == "refresh_certs") {
    refresh_certs_command(*this, t);
    return 0;
  }
  if (cmd == "watch") {
    watch_command(t);
    return 0;
  }
  if (cmd == "record") {
    record_command(*this, t);
    return 0;
  }
  // memcached hangs up on what looks like an HTTP request, unanswered.
  if (t.back().starts_with("HTTP/")) {
    closing_ = true;
    discard_output_ = true;
    return 0;
  }
  responses_.append("ERROR\r\n");
  return 0;
}

}  // namespace memext::server
