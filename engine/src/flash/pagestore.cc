// PageStore: page allocation, wbufs, deletes and reads (extstore.c's rules).
#include "memext/pagestore.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "core/shared_counters.h"
#include "flash/page_pins.h"
#include "memext/device.h"

namespace memext {

struct PageStore::SharedReadCounts {
  enum : size_t { kObjectsRead, kBytesRead, kCount };
  core::StripedCounters<kCount> counts;
};

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("page store: " + message);
}

uint64_t round_down(uint64_t v, uint64_t a) {
  return v / a * a;
}
uint64_t round_up(uint64_t v, uint64_t a) {
  return (v + a - 1) / a * a;
}

}  // namespace

PageStore::PageStore(const PageStoreConfig& config)
    : page_size_(config.page_size),
      wbuf_size_(config.wbuf_size),
      max_wbufs_(config.bucket_count + (config.async_flush ? config.max_flushing_wbufs : 0)),
      async_flush_(config.async_flush),
      one_flush_per_page_(config.async_flush && config.one_flush_per_page),
      shared_reads_(std::make_unique<SharedReadCounts>()) {
  require(!config.files.empty(), "no files configured");
  require(config.wbuf_size > 0, "wbuf_size must be greater than zero");
  require(config.page_size >= config.wbuf_size && config.page_size % config.wbuf_size == 0,
          "page_size " + std::to_string(config.page_size) + " must be a multiple of wbuf_size " +
              std::to_string(config.wbuf_size));
  require(config.page_size <= UINT32_MAX, "page_size must be below 4 GB (offsets are 32-bit)");
  require(config.bucket_count >= 1 && config.bucket_count <= 256,
          "bucket_count must be 1..256, got " + std::to_string(config.bucket_count));
  require(config.files.size() <= UINT16_MAX, "too many files");
  require(!config.async_flush || config.max_flushing_wbufs >= 1,
          "async_flush needs max_flushing_wbufs of at least 1");

  stores_data_ =
      config.files.front().device != nullptr && config.files.front().device->stores_data();
  std::vector<uint64_t> pages_left;
  for (size_t i = 0; i < config.files.size(); ++i) {
    const PageStoreFile& f = config.files[i];
    const std::string which = "file " + std::to_string(i);
    require(f.device != nullptr, which + " has no device");
    require(f.device->size() >= f.size, which + " (" + f.device->describe() + ") is smaller than " +
                                            std::to_string(f.size) + " bytes");
    require(f.device->stores_data() == stores_data_,
            "devices mix stored data and phantom (model) devices");
    const uint32_t align = f.device->alignment();
    require(config.wbuf_size % align == 0, "wbuf_size " + std::to_string(config.wbuf_size) +
                                               " is not a multiple of " + f.device->describe() +
                                               "'s alignment " + std::to_string(align));
    require(static_cast<unsigned>(f.free_bucket) < config.bucket_count,
            which + " uses free bucket " + std::string(page_bucket_name(unsigned(f.free_bucket))) +
                " but only " + std::to_string(config.bucket_count) + " buckets exist");
    devices_.push_back(f.device);
    pages_left.push_back(f.size / config.page_size);
  }

  // Interleave pages across files round-robin, as extstore_init does, so
  // consecutive allocations spread over devices.
  std::vector<uint64_t> next_offset(config.files.size(), 0);
  uint64_t total = 0;
  for (uint64_t n : pages_left) total += n;
  require(total > 0,
          "no file is large enough for one page of " + std::to_string(page_size_) + " bytes");
  require(total < UINT32_MAX, "too many pages");
  pages_.resize(total);
  pins_ = std::make_unique<PagePins>(static_cast<uint32_t>(total));
  size_t file = config.files.size() - 1;
  for (uint64_t id = 0; id < total; ++id) {
    do {
      file = (file + 1) % config.files.size();
    } while (pages_left[file] == 0);
    --pages_left[file];
    Page& p = pages_[id];
    p.file = static_cast<uint16_t>(file);
    p.free_bucket = static_cast<uint8_t>(config.files[file].free_bucket);
    p.device_offset = next_offset[file];
    next_offset[file] += page_size_;
  }

  free_lists_.resize(config.bucket_count);
  const uint64_t first_free = config.reserve_page_zero ? 1 : 0;
  for (uint64_t id = total; id-- > first_free;) {
    free_lists_[pages_[id].free_bucket].push_back(static_cast<uint32_t>(id));
    ++pages_free_;
  }
  bucket_page_.assign(config.bucket_count, kNoPage);
  record_page_data();  // extstore_init runs the pass once
}

