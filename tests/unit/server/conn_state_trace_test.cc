// ConnStateTrace: the -vvv state lines memext-server prints for paths the
// integration tests cannot drive against memcached quickly (flash reads,
// -R yields), as memcached 1.6.18 printed them for the same exchanges.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "conn_state_trace.h"

using memext::server::ConnStateTrace;

namespace {

// The trace writing into a temporary file; lines() reads what it wrote.
struct Traced {
  std::atomic<int> verbosity{3};
  std::FILE* file = std::tmpfile();
  ConnStateTrace trace{verbosity, true};
  Traced() {
    trace.set_fd(7);
    trace.set_output(file);
  }
  ~Traced() { std::fclose(file); }
  std::vector<std::string> lines() {
    std::fflush(file);
    std::rewind(file);
    std::vector<std::string> out;
    char buf[256];
    while (std::fgets(buf, sizeof buf, file) != nullptr) {
      std::string line(buf);
      line.pop_back();
      out.push_back(line.substr(line.find("from ") + 5));
    }
    return out;
  }
};

}  // namespace

TEST_CASE("a get of a flash item waits in conn_io_queue between two mwrites") {
  Traced t;
  t.trace.read_started();
  t.trace.bytes_arrived();
  t.trace.command_begins();
  t.trace.command_done(true, true);
  t.trace.batch_done(false, true);
  t.trace.flash_reads_done();
  t.trace.batch_done(false, false);
  t.trace.read_started();
  CHECK(t.lines() ==
        std::vector<std::string>{"conn_new_cmd to conn_waiting", "conn_waiting to conn_read",
                                 "conn_read to conn_parse_cmd", "conn_parse_cmd to conn_mwrite",
                                 "conn_mwrite to conn_io_queue", "conn_io_queue to conn_mwrite",
                                 "conn_mwrite to conn_new_cmd", "conn_new_cmd to conn_waiting",
                                 "conn_waiting to conn_read"});
}

TEST_CASE("an mg of a flash item goes through conn_new_cmd before it writes") {
  Traced t;
  t.trace.read_started();
  t.trace.bytes_arrived();
  t.trace.command_begins();
  t.trace.command_done(false, true);
  t.trace.batch_done(false, true);
  t.trace.flash_reads_done();
  t.trace.batch_done(false, false);
  CHECK(t.lines() ==
        std::vector<std::string>{"conn_new_cmd to conn_waiting", "conn_waiting to conn_read",
                                 "conn_read to conn_parse_cmd", "conn_parse_cmd to conn_new_cmd",
                                 "conn_new_cmd to conn_mwrite", "conn_mwrite to conn_io_queue",
                                 "conn_io_queue to conn_mwrite", "conn_mwrite to conn_new_cmd"});
}

TEST_CASE("a yield writes what the batch holds and the next command parses from conn_new_cmd") {
  Traced t;
  t.trace.bytes_arrived();  // not reading yet: no line
  t.trace.read_started();
  t.trace.bytes_arrived();
  t.trace.command_begins();
  t.trace.command_done(false, false);
  t.trace.yielded(false);
  t.trace.command_begins();
  t.trace.command_done(false, false);
  t.trace.batch_done(false, false);
  CHECK(t.lines() ==
        std::vector<std::string>{"conn_new_cmd to conn_waiting", "conn_waiting to conn_read",
                                 "conn_read to conn_parse_cmd", "conn_parse_cmd to conn_new_cmd",
                                 "conn_new_cmd to conn_mwrite", "conn_mwrite to conn_new_cmd",
                                 "conn_new_cmd to conn_parse_cmd", "conn_parse_cmd to conn_new_cmd",
                                 "conn_new_cmd to conn_mwrite", "conn_mwrite to conn_new_cmd"});
}

TEST_CASE("no lines below verbosity 3 or without -vvv, though the state is kept") {
  Traced t;
  t.verbosity = 2;
  t.trace.read_started();
  CHECK(t.lines().empty());
  CHECK(t.trace.state() == memext::server::TracedState::kRead);
  std::atomic<int> verbosity{3};
  ConnStateTrace off(verbosity, false);
  off.read_started();
  CHECK(off.state() == memext::server::TracedState::kNewCmd);
}
