#include "replay/replay_flash.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "memext/device.h"
#include "memext/extstore.h"
#include "replay/replay.h"
#include "replay/replay_devices.h"
#include "ssd/ssd_model.h"

namespace memext {

namespace {

constexpr uint64_t kNsPerMicro = 1'000;
constexpr size_t kReapBatch = 64;

uint64_t wall_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

double ratio(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

// A client read in flight on a model device.
struct PendingRead {
  IoRequest io;
  uint64_t key_id = 0;
  GetResult header;
  FlashRead read;
  uint64_t submitted_ns = 0;
  uint32_t value_size = 0;
  int64_t ttl = 0;
  uint8_t key_len = 0;
};

}  // namespace

struct FlashTier::Impl {
  Engine& engine;
  bool model = true;
  std::vector<std::unique_ptr<ModelDevice>> models;
  std::vector<std::unique_ptr<ModelShadowDevice>> shadows;
  std::vector<std::unique_ptr<Device>> files;
  std::unique_ptr<ExtStore> store;
  std::vector<std::unique_ptr<PendingRead>> reads;
  std::vector<PendingRead*> free_reads;
  uint64_t in_flight = 0;
  char* buffer = nullptr;  // file mode: aligned read buffer
  uint32_t buffer_len = 0;
  uint64_t pages_compacted = 0;
  uint64_t wbuf_hits = 0;
  uint64_t device_bytes = 0;  // sum of ext_path sizes

  explicit Impl(Engine& e) : engine(e) {}
  ~Impl() { free_aligned(buffer); }

