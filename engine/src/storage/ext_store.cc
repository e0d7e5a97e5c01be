// ExtStore: construction, the header-unlink listener, runtime settings and
// stats; the forwarding layer of the public class.
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "storage/ext_store_impl.h"

namespace memext {

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("extstore: " + message);
}

PageStoreConfig page_store_config(const ExtConfig& config, const std::vector<Device*>& devices,
                                  const ExtStoreOptions& options) {
  require(!config.paths.empty(), "no ext_path configured");
  require(devices.size() == config.paths.size(), std::to_string(config.paths.size()) +
                                                     " ext_path entries but " +
                                                     std::to_string(devices.size()) + " devices");
  require(config.wbuf_size <= UINT32_MAX, "ext_wbuf_size must be below 4 GB");
  PageStoreConfig pc;
  pc.page_size = config.page_size;
  pc.wbuf_size = static_cast<uint32_t>(config.wbuf_size);
  pc.bucket_count = 4;  // memcached 1.6.18's page_buckets
  require(!options.async_flush || options.max_flushing_wbufs >= 1,
          "async flush needs max_flushing_wbufs of at least 1");
  require(!options.io_thread || options.async_flush, "io_thread needs async_flush");
  pc.async_flush = options.async_flush;
  pc.one_flush_per_page = options.one_flush_per_page;
  pc.max_flushing_wbufs = options.max_flushing_wbufs;
  for (size_t i = 0; i < config.paths.size(); ++i) {
    const ExtPathConfig& path = config.paths[i];
    PageBucket free_bucket = PageBucket::kDefault;
    if (!path.bucket.empty()) {
      const auto named = page_bucket_from_name(path.bucket);
      require(named.has_value() && static_cast<unsigned>(*named) < pc.bucket_count,
              "ext_path " + path.path + ": unknown bucket '" + path.bucket +
                  "' (allowed: default, compact, chunked, lowttl)");
      free_bucket = *named;
    }
    require(devices[i] != nullptr, "no device for ext_path " + path.path);
    pc.files.push_back({devices[i], path.size_bytes, free_bucket});
  }
  return pc;
}

bool parse_unsigned(std::string_view text, uint32_t& out) {
  uint64_t v = 0;
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > UINT32_MAX) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

bool parse_double(std::string_view text, double& out) {
  if (text.empty()) return false;
  const std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v) || v < 0) return false;
  out = v;
  return true;
}

}  // namespace

ExtStore::Impl::Impl(Engine& eng, const ExtConfig& cfg, std::vector<Device*> devs,
                     const ExtStoreOptions& opts)
    : engine(eng), config(cfg), devices(std::move(devs)), options(opts) {
  store = std::make_unique<PageStore>(page_store_config(config, devices, options));
  stores_data = !store->phantom();
  if (config.compact_under == 0) {
    // storage_init: the last ext_path given heads memcached's file list.
    std::string error;
    ExtPathSpec spec{config.paths.back().path, config.paths.back().size_bytes};
    const uint64_t pages = ext_path_page_count(spec, config.page_size, &error);
    config.compact_under = static_cast<uint32_t>(pages / 4);
    config.drop_under = static_cast<uint32_t>(pages / 4);
  }
  compact_sleep = config.max_sleep_us;
  if (options.flusher_pacing == FlusherPacing::k1_6_18) write_sleep = kWriteSleepMin1618;
  engine.hooks().set_header_unlink_listener(this);
}

ExtStore::Impl::~Impl() {
  engine.hooks().set_header_unlink_listener(nullptr);
}

void ExtStore::Impl::on_header_unlinked(const ExtLocation& location, uint64_t ntotal) {
  store->delete_objects(location.page_id, location.page_version, 1, ntotal);
}

bool ExtStore::Impl::unlink_beside_readers(const ExtLocation& location) const {
  return store->delete_keeps_page(location.page_id, location.page_version);
}

bool ExtStore::Impl::header_valid(const ExtLocation& location) const {
  return store->check(location.page_id, location.page_version);
}

