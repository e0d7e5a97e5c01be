// memcached 1.6.18's option spellings and checks (memcached.c main() and
// storage.c storage_read_config), as tried against the Debian binary.
#include "memext/options.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

#include "memext/slabs.h"

namespace memext {

namespace {

OptionResult invalid(std::string_view name, std::string_view value, std::string_view allowed) {
  OptionResult r;
  r.status = OptionStatus::kInvalidValue;
  r.error = "invalid value '" + std::string(value) + "' for option " + std::string(name) + ": " +
            std::string(allowed);
  return r;
}

// memcached refuses the same number too: its line and exit status. (A value
// that is no number keeps memext's message, which names it; memcached reads
// such text as 0 and prints a line about some other setting.)
OptionResult as_memcached(OptionResult r, std::string line, int exit_status) {
  r.memcached_line = std::move(line);
  r.memcached_exit_status = exit_status;
  return r;
}

OptionResult applied() {
  return {};
}

bool parse_u64(std::string_view text, uint64_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool parse_u32(std::string_view text, uint32_t& out) {
  uint64_t v = 0;
  if (!parse_u64(text, v) || v > UINT32_MAX) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

bool parse_double(std::string_view text, double& out) {
  if (text.empty()) return false;
  const std::string copy(text);
  char* end = nullptr;
  out = std::strtod(copy.c_str(), &end);
  // nan and inf pass every range check written as `v <= limit` and then
  // divide by zero in the slab class table; no option means them.
  return end == copy.c_str() + copy.size() && std::isfinite(out);
}

OptionResult parse_ext_path(ExtConfig& ext, std::string_view value) {
  const std::string_view allowed =
      "expected FILE:SIZE[:BUCKET] with SIZE like 64m, 10g, 2t (units k/m/g/t/p) and BUCKET "
      "one of default, compact, chunked, lowttl";
  const size_t first = value.find(':');
  if (first == std::string_view::npos || first == 0) return invalid("ext_path", value, allowed);
  ExtPathConfig path;
  path.path = std::string(value.substr(0, first));
  std::string_view rest = value.substr(first + 1);
  const size_t second = rest.find(':');
  const std::string_view size_text = rest.substr(0, second);
  if (!parse_size_with_unit(size_text, path.size_bytes) || path.size_bytes == 0) {
    return invalid("ext_path", value, allowed);
  }
  if (second != std::string_view::npos) {
    const std::string_view bucket = rest.substr(second + 1);
    if (bucket != "default" && bucket != "compact" && bucket != "chunked" && bucket != "lowttl") {
      return invalid("ext_path", value, allowed);
    }
    path.bucket = std::string(bucket);
  }
  ext.paths.push_back(std::move(path));
  return applied();
}

OptionResult apply_ext_option(ExtConfig& ext, std::string_view name, std::string_view value) {
  const std::string_view count = "expected a non-negative integer";
  if (name == "ext_path") return parse_ext_path(ext, value);
  if (name == "ext_page_size" || name == "ext_wbuf_size") {
    uint32_t mb = 0;
    if (!parse_u32(value, mb) || mb == 0 || mb > 4096) {
      return invalid(name, value, "expected a size in megabytes, 1..4096");
    }
    (name == "ext_page_size" ? ext.page_size : ext.wbuf_size) = uint64_t{mb} << 20;
    return applied();
  }
  struct U32Option {
    std::string_view name;
    uint32_t ExtConfig::*field;
  };
  static constexpr U32Option kU32Options[] = {
      {"ext_threads", &ExtConfig::threads},
      {"ext_io_depth", &ExtConfig::io_depth},
      {"ext_item_size", &ExtConfig::item_size},
      {"ext_item_age", &ExtConfig::item_age},
      {"ext_low_ttl", &ExtConfig::low_ttl},
      {"ext_recache_rate", &ExtConfig::recache_rate},
      {"ext_compact_under", &ExtConfig::compact_under},
      {"ext_drop_under", &ExtConfig::drop_under},
      {"ext_max_sleep", &ExtConfig::max_sleep_us},
  };
  for (const U32Option& option : kU32Options) {
    if (name == option.name) {
      uint32_t v = 0;
      if (!parse_u32(value, v)) return invalid(name, value, count);
      ext.*option.field = v;
      return applied();
    }
  }
  if (name == "ext_max_frag" || name == "slab_automove_freeratio") {
    double v = 0;
    if (!parse_double(value, v) || v < 0 || v > 1) {
      return invalid(name, value, "expected a ratio between 0 and 1");
    }
    (name == "ext_max_frag" ? ext.max_frag : ext.slab_automove_freeratio) = v;
    return applied();
  }
  if (name == "ext_drop_unread") {
    ext.drop_unread = true;
    return applied();
  }
  if (name == "ext_frag_policy") {
    if (value == "slewed") {
      ext.frag_policy = ExtFragPolicy::kSlewed;
    } else if (value == "fixed") {
      ext.frag_policy = ExtFragPolicy::kFixed;
    } else {
      return invalid(name, value, "expected slewed or fixed");
    }
    return applied();
  }
  OptionResult r;
  r.status = OptionStatus::kUnknownOption;
  r.error = "unknown option " + std::string(name);
  return r;
}

}  // namespace

bool parse_size_with_unit(std::string_view text, uint64_t& bytes) {
  if (text.empty()) return false;
  uint64_t shift = 0;
  const char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(text.back())));
  switch (unit) {
    case 'k':
      shift = 10;
      break;
    case 'm':
      shift = 20;
      break;
    case 'g':
      shift = 30;
      break;
    case 't':
      shift = 40;
      break;
    case 'p':
      shift = 50;
      break;
    default:
      break;
  }
  if (shift != 0) text.remove_suffix(1);
  uint64_t number = 0;
  if (!parse_u64(text, number)) return false;
  if (shift != 0 && number > (UINT64_MAX >> shift)) return false;
  bytes = number << shift;
  return true;
}

std::vector<std::pair<std::string, std::string>> parse_suboptions(std::string_view csv) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!csv.empty()) {
    const size_t comma = csv.find(',');
    const std::string_view item = csv.substr(0, comma);
    if (!item.empty()) {
      const size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(std::string(item), std::string());
      } else {
        out.emplace_back(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
      }
    }
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
  }
  return out;
}

