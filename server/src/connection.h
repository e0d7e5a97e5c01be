// server/src/connection.h — one client connection on a worker's io_context.
//
// Reads into a ReadBuffer (no heap buffer while idle), lets its Session
// answer every complete request in the buffer (pipelining), hands flash
// reads to the worker's FlashReader as one batch, and writes the ready
// responses as one gathered write, straight away when the socket takes it
// all. Reads and writes alternate like memcached's state machine: no new read
// while a write or a flash read is outstanding, which bounds memory per
// connection. Lives on one worker thread; kept alive by its pending handlers
// (shared_from_this).
// The stream is the seam between plain and TLS: a plain connection receives
// with ReceiveOp and writes with one sendmsg; a TLS connection (-Z, a
// listener without notls:) handshakes first, then reads and writes through
// Asio's ssl::stream over the same socket, its responses gathered into one
// buffer per write (memcached's ssl_wbuf). Everything above the stream —
// parsing, pipelining, flash reads, ordering — is the same code.
#pragma once

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "conn_registry.h"
#include "read_buffer.h"
#include "session.h"
#include "socket_receive.h"

namespace memext::server {

class FlashReader;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;

  // `tls`: the context to handshake with, or null for a plain connection.
  // `budget`: the worker's read_buf_mem_limit, which outlives the connection.
  Connection(ServerContext& ctx, FlashReader* reader, BufferBudget* budget, Socket socket,
             std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~Connection();
  void start();
  // ReceiveOp's completion: `bytes` more bytes are in buf_, or the socket failed or closed.
  void received(const boost::system::error_code& ec, size_t bytes);

 private:
  void read_more();
  void process();
  void write_ready();
  // The gathered responses: one sendmsg, falling back to async_write.
  void write_plain(size_t total);
  // The gathered responses as one buffer through the TLS stream.
  void write_tls(size_t total);
  void handshaken(const boost::system::error_code& ec);
  // Counts `bytes` sent and drops the segments they came from.
  void written(size_t bytes);
  void close(CloseReason reason = CloseReason::kError);
  // Gives the worker's budget back what is no longer held: the read buffer
  // once all input is used, the response objects once all are written.
  void settle_budget();
  // After `watch`: the connection carries the log (EventLogger) and only
  // reads to notice the client going away.
  void enter_watch();
  void flush_watch();
  void watch_read();
  // -o idle_timeout: memcached's idle thread closes a connection whose last
  // command is older than the timeout, unless it is busy writing.
  void arm_idle_timer(std::chrono::steady_clock::duration wait);
  void idle_check();

  ServerContext& ctx_;
  FlashReader* reader_;
  BufferBudget* budget_;
  bool holds_read_buffer_ = false;
  ReceiveOp<Connection> receive_;
  ReceiveOp<Connection>::Socket socket_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<boost::asio::ssl::stream<ReceiveOp<Connection>::Socket&>> tls_;
  std::string tls_out_;  // the write in flight, on a TLS connection
  Session session_;
  ReadBuffer input_;
  std::vector<boost::asio::const_buffer> write_buffers_;
  std::unique_ptr<boost::asio::steady_timer> idle_timer_;  // only with idle_timeout
  std::chrono::steady_clock::time_point last_command_;
  std::shared_ptr<ConnStatus> status_;                    // what `stats conns` shows
  boost::asio::generic::stream_protocol::endpoint peer_;  // for connevents lines
  bool unix_peer_ = false;
  std::shared_ptr<Watcher> watcher_;  // set once the connection is a watcher
  std::string watch_out_;             // log bytes being written
  size_t pending_flash_ = 0;
  size_t sealed_segments_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool closed_ = false;
  bool handshaking_ = false;
};

}  // namespace memext::server
