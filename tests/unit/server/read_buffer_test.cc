#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "buffer_budget.h"
#include "read_buffer.h"

using memext::server::BufferBudget;
using memext::server::ReadBuffer;

namespace {

// Reads `text` into the buffer as one receive (as much as fits).
size_t receive(ReadBuffer& b, const std::string& text) {
  size_t n = std::min(text.size(), b.space_size());
  std::memcpy(b.space(), text.data(), n);
  b.received(n);
  return n;
}

}  // namespace

TEST_CASE("an idle connection holds no heap buffer; small requests never need one") {
  ReadBuffer b;
  CHECK_FALSE(b.on_heap());
  for (int i = 0; i < 3; ++i) {
    b.prepare_read(0);
    CHECK_FALSE(b.on_heap());
    CHECK(b.space_size() == ReadBuffer::kInlineSize);
    receive(b, "get some_key\r\n");
    CHECK(b.unread() == "get some_key\r\n");
    b.consume(b.unread().size());
  }
  b.prepare_read(0);
  CHECK_FALSE(b.on_heap());
}

TEST_CASE("a read that fills the small buffer moves to a 16 KB block, kept while reads fill") {
  ReadBuffer b;
  b.prepare_read(0);
  std::string pipeline(3 * ReadBuffer::kInlineSize, 'x');
  CHECK(receive(b, pipeline) == ReadBuffer::kInlineSize);
  b.consume(100);
  b.prepare_read(0);
  CHECK(b.on_heap());
  CHECK(b.capacity() == ReadBuffer::kBlockSize);
  CHECK(b.unread() == std::string(ReadBuffer::kInlineSize - 100, 'x'));
  // Everything used, but the last read filled its space: more is coming.
  b.consume(b.unread().size());
  CHECK(receive(b, std::string(b.space_size(), 'y')) > 0);
  b.consume(b.unread().size());
  b.prepare_read(0);
  CHECK(b.on_heap());
  // A short read that leaves nothing unread gives the block back.
  receive(b, "version\r\n");
  b.consume(b.unread().size());
  b.prepare_read(0);
  CHECK_FALSE(b.on_heap());
}

TEST_CASE("an incomplete request keeps its bytes and gets room for the rest") {
  ReadBuffer b;
  b.prepare_read(0);
  receive(b, "get sma");
  b.prepare_read(0);
  CHECK(b.on_heap());
  CHECK(b.unread() == "get sma");
  CHECK(b.space_size() >= ReadBuffer::kMinReadSpace);
  receive(b, "ll\r\n");
  CHECK(b.unread() == "get small\r\n");
}

TEST_CASE("a large data block gets storage for the whole request, returned after it") {
  ReadBuffer b;
  const size_t request = (1u << 20) + 64;
  b.prepare_read(0);
  std::string head(ReadBuffer::kInlineSize, 'h');
  receive(b, head);
  b.prepare_read(request);
  CHECK(b.capacity() >= request);
  CHECK(b.unread() == head);
  while (b.unread().size() < request) {
    receive(b, std::string(std::min<size_t>(65536, request - b.unread().size()), 'v'));
    if (b.unread().size() < request) b.prepare_read(request);
  }
  CHECK(b.unread().substr(0, head.size()) == head);
  CHECK(b.unread().find_first_not_of('v', head.size()) == std::string::npos);
  b.consume(request);
  b.prepare_read(0);
  CHECK_FALSE(b.on_heap());
  CHECK(b.capacity() == ReadBuffer::kInlineSize);
}

TEST_CASE("a line growing without newline keeps growing, bytes intact") {
  ReadBuffer b;
  std::string line;
  b.prepare_read(0);
  for (int i = 0; line.size() < 200'000; ++i) {
    std::string chunk(std::min<size_t>(b.space_size(), 7000), static_cast<char>('a' + i % 26));
    receive(b, chunk);
    line += chunk;
    b.prepare_read(0);
  }
  CHECK(b.unread() == line);
  CHECK(b.capacity() >= line.size() + ReadBuffer::kMinReadSpace);
}

TEST_CASE("16 KB blocks are reused through a bounded per-thread cache") {
  const size_t before = ReadBuffer::cached_blocks();
  {
    ReadBuffer many[ReadBuffer::kCachedBlocks + 8];
    for (ReadBuffer& b : many) {
      b.prepare_read(0);
      receive(b, "partial");
      b.prepare_read(0);
      REQUIRE(b.capacity() == ReadBuffer::kBlockSize);
    }
  }
  CHECK(ReadBuffer::cached_blocks() == ReadBuffer::kCachedBlocks);
  CHECK(ReadBuffer::cached_blocks() >= before);
}

TEST_CASE("read_buf_mem_limit: a worker's share in 16 KB buffers, 13 responses a buffer") {
  // 1 MB on one thread: 64 buffers; a held read buffer leaves 63 x 13.
  BufferBudget one(1 << 20, 1);
  CHECK(one.take_read_buffer());
  size_t responses = 0;
  while (one.take_response()) ++responses;
  CHECK(responses == 63 * 13);
  one.give_responses(responses);
  one.give_read_buffer();
  // Four threads share it: 16 each.
  BufferBudget quarter(1 << 20, 4);
  size_t buffers = 0;
  while (quarter.take_read_buffer()) ++buffers;
  CHECK(buffers == 16);
  CHECK_FALSE(quarter.take_response());
  quarter.give_read_buffer();
  CHECK(quarter.take_response());
  // A share under one buffer is still one; no limit takes anything.
  BufferBudget tiny(1 << 20, 256);
  CHECK(tiny.take_read_buffer());
  CHECK_FALSE(tiny.take_read_buffer());
  BufferBudget unlimited(0, 4);
  bool all_taken = true;
  for (int i = 0; i < 10000; ++i) all_taken = unlimited.take_read_buffer() && all_taken;
  CHECK(all_taken);
}
