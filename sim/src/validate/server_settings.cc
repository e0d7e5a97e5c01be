#include "validate/server_settings.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>

#include "memext/config.h"

namespace memext {

namespace {

// Settings the simulator models or that do not change what the cache holds;
// an ext_* or lru_* name outside this list is refused.
constexpr std::string_view kKnownExt[] = {
    "ext_item_size",     "ext_item_age",   "ext_low_ttl",   "ext_recache_rate", "ext_wbuf_size",
    "ext_compact_under", "ext_drop_under", "ext_max_sleep", "ext_max_frag",     "ext_drop_unread",
    "ext_threads",       "ext_io_depth",   "ext_page_size", "ext_path",
};
constexpr std::string_view kKnownLru[] = {
    "lru_crawler",           "lru_crawler_sleep", "lru_crawler_tocrawl",
    "lru_maintainer_thread", "lru_segmented",
};

std::optional<uint64_t> to_u64(std::string_view text) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

class Mapper {
 public:
  Mapper(const StatMap& settings, const StatMap& stats, ServerFlags* out)
      : settings_(settings), stats_(stats), out_(out) {}

  // The value of a setting, or nullopt after recording an error.
  std::optional<std::string_view> need(std::string_view name) {
    const auto it = settings_.find(name);
    if (it != settings_.end()) return std::string_view(it->second);
    fail("the server's `stats settings` has no " + std::string(name) +
         " (a memcached 1.6 server prints it)");
    return std::nullopt;
  }
  std::optional<uint64_t> need_u64(std::string_view name, const StatMap& from) {
    const auto it = from.find(name);
    std::optional<uint64_t> v;
    if (it != from.end()) v = to_u64(it->second);
    if (!v) {
      fail("the server reports " + std::string(name) + " '" +
           (it == from.end() ? std::string("(missing)") : it->second) +
           "', not an unsigned integer");
    }
    return v;
  }
  void fail(std::string why) {
    if (out_->error.empty()) out_->error = std::move(why);
  }
  // Adds "-o name=value" when the server's value is not memcached's default.
  void sub(std::string_view name, std::string_view fallback, bool flag_only = false) {
    const std::optional<std::string_view> v = need(name);
    if (!v || *v == fallback) return;
    suboptions_.push_back(flag_only ? std::string(name)
                                    : std::string(name) + "=" + std::string(*v));
  }
  void add_sub(std::string text) { suboptions_.push_back(std::move(text)); }
  void flag(std::string name, std::string value = "") {
    out_->flags.push_back(std::move(name));
    if (!value.empty()) out_->flags.push_back(std::move(value));
  }
  void finish() {
    if (suboptions_.empty()) return;
    std::string csv;
    for (const std::string& s : suboptions_) csv += (csv.empty() ? "" : ",") + s;
    flag("-o", csv);
  }
  const StatMap& settings() const { return settings_; }
  const StatMap& stats() const { return stats_; }

