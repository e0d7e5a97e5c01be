// server/src/verbose_log.h — memcached's -vv log lines on stderr:
// listeners, connections opening and closing, each command line ("<FD
// line") and its reply (">FD STORED", ">FD sending key K", ">FD END").
//
// Each line is one fprintf, so lines from worker threads do not interleave.
#pragma once

#include <string_view>

namespace memext::server {

void log_listening(int fd);
void log_new_connection(int fd);
void log_connection_closed(int fd);
void log_protocol(int fd);
void log_command(int fd, std::string_view line);
// `reply`: what the command appended to the connection's output.
void log_reply(int fd, std::string_view command, std::string_view reply);

}  // namespace memext::server
