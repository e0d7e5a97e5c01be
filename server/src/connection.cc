#include "connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "flash_reader.h"
#include "server_context.h"
#include "tls_context.h"
#include "verbose_log.h"

namespace asio = boost::asio;

namespace memext::server {
Connection::Connection(ServerContext& ctx, FlashReader* reader, BufferBudget* budget, Socket socket,
                       std::shared_ptr<asio::ssl::context> tls)
    : ctx_(ctx),
      reader_(reader),
      budget_(budget),
      socket_(std::move(socket)),
      tls_context_(std::move(tls)),
      session_(ctx) {
  session_.set_budget(budget_);
  if (tls_context_) {
    tls_ =
        std::make_unique<asio::ssl::stream<ReceiveOp<Connection>::Socket&>>(socket_, *tls_context_);
  }
  ctx_.counters.total_connections.fetch_add(1, std::memory_order_relaxed);
  ctx_.counters.connection_structures.fetch_add(1, std::memory_order_relaxed);
  status_ = std::make_shared<ConnStatus>();
  status_->fd = socket_.native_handle();
  boost::system::error_code ec;
  peer_ = socket_.remote_endpoint(ec);
  if (!ec) status_->addr = conn_address_text(peer_.data(), peer_.size());
  unix_peer_ = ec || peer_.data()->sa_family == AF_UNIX;
  auto local = socket_.local_endpoint(ec);
  if (!ec) status_->listen_addr = conn_address_text(local.data(), local.size());
  status_->touch();
  ctx_.conns.add(status_);
  session_.set_log_id(status_->fd);
  ctx_.logger.conn_new(peer_.data(), static_cast<socklen_t>(peer_.size()), unix_peer_, status_->fd);
  if (ctx_.verbosity.load(std::memory_order_relaxed) >= 2)
    log_new_connection(status_->fd, ctx_.config.protocol);
}

Connection::~Connection() {
  if (holds_read_buffer_) budget_->give_read_buffer();
  if (watcher_ && !closed_) ctx_.logger.remove_watcher(watcher_);
  ctx_.conns.remove(status_);
  ctx_.counters.curr_connections.fetch_sub(1, std::memory_order_relaxed);
  ctx_.counters.connection_structures.fetch_sub(1, std::memory_order_relaxed);
  if (ctx_.connection_closed) ctx_.connection_closed();
}

void Connection::start() {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  if (ec) {
    close();
    return;
  }
  last_command_ = coarse_now();
  if (ctx_.config.ops.idle_timeout > 0) {
    idle_timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
    arm_idle_timer(std::chrono::seconds(ctx_.config.ops.idle_timeout));
  }
  if (tls_) {
    handshaking_ = true;
    tls_->async_handshake(
        asio::ssl::stream_base::server,
        [self = shared_from_this()](const boost::system::error_code& ec) { self->handshaken(ec); });
    return;
  }
  read_more();
}

void Connection::handshaken(const boost::system::error_code& ec) {
  handshaking_ = false;
  if (ec) {
    // A plain-text client on a TLS port lands here too, as in memcached.
    if (ec != asio::error::operation_aborted && ctx_.tls != nullptr) {
      ctx_.tls->handshake_errors.fetch_add(1, std::memory_order_relaxed);
    }
    close();
    return;
  }
  read_more();
}

void Connection::arm_idle_timer(std::chrono::steady_clock::duration wait) {
  idle_timer_->expires_after(wait);
  idle_timer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->idle_check();
  });
}

void Connection::idle_check() {
  if (closed_) return;
  const auto timeout = std::chrono::seconds(ctx_.config.ops.idle_timeout);
  const auto idle = coarse_now() - last_command_;
  if (idle < timeout) {
    arm_idle_timer(timeout - idle);
    return;
  }
  if (writing_ || pending_flash_ > 0 || session_.dumping()) {
    arm_idle_timer(std::chrono::seconds(1));
    return;
  }
  ctx_.counters.idle_kicks.fetch_add(1, std::memory_order_relaxed);
  close(CloseReason::kIdleTimeout);
}

