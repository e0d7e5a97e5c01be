#include "parse_util.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>

namespace memext::server {
namespace {

// strto* need a NUL-terminated string; tokens are views into the read buffer.
class CString {
 public:
  explicit CString(std::string_view s) {
    if (s.size() < sizeof small_) {
      std::memcpy(small_, s.data(), s.size());
      small_[s.size()] = '\0';
      ptr_ = small_;
    } else {
      big_.assign(s);
      ptr_ = big_.c_str();
    }
  }
  const char* get() const { return ptr_; }

 private:
  char small_[40];
  std::string big_;
  const char* ptr_;
};

bool ends_ok(const char* str, const char* end) {
  return std::isspace(static_cast<unsigned char>(*end)) || (*end == '\0' && end != str);
}

}  // namespace

void tokenize(std::string_view line, std::vector<std::string_view>& tokens) {
  tokens.clear();
  size_t i = 0;
  const size_t n = line.size();
  while (i < n) {
    while (i < n && line[i] == ' ') ++i;
    if (i >= n) break;
    size_t start = i;
    while (i < n && line[i] != ' ') ++i;
    tokens.push_back(line.substr(start, i - start));
  }
}

bool parse_int32(std::string_view token, int32_t& out) {
  CString s(token);
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(s.get(), &end, 10);
  if (errno == ERANGE || end == s.get()) return false;
  if (!ends_ok(s.get(), end)) return false;
  out = static_cast<int32_t>(v);
  return true;
}

bool parse_double(std::string_view token, double& out) {
  CString s(token);
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.get(), &end);
  if (errno == ERANGE || end == s.get()) return false;
  if (!ends_ok(s.get(), end)) return false;
  out = v;
  return true;
}

bool parse_uint32(std::string_view token, uint32_t& out) {
  CString s(token);
  errno = 0;
  char* end = nullptr;
  unsigned long v = std::strtoul(s.get(), &end, 10);
  if (errno == ERANGE || end == s.get()) return false;
  if (!ends_ok(s.get(), end)) return false;
  if (static_cast<long>(v) < 0 && std::memchr(s.get(), '-', end - s.get()) != nullptr) {
    return false;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

bool parse_uint64(std::string_view token, uint64_t& out) {
  CString s(token);
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.get(), &end, 10);
  if (errno == ERANGE || end == s.get()) return false;
  if (!ends_ok(s.get(), end)) return false;
  if (static_cast<long long>(v) < 0 && std::memchr(s.get(), '-', end - s.get()) != nullptr) {
    return false;
  }
  out = v;
  return true;
}

bool parse_int64(std::string_view token, int64_t& out) {
  CString s(token);
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.get(), &end, 10);
  if (errno == ERANGE || end == s.get()) return false;
  if (!ends_ok(s.get(), end)) return false;
  out = v;
  return true;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

bool base64_decode(std::string_view in, std::string& out) {
  out.clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = in[i + j];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad) return false;
      v[j] = b64_value(c);
      if (v[j] < 0) return false;
    }
    uint32_t triple = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>(triple >> 16));
    if (pad < 2) out.push_back(static_cast<char>((triple >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(triple & 0xff));
  }
  return true;
}

void base64_encode(std::string_view in, std::string& out) {
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t t = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kB64[t >> 18];
    out += kB64[(t >> 12) & 63];
    out += kB64[(t >> 6) & 63];
    out += kB64[t & 63];
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t t = uint8_t(in[i]) << 16;
    out += kB64[t >> 18];
    out += kB64[(t >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t t = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kB64[t >> 18];
    out += kB64[(t >> 12) & 63];
    out += kB64[(t >> 6) & 63];
    out += '=';
  }
}

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace memext::server
