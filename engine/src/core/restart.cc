// The restartable cache's snapshot (memext/restart.h): a header with the
// engine's CAS counter and flush_all state, one record per linked RAM item,
// then a trailer with the record count and a CRC-32C of all that precedes
// it. Records are written per LRU list from tail to head, so linking them
// back in stream order (each at its list's head) rebuilds every list in
// its old order.
#include <array>
#include <cassert>
#include <cstring>
#include <istream>
#include <ostream>
#include <vector>

#include "core/item_store.h"
#include "memext/crc32c.h"
#include "memext/restart.h"

namespace memext {
namespace core {

namespace {

constexpr std::array<char, 8> kMagic = {'M', 'X', 'M', 'E', 'M', 'F', '0', '1'};
constexpr uint8_t kItemTag = 1;
constexpr uint8_t kEndTag = 0;
// Item bits a snapshot keeps; kLinked, kHdr, kChunked and kInlineKey follow
// from how the item is allocated again.
constexpr uint8_t kSavedFlags = kFetched | kActive | kTokenSent | kStale;

class Writer {
 public:
  explicit Writer(std::ostream& out) : out_(out) {}
  void bytes(const void* data, size_t len) {
    crc_ = crc32c(crc_, data, len);
    out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(len));
  }
  template <typename T>
  void num(T v) {
    std::array<unsigned char, sizeof(T)> b{};
    for (size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    bytes(b.data(), b.size());
  }
  uint32_t crc() const { return crc_; }

 private:
  std::ostream& out_;
  uint32_t crc_ = 0;
};

class Reader {
 public:
  explicit Reader(std::istream& in) : in_(in) {}
  bool bytes(void* data, size_t len) {
    if (!in_.read(static_cast<char*>(data), static_cast<std::streamsize>(len))) return false;
    crc_ = crc32c(crc_, data, len);
    return true;
  }
  template <typename T>
  bool num(T& v) {
    std::array<unsigned char, sizeof(T)> b{};
    if (!bytes(b.data(), b.size())) return false;
    v = 0;
    for (size_t i = 0; i < sizeof(T); ++i)
      v = static_cast<T>(v | (static_cast<T>(b[i]) << (8 * i)));
    return true;
  }
  uint32_t crc() const { return crc_; }

 private:
  std::istream& in_;
  uint32_t crc_ = 0;
};

struct Header {
  uint8_t phantom = 0;
  uint64_t cas_id = 0;
  uint8_t flush_pending = 0, flush_by_time = 0;
  uint32_t oldest_live = 0;
  uint64_t oldest_cas = 0;
};

struct Record {
  uint8_t key_len = 0, nkey = 0, flags = 0, key_flags = 0, lru = 0;
  uint32_t client_flags = 0, exptime = 0, time = 0, nbytes = 0;
  uint64_t cas = 0;
  std::string key;
  std::string value;
};

bool read_header(Reader& r, Header& h, std::string& error) {
  std::array<char, 8> magic{};
  if (!r.bytes(magic.data(), magic.size()) || magic != kMagic) {
    error = "not a memext memory file (bad magic)";
    return false;
  }
  if (!r.num(h.phantom) || !r.num(h.cas_id) || !r.num(h.flush_pending) || !r.num(h.flush_by_time) ||
      !r.num(h.oldest_live) || !r.num(h.oldest_cas)) {
    error = "truncated header";
    return false;
  }
  return true;
}

// Reads one record after its tag; values are read only when `keep_value`.
bool read_record(Reader& r, bool phantom, Record& rec, std::string& error) {
  if (!r.num(rec.key_len) || !r.num(rec.nkey) || !r.num(rec.flags) || !r.num(rec.key_flags) ||
      !r.num(rec.lru) || !r.num(rec.client_flags) || !r.num(rec.exptime) || !r.num(rec.time) ||
      !r.num(rec.nbytes) || !r.num(rec.cas)) {
    error = "truncated item record";
    return false;
  }
  if (rec.key_len == 0 || rec.key_len > kKeyMaxLength || rec.nkey == 0 || rec.nbytes < 2 ||
      rec.lru >= kLruSegments || (rec.flags & ~kSavedFlags) != 0) {
    error = "corrupt item record";
    return false;
  }
  rec.key.resize(rec.key_len);
  if (!r.bytes(rec.key.data(), rec.key.size())) {
    error = "truncated item key";
    return false;
  }
  rec.value.clear();
  if (!phantom) {
    rec.value.resize(rec.nbytes - 2);
    if (!r.bytes(rec.value.data(), rec.value.size())) {
      error = "truncated item value";
      return false;
    }
  }
  return true;
}

// Walks the stream: checks it whole when `store` is null, else links each
// record into it. Returns the record count.
bool walk(std::istream& in, ItemStore* store, LoadOutcome& outcome, Header& h);

}  // namespace

class RestartCodec {
 public:
  static SaveOutcome save(const ItemStore& s, std::ostream& out) {
    SaveOutcome outcome;
    outcome.cas_id = s.cas_id_;
    Writer w(out);
    w.bytes(kMagic.data(), kMagic.size());
    w.num<uint8_t>(s.config_.phantom ? 1 : 0);
    w.num<uint64_t>(s.cas_id_);
    w.num<uint8_t>(s.flush_pending_ ? 1 : 0);
    w.num<uint8_t>(s.flush_by_time_ ? 1 : 0);
    w.num<uint32_t>(s.oldest_live_);
    w.num<uint64_t>(s.oldest_cas_);
    for (uint32_t clsid = 0; clsid < kMaxSlabClasses; ++clsid) {
      for (uint32_t seg = 0; seg < kLruSegments; ++seg) {
        for (uint32_t n = s.lrus_[lru_id(clsid, static_cast<LruSegment>(seg))].tail; n != kNoItem;
             n = s.item(n).prev) {
          const Item& it = s.item(n);
          const uint8_t flags = flags_of(it);
          if (flags & kHdr) {
            outcome.flash_skipped++;
            continue;
          }
          w.num<uint8_t>(kItemTag);
          w.num<uint8_t>(it.key_len);
          w.num<uint8_t>(it.nkey);
          w.num<uint8_t>(flags & kSavedFlags);
          w.num<uint8_t>(it.key_flags);
          w.num<uint8_t>(it.lru);
          w.num<uint32_t>(it.client_flags);
          w.num<uint32_t>(it.exptime);
          w.num<uint32_t>(time_of(it));
          w.num<uint32_t>(it.nbytes);
          w.num<uint64_t>(it.cas);
          const std::string_view key = s.key_of(it);
          w.bytes(key.data(), key.size());
          if (!s.config_.phantom) {
            const std::string_view value = s.value_of(it);
            w.bytes(value.data(), value.size());
          }
          outcome.items++;
        }
      }
    }
    w.num<uint8_t>(kEndTag);
    w.num<uint64_t>(outcome.items);
    const uint32_t crc = w.crc();
    w.num<uint32_t>(crc);
    out.flush();
    outcome.ok = static_cast<bool>(out);
    return outcome;
  }

