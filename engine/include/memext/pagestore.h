// memext/pagestore.h — extstore's storage layer: flash split into pages,
// written through per-bucket write buffers (wbufs), read back by
// (page id, page version, offset).
//
// Semantics follow memcached 1.6's extstore.c: a global version counter
// stamps each page allocation, so a header pointing at an evicted or
// reclaimed page misses; pages are taken from their free bucket and fall
// back to the default free list; when no default page is free the oldest
// (lowest version) full page of the default free bucket is evicted; a page
// whose object count reaches zero is reclaimed. memcached's maintenance
// thread becomes synchronous work done at the moments memcached would wake
// it (a delete reaching zero, close_page, a read finishing, a failed
// allocation), so results do not depend on thread timing.
//
// Phantom mode: over a device whose stores_data() is false, no wbuf memory
// is ever allocated; only the accounting runs and wbuf flushes are still
// submitted (with a null buffer) so a model device sees the write traffic.
//
// Flushing a full wbuf is synchronous by default (submit_and_wait: nothing
// else may have IO in flight on the store's devices while a store call
// runs). With async_flush the write is only submitted; the wbuf stays
// readable until its completion is handed back through complete_io() or
// poll_flushes(), and writing goes on in another wbuf meanwhile.
//
// Thread-safety: one thread at a time (the owner serializes: the server's
// EngineLock), like every other engine object, except prepare_read_shared,
// prepare_wbuf_read_shared, count_read_shared, unpin_needs_exclusive and
// unpin_shared, which may run on any number of threads at once while no
// other call runs (the EngineLock's shared side).
// Page pins (flash/page_pins.h: a counter per page and thread stripe, apart
// from the page records) are the one state written on the shared side:
// relaxed atomic adds, ordered against the exclusive side by the EngineLock
// itself (a writer waits for every reader to leave, and a reader's leave is
// a release), so the exclusive side's maybe_free reads every pin taken or
// dropped before it. A page is freed only under the exclusive side and only
// with no pin, so a pinned page keeps its version and its bytes on the
// device. The shared side never drops the last pin of a page that is waiting
// to be freed (closed, or empty and inactive): unpin_needs_exclusive says
// so, and the caller unpins with finish_read under the exclusive side, which
// frees it. Whether a page waits to be freed changes only under the
// exclusive side, so that answer holds for the whole shared hold. The devices are
// owned by the caller and must outlive the store. Locking rule: calls that
// may do IO are read() (waits for its read), synchronous flushes and
// poll_flushes(true); a caller holding a lock others wait on uses
// prepare_read/finish_read around a read it does itself without the lock,
// and async_flush over a device whose IO runs elsewhere
// (make_io_thread_device), so a flush only queues the write.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "memext/device.h"