void Connection::read_more() {
  if (reading_ || writing_ || closed_ || handshaking_ || pending_flash_ > 0 || session_.closing() ||
      session_.dumping()) {
    return;
  }
  input_.prepare_read(session_.bytes_wanted());
  session_.trace().read_started();
  reading_ = true;
  if (tls_) {
    tls_->async_read_some(asio::buffer(input_.space(), input_.space_size()),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      size_t bytes) { self->received(ec, bytes); });
    return;
  }
  receive_.start(socket_, input_.space(), input_.space_size(), shared_from_this());
}

void Connection::received(const boost::system::error_code& ec, size_t bytes) {
  reading_ = false;
  // memcached takes a read buffer from its worker's cache before each read,
  // the one that finds the peer gone too, and closes the connection when
  // the cache is at read_buf_mem_limit.
  if (budget_ != nullptr && !holds_read_buffer_ && !watcher_ && !closed_ &&
      ec != asio::error::operation_aborted) {
    if (!budget_->take_read_buffer()) {
      ctx_.counters.read_buf_oom.fetch_add(1, std::memory_order_relaxed);
      close();
      return;
    }
    holds_read_buffer_ = true;
  }
  if (ec) {
    close();
    return;
  }
  ctx_.counters.bytes_read.fetch_add(bytes, std::memory_order_relaxed);
  input_.received(bytes);
  if (watcher_) {
    // A watcher's further input is ignored, as memcached's.
    input_.consume(input_.unread().size());
    watch_read();
    return;
  }
  // memcached reads up to 16 KB before it parses (which decides, e.g., that a
  // runaway line behind a request closes the connection before the request
  // is answered): a read that filled the small idle buffer goes on into a
  // block first, so requests are parsed in the same batches.
  if (input_.filled() && !input_.on_heap()) {
    read_more();
    return;
  }
  session_.trace().bytes_arrived();
  process();
}

void Connection::process() {
  if (watcher_) {
    flush_watch();
    return;
  }
  for (;;) {
    if (closed_) return;
    if (pending_flash_ == 0 && !session_.closing() && !session_.dumping()) {
      const ConnState before = status_->state.load(std::memory_order_relaxed);
      status_->state.store(ConnState::kParseCmd, std::memory_order_relaxed);
      EventLogger::set_current_fd(status_->fd);
      input_.consume(session_.consume(input_.unread()));
      if (session_.watcher()) {
        enter_watch();
        return;
      }
      ConnState after = session_.commands_run() > 0 ? ConnState::kRead : before;
      if (session_.bytes_wanted() > 0) after = ConnState::kNread;
      status_->state.store(after, std::memory_order_relaxed);
      if (session_.commands_run() > 0) {
        last_command_ = coarse_now();
        status_->touch(last_command_);
      }
      auto& reads = session_.flash_reads();
      if (!reads.empty()) {
        pending_flash_ = reads.size();
        std::shared_ptr<Connection> self = shared_from_this();
        for (auto& read : reads) {
          read->keep_alive = self;
          read->done = [conn = this] {
            if (--conn->pending_flash_ == 0) {
              conn->session_.trace().flash_reads_done();
              conn->process();
            } else {
              conn->write_ready();
            }
          };
        }
        reader_->submit(reads);
      }
    }
    if (session_.closing() && session_.discard_output()) {
      close();
      return;
    }
    write_ready();
    // A metadump goes out a batch at a time, each once the socket took the
    // last; the requests behind it wait until it has ended.
    if (!session_.dumping() || writing_ || closed_) break;
    session_.continue_dump();
  }
  settle_budget();
  if (!writing_ && session_.closing() && !session_.responses().has_pending()) {
    close(CloseReason::kNormal);
    return;
  }
  if (session_.take_yield()) {
    ctx_.counters.conn_yields.fetch_add(1, std::memory_order_relaxed);
    // Other connections of this worker go first; a write or flash read in
    // flight calls process() itself when it completes.
    if (!writing_ && pending_flash_ == 0) {
      asio::post(socket_.get_executor(), [self = shared_from_this()] { self->process(); });
    }
    return;
  }
  read_more();
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
  if (tls_) {
    write_tls(total);
  } else {
    write_plain(total);
  }
}