PageStore::~PageStore() {
  // The device may still be writing from wbuf memory.
  while (flushing_ > 0 && poll_flushes(true) > 0) {
  }
}

uint32_t PageStore::pop_free(unsigned free_bucket) {
  // A specialized free bucket is tried first; everything falls back to the
  // default list (_allocate_page).
  std::vector<uint32_t>* list = nullptr;
  if (free_bucket != 0 && !free_lists_[free_bucket].empty()) {
    list = &free_lists_[free_bucket];
  } else if (!free_lists_[0].empty()) {
    list = &free_lists_[0];
  }
  if (list == nullptr) return kNoPage;
  const uint32_t id = list->back();
  list->pop_back();
  return id;
}

uint32_t PageStore::allocate_page(unsigned bucket, unsigned free_bucket) {
  uint32_t id = pop_free(free_bucket);
  if (id == kNoPage && run_maintenance()) id = pop_free(free_bucket);
  if (id == kNoPage) return kNoPage;
  Page& p = pages_[id];
  p.version = next_version_++;
  p.bucket = static_cast<uint8_t>(bucket);
  p.active = true;
  p.free = false;
  p.closed = false;
  p.allocated = 0;
  --pages_free_;
  ++counters_.page_allocs;
  bucket_page_[bucket] = id;
  return id;
}

bool PageStore::run_maintenance(bool record_pages) {
  if (record_pages) record_page_data();
  return evict_oldest();
}

void PageStore::record_page_data() {
  maint_pages_.resize(pages_.size());
  for (uint32_t id = 0; id < pages_.size(); ++id) maint_pages_[id] = page_data(id);
}

// memcached's maintenance thread evicts only to refill the default free
// list, and only pages that return to it: the full, open page with the
// lowest version. A page still being read is closed now and freed when its
// last read finishes.
bool PageStore::evict_oldest() {
  if (!free_lists_[0].empty()) return false;
  uint32_t victim = kNoPage;
  uint64_t lowest = UINT64_MAX;
  for (uint32_t id = 0; id < pages_.size(); ++id) {
    const Page& p = pages_[id];
    if (p.free || p.active || p.closed || p.obj_count == 0 || p.free_bucket != 0) continue;
    if (p.version < lowest) {
      lowest = p.version;
      victim = id;
    }
  }
  if (victim == kNoPage) return false;
  Page& p = pages_[victim];
  p.closed = true;
  ++counters_.page_evictions;
  counters_.objects_evicted += p.obj_count;
  counters_.bytes_evicted += p.bytes_used;
  maybe_free(victim);
  return !free_lists_[0].empty();
}

void PageStore::maybe_free(uint32_t page_id) {
  const Page& p = pages_[page_id];
  if (!p.free && !p.active && pins_->count(page_id) == 0 && (p.obj_count == 0 || p.closed)) {
    free_page(page_id);
  }
}

// A page stops being active once nothing more will be written to it: it is
// full (or dropped) and no wbuf of it is filling or in flight.
void PageStore::settle(uint32_t page_id) {
  Page& p = pages_[page_id];
  if (p.active && p.wbuf == kNoWbuf && p.flushing == 0 && (p.allocated >= page_size_ || p.closed)) {
    p.active = false;
    if (bucket_page_[p.bucket] == page_id) bucket_page_[p.bucket] = kNoPage;
  }
  maybe_free(page_id);
}