 private:
  const StatMap& settings_;
  const StatMap& stats_;
  ServerFlags* out_;
  std::vector<std::string> suboptions_;
};

bool listed(std::string_view name, const auto& list) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

void map_slabs(Mapper& m) {
  if (const auto maxbytes = m.need_u64("maxbytes", m.settings())) {
    if (*maxbytes == 0 || *maxbytes % (1u << 20) != 0) {
      m.fail("the server's maxbytes " + std::to_string(*maxbytes) +
             " is not a whole number of megabytes (the simulator's -m)");
    } else if (*maxbytes != 64u << 20) {
      m.flag("-m", std::to_string(*maxbytes >> 20));
    }
  }
  if (const auto f = m.need("growth_factor"); f && *f != "1.25") m.flag("-f", std::string(*f));
  if (const auto n = m.need("chunk_size"); n && *n != "48") m.flag("-n", std::string(*n));
  if (const auto i = m.need("item_size_max"); i && *i != "1048576") m.flag("-I", std::string(*i));
  if (const auto e = m.need("evictions"); e && *e == "off") m.flag("-M");
  if (const auto c = m.need("cas_enabled"); c && *c == "no") m.flag("-C");
  m.sub("slab_chunk_max", "524288");
  if (const auto r = m.need("slab_reassign"); r && *r == "no") m.add_sub("no_slab_reassign");
  if (const auto a = m.need("slab_automove")) {
    if (*a == "2") {
      m.fail(
          "the server runs slab_automove 2, which the simulator does not model (it runs 2 "
          "as 1; allowed: 0, 1)");
    } else if (*a != "1") {
      m.add_sub("slab_automove=" + std::string(*a));
    }
  }
  m.sub("slab_automove_ratio", "0.80");
  m.sub("slab_automove_window", "30");
  if (const auto t = m.settings().find("tail_repair_time");
      t != m.settings().end() && t->second != "0") {
    m.fail("the server runs tail_repair_time " + t->second +
           ", which the simulator does not model (allowed: 0)");
  }
}

void map_lru(Mapper& m) {
  const auto maintainer = m.need("lru_maintainer_thread");
  const auto segmented = m.need("lru_segmented");
  if (maintainer && *maintainer == "no") {
    m.add_sub("no_lru_maintainer");
    if (segmented && *segmented == "yes") m.add_sub("lru_segmented");
  } else if (segmented && *segmented == "no") {
    m.add_sub("no_lru_segmented");
  }
  m.sub("hot_lru_pct", "20");
  m.sub("warm_lru_pct", "40");
  m.sub("hot_max_factor", "0.20");
  m.sub("warm_max_factor", "2.00");
  if (const auto temp = m.need("temp_lru"); temp && *temp == "yes") {
    if (const auto ttl = m.need("temporary_ttl")) {
      m.add_sub("temporary_ttl=" + std::string(*ttl));
    }
  }
  if (const auto c = m.need("lru_crawler"); c && *c == "no") m.add_sub("no_lru_crawler");
  m.sub("lru_crawler_sleep", "100");
  m.sub("lru_crawler_tocrawl", "0");
}

void map_ext(Mapper& m, std::string_view ext_path_name, ServerFlags* out) {
  const auto limit_it = m.stats().find("extstore_limit_maxbytes");
  if (limit_it == m.stats().end()) return;  // no extstore
  out->flash = true;
  const auto limit = m.need_u64("extstore_limit_maxbytes", m.stats());
  const auto free_pages = m.need_u64("extstore_pages_free", m.stats());
  const auto used_pages = m.need_u64("extstore_pages_used", m.stats());
  if (!limit || !free_pages || !used_pages) return;
  const uint64_t pages = *free_pages + *used_pages;
  if (pages == 0 || *limit == 0) {
    m.fail("the server's flash tier has no pages (extstore_limit_maxbytes " +
           std::to_string(*limit) + "): its ext_path is smaller than one page");
    return;
  }
  const uint64_t page_size = *limit / pages;
  if (page_size * pages != *limit || page_size % (1u << 20) != 0) {
    m.fail("the server's flash tier of " + std::to_string(*limit) + " bytes in " +
           std::to_string(pages) + " pages has no whole-megabyte page size (ext_page_size)");
    return;
  }
  if (page_size != 64u << 20) m.add_sub("ext_page_size=" + std::to_string(page_size >> 20));
  if (const auto wbuf = m.need_u64("ext_wbuf_size", m.settings())) {
    if (*wbuf % (1u << 20) != 0) {
      m.fail("the server's ext_wbuf_size " + std::to_string(*wbuf) +
             " is not a whole number of megabytes");
    } else if (*wbuf != 4u << 20) {
      m.add_sub("ext_wbuf_size=" + std::to_string(*wbuf >> 20));
    }
  }
  m.add_sub("ext_path=" + std::string(ext_path_name) + ":" + std::to_string(*limit));
  m.sub("ext_item_size", "512");
  m.sub("ext_item_age", "4294967295");
  m.sub("ext_low_ttl", "0");
  m.sub("ext_recache_rate", "2000");
  // 0 in the simulator means what memcached resolves it to: a quarter of the pages.
  const std::string quarter = std::to_string(pages / 4);
  m.sub("ext_compact_under", quarter);
  m.sub("ext_drop_under", quarter);
  m.sub("ext_max_sleep", "1000000");
  m.sub("ext_max_frag", "0.80");
  m.sub("slab_automove_freeratio", "0.010");
  if (const auto d = m.need("ext_drop_unread"); d && *d == "yes") m.add_sub("ext_drop_unread");
}

}  // namespace

StatMap parse_stat_lines(std::string_view text) {
  StatMap out;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == "END") break;
    if (!line.starts_with("STAT ")) continue;
    line.remove_prefix(5);
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    out.emplace(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
  }
  return out;
}

ServerFlags server_flags(const StatMap& settings, const StatMap& stats,
                         std::string_view ext_path_name) {
  ServerFlags out;
  Mapper m(settings, stats, &out);
  for (const auto& [name, value] : settings) {
    if ((name.starts_with("ext_") && !listed(name, kKnownExt)) ||
        (name.starts_with("lru_") && !listed(name, kKnownLru))) {
      m.fail("the server reports " + name + " " + value +
             ", a setting the simulator does not model");
    }
  }
  map_slabs(m);
  map_lru(m);
  map_ext(m, ext_path_name, &out);
  m.finish();
  if (!out.error.empty()) out.flags.clear();
  return out;
}

}  // namespace memext
