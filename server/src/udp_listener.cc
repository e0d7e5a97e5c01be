#include "udp_listener.h"

#include <unistd.h>

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <cassert>
#include <stdexcept>
#include <string>

#include "session.h"

namespace asio = boost::asio;
using asio::ip::udp;

namespace memext::server {
namespace {

// memcached reads a UDP datagram into a 64 KB buffer.
constexpr size_t kUdpReadBuffer = 65536;

uint16_t load16(const unsigned char* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

void append16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

}  // namespace

void append_udp_datagrams(std::vector<std::string>& out, uint16_t request_id,
                          std::string_view message) {
  constexpr size_t kPayload = kUdpMaxDatagram - kUdpHeaderSize;
  const size_t count = (message.size() + kPayload - 1) / kPayload;
  size_t seq = 0;
  do {
    std::string& d = out.emplace_back();
    const std::string_view part =
        message.substr(std::min(seq * kPayload, message.size()), kPayload);
    d.reserve(kUdpHeaderSize + part.size());
    append16(d, request_id);
    append16(d, static_cast<uint16_t>(seq));
    append16(d, static_cast<uint16_t>(count));
    append16(d, 0);
    d.append(part);
    ++seq;
  } while (seq < count);
}

// One worker's descriptor of one UDP socket: memcached's per-thread UDP
// connection.
struct UdpListener::Worker : std::enable_shared_from_this<UdpListener::Worker> {
  Worker(asio::io_context& io, ServerContext& c, BufferBudget* b, udp::socket& bound)
      : ctx(c), budget(b), socket(io) {
    const int fd = ::dup(bound.native_handle());
    if (fd < 0) throw std::runtime_error("dup of the UDP socket failed");
    boost::system::error_code ec;
    socket.assign(bound.local_endpoint().protocol(), fd, ec);
    if (ec) {
      ::close(fd);
      throw std::runtime_error("UDP socket: " + ec.message());
    }
    // memcached lists each worker's UDP connection in `stats conns`, always
    // reading, at the socket's own address.
    status->fd = fd;
    status->udp = true;
    const udp::endpoint local = bound.local_endpoint();
    status->addr = conn_address_text(local.data(), local.size(), true);
    status->state = ConnState::kRead;
    status->touch();
    ctx.conns.add(status);
  }

  ~Worker() { ctx.conns.remove(status); }

  void receive() {
    socket.async_receive_from(asio::buffer(buffer), peer,
                              [self = shared_from_this()](const boost::system::error_code& ec,
                                                          size_t n) { self->received(ec, n); });
  }

  void received(const boost::system::error_code& ec, size_t n);

  ServerContext& ctx;
  BufferBudget* budget;
  udp::socket socket;
  udp::endpoint peer;
  std::array<char, kUdpReadBuffer> buffer;
  std::shared_ptr<ConnStatus> status = std::make_shared<ConnStatus>();
};

namespace {

// One datagram's requests, answered as datagrams. memcached refuses UDP
// with extstore, so no request here waits for flash.
class UdpRequest : public std::enable_shared_from_this<UdpRequest> {
 public:
  UdpRequest(std::shared_ptr<UdpListener::Worker> worker, uint16_t id)
      : worker_(std::move(worker)), session_(worker_->ctx), id_(id), peer_(worker_->peer) {
    session_.set_udp();
    session_.set_budget(worker_->budget);
  }

  void run(std::string_view input) {
    size_t pos = 0;
    for (;;) {
      assert(session_.flash_reads().empty());
      if (session_.dumping()) {
        session_.continue_dump();
        continue;
      }
      if (session_.closing() || pos >= input.size()) break;
      const size_t used = session_.consume(input.substr(pos));
      pos += used;
      if (used == 0 || session_.bytes_wanted() > 0 || session_.swallowing()) break;
    }
    if (session_.closing() && session_.discard_output()) return;
    session_.responses().for_each_message([&](std::string_view message, bool keep_empty) {
      if (message.empty() && !keep_empty) return;
      append_udp_datagrams(datagrams_, id_, message);
    });
    send_next();
  }

 private:
  void send_next() {
    if (next_ >= datagrams_.size()) return;
    const std::string& d = datagrams_[next_];
    worker_->socket.async_send_to(
        asio::buffer(d), peer_,
        [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
          if (ec) return;
          self->worker_->ctx.counters.bytes_written.fetch_add(n, std::memory_order_relaxed);
          ++self->next_;
          self->send_next();
        });
  }

  std::shared_ptr<UdpListener::Worker> worker_;
  Session session_;
  uint16_t id_;
  udp::endpoint peer_;
  std::vector<std::string> datagrams_;
  size_t next_ = 0;
};

}  // namespace

void UdpListener::Worker::received(const boost::system::error_code& ec, size_t n) {
  if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) return;
  if (!ec) {
    ctx.counters.bytes_read.fetch_add(n, std::memory_order_relaxed);
    const auto* h = reinterpret_cast<const unsigned char*>(buffer.data());
    // memcached drops what is not one whole request datagram.
    if (n > kUdpHeaderSize && load16(h + 4) == 1) {
      status->touch();
      auto request = std::make_shared<UdpRequest>(shared_from_this(), load16(h));
      request->run(std::string_view(buffer.data() + kUdpHeaderSize, n - kUdpHeaderSize));
    }
  }
  if (socket.is_open()) receive();
}

UdpListener::UdpListener(asio::io_context& io, ServerContext& ctx, const ServerConfig& config)
    : ctx_(ctx) {
  const std::string port = std::to_string(config.udp_port < 0 ? 0 : config.udp_port);
  std::vector<std::string> addrs = config.listen;
  if (addrs.empty()) addrs.push_back("0.0.0.0");
  udp::resolver resolver(io);
  for (const std::string& addr : addrs) {
    boost::system::error_code ec;
    auto results = resolver.resolve(addr, port, udp::resolver::passive, ec);
    if (ec) throw std::runtime_error("-l " + addr + ": " + ec.message());
    for (const auto& entry : results) {
      auto socket = std::make_unique<udp::socket>(io);
      socket->open(entry.endpoint().protocol());
      socket->set_option(asio::socket_base::reuse_address(true));
      socket->bind(entry.endpoint(), ec);
      if (ec) {
        throw std::runtime_error("failed to listen on UDP port " + std::to_string(config.udp_port) +
                                 ": " + ec.message());
      }
      sockets_.push_back(std::move(socket));
    }
  }
}

UdpListener::~UdpListener() {
  boost::system::error_code ignored;
  for (auto& w : workers_) w->socket.close(ignored);
}

void UdpListener::start(asio::io_context& worker, BufferBudget* budget) {
  for (const auto& socket : sockets_) {
    auto w = std::make_shared<Worker>(worker, ctx_, budget, *socket);
    workers_.push_back(w);
    ServerCounters& c = ctx_.counters;
    c.curr_connections.fetch_add(1, std::memory_order_relaxed);
    c.total_connections.fetch_add(1, std::memory_order_relaxed);
    c.connection_structures.fetch_add(1, std::memory_order_relaxed);
    asio::post(worker, [w] { w->receive(); });
  }
}

void UdpListener::close() {
  boost::system::error_code ignored;
  for (auto& s : sockets_) s->close(ignored);
}

std::vector<uint16_t> UdpListener::ports() const {
  std::vector<uint16_t> out;
  for (const auto& s : sockets_) {
    boost::system::error_code ec;
    const udp::endpoint ep = s->local_endpoint(ec);
    if (!ec) out.push_back(ep.port());
  }
  return out;
}

}  // namespace memext::server