int64_t ExtStore::Impl::device_io(Device& device, IoRequest* req) {
  int rc = device.submit(req);
  // A full device queue drains as flushes finish.
  while (rc == -EAGAIN && store->flushes_in_flight() > 0 && store->poll_flushes(true) > 0) {
    rc = device.submit(req);
  }
  if (rc != 0) return rc;
  device.flush();
  IoRequest* done[16];
  while (true) {
    const size_t n = device.reap(done, 16, true);
    if (n == 0) return -EIO;  // a device that lost the request
    bool ours = false;
    for (size_t i = 0; i < n; ++i) {
      if (done[i] == req) {
        ours = true;
      } else {
        store->complete_io(done[i]);
      }
    }
    if (ours) return req->result;
  }
}

size_t ExtStore::Impl::reap_flushes(bool wait) {
  return options.async_flush ? store->poll_flushes(wait) : 0;
}

char* ExtStore::Impl::scratch(size_t len) {
  read_buf.reserve(len);
  return read_buf.data();
}

std::string ExtStore::Impl::set_option(std::string_view name, std::string_view value) {
  if (name.starts_with("ext_")) name.remove_prefix(4);
  uint32_t* target = nullptr;
  if (name == "item_size") target = &config.item_size;
  if (name == "item_age") target = &config.item_age;
  if (name == "low_ttl") target = &config.low_ttl;
  if (name == "recache_rate") target = &config.recache_rate;
  if (name == "compact_under") target = &config.compact_under;
  if (name == "drop_under") target = &config.drop_under;
  if (name == "max_sleep") target = &config.max_sleep_us;
  if (target != nullptr) {
    uint32_t v = 0;
    if (!parse_unsigned(value, v)) {
      return "extstore " + std::string(name) + ": '" + std::string(value) +
             "' is not an unsigned 32-bit integer";
    }
    *target = v;
    return {};
  }
  if (name == "max_frag") {
    double v = 0;
    if (!parse_double(value, v)) {
      return "extstore max_frag: '" + std::string(value) + "' is not a number >= 0";
    }
    config.max_frag = v;
    return {};
  }
  if (name == "drop_unread") {
    uint32_t v = 0;
    if (!parse_unsigned(value, v)) {
      return "extstore drop_unread: '" + std::string(value) + "' is not 0 or 1";
    }
    config.drop_unread = v != 0;
    return {};
  }
  return "extstore: unknown setting '" + std::string(name) +
         "' (allowed: item_size, item_age, low_ttl, recache_rate, compact_under, drop_under, "
         "max_sleep, max_frag, drop_unread)";
}

ExtStoreStats ExtStore::Impl::stats(bool include_pages) const {
  ExtStoreStats st = counters;
  st.get_extstore += shared_get_extstore.sum(kSharedGetExtstore);
  st.get_aborted_extstore += shared_get_extstore.sum(kSharedGetAborted);
  st.store = store->stats();
  if (include_pages) st.pages = store->all_page_data();
  return st;
}

ExtStore::ExtStore(Engine& engine, const ExtConfig& config, std::vector<Device*> devices,
                   const ExtStoreOptions& options)
    : impl_(std::make_unique<Impl>(engine, config, std::move(devices), options)) {}

ExtStore::~ExtStore() = default;

