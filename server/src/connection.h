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
#pragma once

#include <boost/asio/generic/stream_protocol.hpp>
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

  Connection(ServerContext& ctx, FlashReader* reader, Socket socket);
  ~Connection();
  void start();
  // ReceiveOp's completion: `bytes` more bytes are in buf_, or the socket failed or closed.
  void received(const boost::system::error_code& ec, size_t bytes);

 private:
  void read_more();
  void process();
  void write_ready();
  // Counts `bytes` sent and drops the segments they came from.
  void written(size_t bytes);
  void close(CloseReason reason = CloseReason::kError);
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
  ReceiveOp<Connection> receive_;
  ReceiveOp<Connection>::Socket socket_;
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
};

}  // namespace memext::server
