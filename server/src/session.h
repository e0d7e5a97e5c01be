// server/src/session.h — one client connection's protocol state, without the
// socket: it turns request bytes into responses.
//
// consume() finds complete command lines (memcached's rules: '\n' ends a
// line, a preceding '\r' is dropped, a NUL ends the command early, a line
// without '\n' past 2048 bytes closes the connection unless it is a get/gets
// multiget), dispatches text and meta commands, waits for a storage
// command's data block, and swallows the data of a refused oversized store.
// Flash hits become FlashRead requests the connection submits; their slots
// keep response order, and no further command runs until they complete
// (memcached's ordering).
// A connection speaks the binary protocol instead when -B says so, or under
// -B auto when its first byte is the binary request magic 0x80 (memcached's
// negotiation); binary_protocol.h then parses its requests.
// Under -Y a connection authenticates first (ascii_auth.h); under -S its
// binary requests wait for SASL (binary_sasl.h).
// Used by one connection on one thread; not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "ascii_auth.h"
#include "buffer_budget.h"
#include "conn_state_trace.h"
#include "flash_reader.h"
#include "memext/metadump.h"
#include "response_queue.h"
#include "sasl_auth.h"
#include "server_context.h"
#include "verbose_log.h"

namespace memext::server {

// memcached closes a connection whose first 2048 bytes hold no newline,
// unless it is a get/gets (a long multiget).
inline constexpr size_t kMaxCommandLine = 2048;
// memext's cap on a multiget line still without newline (memcached grows its
// buffer without a cap).
inline constexpr size_t kMaxMultigetLine = 16u << 20;
// Response objects a connection's list may keep room for while idle.
inline constexpr size_t kKeptResponses = 64;

class Session {
 public:
  // A command handler's answer when its data block has not fully arrived.
  static constexpr size_t kNeedMore = static_cast<size_t>(-1);