Micros ExtStore::flusher_step(Micros now) {
  return impl_->flusher_step(now);
}
Micros ExtStore::compactor_step(Micros now) {
  return impl_->compactor_step(now);
}
CompactorRead ExtStore::compactor_begin(Micros now) {
  return impl_->compactor_begin(now);
}
Micros ExtStore::compactor_finish(Micros now, const CompactorRead& read, int64_t io_result) {
  return impl_->compactor_finish(now, read, io_result);
}
FlashRead ExtStore::plan_read(std::string_view key, const GetResult& header) {
  return impl_->plan_read(key, header);
}
ReadOutcome ExtStore::finish_read(std::string_view key, const GetResult& header,
                                  const FlashRead& read, const char* buffer, int64_t io_result) {
  return impl_->finish_read(key, header, read, buffer, io_result);
}
void ExtStore::abort_read(const FlashRead& read) {
  impl_->abort_read(read);
}
std::optional<FlashRead> ExtStore::try_plan_read_shared(std::string_view key,
                                                        const GetResult& header) {
  assert(header.source == HitSource::kFlashHeader);
  return impl_->try_plan_read_shared(key, header);
}
std::optional<ReadOutcome> ExtStore::try_finish_read_shared(std::string_view key,
                                                            const GetResult& header,
                                                            const FlashRead& read,
                                                            const char* buffer, int64_t io_result) {
  return impl_->try_finish_read_shared(key, header, read, buffer, io_result);
}
std::optional<ReadOutcome> ExtStore::try_read_buffered_shared(std::string_view key,
                                                              const GetResult& header,
                                                              uint64_t* recache_counter) {
  assert(header.source == HitSource::kFlashHeader);
  return impl_->try_read_buffered_shared(key, header, recache_counter);
}
bool ExtStore::try_abort_read_shared(const FlashRead& read) {
  return impl_->try_abort_read_shared(read);
}
ReadOutcome ExtStore::read_sync(std::string_view key, const GetResult& header,
                                uint64_t* recache_counter) {
  return impl_->read_sync(key, header, recache_counter);
}
bool ExtStore::compacting() const {
  return impl_->compacting;
}
size_t ExtStore::reap_flushes(bool wait) {
  return impl_->reap_flushes(wait);
}
unsigned ExtStore::flushes_in_flight() const {
  return impl_->store->flushes_in_flight();
}
std::string ExtStore::set_option(std::string_view name, std::string_view value) {
  return impl_->set_option(name, value);
}
ExtStoreStats ExtStore::stats(bool include_pages) const {
  return impl_->stats(include_pages);
}
std::vector<std::pair<std::string_view, std::string>> ExtStore::named_settings() const {
  const ExtConfig& c = impl_->config;
  auto fixed = [](double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
    return std::string(buf);
  };
  return {
      {"ext_item_size", std::to_string(c.item_size)},
      {"ext_item_age", std::to_string(c.item_age)},
      {"ext_low_ttl", std::to_string(c.low_ttl)},
      {"ext_recache_rate", std::to_string(c.recache_rate)},
      {"ext_wbuf_size", std::to_string(c.wbuf_size)},
      {"ext_compact_under", std::to_string(c.compact_under)},
      {"ext_drop_under", std::to_string(c.drop_under)},
      {"ext_max_sleep", std::to_string(c.max_sleep_us)},
      {"ext_max_frag", fixed(c.max_frag, 2)},
      {"slab_automove_freeratio", fixed(c.slab_automove_freeratio, 3)},
      {"ext_drop_unread", c.drop_unread ? "yes" : "no"},
  };
}
const ExtConfig& ExtStore::config() const {
  return impl_->config;
}
const std::string& ExtStore::file_path(uint32_t file_index) const {
  return impl_->config.paths.at(file_index).path;
}
const PageStore& ExtStore::page_store() const {
  return *impl_->store;
}

std::unique_ptr<ExtStore> open_ext_store(Engine& engine, const ExtConfig& config,
                                         ExtDeviceKind kind, const ExtStoreOptions& options) {
  std::vector<std::unique_ptr<Device>> owned;
  std::vector<Device*> devices;
  for (const ExtPathConfig& path : config.paths) {
    switch (kind) {
      case ExtDeviceKind::kMemory:
        owned.push_back(make_memory_device(path.size_bytes));
        break;
      case ExtDeviceKind::kFile:
        owned.push_back(make_file_device(path.path, path.size_bytes));
        break;
      case ExtDeviceKind::kUring:
        owned.push_back(make_uring_device(path.path, path.size_bytes));
        break;
    }
    if (options.io_thread) owned.back() = make_io_thread_device(std::move(owned.back()));
    devices.push_back(owned.back().get());
  }
  auto store = std::make_unique<ExtStore>(engine, config, devices, options);
  // Declared before the page store in Impl, so destroyed after it.
  store->impl_->owned_devices = std::move(owned);
  return store;
}

}  // namespace memext
