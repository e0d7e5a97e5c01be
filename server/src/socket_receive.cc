#include "socket_receive.h"

#include <sys/socket.h>

#include <boost/asio/error.hpp>
#include <cassert>
#include <cerrno>
#include <cstring>

namespace memext::server {

using Status = boost::asio::detail::reactor_op::status;

Status receive_status(int fd, void* data, size_t size, boost::system::error_code& ec,
                      size_t& bytes) {
  assert(size >= 2);
  // Two receives in one system call: the caller's buffer less one byte, then one byte more.
  // A short first receive empties the socket's receive queue but can leave the peer's FIN
  // behind it, and the edge-triggered reactor raises no new event for a FIN that arrived with
  // the data. The second receive is the probe: EAGAIN proves the socket drained, 0 bytes is
  // the end of file queued behind the data, one byte means more data came meanwhile (it goes
  // at the end of the data, where the spare byte of the buffer was kept for it). A reset
  // queued behind data fails the first receive, so it needs no probe.
  char probe_byte;
  iovec iov[2] = {{data, size - 1}, {&probe_byte, 1}};
  mmsghdr msgs[2];
  std::memset(msgs, 0, sizeof msgs);
  msgs[0].msg_hdr.msg_iov = &iov[0];
  msgs[0].msg_hdr.msg_iovlen = 1;
  msgs[1].msg_hdr.msg_iov = &iov[1];
  msgs[1].msg_hdr.msg_iovlen = 1;
  int received;
  do {
    received = ::recvmmsg(fd, msgs, 2, MSG_DONTWAIT, nullptr);
  } while (received < 0 && errno == EINTR);
  if (received < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::not_done;
    ec = boost::system::error_code(errno, boost::asio::error::get_system_category());
    bytes = 0;
    return Status::done_and_exhausted;
  }
  bytes = msgs[0].msg_len;
  if (bytes == 0) {
    ec = boost::asio::error::eof;
    return Status::done_and_exhausted;
  }
  if (received == 1) return Status::done_and_exhausted;
  if (msgs[1].msg_len == 1) {
    static_cast<char*>(data)[bytes++] = probe_byte;
  }
  // More data or the end of file waits: the next receive runs at once instead of waiting for
  // an edge that will not come.
  return Status::done;
}

}  // namespace memext::server