  explicit Session(ServerContext& ctx)
      : ctx_(ctx),
        protocol_(ctx.config.protocol),
        trace_(ctx.verbosity, ctx.config.verbose >= 3),
        authenticated_(!ctx.config.sasl && ctx.auth_file == nullptr) {}
  ~Session() { release_responses(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The worker's buffers (buffer_budget.h) the response objects of every
  // command count against; none: not counted.
  void set_budget(BufferBudget* budget) { budget_ = budget; }
  // memcached's resp_start: false (counted in response_obj_oom) when the
  // worker's budget is spent.
  bool start_response();
  // Everything answered has been written: the response objects go back,
  // oldest first as memcached frees them.
  void release_responses() {
    if (budget_ != nullptr) {
      for (const BufferBudget::Response& r : responses_held_) budget_->give_response(r);
    }
    responses_held_.clear();
    // A multiget of thousands of keys must not leave its list to an idle
    // connection.
    if (responses_held_.capacity() > kKeptResponses) {
      std::vector<BufferBudget::Response>().swap(responses_held_);
    }
  }
  // A multiget whose next key cannot start a response: as memcached, every
  // response not yet written is dropped, the flash reads queued for them
  // are abandoned (get_aborted_extstore), and the answer is `SERVER_ERROR
  // out of memory writing get response` (the connection closes when even
  // that cannot start).
  void fail_get_out_of_memory();

  // Binary requests (binary_protocol.cc) follow the text loop's rules.
  // False once -R requests have run in this consume() (a yield).
  bool may_run_request();
  // memcached's resp_start before a request: false, and the connection
  // closing unanswered, when the worker's buffers are spent.
  bool begin_request();
  // The request ran, or waits for the rest of its body (its response object
  // goes back until then).
  void request_ran() { ++commands_run_; }
  void request_waits();

  // Consumes complete requests from the front of `input` and returns how many
  // bytes were used. Stops early when closing, or when a storage command's
  // data block is incomplete (bytes_wanted() then says how many bytes the
  // input must hold).
  size_t consume(std::string_view input);

  size_t bytes_wanted() const { return bytes_wanted_; }
  // True once after consume() stopped at -R requests with input maybe left
  // (memcached's conn_yields): the connection goes on after other work.
  bool take_yield() { return std::exchange(yielded_, false); }
  // Commands run by the last consume().
  uint32_t commands_run() const { return commands_run_; }
  // UDP: responses are framed per response object (udp_listener.h).
  void set_udp() {
    udp_ = true;
    trace_.disable();
  }
  // Before each command: its response is a message of its own.
  void begin_message() {
    if (udp_) responses_.begin_message(false);
  }
  // Before each key of a multiget: memcached 1.6.18 starts a response object
  // per key, sends the first even when empty and reuses an empty later one.
  void begin_key_message(bool first_key) {
    if (!udp_) return;
    if (first_key || !responses_.message_droppable()) responses_.begin_message(first_key);
  }
  // The connection speaks the binary protocol (negotiated or by -B).
  bool binary() const { return protocol_ == BindingProtocol::kBinary; }
  bool closing() const { return closing_; }
  // memcached drops queued responses when it closes over a runaway line.
  bool discard_output() const { return discard_output_; }
  // memcached sends nothing while it swallows a refused data block.
  bool swallowing() const { return swallow_ > 0; }

  ResponseQueue& responses() { return responses_; }
  // Flash reads queued by consume(); the connection submits and clears them.
  std::vector<std::unique_ptr<PendingFlashRead>>& flash_reads() { return flash_reads_; }

  ServerContext& ctx() { return ctx_; }
  // The descriptor -vv log lines name.
  void set_log_id(int fd) {
    log_id_ = fd;
    trace_.set_fd(fd);
  }
  // -vvv: memcached's connection state lines (conn_state_trace.h).
  ConnStateTrace& trace() { return trace_; }
  // A get-family command: memcached writes its responses as soon as it ran.
  void respond_at_once() { respond_at_once_ = true; }
  int log_id() const { return log_id_; }
  // -S or -Y: the connection has authenticated (always true without them).
  bool authenticated() const { return authenticated_; }
  void set_authenticated(bool on) { authenticated_ = on; }
  // -S: the connection's SASL state.
  SaslSession& sasl() { return sasl_; }
  void close() { closing_ = true; }
  void swallow(size_t bytes) { swallow_ = bytes; }
  // Drops what is still to be swallowed from the front of `input`; returns
  // the bytes dropped.
  size_t swallow_from(std::string_view input) {
    size_t n = std::min(swallow_, input.size());
    swallow_ -= n;
    return n;
  }
  // The unread input must hold `bytes` before the pending request can run.
  void set_bytes_wanted(size_t bytes) { bytes_wanted_ = bytes; }
  // Response text, dropped when the command said noreply.
  void reply(std::string_view text) {
    if (!noreply_) {
      responses_.append(text);
    } else if (ctx_.verbosity.load(std::memory_order_relaxed) >= 2) {
      log_noreply(log_id_, text);
    }
  }
  // Errors meta commands always send (memcached's out_errstring).
  void reply_error(std::string_view text) { responses_.append(text); }
  // A storage handler waiting for its data block of `bytes` (with "\r\n").
  void want_data(size_t bytes) { data_wanted_ = bytes; }
  void set_noreply(bool on) { noreply_ = on; }
  bool noreply() const { return noreply_; }
  void queue_flash_read(std::unique_ptr<PendingFlashRead> read) {
    flash_reads_.push_back(std::move(read));
  }
  // This connection's recache turns (memcached's c->recache_counter), for
  // fetch_and_use: its flash reads finish on its thread, and the connection
  // outlives them (PendingFlashRead::keep_alive).
  uint64_t* recache_counter() { return &recache_counter_; }

  // `lru_crawler metadump`: the dump runs in batches between writes, and no
  // further command runs until it has ended (memcached hands the connection
  // to its crawler thread meanwhile).
  void start_dump(const Metadump& dump) {
    dump_ = dump;
    dumping_ = true;
  }
  bool dumping() const { return dumping_; }
  // After `watch` succeeded: the connection sends the log from now on and
  // runs no further command.
  const std::shared_ptr<Watcher>& watcher() const { return watcher_; }
  // Appends the next batch of lines (taking the engine lock), and END when
  // the dump is over.
  void continue_dump();

 private:
  // Handles one command line; `rest` is the input after the line's '\n'.
  // Returns the bytes of `rest` used as data, or kNeedMore.
  size_t dispatch(std::string_view line, std::string_view rest);
  void shutdown_command(const std::vector<std::string_view>& t);
  void watch_command(const std::vector<std::string_view>& t);
  size_t dispatch_logged(std::string_view line, std::string_view rest);
  // -vvv: where memcached's state machine goes after the command that ran.
  void trace_command_end();
  // -Y: the requests before the connection has authenticated; returns the
  // bytes used.
  size_t consume_unauthenticated(std::string_view input);

  ServerContext& ctx_;
  BindingProtocol protocol_;
  ResponseQueue responses_;
  ConnStateTrace trace_;
  std::vector<std::unique_ptr<PendingFlashRead>> flash_reads_;
  uint64_t recache_counter_ = 0;
  std::vector<std::string_view> tokens_;
  size_t swallow_ = 0;
  size_t bytes_wanted_ = 0;
  size_t data_wanted_ = 0;
  bool closing_ = false;
  bool discard_output_ = false;
  bool noreply_ = false;
  bool dumping_ = false;
  bool yielded_ = false;
  // -vv: the command line waiting for its data was logged already.
  bool line_logged_ = false;
  bool respond_at_once_ = false;
  int log_id_ = -1;
  uint32_t commands_run_ = 0;
  bool udp_ = false;
  bool authenticated_;
  BufferBudget* budget_ = nullptr;
  std::vector<BufferBudget::Response> responses_held_;
  Metadump dump_;
  AsciiAuthExchange ascii_auth_;
  SaslSession sasl_;
  std::shared_ptr<Watcher> watcher_;
};

}  // namespace memext::server