namespace memext {

class PagePins;

// The write buckets. Values are memcached's PAGE_BUCKET_* numbers (1.6.18
// uses the first four; coldcompact and old come from later releases).
enum class PageBucket : uint8_t {
  kDefault = 0,
  kCompact = 1,
  kChunked = 2,
  kLowTtl = 3,
  kColdCompact = 4,
  kOld = 5,
};
inline constexpr unsigned kPageBucketCount = 6;

// "default", "compact", "chunked", "lowttl", "coldcompact", "old"; "unknown"
// past the end.
std::string_view page_bucket_name(unsigned bucket);
std::optional<PageBucket> page_bucket_from_name(std::string_view name);

// One `ext_path=FILE:SIZE[:bucket]`.
struct ExtPathSpec {
  std::string path;
  uint64_t size_bytes = 0;
  PageBucket free_bucket = PageBucket::kDefault;
};

// Parses FILE:SIZE[:bucket]; SIZE is a whole number with a unit m, g, t or p
// (either case, powers of 1024) as memcached accepts. Where memcached is
// silent (a size without a unit, "64k", "1.5g", zero, an unknown bucket) this
// returns nullopt and sets *error to a message naming the bad part and what
// is allowed.
std::optional<ExtPathSpec> parse_ext_path(std::string_view arg, std::string* error);

// Pages a path of size_bytes holds: like memcached, a size that is not a
// multiple of page_size is rounded down. Returns 0 and sets *error when the
// path cannot hold a single page.
uint64_t ext_path_page_count(const ExtPathSpec& spec, uint64_t page_size, std::string* error);

// memcached's extstore_init checks, in its order and with extstore_err's
// exact wording (the server prints it after "Failed to initialize external
// storage: "): page_size a
// multiple of wbuf_size, both multiples of 2 MB, fewer than 65536 pages in
// total. Empty when all hold. PageStore itself only needs the first (tests
// and simulations use small or huge stores); front ends that promise
// memcached's behaviour call this.
std::string memcached_extstore_limits_error(uint64_t page_size, uint64_t wbuf_size,
                                            uint64_t total_pages);

struct PageStoreFile {
  Device* device = nullptr;  // not owned; size() must be >= size
  uint64_t size = 0;         // bytes of the device given to the store
  PageBucket free_bucket = PageBucket::kDefault;
};

struct PageStoreConfig {
  // Pages are dealt round-robin starting with files[0]. memcached keeps its
  // ext_path list newest-first, so to reproduce its page numbering pass the
  // paths in reverse order of the options.
  std::vector<PageStoreFile> files;
  uint64_t page_size = 64ull << 20;
  uint32_t wbuf_size = 4u << 20;
  unsigned bucket_count = kPageBucketCount;
  // memcached 1.6.18 never puts page 0 on a free list (its init loop stops
  // at 1), so a 1 GB path shows 15 free pages of 16. Kept by default so
  // stats match; off gives every page to the store.
  bool reserve_page_zero = true;
  // Submit wbuf flushes without waiting (see the file comment). At most
  // max_flushing_wbufs flushes are in flight; past that write_request says
  // kBusy until one completes.
  bool async_flush = false;
  unsigned max_flushing_wbufs = 8;
  // async_flush: memcached's extstore gives a page one wbuf at a time, so
  // while the page's full wbuf is being written its bucket takes no writes
  // (kBusy; the object that did not fit waits too) and the writer is paced
  // by the device. Off: the page goes on filling another wbuf meanwhile.
  bool one_flush_per_page = false;
};

enum class WriteStatus : uint8_t {
  kOk,
  kBadBucket,   // bucket or free bucket >= bucket_count
  kTooLarge,    // len is 0 or larger than wbuf_size
  kNoFreePage,  // nothing free and nothing evictable right now; retry later
  kIoError,     // flushing the previous wbuf failed; its page was dropped
  kBusy,        // async_flush: every wbuf is being flushed; reap, then retry
};

// Where an object goes: copy len bytes to buf (null in phantom mode), then
// write_commit(). page_id/page_version/offset are what an item header keeps.
struct WriteSlot {
  char* buf = nullptr;
  uint32_t page_id = 0;
  uint64_t page_version = 0;
  uint32_t offset = 0;  // within the page
  uint32_t len = 0;
};

enum class ReadSource : uint8_t {
  kWbuf,    // still in a write buffer: copy from wbuf_data, no IO
  kDevice,  // read [aligned_offset, +aligned_len) from device
  kMiss,    // page id out of range, page freed or version changed
};

// The outcome of prepare_read. A kDevice plan pins the page (it cannot be
// freed or reused) until finish_read(plan) is called, so exactly one
// finish_read must follow every kDevice plan.
struct ReadPlan {
  ReadSource source = ReadSource::kMiss;
  uint32_t page_id = 0;
  uint64_t page_version = 0;
  // kWbuf: the object's bytes, valid until the next non-const store call;
  // null in phantom mode.
  const char* wbuf_data = nullptr;
  // kDevice: the device and the byte range to read, widened to the device's
  // alignment; the object starts skip bytes into that range. file is the
  // index into PageStoreConfig::files, for a caller that reads through its
  // own device on the same file (e.g. one io_uring per server worker).
  Device* device = nullptr;
  uint16_t file = 0;
  uint64_t device_offset = 0;  // unaligned start of the object
  uint64_t aligned_offset = 0;
  uint32_t aligned_len = 0;
  uint32_t skip = 0;
  uint32_t len = 0;
  uint8_t pin_stripe = 0;  // kDevice: where its page pin is (flash/page_pins.h)
};

// One page as `stats extstore` and the compactor see it.
struct PageData {
  uint64_t version = 0;  // 0 while free
  uint64_t bytes_used = 0;
  uint64_t obj_count = 0;
  uint8_t bucket = 0;
  uint8_t free_bucket = 0;
  bool active = false;  // taking writes, or its last wbufs are still being written
  bool closed = false;  // evicted or closed, waiting for reads to finish
  bool free = true;
  // What memcached's maintenance snapshot reports as a candidate: a used,
  // full, open page that still holds objects (it zeroes the rest).
  bool compactable() const { return version != 0 && !active && !closed && obj_count > 0; }
};

// memcached's `extstore_*` stats (extstore.h's extstore_stats).
struct PageStoreStats {
  uint64_t page_allocs = 0;
  uint64_t page_evictions = 0;
  uint64_t page_reclaims = 0;  // every page freed, evicted ones included
  uint64_t pages_free = 0;
  uint64_t pages_used = 0;  // page_count - pages_free (reserved page 0 counts)
  uint64_t objects_evicted = 0;
  uint64_t objects_read = 0;  // per read request, a compactor's wbuf read is one
  uint64_t objects_written = 0;
  uint64_t objects_used = 0;
  uint64_t bytes_evicted = 0;
  uint64_t bytes_written = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_used = 0;
  // pages_used * page_size - bytes_used: open and partly filled pages count
  // as fragmented, as in memcached.
  uint64_t bytes_fragmented = 0;
  uint64_t limit_maxbytes = 0;  // page_count * page_size
  uint64_t io_queue = 0;        // IOs in flight on the store's devices
  uint64_t page_count = 0;
  uint64_t page_size = 0;
  uint64_t wbuf_flushes = 0;  // memext: wbufs written to a device
  uint64_t write_errors = 0;  // memext: wbuf flushes that failed or came back short
  // memext, not a stat: the last failed flush's result (-errno, or the bytes
  // of a short write), for the server's log line.
  int64_t last_write_result = 0;

