#include "validate/live_client.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include <boost/asio.hpp>

#include "traces/trace_reader.h"
#include "validate/live_protocol.h"
#include "validate/reply_matcher.h"

namespace memext {

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 256 * 1024;

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

using Pending = AwaitedReply;

// A sent request waiting for its write to start, with when it was due.
struct Unsent {
  TraceRequest request;
  Clock::time_point due;
};

struct Connection {
  explicit Connection(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  std::string out;      // encoded, not yet handed to a write
  std::string writing;  // the write on the wire
  bool write_busy = false;
  std::vector<Unsent> unsent;  // trace requests in `out`
  ReplyMatcher inflight;       // in `out`, `writing` or answered next, in order
  // Keys with an unanswered get (fill on miss): their later requests, in order.
  std::unordered_map<uint64_t, std::deque<Pending>> parked;
  std::string in;
  size_t in_begin = 0;
  std::unique_ptr<char[]> chunk{new char[kReadChunk]};
};

class LiveRun {
 public:
  LiveRun(TraceReader& reader, const LiveOptions& options)
      : reader_(reader), o_(options), timer_(io_), watchdog_(io_) {}

  LiveResult run() {
    connect();
    started_ = Clock::now();
    last_progress_ = started_;
    for (auto& c : conns_) start_read(*c);
    arm_watchdog();
    pump();
    io_.run();
    if (!error_.empty()) throw std::runtime_error(error_);
    result_.wall_seconds =
        std::chrono::duration<double>(finished_ - (first_send_ ? *first_send_ : started_)).count();
    if (!result_.sent.empty()) {
      result_.mean_lag_us = lag_sum_us_ / static_cast<double>(result_.sent.size());
    }
    return std::move(result_);
  }

 private:
  std::string where() const { return o_.host + ":" + o_.port; }

  void connect() {
    tcp::resolver resolver(io_);
    boost::system::error_code ec;
    const auto endpoints = resolver.resolve(o_.host, o_.port, ec);
    if (ec) throw std::runtime_error("cannot resolve '" + o_.host + "': " + ec.message());
    for (uint32_t i = 0; i < o_.connections; ++i) {
      auto c = std::make_unique<Connection>(io_);
      asio::connect(c->socket, endpoints, ec);
      if (ec) throw std::runtime_error("cannot connect to " + where() + ": " + ec.message());
      c->socket.set_option(tcp::no_delay(true));
      conns_.push_back(std::move(c));
    }
  }

  void fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    stop();
  }

  void stop() {
    stopped_ = true;
    finished_ = Clock::now();
    timer_.cancel();
    watchdog_.cancel();
    for (auto& c : conns_) {
      boost::system::error_code ignored;
      c->socket.close(ignored);
    }
  }

