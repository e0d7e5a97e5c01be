#include "socket_receive.h"

#include <sys/socket.h>

#include <boost/asio/error.hpp>
#include <cerrno>

namespace memext::server {

using Status = boost::asio::detail::reactor_op::status;

Status receive_status(int fd, void* data, size_t size, boost::system::error_code& ec,
                      size_t& bytes) {
  ssize_t n;
  do {
    n = ::recv(fd, data, size, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::not_done;
    ec = boost::system::error_code(errno, boost::asio::error::get_system_category());
    bytes = 0;
    return Status::done_and_exhausted;
  }
  bytes = static_cast<size_t>(n);
  if (n == 0) {
    ec = boost::asio::error::eof;
    return Status::done_and_exhausted;
  }
  return bytes < size ? Status::done_and_exhausted : Status::done;
}

}  // namespace memext::server
