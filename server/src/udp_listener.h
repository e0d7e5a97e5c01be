// server/src/udp_listener.h — memcached's UDP service (-U): every datagram
// starts with memcached's 8-byte frame header (request id, sequence number,
// datagram count, reserved; big-endian) and holds whole requests, text,
// meta or binary (negotiated per datagram, as memcached's UDP connection
// does). A request that says it spans several datagrams is dropped, as are
// datagrams shorter than the header. Each response object memcached would
// build (one per command, one per key of a multiget) goes back as its own
// message of datagrams of at most 1400 bytes, numbered from 0 with the
// message's datagram count, carrying the request's id.
//
// Like memcached, each worker thread serves every UDP socket (its own
// descriptor of it), and each such "connection" counts in curr_connections,
// total_connections and connection_structures for the server's lifetime.
// A datagram's requests run on a Session of their own; what a datagram
// leaves incomplete is dropped. memcached refuses UDP together with
// extstore (config.cc does too), so no UDP request waits for flash.
//
// Thread-safety: the listener is built and closed on the server's thread;
// each worker's sockets and requests live on that worker's io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <memory>
#include <vector>

#include "buffer_budget.h"
#include "server_context.h"

namespace memext::server {

// memcached's UDP_MAX_PAYLOAD_SIZE: a datagram with its header.
inline constexpr size_t kUdpMaxDatagram = 1400;
inline constexpr size_t kUdpHeaderSize = 8;

class UdpListener {
 public:
  // Binds a UDP socket on config.udp_port (-1: any free port) for each -l
  // address (all addresses when none). Throws std::runtime_error naming the
  // port when one cannot be bound.
  UdpListener(boost::asio::io_context& io, ServerContext& ctx, const ServerConfig& config);
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  // Starts reading every socket on a worker's io_context; the requests'
  // response objects count against the worker's `budget` (which outlives
  // the io_context's handlers).
  void start(boost::asio::io_context& worker, BufferBudget* budget);
  // Closes the bound sockets; the workers' descriptors close with their
  // io_contexts (or the listener, once no worker runs).
  void close();
  // The ports bound (for -U -1), one per socket.
  std::vector<uint16_t> ports() const;

  struct Worker;

 private:
  ServerContext& ctx_;
  std::vector<std::unique_ptr<boost::asio::ip::udp::socket>> sockets_;
  std::vector<std::shared_ptr<Worker>> workers_;
};

// Splits one response message into datagrams with memcached's frame header.
// An empty message is one bare header with a datagram count of 0.
void append_udp_datagrams(std::vector<std::string>& out, uint16_t request_id,
                          std::string_view message);

}  // namespace memext::server