  void set_now(uint64_t now_ns) {
    for (auto& m : models) m->set_now(now_ns);
  }
  uint64_t host_bytes_written() const {
    uint64_t total = 0;
    if (model) {
      for (const auto& m : models) total += m->model_stats().host_bytes_written;
    } else {
      for (const auto& f : files) total += f->stats().bytes_written;
    }
    return total;
  }
};

FlashTier::FlashTier(Engine& engine, const SimOptions& options)
    : impl_(std::make_unique<Impl>(engine)) {
  Impl& m = *impl_;
  m.model = options.device_kind == SimDeviceKind::kModel;
  const ExtConfig& ext = options.engine.ext;
  std::vector<Device*> devices;
  for (const ExtPathConfig& path : ext.paths) {
    m.device_bytes += path.size_bytes;
    if (m.model) {
      m.models.push_back(std::make_unique<ModelDevice>(options.model, path.size_bytes));
      m.shadows.push_back(std::make_unique<ModelShadowDevice>(*m.models.back()));
      devices.push_back(m.shadows.back().get());
      continue;
    }
    const std::string file = options.file_path.empty() ? path.path : options.file_path;
    try {
      m.files.push_back(make_uring_device(file, path.size_bytes));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "memext-sim replay: io_uring unavailable for %s (%s); using pread\n",
                   file.c_str(), e.what());
      m.files.push_back(make_file_device(file, path.size_bytes));
    }
    devices.push_back(m.files.back().get());
  }
  // On the model a wbuf stays busy until the SSD has written it, pacing the
  // flusher as memcached's is paced (replay_devices.h). Real files are
  // shared with the replay's own reads, so their flushes stay synchronous.
  ExtStoreOptions store_options;
  store_options.async_flush = m.model;
  store_options.flusher_ns_per_object = options.flusher_ns_per_object;
  store_options.flusher_ns_per_kib = options.flusher_ns_per_kib;
  store_options.flusher_pacing = options.flusher_pacing;
  m.store = std::make_unique<ExtStore>(engine, ext, devices, store_options);
}

FlashTier::~FlashTier() = default;

uint64_t FlashTier::next_completion_ns() const {
  uint64_t next = UINT64_MAX;
  for (const auto& m : impl_->models) next = std::min(next, m->next_completion_ns());
  return next;
}

void FlashTier::start_read(std::string_view key, uint8_t key_len, const GetResult& header,
                           uint32_t value_size, int64_t ttl, uint64_t now_ns) {
  Impl& m = *impl_;
  FlashReadDone done;
  std::memcpy(&done.key_id, key.data(), std::min(key.size(), sizeof done.key_id));
  done.key_len = key_len;
  done.value_size = value_size;
  done.ttl = ttl;
  const FlashRead read = m.store->plan_read(key, header);
  switch (read.kind) {
    case FlashReadKind::kMiss:
      done_.push_back(done);
      return;
    case FlashReadKind::kBuffered:
      done.hit = m.store->finish_read(key, header, read, nullptr, 0).hit();
      if (done.hit) ++m.wbuf_hits;
      done.from_wbuf = true;
      done_.push_back(done);
      return;
    case FlashReadKind::kDevice:
      break;
  }
  if (!m.model) {
    if (m.buffer_len < read.length) {
      free_aligned(m.buffer);
      m.buffer_len = std::max<uint32_t>(read.length, 64 * 1024);
      m.buffer = alloc_aligned(m.buffer_len);
    }
    IoRequest io;
    io.op = IoOp::kRead;
    io.offset = read.offset;
    io.len = read.length;
    io.buf = m.buffer;
    const uint64_t start = wall_ns();
    const int64_t result = submit_and_wait(*read.device, &io);
    done.latency_ns = wall_ns() - start;
    done.timed = true;
    done.hit = m.store->finish_read(key, header, read, m.buffer, result).hit();
    done_.push_back(done);
    return;
  }
  if (m.free_reads.empty()) {
    m.reads.push_back(std::make_unique<PendingRead>());
    m.free_reads.push_back(m.reads.back().get());
  }
  PendingRead* p = m.free_reads.back();
  m.free_reads.pop_back();
  p->io = IoRequest{};
  p->io.op = IoOp::kRead;
  p->io.offset = read.offset;
  p->io.len = read.length;
  p->io.user = p;
  p->key_id = done.key_id;
  p->header = header;
  p->read = read;
  p->submitted_ns = now_ns;
  p->value_size = value_size;
  p->ttl = ttl;
  p->key_len = key_len;
  ModelDevice& model = *m.models.at(read.file_index);
  model.set_now(now_ns);
  if (model.submit(&p->io) != 0) {
    // A queue-depth cap refused it: the client gives up, as memcached does
    // when it cannot queue an IO.
    m.store->abort_read(read);
    m.free_reads.push_back(p);
    done_.push_back(done);
    return;
  }
  model.flush();
  ++m.in_flight;
}

void FlashTier::complete_reads(uint64_t now_ns) {
  Impl& m = *impl_;
  IoRequest* batch[kReapBatch];
  for (size_t i = 0; i < m.models.size(); ++i) {
    ModelDevice& model = *m.models[i];
    model.set_now(now_ns);
    while (size_t n = model.reap(batch, kReapBatch, false)) {
      for (size_t j = 0; j < n; ++j) {
        if (m.shadows[i]->release(batch[j])) continue;
        PendingRead* p = static_cast<PendingRead*>(batch[j]->user);
        std::string_view key(reinterpret_cast<const char*>(&p->key_id), sizeof p->key_id);
        FlashReadDone done;
        done.key_id = p->key_id;
        done.key_len = p->key_len;
        done.value_size = p->value_size;
        done.ttl = p->ttl;
        done.latency_ns = p->io.completed_at_ns - p->submitted_ns;
        done.hit = m.store->finish_read(key, p->header, p->read, nullptr, p->io.result).hit();
        done.timed = true;
        done_.push_back(done);
        m.free_reads.push_back(p);
        --m.in_flight;
      }
    }
  }
}

uint64_t FlashTier::flusher_step(uint64_t now_ns) {
  impl_->set_now(now_ns);
  return impl_->store->flusher_step(now_ns / kNsPerMicro) * kNsPerMicro;
}

uint64_t FlashTier::compactor_step(uint64_t now_ns) {
  Impl& m = *impl_;
  m.set_now(now_ns);
  // A page counts as compacted when a step starts one: either the store is
  // compacting afterwards (a page of several wbufs) or the step already
  // moved objects (a one-wbuf page is picked and finished in one step).
  const bool was = m.store->compacting();
  uint64_t moved_before = 0;
  if (!was) {
    const ExtStoreStats st = m.store->stats();
    moved_before = st.compact_rescues + st.compact_lost + st.compact_skipped;
  }
  const Micros next = m.store->compactor_step(now_ns / kNsPerMicro);
  if (!was) {
    const ExtStoreStats st = m.store->stats();
    if (m.store->compacting() ||
        st.compact_rescues + st.compact_lost + st.compact_skipped != moved_before) {
      ++m.pages_compacted;
    }
  }
  return next * kNsPerMicro;
}

void FlashTier::fill_sample(TimeSample& s) const {
  const ExtStoreStats st = impl_->store->stats();
  s.ext_bytes_used = st.store.bytes_used;
  s.ext_bytes_fragmented = st.store.bytes_fragmented;
  s.ext_pages_used = st.store.pages_used;
  s.ext_limit_maxbytes = st.store.limit_maxbytes;
  s.ext_bytes_written = st.store.bytes_written;
  s.ext_page_evictions = st.store.page_evictions;
  s.recache = st.recache_from_extstore;
  s.compact_rescues = st.compact_rescues;
  s.compact_lost = st.compact_lost;
  s.compact_skipped = st.compact_skipped;
  s.device_bytes_written = impl_->host_bytes_written();
  for (const PageData& p : st.pages) {
    if (!p.free && p.bucket < s.ext_pages_by_bucket.size()) ++s.ext_pages_by_bucket[p.bucket];
  }
}

void FlashTier::add_report(nlohmann::json& report, uint64_t duration_ns) const {
  const Impl& m = *impl_;
  const ExtStoreStats st = m.store->stats();
  nlohmann::json named = nlohmann::json::object();
  for (const auto& [name, value] : st.named_get()) named[std::string(name)] = value;
  for (const auto& [name, value] : st.named_extstore()) named[std::string(name)] = value;
  report["extstore"] = named;

  const uint64_t used_bytes = st.store.pages_used * st.store.page_size;
  report["fragmentation"] = {{"bytes_fragmented", st.store.bytes_fragmented},
                             {"bytes_used", st.store.bytes_used},
                             {"pages_used_bytes", used_bytes},
                             {"ratio", ratio(st.store.bytes_fragmented, used_bytes)}};
  report["compaction"] = {{"rescues", st.compact_rescues},
                          {"lost", st.compact_lost},
                          {"skipped", st.compact_skipped},
                          {"pages_compacted", m.pages_compacted},
                          {"compact_under", m.store->config().compact_under},
                          {"drop_under", m.store->config().drop_under}};
  const uint64_t flash_hits = report["totals"]["hits_flash"].get<uint64_t>();
  report["recache"] = {{"count", st.recache_from_extstore},
                       {"rate", ratio(st.recache_from_extstore, flash_hits)}};
  report["totals"]["hits_flash_wbuf"] = m.wbuf_hits;

  struct BucketUse {
    uint64_t pages = 0, bytes = 0, objects = 0, free_pages = 0;
  };
  std::vector<BucketUse> use(kPageBucketCount);
  for (const PageData& p : st.pages) {
    if (p.free) {
      if (p.free_bucket < use.size()) ++use[p.free_bucket].free_pages;
      continue;
    }
    if (p.bucket >= use.size()) continue;
    ++use[p.bucket].pages;
    use[p.bucket].bytes += p.bytes_used;
    use[p.bucket].objects += p.obj_count;
  }
  nlohmann::json buckets = nlohmann::json::object();
  for (unsigned b = 0; b < kPageBucketCount; ++b) {
    buckets[std::string(page_bucket_name(b))] = {{"pages", use[b].pages},
                                                 {"bytes", use[b].bytes},
                                                 {"objects", use[b].objects},
                                                 {"free_pages", use[b].free_pages}};
  }
  report["buckets"] = buckets;
  report["evictions"]["flash_pages"] = st.store.page_evictions;
  report["evictions"]["flash_objects"] = st.store.objects_evicted;
  report["evictions"]["flash_bytes"] = st.store.bytes_evicted;

  const uint64_t written = m.host_bytes_written();
  nlohmann::json device{
      {"size_bytes", m.device_bytes},
      {"bytes_written", written},
      {"drive_writes_per_day", drive_writes_per_day(written, m.device_bytes, duration_ns)}};
  if (m.model) {
    uint64_t nand = 0;
    nlohmann::json per_path = nlohmann::json::array();
    for (const auto& d : m.models) {
      nand += d->estimated_nand_bytes_written();
      per_path.push_back(d->to_json(duration_ns));
    }
    device["nand_bytes_written"] = nand;
    device["nand_drive_writes_per_day"] = drive_writes_per_day(nand, m.device_bytes, duration_ns);
    device["model"] = per_path;
  } else {
    nlohmann::json per_path = nlohmann::json::array();
    for (const auto& d : m.files) {
      per_path.push_back({{"describe", d->describe()},
                          {"bytes_read", d->stats().bytes_read},
                          {"bytes_written", d->stats().bytes_written}});
    }
    device["files"] = per_path;
  }
  report["device"] = device;
}

}  // namespace memext