  // (stat name, value) in memcached's `stats` order, names prefixed
  // "extstore_"; then the memext additions.
  std::vector<std::pair<std::string_view, uint64_t>> named() const;
  nlohmann::json to_json() const;
};

class PageStore {
 public:
  // Throws std::invalid_argument naming the bad setting: no files, a null
  // device, a device smaller than its size, page_size not a multiple of
  // wbuf_size or of a device's alignment, no pages at all, bucket_count
  // outside 1..256.
  explicit PageStore(const PageStoreConfig& config);
  ~PageStore();
  PageStore(const PageStore&) = delete;
  PageStore& operator=(const PageStore&) = delete;

  // extstore_write_request: finds room for len bytes in bucket's active
  // page, flushing the current wbuf when the object does not fit (objects
  // never straddle wbufs) and taking a new page when the page is full.
  // free_bucket picks the free list a new page comes from.
  WriteStatus write_request(unsigned bucket, unsigned free_bucket, uint32_t len, WriteSlot* slot);
  // extstore_write: accounts the object placed by the last write_request.
  // Precondition: slot is that request's slot, no store call in between.
  void write_commit(const WriteSlot& slot);
  // Both in one call; data may be null in phantom mode.
  WriteStatus write(unsigned bucket, unsigned free_bucket, const void* data, uint32_t len,
                    WriteSlot* slot);

  // extstore_delete: count objects of bytes total left page_id. False (and
  // nothing changes) when the version does not match or the page is closed.
  bool delete_objects(uint32_t page_id, uint64_t page_version, uint32_t count, uint64_t bytes);
  // Whether delete_objects(page_id, page_version, 1, ...) leaves the page as
  // shared reads see it: it changes nothing (a stale version, a free or
  // closed page), or the page keeps an object, so it cannot start waiting
  // to be freed. Such a delete may run beside the shared side (a concurrent
  // store's header unlink); obj_count, the one field of it that
  // unpin_needs_exclusive reads, is written atomically.
  bool delete_keeps_page(uint32_t page_id, uint64_t page_version) const;
  // extstore_check: true while the page still has this version.
  bool check(uint32_t page_id, uint64_t page_version) const;
  // extstore_close_page: the compactor is done with the page; it is freed
  // now, or when its last in-flight read finishes. Ignored on a version
  // mismatch or an already closed page.
  void close_page(uint32_t page_id, uint64_t page_version);

