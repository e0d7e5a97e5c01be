// server/src/verbose_log.h — memcached's -vv log lines on stderr:
// listeners, connections opening and closing, each command line ("<FD
// line") and its reply (">FD STORED", ">FD sending key K", ">FD END").
//
// Each line is one fprintf, so lines from worker threads do not interleave.
#pragma once

#include <string_view>

#include "config.h"

namespace memext::server {

// `protocol`: -B's (memcached names an auto-negotiating listener so).
void log_listening(int fd, BindingProtocol protocol);
void log_new_connection(int fd, BindingProtocol protocol);
void log_connection_closed(int fd);
// A watcher's close (memcached closes it from its logger thread).
void log_side_thread_close(int fd);
// -B auto: what the client's first byte chose.
void log_protocol(int fd, bool binary);
// A reply the command's noreply suppressed ("NOREPLY STORED").
void log_noreply(int fd, std::string_view reply);
// One reply line (without "\r\n"), as memcached logs what it sends.
void log_reply_line(int fd, std::string_view text);
// -vv for a get: each hit as memcached sends it.
void log_sending_key(int fd, std::string_view key);
void log_command(int fd, std::string_view line);
// `reply`: what the command appended to the connection's output (a get's
// "sending key" and END lines are text_get's to log).
void log_reply(int fd, std::string_view command, std::string_view reply);

}  // namespace memext::server