void Connection::write_tls(size_t total) {
  // One SSL_write for the batch: Asio's stream would make a TLS record and a
  // send per segment.
  tls_out_.clear();
  tls_out_.reserve(total);
  for (const asio::const_buffer& b : write_buffers_) {
    tls_out_.append(static_cast<const char*>(b.data()), b.size());
  }
  writing_ = true;
  asio::async_write(*tls_, asio::buffer(tls_out_),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                      self->writing_ = false;
                      if (ec) {
                        self->close();
                        return;
                      }
                      // An idle connection keeps at most ssl_wbuf_size of it.
                      if (self->tls_out_.capacity() > self->ctx_.config.tls.wbuf_size) {
                        std::string().swap(self->tls_out_);
                      }
                      self->tls_out_.clear();
                      self->written(n);
                      self->process();
                    });
}

void Connection::write_plain(size_t total) {
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
                      self->process();
                    });
}

void Connection::settle_budget() {
  if (holds_read_buffer_ && input_.unread().empty()) {
    budget_->give_read_buffer();
    holds_read_buffer_ = false;
  }
  ResponseQueue& responses = session_.responses();
  if (!writing_ && pending_flash_ == 0 && !responses.has_pending() &&
      !responses.has_ready_bytes()) {
    session_.release_responses();
  }
}

void Connection::written(size_t bytes) {
  ctx_.counters.bytes_written.fetch_add(bytes, std::memory_order_relaxed);
  session_.responses().pop(sealed_segments_);
  sealed_segments_ = 0;
}

void Connection::enter_watch() {
  watcher_ = session_.watcher();
  input_.consume(input_.unread().size());
  {
    std::lock_guard lock(watcher_->mutex);
    watcher_->wake = [weak = weak_from_this(), executor = socket_.get_executor()] {
      asio::post(executor, [weak] {
        if (auto self = weak.lock()) self->flush_watch();
      });
    };
  }
  if (idle_timer_) idle_timer_->cancel();
  flush_watch();
  watch_read();
}

void Connection::watch_read() {
  if (reading_ || closed_) return;
  input_.prepare_read(0);
  reading_ = true;
  receive_.start(socket_, input_.space(), input_.space_size(), shared_from_this());
}

void Connection::flush_watch() {
  if (closed_ || writing_) return;
  // The OK of `watch` goes first.
  if (session_.responses().has_ready_bytes()) {
    write_ready();
    if (writing_ || closed_) return;
  }
  watch_out_.clear();
  {
    std::lock_guard lock(watcher_->mutex);
    watch_out_.swap(watcher_->pending);
    watcher_->wake_posted = false;
  }
  if (watch_out_.empty()) return;
  writing_ = true;
  asio::async_write(socket_, asio::buffer(watch_out_),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                      self->writing_ = false;
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->ctx_.counters.bytes_written.fetch_add(n, std::memory_order_relaxed);
                      self->flush_watch();
                    });
}

void Connection::close(CloseReason reason) {
  if (closed_) return;
  closed_ = true;
  if (watcher_) {
    {
      std::lock_guard lock(watcher_->mutex);
      watcher_->wake = nullptr;
    }
    ctx_.logger.remove_watcher(watcher_);
  }
  ctx_.logger.conn_close(peer_.data(), static_cast<socklen_t>(peer_.size()), unix_peer_, reason,
                         status_->fd);
  if (idle_timer_) idle_timer_->cancel();
  // memcached's buffers go back as it closes, before its next event.
  if (holds_read_buffer_) budget_->give_read_buffer();
  holds_read_buffer_ = false;
  session_.release_responses();
  // Before the descriptor can be reused by the next connection.
  ctx_.conns.remove(status_);
  const bool verbose = ctx_.verbosity.load(std::memory_order_relaxed) >= 2;
  if (verbose && watcher_) log_side_thread_close(status_->fd);
  session_.trace().closing();
  if (verbose) log_connection_closed(status_->fd);
  session_.trace().closed();
  boost::system::error_code ignored;
  // TLS: the close_notify alert, when no read or write of the stream is in
  // flight (the non-blocking socket makes this one send and no wait).
  if (tls_ && !handshaking_ && !reading_ && !writing_) tls_->shutdown(ignored);
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace memext::server