  void arm_watchdog() {
    watchdog_.expires_after(std::chrono::seconds(1));
    watchdog_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      if (outstanding_ > 0 && Clock::now() - last_progress_ > o_.stall_timeout) {
        fail("the server " + where() + " sent no reply for " +
             std::to_string(o_.stall_timeout.count()) + " s with " + std::to_string(outstanding_) +
             " requests outstanding");
        return;
      }
      arm_watchdog();
    });
  }

  Connection& conn_of(uint64_t key_id) { return *conns_[mix(key_id) % conns_.size()]; }

  // Sizes as sent: the simulator replays what the server saw.
  TraceRequest as_sent(TraceRequest r) {
    const uint32_t key = live_key_length(r.key_size);
    if (key > r.key_size) ++result_.keys_lengthened;
    if (key < r.key_size) ++result_.keys_clamped;
    r.key_size = key;
    if (r.value_size > o_.item_size_max + 1) {
      r.value_size = o_.item_size_max + 1;
      ++result_.values_clamped;
    }
    // A get's size is what its fill on miss stores.
    if (filler_.size() < r.value_size) filler_.resize(r.value_size, 'v');
    r.op_count = 1;
    return r;
  }

  void encode(Connection& c, const Pending& p, Clock::time_point due) {
    append_request(c.out, p.request, p.request.key_size, filler_);
    c.inflight.expect(p);
    if (!p.fill) c.unsent.push_back({p.request, due});
    if (o_.fill_on_miss && !p.fill && is_get_op(p.request.op)) c.parked[p.request.key_id];
  }

  void dispatch(const TraceRequest& traced, Clock::time_point due) {
    const TraceRequest r = as_sent(traced);
    Connection& c = conn_of(r.key_id);
    const uint32_t repeats = std::max<uint32_t>(traced.op_count, 1);
    for (uint32_t i = 0; i < repeats; ++i) {
      ++outstanding_;
      if (o_.fill_on_miss) {
        if (auto it = c.parked.find(r.key_id); it != c.parked.end()) {
          it->second.push_back({r, false});
          continue;
        }
      }
      encode(c, {r, false}, due);
    }
  }

  // A get of `key` was answered: send what waited for it, up to the next get.
  void unpark(Connection& c, uint64_t key) {
    auto it = c.parked.find(key);
    if (it == c.parked.end()) return;
    std::deque<Pending> waiting = std::move(it->second);
    c.parked.erase(it);
    const Clock::time_point now = Clock::now();
    while (!waiting.empty()) {
      const Pending p = waiting.front();
      waiting.pop_front();
      encode(c, p, now);
      if (is_get_op(p.request.op)) {
        c.parked[key] = std::move(waiting);
        return;
      }
    }
  }

  bool next_request() {
    if (have_next_) return true;
    if (trace_done_) return false;
    if (!reader_.next(next_)) {
      trace_done_ = true;
      return false;
    }
    if (!have_first_) {
      have_first_ = true;
      first_trace_ns_ = next_.time_ns;
    }
    last_trace_ns_ = std::max(last_trace_ns_, next_.time_ns);
    have_next_ = true;
    return true;
  }

  void pump() {
    if (stopped_) return;
    const uint64_t window = uint64_t{o_.window} * conns_.size();
    Clock::time_point now = Clock::now();
    while (outstanding_ < window && next_request()) {
      Clock::time_point due = now;
      if (o_.speed > 0) {
        const uint64_t offset_ns =
            next_.time_ns > first_trace_ns_ ? next_.time_ns - first_trace_ns_ : 0;
        due = started_ + std::chrono::nanoseconds(
                             static_cast<int64_t>(static_cast<double>(offset_ns) / o_.speed));
        if (due > now) {
          now = Clock::now();
          if (due > now) {
            timer_.expires_at(due);
            timer_.async_wait([this](const boost::system::error_code& ec) {
              if (!ec) pump();
            });
            break;
          }
        }
      }
      dispatch(next_, due);
      have_next_ = false;
    }
    for (auto& c : conns_) start_write(*c);
    maybe_finish();
  }

  void maybe_finish() {
    if (!trace_done_ || have_next_ || outstanding_ != 0) return;
    for (auto& c : conns_) {
      if (!c->inflight.empty() || c->write_busy || !c->out.empty()) return;
    }
    result_.trace_seconds = static_cast<double>(last_trace_ns_ - first_trace_ns_) / 1e9;
    stop();
  }

  void start_write(Connection& c) {
    if (c.write_busy || c.out.empty() || stopped_) return;
    const Clock::time_point now = Clock::now();
    if (!first_send_) first_send_ = now;
    const uint64_t at_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - *first_send_).count());
    for (Unsent& u : c.unsent) {
      u.request.time_ns = at_us * 1000;
      result_.sent.push_back(u.request);
      if (now > u.due) {
        const uint64_t lag = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now - u.due).count());
        lag_sum_us_ += static_cast<double>(lag);
        result_.max_lag_us = std::max(result_.max_lag_us, lag);
      }
    }
    c.unsent.clear();
    std::swap(c.out, c.writing);
    c.out.clear();
    c.write_busy = true;
    asio::async_write(c.socket, asio::buffer(c.writing),
                      [this, &c](const boost::system::error_code& ec, size_t) {
                        c.write_busy = false;
                        if (stopped_) return;
                        if (ec) {
                          fail("writing to " + where() + ": " + ec.message());
                          return;
                        }
                        start_write(c);
                        maybe_finish();
                      });
  }

  void start_read(Connection& c) {
    c.socket.async_read_some(asio::buffer(c.chunk.get(), kReadChunk),
                             [this, &c](const boost::system::error_code& ec, size_t n) {
                               if (stopped_) return;
                               if (ec) {
                                 fail(ec == asio::error::eof
                                          ? "the server " + where() + " closed a connection"
                                          : "reading from " + where() + ": " + ec.message());
                                 return;
                               }
                               last_progress_ = Clock::now();
                               c.in.append(c.chunk.get(), n);
                               take_replies(c);
                               if (stopped_) return;
                               start_read(c);
                               pump();
                             });
  }

  void take_replies(Connection& c) {
    std::string error;
    matched_.clear();
    c.in_begin += c.inflight.consume(std::string_view(c.in).substr(c.in_begin), &matched_, &error);
    for (const MatchedReply& m : matched_) on_reply(c, m);
    if (!error.empty()) {
      fail("the server " + where() + " " + error);
      return;
    }
    if (c.inflight.marker_wanted()) {
      c.out += kMarkerCommand;
      c.inflight.marker_sent();
    }
    if (c.in_begin == c.in.size()) {
      c.in.clear();
      c.in_begin = 0;
    } else if (c.in_begin > (1u << 20)) {
      c.in.erase(0, c.in_begin);
      c.in_begin = 0;
    }
  }

  void on_reply(Connection& c, const MatchedReply& m) {
    const Pending& p = m.awaited;
    if (m.dropped) {
      ++result_.dropped_replies;
    } else {
      // incr/decr of a value that is not a number is a normal outcome.
      const bool expected_error = (p.request.op == Op::kIncr || p.request.op == Op::kDecr) &&
                                  m.line.starts_with("CLIENT_ERROR cannot increment");
      if (m.status == ReplyStatus::kError && !expected_error) {
        if (result_.error_replies++ == 0) result_.first_error_reply = m.line;
      }
    }
    if (p.fill) return;
    --outstanding_;
    if (!is_get_op(p.request.op)) return;
    if (m.dropped) {
      ++result_.dropped_get_replies;
    } else {
      ++result_.gets;
      if (m.status == ReplyStatus::kHit) {
        ++result_.hits;
      } else {
        ++result_.misses;
      }
    }
    if (!o_.fill_on_miss) return;
    if (!m.dropped && m.status == ReplyStatus::kMiss) {
      Pending fill{p.request, true};
      fill.request.op = Op::kSet;
      ++result_.fills;
      encode(c, fill, Clock::now());
    }
    unpark(c, p.request.key_id);
  }

  TraceReader& reader_;
  const LiveOptions o_;
  asio::io_context io_;
  asio::steady_timer timer_;
  asio::steady_timer watchdog_;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::string filler_;
  std::vector<MatchedReply> matched_;
  LiveResult result_;
  std::string error_;
  bool stopped_ = false;
  bool trace_done_ = false;
  bool have_next_ = false;
  bool have_first_ = false;
  TraceRequest next_;
  uint64_t first_trace_ns_ = 0;
  uint64_t last_trace_ns_ = 0;
  uint64_t outstanding_ = 0;  // trace requests dispatched and not answered
  double lag_sum_us_ = 0;
  Clock::time_point started_;
  Clock::time_point finished_;
  Clock::time_point last_progress_;
  std::optional<Clock::time_point> first_send_;
};

}  // namespace

