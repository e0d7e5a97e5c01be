// server/src/socket_receive.h — a connection's socket receive on the worker's Asio reactor
// that skips the failed recv Boost 1.74 makes before each wait.
//
// Boost 1.74's epoll reactor tries every async_read_some with a recv before it waits for the
// socket's next epoll edge, and keeps doing so until a recv returns end-of-file. A memcached
// client sends a request, waits for the answer, then sends the next one, so the server asks for
// the next request before the client could have sent it: that first recv nearly always fails
// with EAGAIN — one wasted syscall per request that memcached's state machine does not make.
// ReceiveOp tells the reactor the socket is drained when it knows so, and the reactor then
// queues the next receive for the socket's next edge instead of trying it first. A short read
// alone does not prove it: the peer's FIN (or more data) may already wait behind the bytes read,
// and with edge-triggered epoll no new event announces it, which leaked every connection whose
// last bytes and FIN arrived together. So each receive probes one byte further in the same
// system call (recvmmsg), and only a probe that finds nothing marks the socket drained.
// Same reactor, same descriptor lock, same edge-triggered registration as async_read_some: only
// the status the operation reports differs.
//
// This uses Boost.Asio's detail API (reactor_op, epoll_reactor::start_op), which is not stable
// across Boost releases; the project builds with Debian 12's Boost 1.74 and the header checks it.
#pragma once

// Asio's public headers first: its detail headers assume they are already in.
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
// clang-format off
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
// clang-format on
#include <boost/version.hpp>
#include <cstddef>
#include <memory>

static_assert(BOOST_VERSION / 100 == 1074,
              "socket_receive.h relies on Boost.Asio 1.74's reactor internals; check "
              "epoll_reactor::start_op and reactor_op before building with another Boost");

namespace memext::server {

// One non-blocking receive with its probe: not_done on EAGAIN, done_and_exhausted when it
// drained the socket (the probe found nothing, end of file or error), done when more bytes or
// the end of file wait behind the ones it returns. Precondition: size >= 2.
boost::asio::detail::reactor_op::status receive_status(int fd, void* data, size_t size,
                                                       boost::system::error_code& ec,
                                                       size_t& bytes);

// Runs one receive at a time for its owner. Owner::received(ec, bytes) is called on the
// socket's io_context thread; `ec` is eof when the peer closed, operation_aborted when the
// socket was closed. The op keeps its owner alive while a receive is in flight.
// Not thread-safe: one socket, one worker thread.
template <class Owner>
class ReceiveOp final : private boost::asio::detail::reactor_op {
 public:
  ReceiveOp()
      : reactor_op(boost::system::error_code(), &ReceiveOp::perform, &ReceiveOp::complete) {}
  ReceiveOp(const ReceiveOp&) = delete;
  ReceiveOp& operator=(const ReceiveOp&) = delete;

  // A stream socket whose reactor state ReceiveOp can reach (Asio keeps it protected).
  class Socket : public boost::asio::generic::stream_protocol::socket {
   public:
    using Base = boost::asio::generic::stream_protocol::socket;
    explicit Socket(Base&& socket) : Base(std::move(socket)) {}

   private:
    friend class ReceiveOp;
  };

  // Precondition: no receive in flight; `socket` is non-blocking and outlives the receive;
  // [data, data + size) stays valid until `received`.
  void start(Socket& socket, void* data, size_t size, std::shared_ptr<Owner> owner) {
    fd_ = socket.native_handle();
    data_ = data;
    size_ = size;
    owner_ = std::move(owner);
    ec_ = boost::system::error_code();
    bytes_transferred_ = 0;
    // use_service locks the context's service registry: look it up once, the
    // socket never changes io_context.
    if (reactor_ == nullptr) {
      reactor_ = &boost::asio::use_service<boost::asio::detail::reactor>(
          boost::asio::query(socket.get_executor(), boost::asio::execution::context));
    }
    reactor_->start_op(boost::asio::detail::reactor::read_op, fd_,
                       socket.impl_.get_implementation().reactor_data_, this,
                       /*is_continuation=*/false, /*allow_speculative=*/true);
  }

 private:
  static status perform(reactor_op* base) {
    auto* op = static_cast<ReceiveOp*>(base);
    return receive_status(op->fd_, op->data_, op->size_, op->ec_, op->bytes_transferred_);
  }

  // `scheduler` is null when the io_context is destroyed with the op still queued.
  static void complete(void* scheduler, boost::asio::detail::operation* base,
                       const boost::system::error_code&, size_t) {
    auto* op = static_cast<ReceiveOp*>(base);
    // The owner may start the next receive on this op, or drop the last reference to it.
    std::shared_ptr<Owner> owner = std::move(op->owner_);
    boost::system::error_code ec = op->ec_;
    size_t bytes = op->bytes_transferred_;
    if (scheduler != nullptr) owner->received(ec, bytes);
  }

  boost::asio::detail::reactor* reactor_ = nullptr;
  int fd_ = -1;
  void* data_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<Owner> owner_;
};

}  // namespace memext::server
