#include "auth_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace memext::server {
namespace {

// memcached reads each line with fgets into at most this many bytes (the
// last one the terminating NUL) and keeps at most this many entries.
constexpr size_t kMaxEntryLength = 256;
constexpr size_t kMaxEntries = 8;

// memcached prints strerror and then perror("") after it.
std::string with_errno(std::string message, int error) {
  const char* text = std::strerror(error);
  return message + text + ": " + text;
}

// Reads up to file_size bytes; a read error (a directory) reads as the end
// of the file, as fgets sees it.
std::string read_up_to(int fd, size_t file_size) {
  std::string bytes(file_size, '\0');
  size_t got = 0;
  while (got < file_size) {
    ssize_t n = ::read(fd, bytes.data() + got, file_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  return bytes;
}

}  // namespace

void AuthFile::load(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw AuthStartupError(
        with_errno("Could not open authfile [" + path + "] for reading, error ", errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    throw AuthStartupError(with_errno("Could not stat authfile [" + path + "], error ", error));
  }
  const auto file_size = static_cast<size_t>(st.st_size);
  std::string bytes = read_up_to(fd, file_size);
  ::close(fd);
  parse(path, bytes, file_size);
}

void AuthFile::parse(const std::string& path, std::string_view bytes, size_t file_size) {
  // memcached's buffer: the file's size plus a NUL. Each line is read to the
  // position of the previous line's terminator, so a line takes one byte
  // less than its length and the buffer never runs out for a regular file.
  std::string buffer(file_size + 1, '\0');
  size_t line = 0;
  size_t next_byte = 0;
  std::vector<std::pair<std::string, std::string>> entries;
  for (;;) {
    const size_t room = std::min(file_size - line, kMaxEntryLength);
    // fgets(buffer + line, room): nothing for no room, only the NUL for
    // one byte, else up to room - 1 bytes through the first newline.
    if (room == 0) break;
    if (room > 1) {
      if (next_byte >= bytes.size()) break;
      size_t n = 0;
      while (n < room - 1 && next_byte < bytes.size()) {
        const char c = bytes[next_byte++];
        buffer[line + n++] = c;
        if (c == '\n') break;
      }
      buffer[line + n] = '\0';
    } else {
      buffer[line] = '\0';
    }
    size_t x = 0;
    size_t colon = std::string::npos;
    for (; x < kMaxEntryLength; ++x) {
      const char c = buffer[line + x];
      if (colon == std::string::npos) {
        if (c == '\0') break;
        if (c == ':') colon = x;
      } else if (c == '\n' || c == '\r' || c == '\0') {
        break;
      }
    }
    if (colon == std::string::npos) {
      throw AuthStartupError("Authfile [" + path +
                             "] has a malformed entry. Should be 'user:password'");
    }
    entries.emplace_back(buffer.substr(line, colon),
                         buffer.substr(line + colon + 1, x - colon - 1));
    if (entries.size() == kMaxEntries) break;
    // The read stopped before a newline: the end of the file, a NUL or a
    // line longer than one read.
    if (buffer[line + x] == '\0') break;
    line += x;
  }
  entries_ = std::move(entries);
}

bool AuthFile::check(std::string_view user, std::string_view password) const {
  // memcached compares C strings: a NUL ends what the client sent.
  user = user.substr(0, user.find('\0'));
  password = password.substr(0, password.find('\0'));
  for (const auto& [u, p] : entries_) {
    if (u == user && p == password) return true;
  }
  return false;
}

}  // namespace memext::server
