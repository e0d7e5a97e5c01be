#include "capture/capture_command.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

#include "traces/trace_key_hash.h"
#include "traces/trace_native.h"
#include "traces/trace_sample.h"
#include "traces/trace_text.h"
#include "traces/watch_log.h"

namespace memext {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

void on_stop_signal(int signal) {
  g_stop_signal = signal;
}

// The answer to `watch` must come within this; the lines after it may not
// (an idle server logs nothing).
constexpr int kReplyTimeoutMs = 10'000;
constexpr size_t kMaxLineBytes = 1 << 20;

std::string help_text() {
  return "usage: memext-sim capture HOST:PORT --out TRACE [--duration S] [--sample R]\n"
         "                          [--sample-seed N] [--zstd-level L]\n"
         "\n"
         "Connects to a memcached 1.6 (or memext-server), sends `watch fetchers mutations`\n"
         "and writes every logged get and store (key id and length, op, size, TTL,\n"
         "microsecond time) to TRACE in the native format, zstd-compressed when TRACE ends\n"
         "in .zst. Lines the server drops when this reader falls behind (its skipped=N\n"
         "lines) are counted and reported. How the log becomes requests: traces/README.md,\n"
         "\"watch\". Stops after --duration, or on Ctrl-C / SIGTERM, with a complete file.\n"
         "\n"
         "options:\n"
         "  --out TRACE         the trace to write (.mxt, or .mxt.zst compressed)\n"
         "  --duration S        seconds to record (default 0: until Ctrl-C or SIGTERM)\n"
         "  --sample R          keep only the keys whose hash falls in a fraction R of the\n"
         "                      key space (0 < R <= 1; replay --sample's hash), every\n"
         "                      request of a kept key\n"
         "  --sample-seed N     another, independent key sample of the same rate (default 0)\n"
         "  --zstd-level L      zstd level for .zst output, 1..19 (default 3)\n"
         "  -h, --help          this help\n";
}

bool split_host_port(std::string_view text, std::string* host, std::string* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return false;
  std::string_view h = text.substr(0, colon);
  if (h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);  // [::1]:11211
  uint32_t number = 0;
  if (!parse_int(text.substr(colon + 1), number) || number == 0 || number > 65535) return false;
  *host = std::string(h);
  *port = std::to_string(number);
  return true;
}

int connect_to(const CaptureOptions& o, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(o.host.c_str(), o.port.c_str(), &hints, &found); rc != 0) {
    *error = "cannot resolve '" + o.host + "': " + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      why = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) *error = "cannot connect to " + o.host + ":" + o.port + ": " + why;
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// The capture's state: socket bytes -> lines -> events -> the trace.
class Capture {
 public:
  Capture(const CaptureOptions& o, NativeTraceWriter* writer)
      : sampler_(o.sample_rate, o.sample_seed), writer_(writer) {}

  // Takes the complete lines in `buffer`, leaving a partial last line there.
  void take_lines(std::string& buffer) {
    size_t start = 0;
    for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      line(std::string_view(buffer).substr(start, nl - start));
    }
    buffer.erase(0, start);
    if (buffer.size() > kMaxLineBytes) {
      malformed("a line longer than " + std::to_string(kMaxLineBytes) + " bytes");
      buffer.clear();
    }
    drain();
  }

  void finish() {
    assembler_.finish();
    drain();
  }

  void line(std::string_view text) {
    if (trim_spaces(text).empty() || text == "\r") return;
    WatchLine parsed = parse_watch_line(text);
    switch (parsed.kind) {
      case WatchLineKind::kEvent:
        if (!sampler_.keeps(hash_key_bytes(parsed.event.key))) {
          ++sampled_out_;
          return;
        }
        assembler_.add(std::move(parsed.event));
        return;
      case WatchLineKind::kSkipped:
        if (dropped_ == 0) {
          std::fprintf(stderr,
                       "memext-sim capture: the server dropped %llu lines: this reader fell "
                       "behind (the trace lacks those requests)\n",
                       static_cast<unsigned long long>(parsed.skipped));
        }
        dropped_ += parsed.skipped;
        return;
      case WatchLineKind::kOther:
        ++ignored_;
        return;
      case WatchLineKind::kMalformed:
        malformed("field '" + parsed.field + "': '" + parsed.bad.substr(0, 80) + "' " + parsed.why);
        return;
    }
  }