  static bool link_record(ItemStore& s, const Record& rec) {
    const uint32_t n =
        s.alloc_item(rec.key, rec.nkey, rec.client_flags, rec.exptime, rec.nbytes, false);
    if (n == kNoItem) return false;
    Item& it = s.item(n);
    if (!s.config_.phantom) std::memcpy(s.payload(it), rec.value.data(), rec.value.size());
    const auto segment = static_cast<LruSegment>(rec.lru);
    if (s.config_.lru_segmented && (segment != LruSegment::kTemp || s.config_.temp_lru)) {
      it.lru = rec.lru;
    }
    it.flags |= rec.flags;
    it.key_flags = rec.key_flags;
    const uint64_t cas_id = s.cas_id_;
    s.link(n);
    s.cas_id_ = cas_id;
    it.cas = rec.cas;
    it.time = rec.time;
    return true;
  }

  static void restore_state(ItemStore& s, const Header& h) {
    s.cas_id_ = h.cas_id + 1;
    s.flush_pending_ = h.flush_pending != 0;
    s.flush_by_time_ = h.flush_by_time != 0;
    s.oldest_live_ = h.oldest_live;
    s.oldest_cas_ = h.oldest_cas;
  }

  static bool empty(const ItemStore& s) { return s.counters_.curr_items == 0; }
  static bool phantom(const ItemStore& s) { return s.config_.phantom; }
};

namespace {

bool walk(std::istream& in, ItemStore* store, LoadOutcome& outcome, Header& h) {
  Reader r(in);
  if (!read_header(r, h, outcome.error)) return false;
  Record rec;
  uint64_t records = 0;
  for (;;) {
    uint8_t tag = 0;
    if (!r.num(tag)) {
      outcome.error = "truncated: no end record";
      return false;
    }
    if (tag == kEndTag) break;
    if (tag != kItemTag) {
      outcome.error = "corrupt record tag " + std::to_string(tag);
      return false;
    }
    if (!read_record(r, h.phantom != 0, rec, outcome.error)) return false;
    records++;
    if (store != nullptr) {
      if (RestartCodec::link_record(*store, rec)) {
        outcome.items++;
      } else {
        outcome.no_memory++;
      }
    }
  }
  uint64_t count = 0;
  if (!r.num(count)) {
    outcome.error = "truncated trailer";
    return false;
  }
  const uint32_t expected = r.crc();
  uint32_t crc = 0;
  if (!r.num(crc)) {
    outcome.error = "truncated trailer";
    return false;
  }
  if (count != records) {
    outcome.error = "record count " + std::to_string(records) + " does not match the trailer's " +
                    std::to_string(count);
    return false;
  }
  if (crc != expected) {
    outcome.error = "checksum mismatch";
    return false;
  }
  return true;
}

}  // namespace
}  // namespace core

SaveOutcome save_items(const Engine& engine, std::ostream& out) {
  return core::RestartCodec::save(const_cast<Engine&>(engine).internals(), out);
}

LoadOutcome load_items(Engine& engine, std::istream& in) {
  core::ItemStore& store = engine.internals();
  assert(core::RestartCodec::empty(store));
  LoadOutcome outcome;
  core::Header h;
  const std::istream::pos_type start = in.tellg();
  if (!core::walk(in, nullptr, outcome, h)) return outcome;
  if ((h.phantom != 0) != core::RestartCodec::phantom(store)) {
    outcome.error = h.phantom != 0 ? "the snapshot holds no values (phantom mode)"
                                   : "the snapshot holds values; the engine is in phantom mode";
    return outcome;
  }
  in.clear();
  in.seekg(start);
  if (!core::walk(in, &store, outcome, h)) return outcome;  // the stream changed under us
  core::RestartCodec::restore_state(store, h);
  outcome.ok = true;
  return outcome;
}

}  // namespace memext