  // Validates and locates a read (counts objects_read/bytes_read as memcached
  // does at dispatch). len must lie within the page.
  ReadPlan prepare_read(uint32_t page_id, uint64_t page_version, uint32_t offset, uint32_t len);
  // Unpins a kDevice plan after its IO completed (or was abandoned). Returns
  // whether the page still has the plan's version, i.e. the bytes read are
  // the object's.
  bool finish_read(const ReadPlan& plan);

  // prepare_read under the shared side of the EngineLock (see the file
  // comment): a kDevice plan, its page pinned and objects_read/bytes_read
  // counted in per-thread stripes; or a kMiss plan with nothing done or
  // counted when the read needs the exclusive side (the page is gone, or the
  // object is still in a write buffer): call prepare_read there.
  ReadPlan prepare_read_shared(uint32_t page_id, uint64_t page_version, uint32_t offset,
                               uint32_t len);
  // prepare_read's kWbuf case under the shared side: a kWbuf plan whose
  // wbuf_data stays valid while that shared hold lasts, nothing counted;
  // kMiss (nothing done) for any other read. Once the caller keeps the read
  // it counts it with count_read_shared(len), as prepare_read counts.
  ReadPlan prepare_wbuf_read_shared(uint32_t page_id, uint64_t page_version, uint32_t offset,
                                    uint32_t len);
  // objects_read and bytes_read of one read, in per-thread stripes.
  void count_read_shared(uint32_t len);
  // Whether dropping this kDevice plan's pin may free its page (it waits to
  // be freed): then only finish_read under the exclusive side may drop it.
  bool unpin_needs_exclusive(const ReadPlan& plan) const;
  // finish_read under the shared side. Precondition: !unpin_needs_exclusive
  // (plan), checked under the same shared hold.
  void unpin_shared(const ReadPlan& plan);
  // prepare + IO + finish in one call, for the compactor and tests: copies
  // the object into out (len bytes; may be null in phantom mode). Returns
  // kWbuf/kDevice on success, kMiss on a miss or an IO error or short read.
  ReadSource read(uint32_t page_id, uint64_t page_version, uint32_t offset, uint32_t len,
                  char* out);

  // async_flush: completes a store write reaped by the caller from one of the
  // store's devices. Returns false (and does nothing) for any other request,
  // so a caller sharing a device routes each completion here first.
  bool complete_io(IoRequest* req);
  // async_flush, when the store is the only submitter on its devices: reaps
  // them and completes its flushes; with wait, blocks until at least one
  // completes if any is in flight. Returns how many completed.
  size_t poll_flushes(bool wait);
  unsigned flushes_in_flight() const { return flushing_; }

  // memcached's maintenance pass (extstore_maint_thread), as the compactor
  // signals it before every sleep and a writer finding no page free does:
  // it records the page data the compactor picks from (before evicting, so
  // the page it evicts is still listed), then, with no default page free,
  // evicts the oldest full page that returns to the default free list, so
  // writers find a free page waiting. Returns whether a page was evicted.
  // Without record_pages the record is left as it was: a compactor in the
  // middle of a page picks none until a pass after it has finished, and a
  // record costs a copy of every page's data.
  bool run_maintenance(bool record_pages = true);
  // The page data as the last maintenance pass saw it: memcached's
  // compactor picks its page from this (extstore_get_page_data), not from
  // the live pages, so the page the pass evicted may be picked (its read
  // then misses) and bytes deleted since are not seen yet.
  const std::vector<PageData>& maintenance_page_data() const { return maint_pages_; }

  PageStoreStats stats() const;
  PageData page_data(uint32_t page_id) const;
  std::vector<PageData> all_page_data() const;

  uint32_t page_count() const { return static_cast<uint32_t>(pages_.size()); }
  uint64_t page_size() const { return page_size_; }
  uint32_t wbuf_size() const { return wbuf_size_; }
  unsigned bucket_count() const { return static_cast<unsigned>(bucket_page_.size()); }
  bool phantom() const { return !stores_data_; }