  void print_summary(std::FILE* out, double seconds) const {
    const WatchCounts& c = assembler_.counts();
    std::fprintf(
        out,
        "%llu requests (%llu gets, %llu stores) in %.1f s; the server dropped %llu "
        "lines; %llu store lookups folded into their stores; %llu get misses without "
        "a size skipped; %llu events of keys outside the sample; %llu lines of other "
        "streams; %llu malformed lines\n",
        static_cast<unsigned long long>(writer_->records_written()),
        static_cast<unsigned long long>(gets_),
        static_cast<unsigned long long>(writer_->records_written() - gets_), seconds,
        static_cast<unsigned long long>(dropped_), static_cast<unsigned long long>(c.store_lookups),
        static_cast<unsigned long long>(c.unsized_skipped),
        static_cast<unsigned long long>(sampled_out_), static_cast<unsigned long long>(ignored_),
        static_cast<unsigned long long>(malformed_));
    if (!first_malformed_.empty()) {
      std::fprintf(out, "first malformed line: %s\n", first_malformed_.c_str());
    }
  }

 private:
  void drain() {
    TraceRequest r;
    while (assembler_.next(r)) {
      if (is_get_op(r.op)) ++gets_;
      writer_->write(r);
    }
  }

  void malformed(std::string message) {
    if (malformed_++ == 0) first_malformed_ = std::move(message);
  }

  KeySampler sampler_;
  NativeTraceWriter* writer_;
  WatchAssembler assembler_;
  uint64_t dropped_ = 0;
  uint64_t ignored_ = 0;
  uint64_t malformed_ = 0;
  uint64_t sampled_out_ = 0;
  uint64_t gets_ = 0;
  std::string first_malformed_;
};

// Reads the reply line to `watch`; "" on "OK", else what went wrong. Bytes
// after the reply stay in `buffer`.
std::string read_watch_reply(int fd, std::string& buffer) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kReplyTimeoutMs);
  for (;;) {
    if (const size_t nl = buffer.find('\n'); nl != std::string::npos) {
      std::string reply = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (!reply.empty() && reply.back() == '\r') reply.pop_back();
      if (reply == "OK") return "";
      return "the server answered '" + reply.substr(0, 200) +
             "' to `watch fetchers mutations` (memcached 1.6's watch command; a server started "
             "with watch disabled or an older version cannot be captured)";
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || g_stop_signal != 0) {
      return "no answer to `watch fetchers mutations` within " +
             std::to_string(kReplyTimeoutMs / 1000) + " s";
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      return std::string("poll: ") + std::strerror(errno);
    }
    char chunk[4096];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n == 0) return "the server closed the connection before answering `watch`";
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return std::string("recv: ") + std::strerror(errno);
    }
    if (n > 0) buffer.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace

std::string parse_capture_options(int argc, const char* const* argv, CaptureOptions* out) {
  bool have_target = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      out->help = true;
      return "";
    }
    if (!arg.starts_with("--")) {
      std::string error = "'";
      error.append(arg).append("'");
      if (have_target) return error.append(" is a second HOST:PORT (one only)");
      if (!split_host_port(arg, &out->host, &out->port)) {
        return error.append(" is not HOST:PORT (e.g. 127.0.0.1:11211, [::1]:11211)");
      }
      have_target = true;
      continue;
    }
    std::string name(arg.substr(2));
    std::string value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return "--" + name + " needs a value";
    }
    if (name == "out") {
      out->out_path = value;
    } else if (name == "duration") {
      if (!parse_double(value, out->duration_s) || !(out->duration_s >= 0) ||
          out->duration_s > 1e9) {
        return "--duration '" + value + "' must be a number of seconds >= 0 (0: until Ctrl-C)";
      }
    } else if (name == "sample") {
      if (!parse_double(value, out->sample_rate) || !(out->sample_rate > 0) ||
          out->sample_rate > 1) {
        return "--sample '" + value + "' must be a fraction of the keys, 0 < R <= 1";
      }
    } else if (name == "sample-seed") {
      if (!parse_int(value, out->sample_seed)) {
        return "--sample-seed '" + value + "' is not an unsigned integer";
      }
    } else if (name == "zstd-level") {
      if (!parse_int(value, out->zstd_level) || out->zstd_level < 1 || out->zstd_level > 19) {
        return "--zstd-level '" + value + "' is out of range (allowed: 1..19)";
      }
    } else {
      return "unknown option --" + name +
             " (allowed: --out, --duration, --sample, --sample-seed, --zstd-level, --help)";
    }
  }
  if (!have_target) return "HOST:PORT is required (e.g. 127.0.0.1:11211)";
  if (out->out_path.empty()) return "--out TRACE is required";
  return "";
}