OptionResult apply_memcached_option(EngineConfig& config, std::string_view name,
                                    std::string_view value) {
  if (name == "m" || name == "memory-limit") {
    uint64_t mb = 0;
    const bool number = parse_u64(value, mb);
    if (!number || mb == 0 || mb > (uint64_t{1} << 40)) {
      if (!number || mb != 0) {
        return invalid(name, value, "expected item memory in megabytes, a positive integer");
      }
      return as_memcached(
          invalid(name, value, "expected item memory in megabytes, a positive integer"),
          "Cannot set item size limit higher than 1/2 of memory max.", 64);
    }
    config.memory_limit = mb << 20;
    return applied();
  }
  if (name == "M" || name == "disable-evictions") {
    config.evict_to_free = false;
    return applied();
  }
  if (name == "C" || name == "disable-cas") {
    config.use_cas = false;
    return applied();
  }
  if (name == "f" || name == "slab-growth-factor") {
    double f = 0;
    const bool number = parse_double(value, f);
    if (!number || f <= 1.0) {
      OptionResult r = invalid(name, value, "growth factor must be a number greater than 1");
      if (!number) return r;
      return as_memcached(std::move(r), "Factor must be greater than 1", 1);
    }
    config.growth_factor = f;
    return applied();
  }
  if (name == "n" || name == "slab-min-size") {
    uint32_t n = 0;
    const bool number = parse_u32(value, n);
    if (!number || n == 0 || n > (1u << 20)) {
      OptionResult r = invalid(name, value, "chunk size must be an integer greater than 0");
      if (!number || n != 0) return r;
      return as_memcached(std::move(r), "Chunk size must be greater than 0", 1);
    }
    config.chunk_min_size = n;
    return applied();
  }
  if (name == "I" || name == "max-item-size") {
    uint64_t bytes = 0;
    const bool number = parse_size_with_unit(value, bytes);
    if (!number || bytes < 1024 || bytes > (uint64_t{1} << 30)) {
      OptionResult r = invalid(name, value, "expected a size from 1k to 1024m (units k, m)");
      if (!number || bytes >= 1024) return r;
      return as_memcached(std::move(r), "Item max size cannot be less than 1024 bytes.", 64);
    }
    config.item_size_max = static_cast<uint32_t>(bytes);
    return applied();
  }
  if (name == "slab_chunk_max") {
    // memcached 1.6.18 reads this in bytes, whatever its -h text says.
    uint32_t bytes = 0;
    if (!parse_u32(value, bytes) || bytes == 0) {
      return invalid(name, value, "expected the largest chunk size in bytes");
    }
    config.slab_chunk_max = bytes;
    return applied();
  }
  if (name == "hot_lru_pct" || name == "warm_lru_pct") {
    uint32_t pct = 0;
    const bool number = parse_u32(value, pct);
    if (!number || pct < 1 || pct >= 80) {
      if (!number) return invalid(name, value, "must be > 1 and < 80");
      return as_memcached(invalid(name, value, "must be > 1 and < 80"),
                          std::string(name) + " must be > 1 and < 80", 1);
    }
    (name == "hot_lru_pct" ? config.hot_lru_pct : config.warm_lru_pct) = pct;
    return applied();
  }
  if (name == "hot_max_factor" || name == "warm_max_factor") {
    double f = 0;
    const bool number = parse_double(value, f);
    if (!number || f <= 0) {
      if (!number) return invalid(name, value, "must be a number > 0");
      return as_memcached(invalid(name, value, "must be a number > 0"),
                          std::string(name) + " must be > 0", 1);
    }
    (name == "hot_max_factor" ? config.hot_max_factor : config.warm_max_factor) = f;
    return applied();
  }
  if (name == "temporary_ttl") {
    uint32_t ttl = 0;
    if (!parse_u32(value, ttl)) return invalid(name, value, "expected seconds, an integer >= 0");
    config.temp_lru = true;
    config.temporary_ttl = ttl;
    return applied();
  }
  if (name == "lru_maintainer") {
    config.lru_maintainer = true;
    config.lru_segmented = true;
    return applied();
  }
  if (name == "no_lru_maintainer") {
    config.lru_maintainer = false;
    config.lru_segmented = false;
    return applied();
  }
  if (name == "lru_segmented") {
    config.lru_segmented = true;
    return applied();
  }
  if (name == "no_lru_segmented") {
    config.lru_segmented = false;
    return applied();
  }
  if (name == "slab_reassign" || name == "no_slab_reassign") {
    config.slab_reassign = name == "slab_reassign";
    return applied();
  }
  if (name == "slab_automove") {
    // memcached: a bare "slab_automove" means mode 1.
    uint32_t mode = 1;
    if ((!value.empty() && !parse_u32(value, mode)) || mode > 2) {
      return invalid(name, value, "slab_automove must be between 0 and 2");
    }
    config.slab_automove = mode;
    return applied();
  }
  if (name == "slab_automove_ratio") {
    double ratio = 0;
    if (!parse_double(value, ratio) || ratio <= 0 || ratio > 1) {
      return invalid(name, value, "slab_automove_ratio must be > 0 and < 1");
    }
    config.slab_automove_ratio = ratio;
    return applied();
  }
  if (name == "slab_automove_window") {
    uint32_t window = 0;
    if (!parse_u32(value, window) || window < 3) {
      return invalid(name, value, "slab_automove_window must be > 2");
    }
    config.slab_automove_window = window;
    return applied();
  }
  if (name == "lru_crawler" || name == "no_lru_crawler") {
    config.lru_crawler = name == "lru_crawler";
    return applied();
  }
  if (name == "lru_crawler_sleep") {
    uint32_t micros = 0;
    if (!parse_u32(value, micros) || micros > 1'000'000) {
      return invalid(name, value, "LRU crawler sleep must be between 0 and 1 second (0..1000000)");
    }
    config.lru_crawler_sleep = micros;
    return applied();
  }
  if (name == "lru_crawler_tocrawl") {
    uint32_t items = 0;
    if (!parse_u32(value, items)) {
      return invalid(name, value, "lru_crawler_tocrawl takes a numeric 32bit value");
    }
    config.lru_crawler_tocrawl = items;
    return applied();
  }
  if (name == "modern") return applied();
  if (name == "no_modern") {
    config.lru_segmented = false;
    config.lru_maintainer = false;
    config.slab_reassign = false;
    config.slab_automove = 0;
    config.lru_crawler = false;
    // 1.4's slab classes: no chunked items below a full page.
    config.slab_chunk_max = config.slab_page_size;
    return applied();
  }
  if (name == "phantom") {
    config.phantom = true;
    return applied();
  }
  if (name.starts_with("ext_") || name == "slab_automove_freeratio") {
    return apply_ext_option(config.ext, name, value);
  }
  OptionResult r;
  r.status = OptionStatus::kUnknownOption;
  r.error = "unknown option " + std::string(name);
  return r;
}

