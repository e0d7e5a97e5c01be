// Flash reads: memcached's storage_get_item, _storage_get_item_cb and
// recache_or_free, with the IO itself left to the caller.
#include "storage/ext_store_impl.h"
#include "storage/flash_object.h"

namespace memext {

namespace {

// The FlashRead for the page store's plan of a read of the object at loc:
// its kind, and for a device read the aligned range to read.
FlashRead flash_read_of(const ExtLocation& loc, const ReadPlan& plan) {
  FlashRead read;
  read.location = loc;
  read.object_len = loc.len;
  read.plan = plan;
  switch (plan.source) {
    case ReadSource::kMiss:
      read.kind = FlashReadKind::kMiss;
      break;
    case ReadSource::kWbuf:
      read.kind = FlashReadKind::kBuffered;
      break;
    case ReadSource::kDevice:
      read.kind = FlashReadKind::kDevice;
      read.device = plan.device;
      read.file_index = plan.file;
      read.offset = plan.aligned_offset;
      read.length = plan.aligned_len;
      read.skip = plan.skip;
      break;
  }
  return read;
}

}  // namespace

FlashRead ExtStore::Impl::plan_read(std::string_view key, const GetResult& header) {
  ++counters.get_extstore;
  const ExtLocation& loc = header.location;
  const FlashRead read =
      flash_read_of(loc, store->prepare_read(loc.page_id, loc.page_version, loc.offset, loc.len));
  if (read.kind == FlashReadKind::kMiss) miss(key, loc, false);
  return read;
}

ReadOutcome ExtStore::Impl::miss(std::string_view key, const ExtLocation& location, bool badcrc) {
  // The header is unlinked only if it still names this object; a newer value
  // set meanwhile is left alone.
  engine.hooks().unlink_header(key, location);
  ++counters.miss_from_extstore;
  if (badcrc) ++counters.badcrc_from_extstore;
  ReadOutcome outcome;
  outcome.status = badcrc ? ReadStatus::kBadCrc : ReadStatus::kMiss;
  return outcome;
}

ReadOutcome ExtStore::Impl::finish_read(std::string_view key, const GetResult& header,
                                        const FlashRead& read, const char* buffer,
                                        int64_t io_result) {
  if (read.kind == FlashReadKind::kMiss) return ReadOutcome{};
  const char* object = read.plan.wbuf_data;
  if (read.kind == FlashReadKind::kDevice) {
    // The page was pinned since plan_read, so a changed version means it was
    // freed and reused under a reader that ignored the pin contract.
    const bool same_page = store->finish_read(read.plan);
    if (!same_page || io_result != static_cast<int64_t>(read.length)) {
      return miss(key, read.location, false);
    }
    object = buffer == nullptr ? nullptr : buffer + read.skip;
  }
  ReadOutcome outcome;
  if (stores_data) {
    storage::ObjectFields fields;
    if (object == nullptr ||
        storage::decode_object(object, read.object_len, &fields) != storage::ObjectCheck::kOk ||
        fields.ntotal != read.object_len) {
      return miss(key, read.location, true);
    }
    // A valid object of this key that is not the header's (an older copy
    // returned by a misdirected or lost IO) differs in the CAS it was written
    // with (the header's own CAS may have moved on since: see object_cas).
    if (fields.key != key || fields.value_len != header.info.value_len ||
        fields.cas != header.object_cas) {
      return miss(key, read.location, false);
    }
    outcome.value = fields.value;
  }
  outcome.status = ReadStatus::kHit;
  outcome.info = header.info;
  maybe_recache(key, header, read, outcome);
  return outcome;
}

bool ExtStore::Impl::object_matches(std::string_view key, const GetResult& header,
                                    const FlashRead& read, const char* object,
                                    ReadOutcome* outcome) const {
  if (!stores_data) return true;
  storage::ObjectFields fields;
  if (object == nullptr ||
      storage::decode_object(object, read.object_len, &fields) != storage::ObjectCheck::kOk ||
      fields.ntotal != read.object_len || fields.key != key ||
      fields.value_len != header.info.value_len || fields.cas != header.object_cas) {
    return false;
  }
  outcome->value = fields.value;
  return true;
}

std::optional<FlashRead> ExtStore::Impl::try_plan_read_shared(std::string_view key,
                                                              const GetResult& header) {
  (void)key;
  const ExtLocation& loc = header.location;
  const ReadPlan plan =
      store->prepare_read_shared(loc.page_id, loc.page_version, loc.offset, loc.len);
  if (plan.source != ReadSource::kDevice) return std::nullopt;
  shared_get_extstore.add(kSharedGetExtstore);
  return flash_read_of(loc, plan);
}

// plan_read + finish_read of a kBuffered read, writing only what the shared
// side may: every check first, then the recache turn (after which nothing
// can fail), then the counts plan_read and the page store's prepare_read
// make, so a decline leaves nothing counted twice.
std::optional<ReadOutcome> ExtStore::Impl::try_read_buffered_shared(std::string_view key,
                                                                    const GetResult& header,
                                                                    uint64_t* recache_counter) {
  const ExtLocation& loc = header.location;
  const ReadPlan plan =
      store->prepare_wbuf_read_shared(loc.page_id, loc.page_version, loc.offset, loc.len);
  if (plan.source != ReadSource::kWbuf) return std::nullopt;
  FlashRead read = flash_read_of(loc, plan);
  read.recache_counter = recache_counter;
  ReadOutcome outcome;
  if (!object_matches(key, header, read, plan.wbuf_data, &outcome)) return std::nullopt;
  if (recache_candidate(header) && !skip_recache_shared(read)) return std::nullopt;
  shared_get_extstore.add(kSharedGetExtstore);
  store->count_read_shared(loc.len);
  outcome.status = ReadStatus::kHit;
  outcome.info = header.info;
  return outcome;
}

// Each check finish_read makes, in an order that leaves nothing to undo:
// the reads of pinned, exclusive-only state first, then the recache
// counter's turn, then the unpin (which cannot fail once its check passed,
// as the page's state cannot change under the shared side).
std::optional<ReadOutcome> ExtStore::Impl::try_finish_read_shared(std::string_view key,
                                                                  const GetResult& header,
                                                                  const FlashRead& read,
                                                                  const char* buffer,
                                                                  int64_t io_result) {
  if (read.kind != FlashReadKind::kDevice) return std::nullopt;
  if (io_result != static_cast<int64_t>(read.length)) return std::nullopt;
  if (!store->check(read.plan.page_id, read.plan.page_version)) return std::nullopt;
  ReadOutcome outcome;
  const char* object = buffer == nullptr ? nullptr : buffer + read.skip;
  if (!object_matches(key, header, read, object, &outcome)) return std::nullopt;
  if (store->unpin_needs_exclusive(read.plan)) return std::nullopt;
  if (recache_candidate(header) && !skip_recache_shared(read)) return std::nullopt;
  store->unpin_shared(read.plan);
  outcome.status = ReadStatus::kHit;
  outcome.info = header.info;
  return outcome;
}

bool ExtStore::Impl::recache_candidate(const GetResult& header) const {
  const EngineConfig& engine_config = engine.hooks().config();
  if (config.recache_rate == 0 || !engine_config.lru_segmented) return false;
  // Without value bytes a real-mode engine cannot rebuild the item.
  if (!stores_data && !engine_config.phantom) return false;
  // memcached checks the header after the get's do_item_bump: the first hit
  // sets FETCHED, the second ACTIVE (and, outside COLD, refreshes the time).
  const ItemInfo& info = header.info;
  const rel_time_t now = engine.hooks().current_time();
  rel_time_t time = info.last_access;
  if (!info.active) {
    if (!info.fetched) return false;
    if (info.lru != LruSegment::kCold) time = now;
  }
  return time > static_cast<rel_time_t>(now - kItemUpdateInterval);
}

bool ExtStore::Impl::skip_recache_shared(const FlashRead& read) {
  if (read.recache_counter != nullptr) {
    // The connection's own: only its thread finishes its reads.
    if (*read.recache_counter % config.recache_rate == 0) return false;
    ++*read.recache_counter;
    return true;
  }
  uint64_t seen = recache_counter.load(std::memory_order_relaxed);
  while (seen % config.recache_rate != 0) {
    if (recache_counter.compare_exchange_weak(seen, seen + 1, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

void ExtStore::Impl::maybe_recache(std::string_view key, const GetResult& header,
                                   const FlashRead& read, ReadOutcome& outcome) {
  if (!recache_candidate(header)) return;
  const uint64_t turn = read.recache_counter != nullptr
                            ? (*read.recache_counter)++
                            : recache_counter.fetch_add(1, std::memory_order_relaxed);
  if (turn % config.recache_rate != 0) return;
  const core::RecacheResult r =
      engine.hooks().replace_header_with_item(key, header.location, outcome.value);
  if (r == core::RecacheResult::kRecached) {
    ++counters.recache_from_extstore;
    outcome.recached = true;
  }
}

void ExtStore::Impl::abort_read(const FlashRead& read) {
  if (read.kind == FlashReadKind::kMiss) return;
  if (read.kind == FlashReadKind::kDevice) store->finish_read(read.plan);
  ++counters.get_aborted_extstore;
}

bool ExtStore::Impl::try_abort_read_shared(const FlashRead& read) {
  if (read.kind != FlashReadKind::kDevice || store->unpin_needs_exclusive(read.plan)) return false;
  store->unpin_shared(read.plan);
  shared_get_extstore.add(kSharedGetAborted);
  return true;
}

ReadOutcome ExtStore::Impl::read_sync(std::string_view key, const GetResult& header,
                                      uint64_t* recache_counter) {
  FlashRead read = plan_read(key, header);
  read.recache_counter = recache_counter;
  if (read.kind != FlashReadKind::kDevice) return finish_read(key, header, read, nullptr, 0);
  char* buffer = stores_data ? scratch(read.length) : nullptr;
  IoRequest req{IoOp::kRead, read.offset, read.length, buffer};
  const int64_t rc = device_io(*read.device, &req);
  return finish_read(key, header, read, buffer, rc);
}

}  // namespace memext