void PageStore::free_page(uint32_t page_id) {
  Page& p = pages_[page_id];
  counters_.objects_used -= p.obj_count;
  counters_.bytes_used -= p.bytes_used;
  ++counters_.page_reclaims;
  if (bucket_page_[p.bucket] == page_id) bucket_page_[p.bucket] = kNoPage;
  p.version = 0;
  p.obj_count = 0;
  p.bytes_used = 0;
  p.allocated = 0;
  p.bucket = 0;
  p.active = false;
  p.closed = false;
  p.free = true;
  free_lists_[p.free_bucket].push_back(page_id);
  ++pages_free_;
}

uint32_t PageStore::take_wbuf() {
  if (!idle_wbufs_.empty()) {
    const uint32_t index = idle_wbufs_.back();
    idle_wbufs_.pop_back();
    return index;
  }
  if (wbufs_.size() >= max_wbufs_) return kNoWbuf;
  auto w = std::make_unique<Wbuf>();
  if (stores_data_) w->mem = AlignedBuffer(wbuf_size_);
  w->index = static_cast<uint32_t>(wbufs_.size());
  wbufs_.push_back(std::move(w));
  return static_cast<uint32_t>(wbufs_.size() - 1);
}

void PageStore::release_wbuf(uint32_t index) {
  Wbuf& w = *wbufs_[index];
  w.page_id = kNoPage;
  w.used = 0;
  w.flushing = false;
  idle_wbufs_.push_back(index);
}

// Hands the page's filling wbuf to its device. Synchronous mode waits and
// completes it here; async mode leaves it in flight, readable, until
// complete_io. Returns false when the write failed (the page is dropped) or,
// in async mode, the device queue is full (nothing changed; retry later).
bool PageStore::flush_wbuf(uint32_t page_id) {
  Page& page = pages_[page_id];
  const uint32_t index = page.wbuf;
  Wbuf& w = *wbufs_[index];
  // Zeroing the unused tail lets the compactor walk a wbuf blindly and stop
  // at the first empty slot, as memcached's _submit_wbuf arranges.
  if (w.mem.data() != nullptr) std::memset(w.mem.data() + w.used, 0, wbuf_size_ - w.used);
  w.req = IoRequest{IoOp::kWrite, page.device_offset + w.page_offset, wbuf_size_, w.mem.data()};
  w.req.user = &w;
  Device& dev = device_of(page);
  if (!async_flush_) {
    page.wbuf = kNoWbuf;
    w.flushing = true;
    ++page.flushing;
    ++flushing_;
    ++counters_.wbuf_flushes;
    const int64_t rc = submit_and_wait(dev, &w.req);
    finish_flush(w, rc);
    return rc == static_cast<int64_t>(wbuf_size_);
  }
  const int rc = dev.submit(&w.req);
  if (rc == -EAGAIN) return false;
  page.wbuf = kNoWbuf;
  w.flushing = true;
  ++page.flushing;
  ++flushing_;
  ++counters_.wbuf_flushes;
  if (rc != 0) {
    finish_flush(w, rc);
    return false;
  }
  dev.flush();
  return true;
}

void PageStore::finish_flush(Wbuf& w, int64_t result) {
  const uint32_t page_id = w.page_id;
  Page& page = pages_[page_id];
  --page.flushing;
  --flushing_;
  if (result != static_cast<int64_t>(wbuf_size_)) {
    // The page's objects are not all on the device: drop the page.
    ++counters_.write_errors;
    counters_.last_write_result = result;
    page.closed = true;
    if (page.wbuf != kNoWbuf) {
      release_wbuf(page.wbuf);
      page.wbuf = kNoWbuf;
    }
    if (bucket_page_[page.bucket] == page_id) bucket_page_[page.bucket] = kNoPage;
  }
  release_wbuf(w.index);
  settle(page_id);
}

