#include "read_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

namespace memext::server {
namespace {

struct BlockCache {
  std::vector<char*> blocks;
  ~BlockCache() {
    for (char* b : blocks) std::free(b);
  }
};

thread_local BlockCache block_cache;

char* take_block() {
  if (!block_cache.blocks.empty()) {
    char* b = block_cache.blocks.back();
    block_cache.blocks.pop_back();
    return b;
  }
  char* b = static_cast<char*>(std::malloc(ReadBuffer::kBlockSize));
  if (b == nullptr) throw std::bad_alloc();
  return b;
}

void give_block(char* b) {
  if (block_cache.blocks.size() < ReadBuffer::kCachedBlocks) {
    block_cache.blocks.push_back(b);
  } else {
    std::free(b);
  }
}

size_t round_to_pages(size_t bytes) {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

char* map_bytes(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<char*>(p);
}

// Heap storage of `capacity` bytes: a cached block or a mapping.
void free_storage(char* data, size_t capacity) {
  if (capacity == ReadBuffer::kBlockSize) {
    give_block(data);
  } else {
    ::munmap(data, capacity);
  }
}

}  // namespace

ReadBuffer::~ReadBuffer() {
  if (on_heap()) free_storage(data_, capacity_);
}

size_t ReadBuffer::cached_blocks() {
  return block_cache.blocks.size();
}

void ReadBuffer::consume(size_t n) {
  assert(n <= end_ - begin_);
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

void ReadBuffer::received(size_t n) {
  assert(n <= space_size());
  end_ += n;
  filled_ = end_ == capacity_;
}

void ReadBuffer::prepare_read(size_t wanted) {
  const size_t unread = end_ - begin_;
  if (unread == 0 && !filled_ && wanted <= kInlineSize) {
    release_heap();
    return;
  }
  const size_t need = std::max({wanted, unread + kMinReadSpace, kBlockSize});
  if (on_heap() && capacity_ - begin_ >= need && capacity_ - end_ >= kMinReadSpace) return;
  if (on_heap() && capacity_ >= need) {
    std::memmove(data_, data_ + begin_, unread);
    begin_ = 0;
    end_ = unread;
    return;
  }
  grow(on_heap() ? std::max(need, capacity_ * 2) : need);
}

void ReadBuffer::grow(size_t capacity) {
  const size_t unread = end_ - begin_;
  char* storage;
  if (capacity <= kBlockSize) {
    capacity = kBlockSize;
    storage = take_block();
  } else if (capacity_ > kBlockSize) {
    // Already mapped: let the kernel move the pages instead of copying them.
    if (begin_ > 0) std::memmove(data_, data_ + begin_, unread);
    capacity = round_to_pages(capacity);
    void* p = ::mremap(data_, capacity_, capacity, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<char*>(p);
    capacity_ = capacity;
    begin_ = 0;
    end_ = unread;
    return;
  } else {
    capacity = round_to_pages(capacity);
    storage = map_bytes(capacity);
  }
  std::memcpy(storage, data_ + begin_, unread);
  if (on_heap()) free_storage(data_, capacity_);
  data_ = storage;
  capacity_ = capacity;
  begin_ = 0;
  end_ = unread;
}

void ReadBuffer::release_heap() {
  assert(begin_ == end_);
  if (!on_heap()) return;
  free_storage(data_, capacity_);
  data_ = inline_;
  capacity_ = kInlineSize;
  begin_ = end_ = 0;
}

}  // namespace memext::server
