// storage/phantom_index.h — in phantom mode nothing is on the device, so the
// compactor cannot walk a page's bytes; this side index remembers, per page
// and page version, each object written: its offset, its ntotal and its key.
// Entries are never removed individually (the compactor asks the engine
// whether each is still live, as it would for parsed bytes); a page's list is
// dropped when the page comes back with a new version. Keys share one byte
// arena per page. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memext::storage {

class PhantomIndex {
 public:
  struct Entry {
    uint32_t offset = 0;
    uint32_t ntotal = 0;
    uint32_t key_at = 0;  // into the page's arena
    uint8_t key_len = 0;
  };

  void resize(uint32_t page_count) { pages_.resize(page_count); }

  void add(uint32_t page_id, uint64_t version, uint32_t offset, uint32_t ntotal,
           std::string_view key) {
    Page& p = pages_[page_id];
    if (p.version != version) {
      p.version = version;
      p.entries.clear();
      p.arena.clear();
      p.entries.shrink_to_fit();
      p.arena.shrink_to_fit();
    }
    p.entries.push_back(
        {offset, ntotal, static_cast<uint32_t>(p.arena.size()), static_cast<uint8_t>(key.size())});
    p.arena.append(key);
  }

  // Entries of page_id at `version` whose offset lies in [begin, end), in
  // offset order (a page is only ever written forwards).
  template <typename Fn>
  void for_each_in(uint32_t page_id, uint64_t version, uint64_t begin, uint64_t end,
                   Fn&& fn) const {
    const Page& p = pages_[page_id];
    if (p.version != version) return;
    auto it = std::lower_bound(p.entries.begin(), p.entries.end(), begin,
                               [](const Entry& e, uint64_t at) { return e.offset < at; });
    for (; it != p.entries.end() && it->offset < end; ++it) {
      fn(it->offset, it->ntotal, std::string_view(p.arena.data() + it->key_at, it->key_len));
    }
  }

 private:
  struct Page {
    uint64_t version = 0;
    std::vector<Entry> entries;
    std::string arena;
  };
  std::vector<Page> pages_;
};

}  // namespace memext::storage