int capture_main(int argc, char** argv) {
  CaptureOptions options;
  if (const std::string error = parse_capture_options(argc, argv, &options); !error.empty()) {
    std::fprintf(stderr, "memext-sim capture: %s (see memext-sim capture --help)\n", error.c_str());
    return 2;
  }
  if (options.help) {
    std::fputs(help_text().c_str(), stdout);
    return 0;
  }
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: poll() returns at once
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);

  std::string error;
  int fd = connect_to(options, &error);
  if (fd < 0) {
    std::fprintf(stderr, "memext-sim capture: %s\n", error.c_str());
    return 1;
  }
  std::string buffer;
  if (!send_all(fd, "watch fetchers mutations\r\n")) {
    error = std::string("cannot send `watch`: ") + std::strerror(errno);
  } else {
    error = read_watch_reply(fd, buffer);
  }
  if (!error.empty()) {
    ::close(fd);
    std::fprintf(stderr, "memext-sim capture: %s:%s: %s\n", options.host.c_str(),
                 options.port.c_str(), error.c_str());
    return 1;
  }
  int status = 0;
  const auto start = std::chrono::steady_clock::now();
  try {
    NativeWriterOptions writer_options;
    writer_options.zstd_level = options.zstd_level;
    NativeTraceWriter writer(options.out_path, writer_options);
    Capture capture(options, &writer);
    std::fprintf(stderr, "memext-sim capture: recording %s:%s into %s%s\n", options.host.c_str(),
                 options.port.c_str(), options.out_path.c_str(),
                 options.duration_s > 0 ? "" : " until Ctrl-C or SIGTERM");
    const auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(options.duration_s));
    capture.take_lines(buffer);
    char chunk[1 << 16];
    while (g_stop_signal == 0) {
      int wait_ms = 200;
      if (options.duration_s > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        wait_ms = static_cast<int>(std::min<int64_t>(left.count(), wait_ms));
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, wait_ms) <= 0) continue;
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
      if (n == 0) {
        std::fprintf(stderr, "memext-sim capture: the server closed the connection\n");
        status = 1;
        break;
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        std::fprintf(stderr, "memext-sim capture: recv: %s\n", std::strerror(errno));
        status = 1;
        break;
      }
      buffer.append(chunk, static_cast<size_t>(n));
      capture.take_lines(buffer);
    }
    // Stopped: what the server has already sent still belongs to the run.
    for (ssize_t n; status == 0 && (n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT)) > 0;) {
      buffer.append(chunk, static_cast<size_t>(n));
      capture.take_lines(buffer);
    }
    ::close(fd);
    fd = -1;
    capture.finish();
    writer.close();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (g_stop_signal != 0) {
      std::fprintf(stderr, "memext-sim capture: stopped by signal %d\n",
                   static_cast<int>(g_stop_signal));
    }
    std::fprintf(stderr, "memext-sim capture: wrote %s: ", options.out_path.c_str());
    capture.print_summary(stderr, seconds);
  } catch (const std::exception& e) {
    if (fd >= 0) ::close(fd);
    std::fprintf(stderr, "memext-sim capture: %s\n", e.what());
    return 1;
  }
  return status;
}

}  // namespace memext