WriteStatus PageStore::write_request(unsigned bucket, unsigned free_bucket, uint32_t len,
                                     WriteSlot* slot) {
  has_pending_ = false;
  if (bucket >= bucket_page_.size() || free_bucket >= free_lists_.size()) {
    return WriteStatus::kBadBucket;
  }
  if (len == 0 || len > wbuf_size_) return WriteStatus::kTooLarge;

  // Each pass either finds room or moves on to a fresh wbuf or page; the
  // bound only guards the logic.
  for (int pass = 0; pass < 4; ++pass) {
    uint32_t id = bucket_page_[bucket];
    if (id != kNoPage) {
      const Page& p = pages_[id];
      // A full page may still be active while its last wbufs are written;
      // the bucket moves on regardless, as extstore_write_request does.
      if (!p.active || p.closed || (p.wbuf == kNoWbuf && p.allocated >= page_size_)) id = kNoPage;
    }
    if (id == kNoPage) {
      id = allocate_page(bucket, free_bucket);
      if (id == kNoPage) return WriteStatus::kNoFreePage;
    }
    Page& page = pages_[id];
    if (page.wbuf != kNoWbuf && wbuf_size_ - wbufs_[page.wbuf]->used < len) {
      const uint64_t errors = counters_.write_errors;
      if (!flush_wbuf(id)) {
        return counters_.write_errors > errors ? WriteStatus::kIoError : WriteStatus::kBusy;
      }
      if (one_flush_per_page_) return WriteStatus::kBusy;
      continue;
    }
    if (page.wbuf == kNoWbuf) {
      if (page.allocated >= page_size_) continue;
      if (one_flush_per_page_ && page.flushing > 0) return WriteStatus::kBusy;
      const uint32_t index = take_wbuf();
      if (index == kNoWbuf) return WriteStatus::kBusy;
      Wbuf& fresh = *wbufs_[index];
      fresh.page_id = id;
      fresh.page_offset = page.allocated;
      fresh.used = 0;
      page.allocated += wbuf_size_;
      page.wbuf = index;
    }
    Wbuf& w = *wbufs_[page.wbuf];
    slot->buf = w.mem.data() == nullptr ? nullptr : w.mem.data() + w.used;
    slot->page_id = id;
    slot->page_version = page.version;
    slot->offset = static_cast<uint32_t>(w.page_offset + w.used);
    slot->len = len;
    pending_ = *slot;
    has_pending_ = true;
    return WriteStatus::kOk;
  }
  return WriteStatus::kNoFreePage;
}

void PageStore::write_commit(const WriteSlot& slot) {
  if (!has_pending_ || slot.page_id != pending_.page_id || slot.offset != pending_.offset) return;
  has_pending_ = false;
  Page& page = pages_[slot.page_id];
  wbufs_[page.wbuf]->used += slot.len;
  page.bytes_used += slot.len;
  ++page.obj_count;
  counters_.bytes_written += slot.len;
  counters_.bytes_used += slot.len;
  ++counters_.objects_written;
  ++counters_.objects_used;
}

WriteStatus PageStore::write(unsigned bucket, unsigned free_bucket, const void* data, uint32_t len,
                             WriteSlot* slot) {
  const WriteStatus st = write_request(bucket, free_bucket, len, slot);
  if (st != WriteStatus::kOk) return st;
  if (slot->buf != nullptr && data != nullptr) std::memcpy(slot->buf, data, len);
  write_commit(*slot);
  return st;
}

bool PageStore::delete_objects(uint32_t page_id, uint64_t page_version, uint32_t count,
                               uint64_t bytes) {
  if (page_id >= pages_.size()) return false;
  Page& p = pages_[page_id];
  if (p.free || p.closed || p.version != page_version) return false;
  // Clamped like extstore_delete; the totals drop by what the page really
  // loses so they always equal the sum over pages.
  const uint64_t bytes_removed = std::min(bytes, p.bytes_used);
  const uint64_t objects_removed = std::min<uint64_t>(count, p.obj_count);
  p.bytes_used -= bytes_removed;
  std::atomic_ref<uint64_t>(p.obj_count)
      .store(p.obj_count - objects_removed, std::memory_order_relaxed);
  counters_.bytes_used -= bytes_removed;
  counters_.objects_used -= objects_removed;
  if (p.obj_count == 0) {
    maybe_free(page_id);
    record_page_data();
  }
  return true;
}

