#include "conn_state_trace.h"

#include <cstdio>

namespace memext::server {
namespace {

const char* state_name(TracedState state) {
  static constexpr const char* kNames[] = {
      "conn_listening", "conn_new_cmd", "conn_waiting",  "conn_read",    "conn_parse_cmd",
      "conn_write",     "conn_nread",   "conn_swallow",  "conn_closing", "conn_mwrite",
      "conn_closed",    "conn_watch",   "conn_io_queue",
  };
  return kNames[static_cast<int>(state)];
}

}  // namespace

void ConnStateTrace::go(TracedState next) {
  if (next == state_) return;
  if (verbosity_.load(std::memory_order_relaxed) > 2) {
    std::fprintf(out_, "%d: going from %s to %s\n", fd_, state_name(state_), state_name(next));
  }
  state_ = next;
}

void ConnStateTrace::trace_read_started() {
  // A value's body, or a swallowed one, is read in its own state.
  if (state_ != TracedState::kNewCmd && state_ != TracedState::kParseCmd) return;
  go(TracedState::kWaiting);
  go(TracedState::kRead);
}

void ConnStateTrace::trace_command_done(bool at_once, bool flash) {
  if (state_ == TracedState::kNread) {
    go(TracedState::kNewCmd);
    responses_held_ = true;
    return;
  }
  if (!at_once) {
    go(TracedState::kNewCmd);
    responses_held_ = true;
    return;
  }
  write_responses(flash);
}

void ConnStateTrace::trace_batch_done(bool partial_line, bool flash) {
  if (state_ != TracedState::kNewCmd && state_ != TracedState::kParseCmd) return;
  if (partial_line) {
    // memcached looks at the rest first, writes what it holds, and looks again.
    go(TracedState::kParseCmd);
    if (!responses_held_) return;
    write_responses(flash);
    if (state_ == TracedState::kNewCmd) go(TracedState::kParseCmd);
    return;
  }
  if (state_ == TracedState::kNewCmd && responses_held_) write_responses(flash);
}

void ConnStateTrace::write_responses(bool flash) {
  go(TracedState::kMwrite);
  responses_held_ = false;
  if (flash) {
    go(TracedState::kIoQueue);
    return;
  }
  go(TracedState::kNewCmd);
}

}  // namespace memext::server