LiveResult run_live(TraceReader& reader, const LiveOptions& options) {
  LiveRun run(reader, options);
  return run.run();
}

std::string fetch_stats(const std::string& host, const std::string& port,
                        const std::string& command) {
  asio::io_context io;
  tcp::socket socket(io);
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  const auto endpoints = resolver.resolve(host, port, ec);
  if (ec) throw std::runtime_error("cannot resolve '" + host + "': " + ec.message());
  asio::connect(socket, endpoints, ec);
  if (ec) throw std::runtime_error("cannot connect to " + host + ":" + port + ": " + ec.message());
  const std::string request = command + "\r\n";
  std::string reply;
  std::string error;
  bool done = false;
  asio::async_write(socket, asio::buffer(request), [&](const boost::system::error_code& e, size_t) {
    if (e) error = "writing to " + host + ":" + port + ": " + e.message();
  });
  asio::dynamic_string_buffer buffer(reply);
  asio::async_read_until(
      socket, buffer, "END\r\n", [&](const boost::system::error_code& e, size_t) {
        if (e) {
          error = "reading `" + command + "` from " + host + ":" + port + ": " + e.message();
        }
        done = true;
      });
  io.run_for(std::chrono::seconds(30));
  if (!error.empty()) throw std::runtime_error(error);
  if (!done) {
    throw std::runtime_error("no answer to `" + command + "` from " + host + ":" + port +
                             " within 30 s");
  }
  return reply;
}

}  // namespace memext