bool PageStore::delete_keeps_page(uint32_t page_id, uint64_t page_version) const {
  if (page_id >= pages_.size()) return true;
  const Page& p = pages_[page_id];
  return p.free || p.closed || p.version != page_version || p.obj_count > 1;
}

bool PageStore::check(uint32_t page_id, uint64_t page_version) const {
  return page_id < pages_.size() && !pages_[page_id].free &&
         pages_[page_id].version == page_version;
}

void PageStore::close_page(uint32_t page_id, uint64_t page_version) {
  if (page_id >= pages_.size()) return;
  Page& p = pages_[page_id];
  if (p.free || p.closed || p.version != page_version) return;
  p.closed = true;
  // Closing the page being written drops its filling wbuf; the bucket moves
  // on to a new page.
  if (p.wbuf != kNoWbuf) {
    release_wbuf(p.wbuf);
    p.wbuf = kNoWbuf;
  }
  if (bucket_page_[p.bucket] == page_id) bucket_page_[p.bucket] = kNoPage;
  settle(page_id);
  record_page_data();
}

const PageStore::Wbuf* PageStore::wbuf_holding(const Page& page, uint32_t page_id,
                                               uint64_t offset) const {
  auto covers = [&](const Wbuf& w) {
    return offset >= w.page_offset && offset < w.page_offset + wbuf_size_;
  };
  const Wbuf* found = nullptr;
  if (page.wbuf != kNoWbuf && covers(*wbufs_[page.wbuf])) {
    found = wbufs_[page.wbuf].get();
  } else if (page.flushing > 0) {
    for (const auto& w : wbufs_) {
      if (w->flushing && w->page_id == page_id && covers(*w)) {
        found = w.get();
        break;
      }
    }
  }
  return found;
}

PageStore::Page* PageStore::open_read(uint32_t page_id, uint64_t page_version, uint32_t offset,
                                      uint32_t len, ReadPlan* plan) {
  plan->page_id = page_id;
  plan->page_version = page_version;
  plan->len = len;
  if (page_id >= pages_.size() || len == 0 || uint64_t{offset} + len > page_size_) return nullptr;
  Page& p = pages_[page_id];
  if (p.free || p.closed || p.version != page_version) return nullptr;
  return &p;
}

ReadSource PageStore::locate(const Page& page, uint32_t page_id, uint32_t offset, uint32_t len,
                             const char** wbuf_data) const {
  if (!page.active) return ReadSource::kDevice;
  if (offset + len > page.allocated) return ReadSource::kMiss;  // never handed out
  const Wbuf* w = wbuf_holding(page, page_id, offset);
  if (w == nullptr) return ReadSource::kDevice;
  if (offset + len > w->page_offset + w->used) return ReadSource::kMiss;  // nothing written there
  *wbuf_data = w->mem.data() == nullptr ? nullptr : w->mem.data() + (offset - w->page_offset);
  return ReadSource::kWbuf;
}

ReadPlan PageStore::prepare_read(uint32_t page_id, uint64_t page_version, uint32_t offset,
                                 uint32_t len) {
  ReadPlan plan;
  Page* const p = open_read(page_id, page_version, offset, len, &plan);
  if (p == nullptr) return plan;
  const ReadSource source = locate(*p, page_id, offset, len, &plan.wbuf_data);
  if (source == ReadSource::kMiss) return plan;
  if (source == ReadSource::kWbuf) {
    plan.source = ReadSource::kWbuf;
  } else {
    plan_device_read(*p, offset, &plan);
    plan.pin_stripe = pins_->pin(page_id);
  }
  ++counters_.objects_read;
  counters_.bytes_read += len;
  return plan;
}

