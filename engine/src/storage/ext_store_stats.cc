// ExtStoreStats: memcached's names and order for the extstore figures.
#include <nlohmann/json.hpp>

#include "memext/extstore.h"

namespace memext {

std::vector<std::pair<std::string_view, uint64_t>> ExtStoreStats::named_get() const {
  return {
      {"get_extstore", get_extstore},
      {"get_aborted_extstore", get_aborted_extstore},
      {"get_oom_extstore", get_oom_extstore},
      {"recache_from_extstore", recache_from_extstore},
      {"miss_from_extstore", miss_from_extstore},
      {"badcrc_from_extstore", badcrc_from_extstore},
  };
}

std::vector<std::pair<std::string_view, uint64_t>> ExtStoreStats::named_extstore() const {
  std::vector<std::pair<std::string_view, uint64_t>> out = {
      {"extstore_compact_lost", compact_lost},
      {"extstore_compact_rescues", compact_rescues},
      {"extstore_compact_skipped", compact_skipped},
  };
  for (const auto& entry : store.named()) out.push_back(entry);
  return out;
}

std::vector<std::pair<std::string, uint64_t>> ExtStoreStats::named_pages() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  out.reserve(pages.size() * 4);
  for (size_t i = 0; i < pages.size(); ++i) {
    const std::string id = std::to_string(i) + ":";
    out.emplace_back(id + "version", pages[i].version);
    out.emplace_back(id + "bytes", pages[i].bytes_used);
    out.emplace_back(id + "bucket", pages[i].bucket);
    out.emplace_back(id + "free_bucket", pages[i].free_bucket);
  }
  return out;
}

nlohmann::json ExtStoreStats::to_json() const {
  nlohmann::json stats = nlohmann::json::object();
  for (const auto& [name, value] : named_get()) stats[std::string(name)] = value;
  for (const auto& [name, value] : named_extstore()) stats[std::string(name)] = value;
  nlohmann::json page_list = nlohmann::json::array();
  for (const PageData& p : pages) {
    page_list.push_back({{"version", p.version},
                         {"bytes", p.bytes_used},
                         {"objects", p.obj_count},
                         {"bucket", p.bucket},
                         {"free_bucket", p.free_bucket}});
  }
  return {{"stats", stats}, {"pages", page_list}};
}

}  // namespace memext
