// live_client.h — replays a trace against a live memcached-compatible server
// (text protocol over TCP) and records when each request was sent.
//
// One thread runs a Boost.Asio io_context over --connections sockets. A key
// always goes to the same connection (by its id's hash), so one key's
// requests reach the server in trace order; each connection pipelines up
// to `window` requests and writes whatever accumulated while its previous
// write was on the wire as one write. Requests leave at their trace time /
// speed after the first one (speed 0: as fast as the window allows); a
// request's recorded send time is when the write holding it started, in
// microseconds since the first write, in the order the writes started.
//
// Fill on miss: when on, a get that misses is followed by a set of the
// traced size and TTL, sent when the miss is read, before any later request
// of the key (those wait, parked, while a get of their key is unanswered).
// The simulator fills at the get itself: the live fill is one round trip
// later. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "traces/trace_request.h"

namespace memext {

class TraceReader;

struct LiveOptions {
  std::string host;
  std::string port;
  double speed = 1;  // trace seconds per wall second; 0 = as fast as possible
  uint32_t connections = 4;
  uint32_t window = 128;  // requests in flight per connection
  bool fill_on_miss = false;
  // Values above this are sent as item_size_max + 1 bytes (too large either way).
  uint32_t item_size_max = 1u << 20;
  // No reply for this long with requests outstanding is an error.
  std::chrono::seconds stall_timeout{60};
};

struct LiveResult {
  // Every trace request sent (one per op_count repeat, fills excluded), in
  // send order: time_ns is the send time (µs resolution) since the first
  // send, key_size the length sent, value_size the size sent.
  std::vector<TraceRequest> sent;
  uint64_t gets = 0;  // get, gets, gat, gats answered (an error reply is a miss)
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t fills = 0;          // sets sent after a miss
  uint64_t error_replies = 0;  // ERROR / CLIENT_ERROR / SERVER_ERROR lines
  // Requests (fills included) the server ran but whose replies it dropped
  // before "SERVER_ERROR out of memory writing get response" (reply_matcher.h);
  // the gets among them, in none of gets, hits and misses.
  uint64_t dropped_replies = 0;
  uint64_t dropped_get_replies = 0;
  std::string first_error_reply;
  uint64_t keys_lengthened = 0;  // traced key shorter than kMinLiveKeyBytes
  uint64_t keys_clamped = 0;     // traced key longer than kMaxLiveKeyBytes
  uint64_t values_clamped = 0;
  double wall_seconds = 0;   // first send to last reply
  double trace_seconds = 0;  // the trace's own span
  uint64_t max_lag_us = 0;   // latest send after its scheduled time
  double mean_lag_us = 0;
};

// Reads the whole trace and sends it. Throws std::runtime_error naming the
// server when it cannot be reached, closes a connection, stalls, or answers
// something the request cannot get.
LiveResult run_live(TraceReader& reader, const LiveOptions& options);

// Sends `command` ("stats", "stats settings") on a connection of its own
// and returns the reply up to its END line. Throws std::runtime_error.
std::string fetch_stats(const std::string& host, const std::string& port,
                        const std::string& command);

}  // namespace memext
