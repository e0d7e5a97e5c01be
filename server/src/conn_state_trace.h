// server/src/conn_state_trace.h — memcached's -vvv connection state lines
// ("FD: going from conn_read to conn_parse_cmd").
//
// memext-server has no connection state machine: Asio handlers read, the
// session runs every complete request of the input, and the connection
// writes the batch. So that -vvv logs what memcached 1.6.18 logs for the
// same exchange, the connection and the session report the points where
// memcached's machine would change state (a read starts, bytes arrive, a
// command begins, wants its value, ends; the batch ends; flash reads
// complete; the connection closes), and this shadow machine prints
// memcached's transitions for them. What it cannot know is how memcached's
// reads would split the input: it takes each arrival memext-server
// processes as one read.
// Only a server started with -vvv traces (`verbosity` never raises the
// level above 2); until then every hook is one test of a flag.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>

namespace memext::server {

// memcached's conn_states, in its order.
enum class TracedState : uint8_t {
  kListening,
  kNewCmd,
  kWaiting,
  kRead,
  kParseCmd,
  kWrite,
  kNread,
  kSwallow,
  kClosing,
  kMwrite,
  kClosed,
  kWatch,
  kIoQueue,
};

class ConnStateTrace {
 public:
  // `verbosity`: the server's current level (lines stop below 3).
  ConnStateTrace(const std::atomic<int>& verbosity, bool traced)
      : verbosity_(verbosity), on_(traced) {}
  void set_fd(int fd) { fd_ = fd; }
  // Where the lines go (stderr; a test's file).
  void set_output(std::FILE* out) { out_ = out; }
  // UDP requests have no connection states here.
  void disable() { on_ = false; }
  TracedState state() const { return state_; }

  // The connection starts waiting for input (not for a value's body).
  void read_started() {
    if (on_) trace_read_started();
  }
  // Input arrived and is about to be parsed.
  void bytes_arrived() {
    if (on_ && state_ == TracedState::kRead) go(TracedState::kParseCmd);
  }
  // A complete command line is about to run.
  void command_begins() {
    if (on_ && state_ == TracedState::kNewCmd) go(TracedState::kParseCmd);
  }
  // A storage command reads its value next (memcached's conn_nread).
  void value_wanted() {
    if (on_) go(TracedState::kNread);
  }
  // The command ran to its end. `at_once`: memcached writes its responses
  // straight away (the get family, quit); `flash`: some wait for flash reads.
  void command_done(bool at_once, bool flash) {
    if (on_) trace_command_done(at_once, flash);
  }
  // A refused store's data is being dropped; then it has been.
  void swallow_begins() {
    if (!on_) return;
    go(TracedState::kNewCmd);
    go(TracedState::kSwallow);
    responses_held_ = true;
  }
  void swallow_done() {
    if (on_ && state_ == TracedState::kSwallow) go(TracedState::kNewCmd);
  }
  // The session ran what the input held: `partial_line` is left unparsed;
  // `flash`: responses wait for flash reads.
  void batch_done(bool partial_line, bool flash) {
    if (on_) trace_batch_done(partial_line, flash);
  }
  // -R: the session stopped after its requests per event.
  void yielded(bool flash) {
    if (on_ && state_ == TracedState::kNewCmd && responses_held_) write_responses(flash);
  }
  // Every flash read of the batch has completed.
  void flash_reads_done() {
    if (!on_ || state_ != TracedState::kIoQueue) return;
    go(TracedState::kMwrite);
    go(TracedState::kNewCmd);
  }
  // `watch` or `lru_crawler metadump` took the connection over; the dump ended.
  void watching() {
    if (on_) go(TracedState::kWatch);
  }
  void dump_done() {
    if (!on_) return;
    go(TracedState::kNewCmd);
    responses_held_ = true;
  }
  // Around "<FD connection closed.": memcached's states of a closing
  // connection (a watcher's close shows none: its thread logs "closing
  // from side thread" instead).
  void closing() {
    if (!on_) return;
    if (state_ == TracedState::kWatch) {
      state_ = TracedState::kClosing;
      return;
    }
    go(TracedState::kClosing);
  }
  void closed() {
    if (on_) go(TracedState::kClosed);
  }

 private:
  void go(TracedState next);
  void trace_read_started();
  void trace_command_done(bool at_once, bool flash);
  void trace_batch_done(bool partial_line, bool flash);
  // mwrite (io_queue until the flash reads complete) and back to new_cmd.
  void write_responses(bool flash);

  const std::atomic<int>& verbosity_;
  bool on_;
  TracedState state_ = TracedState::kNewCmd;
  // memcached's response objects not yet written (its resp_head).
  bool responses_held_ = false;
  int fd_ = -1;
  std::FILE* out_ = stderr;
};

}  // namespace memext::server
