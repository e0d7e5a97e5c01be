// server/src/auth_file.h — memcached 1.6.18's `-Y` password file for ASCII
// authentication: "user:password" lines, read once at startup with
// memcached's rules (at most 8 entries; a line is read 255 bytes at a time
// into a buffer the size of the file, so a line that has no ':' — an empty
// line too — is malformed and the file refused, the password ends at '\r',
// '\n' or the end of what was read, a line longer than the read or a
// missing last newline ends the file) and memcached's startup messages.
//
// Also the error both authentication setups (this file and SASL) end the
// process with. Immutable after load(); thread-safe to check().
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace memext::server {

// A failure to set up -Y or -S; what() is memcached's message, and the
// process exits with status 1 as memcached does.
class AuthStartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class AuthFile {
 public:
  // Throws AuthStartupError when the file cannot be opened or has a
  // malformed entry.
  void load(const std::string& path);
  // Parses the file's bytes (`file_size` is what fstat said; memcached sizes
  // its buffer by it). Throws AuthStartupError naming `path` when malformed.
  void parse(const std::string& path, std::string_view bytes, size_t file_size);

  bool check(std::string_view user, std::string_view password) const;
  size_t size() const { return entries_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

}  // namespace memext::server