OptionResult apply_memcached_suboptions(EngineConfig& config, std::string_view csv) {
  for (const auto& [name, value] : parse_suboptions(csv)) {
    OptionResult r = apply_memcached_option(config, name, value);
    if (!r.ok()) return r;
  }
  return applied();
}

ConfigProblem check_config(const EngineConfig& c) {
  auto num = [](uint64_t v) { return std::to_string(v); };
  // memcached prints these in its own words; memext's say which values clash.
  auto refused = [](std::string message, std::string memcached_line, int status) {
    return ConfigProblem{std::move(message), std::move(memcached_line), status};
  };
  // Where memcached's words are already the message.
  auto same = [&](std::string message, int status) {
    std::string line = message;
    return refused(std::move(message), std::move(line), status);
  };
  if (!(c.growth_factor > 1.0) || !std::isfinite(c.growth_factor)) {
    return refused("growth factor (-f) must be greater than 1", "Factor must be greater than 1", 1);
  }
  if (c.chunk_min_size == 0) {
    return refused("chunk size (-n) must be greater than 0", "Chunk size must be greater than 0",
                   1);
  }
  if (c.item_size_max < 1024) {
    return refused("item max size (-I) cannot be less than 1024 bytes",
                   "Item max size cannot be less than 1024 bytes.", 64);
  }
  if (c.memory_limit != 0 && c.item_size_max > c.memory_limit / 2) {
    return refused("item max size (-I " + num(c.item_size_max) +
                       ") cannot be higher than 1/2 of the memory limit (-m " +
                       num(c.memory_limit) + " bytes)",
                   "Cannot set item size limit higher than 1/2 of memory max.", 64);
  }
  if (c.slab_chunk_max > c.item_size_max) {
    return same("slab_chunk_max (bytes: " + num(c.slab_chunk_max) +
                    ") cannot be larger than -I (item_size_max " + num(c.item_size_max) + ")",
                64);
  }
  if (c.item_size_max % c.slab_chunk_max != 0) {
    return same(
        "-I (item_size_max: " + num(c.item_size_max) +
            ") must be evenly divisible by slab_chunk_max (bytes: " + num(c.slab_chunk_max) + ")",
        64);
  }
  if (c.slab_page_size % c.slab_chunk_max != 0) {
    // memcached's page size is fixed, and the -I check above comes first.
    return {"slab_chunk_max (bytes: " + num(c.slab_chunk_max) + ") must divide evenly into " +
                num(c.slab_page_size) + " (slab_page_size)",
            {},
            0};
  }
  if (c.hot_lru_pct < 1 || c.hot_lru_pct >= 80) return same("hot_lru_pct must be > 1 and < 80", 1);
  if (c.warm_lru_pct < 1 || c.warm_lru_pct >= 80) {
    return same("warm_lru_pct must be > 1 and < 80", 1);
  }
  if (c.hot_lru_pct + c.warm_lru_pct > 80) {
    return same("hot_lru_pct + warm_lru_pct cannot be more than 80% combined", 64);
  }
  if (c.hot_max_factor <= 0) return same("hot_max_factor must be > 0", 1);
  if (c.warm_max_factor <= 0) return same("warm_max_factor must be > 0", 1);
  if (c.ext.enabled() && c.item_size_max > c.ext.wbuf_size) {
    return same("-I (item_size_max: " + num(c.item_size_max) +
                    ") cannot be larger than ext_wbuf_size: " + num(c.ext.wbuf_size),
                64);
  }
  if (c.slab_prealloc && c.memory_limit != 0) {
    const SlabClassTable classes(c);
    if (classes.prealloc_bytes() > c.memory_limit) {
      // memcached names the class count as the megabytes needed.
      return refused(
          "preallocating a slab page for each of the " + num(classes.largest()) +
              " slab classes (-L, -e) takes " + num(classes.prealloc_bytes()) +
              " bytes, more than -m (" + num(c.memory_limit) + " bytes)",
          "Error while preallocating slab memory!\nIf using -L or other prealloc options, max "
          "memory must be at least " +
              num(classes.largest()) + " megabytes.",
          1);
    }
  }
  return {};
}

std::string validate_config(const EngineConfig& c) {
  return check_config(c).message;
}

}  // namespace memext
