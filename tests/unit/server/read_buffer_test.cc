#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

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
  std::vector<BufferBudget::Response> held;
  BufferBudget::Response r;
  while (one.take_response(r)) held.push_back(r);
  CHECK(held.size() == 63 * 13);
  for (const auto& h : held) one.give_response(h);
  one.give_read_buffer();
  // Four threads share it: 16 each.
  BufferBudget quarter(1 << 20, 4);
  size_t buffers = 0;
  while (quarter.take_read_buffer()) ++buffers;
  CHECK(buffers == 16);
  CHECK_FALSE(quarter.take_response(r));
  quarter.give_read_buffer();
  CHECK(quarter.take_response(r));
  // A share under one buffer is still one; no limit takes anything.
  BufferBudget tiny(1 << 20, 256);
  CHECK(tiny.take_read_buffer());
  CHECK_FALSE(tiny.take_read_buffer());
  BufferBudget unlimited(0, 4);
  bool all_taken = true;
  for (int i = 0; i < 10000; ++i) all_taken = unlimited.take_read_buffer() && all_taken;
  CHECK(all_taken);
}

TEST_CASE("buffers given back stay allocated on the free list; the last bundle stays") {
  BufferBudget b(0, 1);
  CHECK(b.take_read_buffer());
  CHECK(b.take_read_buffer());
  b.give_read_buffer();
  auto s = b.snapshot();
  CHECK(s.buffers == 2);
  CHECK(s.free_buffers == 1);
  // 27 responses: three bundles, the free buffer reused for the first.
  std::vector<BufferBudget::Response> held(27);
  for (auto& r : held) REQUIRE(b.take_response(r));
  s = b.snapshot();
  CHECK(s.responses == 27);
  CHECK(s.bundles == 3);
  CHECK(s.buffers == 4);
  CHECK(s.free_buffers == 0);
  // Oldest first: the two full bundles go back, the open one stays.
  for (const auto& r : held) b.give_response(r);
  s = b.snapshot();
  CHECK(s.responses == 0);
  CHECK(s.bundles == 1);
  CHECK(s.free_buffers == 2);
  // The kept bundle is filled again from its first slot.
  BufferBudget::Response r;
  REQUIRE(b.take_response(r));
  CHECK(r.slot == 0);
  b.give_response(r);
}

TEST_CASE("a full bundle with a slot given back is filled before a new one is taken") {
  BufferBudget b(0, 1);
  std::vector<BufferBudget::Response> held(14);
  for (auto& r : held) REQUIRE(b.take_response(r));
  CHECK(b.snapshot().bundles == 2);
  b.give_response(held[3]);  // the first bundle is listed again, at the head
  BufferBudget::Response r;
  REQUIRE(b.take_response(r));
  CHECK(r.bundle == held[3].bundle);
  CHECK(r.slot == held[3].slot);
  CHECK(b.snapshot().bundles == 2);
}
