// PageStore's stats and per-page data, in memcached's names.
#include <nlohmann/json.hpp>
#include <set>

#include "memext/device.h"
#include "memext/pagestore.h"

namespace memext {

std::vector<std::pair<std::string_view, uint64_t>> PageStoreStats::named() const {
  return {
      {"extstore_page_allocs", page_allocs},       {"extstore_page_evictions", page_evictions},
      {"extstore_page_reclaims", page_reclaims},   {"extstore_pages_free", pages_free},
      {"extstore_pages_used", pages_used},         {"extstore_objects_evicted", objects_evicted},
      {"extstore_objects_read", objects_read},     {"extstore_objects_written", objects_written},
      {"extstore_objects_used", objects_used},     {"extstore_bytes_evicted", bytes_evicted},
      {"extstore_bytes_written", bytes_written},   {"extstore_bytes_read", bytes_read},
      {"extstore_bytes_used", bytes_used},         {"extstore_bytes_fragmented", bytes_fragmented},
      {"extstore_limit_maxbytes", limit_maxbytes}, {"extstore_io_queue", io_queue},
      {"extstore_page_count", page_count},         {"extstore_page_size", page_size},
      {"extstore_wbuf_flushes", wbuf_flushes},     {"extstore_write_errors", write_errors},
  };
}

nlohmann::json PageStoreStats::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : named()) out[std::string(name)] = value;
  return out;
}

PageStoreStats PageStore::stats() const {
  PageStoreStats st = counters_;
  add_shared_read_counts(&st);
  st.page_count = pages_.size();
  st.page_size = page_size_;
  st.pages_free = pages_free_;
  st.pages_used = st.page_count - pages_free_;
  st.bytes_fragmented = st.pages_used * page_size_ - st.bytes_used;
  st.limit_maxbytes = st.page_count * page_size_;
  // A device shared by several files is counted once.
  std::set<const Device*> seen(devices_.begin(), devices_.end());
  for (const Device* d : seen) st.io_queue += d->stats().in_flight;
  return st;
}

PageData PageStore::page_data(uint32_t page_id) const {
  PageData d;
  if (page_id >= pages_.size()) return d;
  const Page& p = pages_[page_id];
  d.version = p.version;
  d.bytes_used = p.bytes_used;
  d.obj_count = p.obj_count;
  d.bucket = p.bucket;
  d.free_bucket = p.free_bucket;
  d.active = p.active;
  d.closed = p.closed;
  d.free = p.free;
  return d;
}

std::vector<PageData> PageStore::all_page_data() const {
  std::vector<PageData> out;
  out.reserve(pages_.size());
  for (uint32_t id = 0; id < pages_.size(); ++id) out.push_back(page_data(id));
  return out;
}

}  // namespace memext
