#include "memext/engine.h"

#include <stdexcept>
#include <string>
#include <utility>

#include "core/item_store.h"
#include "memext/options.h"

namespace memext {

namespace {
const EngineConfig& checked(const EngineConfig& config) {
  const std::string error = validate_config(config);
  if (!error.empty()) throw std::invalid_argument(error);
  return config;
}
}  // namespace

Engine::Engine(const EngineConfig& config)
    : store_(std::make_unique<core::ItemStore>(checked(config))) {}

Engine::~Engine() = default;

void Engine::set_time(rel_time_t now) {
  store_->set_time(now);
}
rel_time_t Engine::current_time() const {
  return store_->now();
}
rel_time_t Engine::realtime(int64_t client_exptime) const {
  return store_->realtime(client_exptime);
}

GetResult Engine::get(std::string_view key, const GetOptions& options) {
  if (options.meta) return store_->meta_get(key, options);
  return store_->get(key, options);
}

std::optional<GetResult> Engine::try_get_shared(std::string_view key, const GetOptions& options,
                                                bool flash_headers) const {
  return store_->try_get_shared(key, options, flash_headers);
}

void Engine::apply_deferred_bumps() {
  store_->apply_deferred_bumps();
}

StoreOutcome Engine::store(const StoreRequest& request) {
  return store_->store(request);
}

PreparedStore Engine::prepare_store(const StoreRequest& request) const {
  return store_->prepare_store(request);
}

StoreOutcome Engine::store(const StoreRequest& request, PreparedStore& prepared) {
  return store_->store(request, prepared);
}

std::optional<StoreOutcome> Engine::try_store_concurrent(const StoreRequest& request,
                                                         PreparedStore& prepared) {
  return store_->try_store_concurrent(request, prepared);
}

void Engine::catch_up() {
  store_->catch_up();
}

PreparedStore::~PreparedStore() {
  release();
}

PreparedStore::PreparedStore(PreparedStore&& other) noexcept {
  *this = std::move(other);
}

PreparedStore& PreparedStore::operator=(PreparedStore&& other) noexcept {
  if (this == &other) return *this;
  release();
  buffer_ = std::exchange(other.buffer_, nullptr);
  size_ = std::exchange(other.size_, 0);
  retired_count_ = std::exchange(other.retired_count_, 0);
  for (unsigned i = 0; i < retired_count_; ++i) retired_[i] = other.retired_[i];
  return *this;
}

void PreparedStore::release() {
  delete[] buffer_;
  buffer_ = nullptr;
  for (unsigned i = 0; i < retired_count_; ++i) delete[] retired_[i];
  retired_count_ = 0;
}

StoreOutcome Engine::set(std::string_view key, std::string_view value, uint32_t client_flags,
                         int64_t exptime) {
  StoreRequest request;
  request.key = key;
  request.value = value;
  request.value_len = static_cast<uint32_t>(value.size());
  request.client_flags = client_flags;
  request.exptime = exptime;
  return store_->store(request);
}

void Engine::prefetch(std::string_view key, PrefetchStage stage) const {
  if (stage == PrefetchStage::kHashSlot) {
    store_->prefetch_slot(key);
  } else {
    store_->prefetch_item(key);
  }
}

void Engine::warm_lookup(std::string_view key) const {
  const uint32_t n = store_->find(key);
  asm volatile("" : : "r"(n));  // the loads are the point: keep them
}

TouchResult Engine::touch(std::string_view key, int64_t exptime) {
  return store_->touch(key, exptime);
}

DeltaOutcome Engine::incr(std::string_view key, uint64_t delta, uint64_t cas, bool count_miss) {
  return store_->delta(key, true, delta, cas, count_miss);
}

DeltaOutcome Engine::decr(std::string_view key, uint64_t delta, uint64_t cas, bool count_miss) {
  return store_->delta(key, false, delta, cas, count_miss);
}

Engine::DeltaOrCreateOutcome Engine::delta_or_create(std::string_view key, bool incr,
                                                     uint64_t delta, uint64_t cas, uint64_t initial,
                                                     int64_t exptime) {
  DeltaOrCreateOutcome out;
  out.delta = store_->delta(key, incr, delta, cas, /*count_miss=*/false);
  if (out.delta.result != DeltaResult::kNotFound) return out;
  const std::string text = std::to_string(initial);
  StoreRequest add;
  add.mode = StoreMode::kAdd;
  add.key = key;
  add.value = text;
  add.value_len = static_cast<uint32_t>(text.size());
  add.exptime = exptime;
  add.count_set = false;
  const StoreOutcome stored = store(add);
  out.create_result = stored.result;
  if (stored.result == StoreResult::kStored) {
    out.created = true;
    out.delta.result = DeltaResult::kOk;
    out.delta.value = initial;
    out.delta.cas = stored.cas;
  }
  return out;
}

DeleteResult Engine::remove(std::string_view key, uint64_t cas) {
  return store_->remove(key, cas);
}

void Engine::unlink(std::string_view key) {
  store_->unlink_key(key);
}

DeleteResult Engine::invalidate(std::string_view key, uint64_t cas, bool new_ttl, int64_t exptime) {
  return store_->invalidate(key, cas, new_ttl, exptime);
}

bool Engine::set_expiry(std::string_view key, rel_time_t exptime) {
  return store_->set_expiry(key, exptime);
}

void Engine::set_event_sink(EventSink* sink) {
  store_->set_event_sink(sink);
}

void Engine::flush_all(int64_t delay) {
  store_->flush_all(delay);
}

Stats Engine::stats() const {
  return store_->stats();
}
const EngineConfig& Engine::config() const {
  return store_->config();
}
const SlabClassTable& Engine::slab_classes() const {
  return store_->classes();
}
uint64_t Engine::metadata_bytes() const {
  return store_->metadata_bytes();
}

}  // namespace memext
