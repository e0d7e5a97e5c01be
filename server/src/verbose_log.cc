#include "verbose_log.h"

#include <cstdio>

namespace memext::server {
namespace {

void line(char direction, int fd, std::string_view text) {
  std::fprintf(stderr, "%c%d %.*s\n", direction, fd, static_cast<int>(text.size()), text.data());
}

}  // namespace

void log_listening(int fd) {
  std::fprintf(stderr, "<%d server listening (auto-negotiate)\n", fd);
}

void log_new_connection(int fd) {
  std::fprintf(stderr, "<%d new auto-negotiating client connection\n", fd);
}

void log_connection_closed(int fd) {
  std::fprintf(stderr, "<%d connection closed.\n", fd);
}

void log_protocol(int fd) {
  std::fprintf(stderr, "%d: Client using the ascii protocol\n", fd);
}

void log_command(int fd, std::string_view text) {
  line('<', fd, text);
}

void log_reply(int fd, std::string_view command, std::string_view reply) {
  // memcached logs what its out_string sends; meta replies (but mn's, me's miss) and
  // stats listings go another way and are not logged; a stats command's one
  // status line (OK, RESET, an error) is.
  if (command.size() == 2 && command[0] == 'm' && command != "mn" &&
      !(command == "me" && reply == "EN\r\n")) {
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
      std::string_view key = one.substr(6, one.find(' ', 6) - 6);
      std::fprintf(stderr, ">%d sending key %.*s\n", fd, static_cast<int>(key.size()), key.data());
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
    } else {
      line('>', fd, one);
    }
  }
}

}  // namespace memext::server
