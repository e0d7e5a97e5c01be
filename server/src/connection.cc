#include "connection.h"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "flash_reader.h"

namespace asio = boost::asio;

namespace memext::server {
namespace {
constexpr size_t kInitialBuffer = 16 * 1024;
constexpr size_t kMinReadSpace = 4 * 1024;
}  // namespace

Connection::Connection(ServerContext& ctx, FlashReader* reader, Socket socket)
    : ctx_(ctx), reader_(reader), socket_(std::move(socket)), session_(ctx) {
  ctx_.counters.curr_connections.fetch_add(1, std::memory_order_relaxed);
  ctx_.counters.total_connections.fetch_add(1, std::memory_order_relaxed);
  ctx_.counters.connection_structures.fetch_add(1, std::memory_order_relaxed);
}

Connection::~Connection() {
  ctx_.counters.curr_connections.fetch_sub(1, std::memory_order_relaxed);
  ctx_.counters.connection_structures.fetch_sub(1, std::memory_order_relaxed);
}

void Connection::start() {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  if (ec) {
    close();
    return;
  }
  buf_.resize(kInitialBuffer);
  pump();
}

bool Connection::can_read() const {
  return !writing_ && !closed_ && pending_flash_ == 0 && !session_.closing();
}

void Connection::pump() {
  while (!closed_) {
    process();
    if (!can_read()) return;
    if (!readable_) {
      wait_readable();
      return;
    }
    if (!read_once()) return;
  }
}

void Connection::wait_readable() {
  if (wait_armed_) return;
  wait_armed_ = true;
  socket_.async_wait(Socket::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       self->wait_armed_ = false;
                       if (ec) {
                         self->close();
                         return;
                       }
                       self->readable_ = true;
                       self->pump();
                     });
}

bool Connection::read_once() {
  if (begin_ == end_) begin_ = end_ = 0;
  size_t wanted = std::max(session_.bytes_wanted(), end_ - begin_ + kMinReadSpace);
  if (buf_.size() - begin_ < wanted || buf_.size() - end_ < kMinReadSpace) {
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buf_.size() < wanted) buf_.resize(std::max(wanted, buf_.size() * 2));
    if (buf_.size() - end_ < kMinReadSpace) buf_.resize(buf_.size() * 2);
  }
  const size_t space = buf_.size() - end_;
  boost::system::error_code ec;
  size_t n = socket_.read_some(asio::buffer(buf_.data() + end_, space), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    readable_ = false;
    wait_readable();
    return false;
  }
  if (ec) {
    close();
    return false;
  }
  ctx_.counters.bytes_read.fetch_add(n, std::memory_order_relaxed);
  end_ += n;
  // A short read drained the socket (memcached's assumption too), so wait
  // for readiness instead of paying a recv that fails with EAGAIN. The wait
  // is armed before the request is answered: the reactor cannot poll in
  // between, so the client's next bytes cannot slip past it (the fd is
  // edge-triggered).
  if (n < space) {
    readable_ = false;
    wait_readable();
  }
  return true;
}

void Connection::process() {
  if (closed_) return;
  if (pending_flash_ == 0 && !session_.closing()) {
    size_t used = session_.consume(std::string_view(buf_.data() + begin_, end_ - begin_));
    begin_ += used;
    auto& reads = session_.flash_reads();
    if (!reads.empty()) {
      pending_flash_ = reads.size();
      for (auto& read : reads) {
        read->done = [self = shared_from_this()] {
          if (--self->pending_flash_ == 0)
            self->pump();
          else
            self->write_ready();
        };
      }
      reader_->submit(std::move(reads));
      reads.clear();
    }
  }
  if (session_.closing() && session_.discard_output()) {
    close();
    return;
  }
  write_ready();
  if (!writing_ && session_.closing() && !session_.responses().has_pending()) {
    close();
  }
}

void Connection::write_ready() {
  // memcached sends nothing while it swallows a refused data block.
  if (writing_ || closed_ || session_.swallowing() || !session_.responses().has_ready_bytes()) {
    return;
  }
  write_buffers_.clear();
  size_t total = 0;
  sealed_segments_ = session_.responses().seal_ready([&](const std::string& bytes) {
    write_buffers_.emplace_back(bytes.data(), bytes.size());
    total += bytes.size();
  });
  // Responses nearly always fit the socket's send buffer: one sendmsg now,
  // and no write handler going round the io_context, as memcached does. The
  // socket is non-blocking, so a full buffer just falls back to async_write.
  boost::system::error_code ec;
  size_t sent = socket_.write_some(write_buffers_, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    sent = 0;
  } else if (ec) {
    close();
    return;
  }
  if (sent == total) {
    written(sent);
    return;
  }
  std::vector<asio::const_buffer> rest;
  for (const asio::const_buffer& b : write_buffers_) {
    if (sent >= b.size()) {
      sent -= b.size();
      continue;
    }
    rest.push_back(b + sent);
    sent = 0;
  }
  ctx_.counters.bytes_written.fetch_add(total - asio::buffer_size(rest), std::memory_order_relaxed);
  writing_ = true;
  asio::async_write(socket_, rest,
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                      self->writing_ = false;
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->written(n);
                      self->pump();
                    });
}

void Connection::written(size_t bytes) {
  ctx_.counters.bytes_written.fetch_add(bytes, std::memory_order_relaxed);
  session_.responses().pop(sealed_segments_);
  sealed_segments_ = 0;
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace memext::server