void PageStore::plan_device_read(const Page& page, uint32_t offset, ReadPlan* plan) const {
  Device& dev = device_of(page);
  const uint32_t align = dev.alignment();
  plan->source = ReadSource::kDevice;
  plan->device = &dev;
  plan->file = page.file;
  plan->device_offset = page.device_offset + offset;
  plan->aligned_offset = round_down(plan->device_offset, align);
  plan->aligned_len = static_cast<uint32_t>(round_up(plan->device_offset + plan->len, align) -
                                            plan->aligned_offset);
  plan->skip = static_cast<uint32_t>(plan->device_offset - plan->aligned_offset);
}

bool PageStore::finish_read(const ReadPlan& plan) {
  if (plan.source != ReadSource::kDevice || plan.page_id >= pages_.size()) {
    return plan.source == ReadSource::kWbuf;
  }
  const Page& p = pages_[plan.page_id];
  pins_->unpin_if_pinned(plan.page_id, plan.pin_stripe);
  const bool same = !p.free && p.version == plan.page_version;
  maybe_free(plan.page_id);
  return same;
}

void PageStore::count_read_shared(uint32_t len) {
  shared_reads_->counts.add(SharedReadCounts::kObjectsRead);
  shared_reads_->counts.add(SharedReadCounts::kBytesRead, len);
}

void PageStore::add_shared_read_counts(PageStoreStats* st) const {
  st->objects_read += shared_reads_->counts.sum(SharedReadCounts::kObjectsRead);
  st->bytes_read += shared_reads_->counts.sum(SharedReadCounts::kBytesRead);
}

ReadSource PageStore::read(uint32_t page_id, uint64_t page_version, uint32_t offset, uint32_t len,
                           char* out) {
  const ReadPlan plan = prepare_read(page_id, page_version, offset, len);
  if (plan.source == ReadSource::kWbuf) {
    if (out != nullptr && plan.wbuf_data != nullptr) std::memcpy(out, plan.wbuf_data, len);
    return plan.source;
  }
  if (plan.source == ReadSource::kMiss) return plan.source;

  IoRequest req{IoOp::kRead, plan.aligned_offset, plan.aligned_len, nullptr};
  const bool direct = out != nullptr && plan.skip == 0 && plan.aligned_len == len &&
                      reinterpret_cast<uintptr_t>(out) % plan.device->alignment() == 0;
  if (stores_data_) {
    if (direct) {
      req.buf = out;
    } else {
      bounce_.reserve(plan.aligned_len);
      req.buf = bounce_.data();
    }
  }
  const int64_t rc = submit_and_wait(*plan.device, &req);
  const bool complete = rc == static_cast<int64_t>(plan.aligned_len);
  if (complete && stores_data_ && !direct && out != nullptr) {
    std::memcpy(out, bounce_.data() + plan.skip, len);
  }
  const bool same = finish_read(plan);
  return complete && same ? ReadSource::kDevice : ReadSource::kMiss;
}

bool PageStore::complete_io(IoRequest* req) {
  for (const auto& w : wbufs_) {
    if (&w->req == req && w->flushing) {
      finish_flush(*w, req->result);
      return true;
    }
  }
  return false;
}

size_t PageStore::poll_flushes(bool wait) {
  size_t completed = 0;
  IoRequest* batch[16];
  auto drain = [&](Device& dev, bool block) {
    size_t n;
    while ((n = dev.reap(batch, 16, block)) > 0) {
      for (size_t i = 0; i < n; ++i) completed += complete_io(batch[i]) ? 1 : 0;
      block = false;
    }
  };
  std::vector<Device*> unique(devices_);
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  for (Device* dev : unique) drain(*dev, false);
  if (completed == 0 && wait && flushing_ > 0) {
    for (Device* dev : unique) {
      if (dev->stats().in_flight > 0) {
        drain(*dev, true);
        break;
      }
    }
  }
  return completed;
}

}  // namespace memext