 private:
  static constexpr uint32_t kNoPage = UINT32_MAX;
  static constexpr uint32_t kNoWbuf = UINT32_MAX;

  struct Page {
    uint64_t version = 0;
    uint64_t obj_count = 0;
    uint64_t bytes_used = 0;
    uint64_t device_offset = 0;  // where the page starts on its device
    uint64_t allocated = 0;      // bytes of the page handed to wbufs
    uint32_t wbuf = kNoWbuf;     // the wbuf being filled for this page
    uint16_t flushing = 0;       // this page's wbufs with a write in flight
    uint16_t file = 0;
    uint8_t bucket = 0;
    uint8_t free_bucket = 0;
    bool active = false;  // takes writes or has writes in flight
    bool closed = false;
    bool free = true;
  };

  // A write buffer: filled for one page, then written to it. Memory is
  // allocated on first use and never in phantom mode. Held by pointer so the
  // IoRequest inside stays put while the device has it.
  struct Wbuf {
    AlignedBuffer mem;
    uint64_t page_offset = 0;  // where in the page this wbuf lands
    uint32_t used = 0;
    uint32_t page_id = kNoPage;
    uint32_t index = 0;  // position in wbufs_
    bool flushing = false;
    IoRequest req;
  };

  uint32_t allocate_page(unsigned bucket, unsigned free_bucket);
  uint32_t pop_free(unsigned free_bucket);
  bool evict_oldest();
  // The pass's record of the pages; memcached also runs it when a delete
  // empties a page and when the compactor closes one (the pass frees those
  // pages; here they are freed at once and only the record is due).
  void record_page_data();
  uint32_t take_wbuf();
  void release_wbuf(uint32_t index);
  bool flush_wbuf(uint32_t page_id);
  void finish_flush(Wbuf& w, int64_t result);
  const Wbuf* wbuf_holding(const Page& page, uint32_t page_id, uint64_t offset) const;
  void settle(uint32_t page_id);
  void maybe_free(uint32_t page_id);
  void free_page(uint32_t page_id);
  Device& device_of(const Page& page) const { return *devices_[page.file]; }
  // A kDevice plan for a live, non-buffered object of `page` (no pin taken).
  void plan_device_read(const Page& page, uint32_t offset, ReadPlan* plan) const;
  // Where a read of a live page's object is: kDevice (written out, or the
  // page no longer active), kWbuf (*wbuf_data: its bytes in a write buffer)
  // or kMiss (that range was never written).
  ReadSource locate(const Page& page, uint32_t page_id, uint32_t offset, uint32_t len,
                    const char** wbuf_data) const;
  // The opening of prepare_read and prepare_read_shared: names the read in
  // *plan (still kMiss) and returns its page, or null when the range is not
  // within a page or the page is free, closed or of another version.
  Page* open_read(uint32_t page_id, uint64_t page_version, uint32_t offset, uint32_t len,
                  ReadPlan* plan);

  std::vector<Page> pages_;
  std::vector<Device*> devices_;
  // Free lists as stacks (back = next to hand out); index = free bucket.
  std::vector<std::vector<uint32_t>> free_lists_;
  std::vector<uint32_t> bucket_page_;  // page each write bucket fills
  std::vector<std::unique_ptr<Wbuf>> wbufs_;
  std::vector<uint32_t> idle_wbufs_;
  uint64_t page_size_;
  uint32_t wbuf_size_;
  uint32_t max_wbufs_;
  uint32_t flushing_ = 0;
  bool async_flush_;
  bool one_flush_per_page_;
  uint64_t next_version_ = 1;  // 0 is "page is free"
  uint64_t pages_free_ = 0;
  bool stores_data_;
  PageStoreStats counters_;
  std::vector<PageData> maint_pages_;
  // objects_read and bytes_read counted on the shared side (count_read_shared).
  struct SharedReadCounts;
  std::unique_ptr<SharedReadCounts> shared_reads_;
  // Each page's device reads in flight (flash/page_pins.h).
  std::unique_ptr<PagePins> pins_;
  void add_shared_read_counts(PageStoreStats* st) const;
  AlignedBuffer bounce_;  // scratch for read() on aligned devices
  WriteSlot pending_{};
  bool has_pending_ = false;
};

}  // namespace memext
