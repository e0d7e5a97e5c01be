#include "verbose_log.h"

#include <cstdio>

namespace memext::server {
namespace {

void line(char direction, int fd, std::string_view text) {
  std::fprintf(stderr, "%c%d %.*s\n", direction, fd, static_cast<int>(text.size()), text.data());
}

const char* protocol_text(BindingProtocol protocol) {
  switch (protocol) {
    case BindingProtocol::kAscii:
      return "ascii";
    case BindingProtocol::kBinary:
      return "binary";
    case BindingProtocol::kAuto:
      break;
  }
  return "auto-negotiate";
}

}  // namespace

void log_listening(int fd, BindingProtocol protocol) {
  std::fprintf(stderr, "<%d server listening (%s)\n", fd, protocol_text(protocol));
}

void log_new_connection(int fd, BindingProtocol protocol) {
  if (protocol == BindingProtocol::kAuto) {
    std::fprintf(stderr, "<%d new auto-negotiating client connection\n", fd);
  } else {
    std::fprintf(stderr, "<%d new %s client connection.\n", fd, protocol_text(protocol));
  }
}

void log_connection_closed(int fd) {
  std::fprintf(stderr, "<%d connection closed.\n", fd);
}

void log_side_thread_close(int fd) {
  std::fprintf(stderr, "<%d connection closing from side thread.\n", fd);
}

void log_protocol(int fd, bool binary) {
  std::fprintf(stderr, "%d: Client using the %s protocol\n", fd, binary ? "binary" : "ascii");
}

void log_noreply(int fd, std::string_view reply) {
  if (reply.ends_with("\r\n")) reply.remove_suffix(2);
  std::fprintf(stderr, ">%d NOREPLY %.*s\n", fd, static_cast<int>(reply.size()), reply.data());
}

void log_reply_line(int fd, std::string_view text) {
  line('>', fd, text);
}

void log_sending_key(int fd, std::string_view key) {
  std::fprintf(stderr, ">%d sending key %.*s\n", fd, static_cast<int>(key.size()), key.data());
}

void log_command(int fd, std::string_view text) {
  line('<', fd, text);
}

void log_reply(int fd, std::string_view command, std::string_view reply) {
  // memcached logs what its out_string sends; meta replies (but mn's, me's
  // miss and errors) and
  // stats listings go another way and are not logged; a stats command's one
  // status line (OK, RESET, an error) is.
  if (command.size() == 2 && command[0] == 'm' && command != "mn" &&
      !(command == "me" && reply == "EN\r\n") && !reply.starts_with("CLIENT_ERROR ") &&
      !reply.starts_with("SERVER_ERROR ")) {
    return;
  }
  if (command == "stats") {
    const size_t end = reply.find("\r\n");
    if (end == std::string_view::npos || end + 2 != reply.size() || reply.starts_with("END\r\n") ||
        reply.starts_with("STAT ")) {
      return;
    }
  }
  const bool get = command == "get" || command == "gets" || command == "gat" || command == "gats";
  while (!reply.empty()) {
    size_t end = reply.find("\r\n");
    if (end == std::string_view::npos) end = reply.size();
    std::string_view one = reply.substr(0, end);
    reply.remove_prefix(end + 2 > reply.size() ? reply.size() : end + 2);
    if (!get) {
      line('>', fd, one);
      return;
    }
    if (one.starts_with("VALUE ")) {
      // text_get logged "sending key" as it found the key (log_sending_key).
      // Skip the value's data line(s): the VALUE line says how long it is.
      size_t sp = one.rfind(' ');
      std::string_view rest = one.substr(sp + 1);
      size_t bytes = 0;
      for (char c : rest) bytes = bytes * 10 + static_cast<size_t>(c - '0');
      if (command == "gets" || command == "gats") {
        // The length is the second to last field when a CAS follows.
        std::string_view head = one.substr(0, sp);
        std::string_view len = head.substr(head.rfind(' ') + 1);
        bytes = 0;
        for (char c : len) bytes = bytes * 10 + static_cast<size_t>(c - '0');
      }
      reply.remove_prefix(bytes + 2 > reply.size() ? reply.size() : bytes + 2);
    } else if (one != "END") {
      // text_get logs END: after a flash hit it goes out in a later segment.
      line('>', fd, one);
    }
  }
}

}  // namespace memext::server
