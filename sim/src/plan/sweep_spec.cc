#include "plan/sweep_spec.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <filesystem>
#include <set>

#include "memext/options.h"
#include "replay/sim_options.h"

namespace memext {

namespace {

constexpr size_t kMaxCells = 100000;

bool is_value_flag(std::string_view name) {
  return name == "m" || name == "I" || name == "f" || name == "n";
}
bool is_switch_flag(std::string_view name) {
  return name == "M" || name == "C";
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i != 0) text += sep;
    text += parts[i];
  }
  return text;
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(sep, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// Runs the replay's parser on args (the trace first), as `memext-sim replay` would.
std::string parse_replay_args(const std::vector<std::string>& args, SimOptions* options) {
  std::vector<const char*> argv{"replay"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  return parse_sim_options(static_cast<int>(argv.size()), argv.data(), options);
}

// The -o sub-option names the parsed flags set.
std::set<std::string> suboption_names(const SimOptions& options) {
  std::set<std::string> names;
  const auto& flags = options.memcached_flags;
  for (size_t i = 0; i + 1 < flags.size(); ++i) {
    if (flags[i] != "-o") continue;
    for (const auto& [name, value] : parse_suboptions(flags[i + 1])) names.insert(name);
  }
  return names;
}

bool has_short_flag(const SimOptions& options, std::string_view letter) {
  const std::string flag = "-" + std::string(letter);
  return std::find(options.memcached_flags.begin(), options.memcached_flags.end(), flag) !=
         options.memcached_flags.end();
}

bool has_replay_option(const std::vector<std::string>& args, std::string_view name) {
  const std::string flag = "--" + std::string(name);
  for (const std::string& a : args) {
    if (a == flag || a.starts_with(flag + "=")) return true;
  }
  return false;
}

// ext_path=FILE:SIZE[:BUCKET] with SIZE replaced.
std::string resize_ext_path(std::string_view value, std::string_view size) {
  const size_t first = value.find(':');
  if (first == std::string_view::npos) return std::string(value);
  const std::string_view rest = value.substr(first + 1);
  const size_t second = rest.find(':');
  std::string text = std::string(value.substr(0, first + 1)) + std::string(size);
  if (second != std::string_view::npos) text += rest.substr(second);
  return text;
}

// Rewrites every -o list in args so ext_path number i gets sizes[i] (or
// sizes[0] for all when one size is given).
std::vector<std::string> with_ext_path_sizes(const std::vector<std::string>& args,
                                             const std::vector<std::string>& sizes) {
  std::vector<std::string> out = args;
  size_t path_index = 0;
  auto rewrite = [&](std::string_view list) {
    std::vector<std::string> parts;
    for (auto& [name, value] : parse_suboptions(list)) {
      if (name == "ext_path") {
        const std::string& size = sizes[sizes.size() == 1 ? 0 : path_index];
        ++path_index;
        parts.push_back(name + "=" + resize_ext_path(value, size));
      } else {
        parts.push_back(value.empty() ? name : name + "=" + value);
      }
    }
    return join(parts, ",");
  };
  for (size_t i = 0; i < out.size(); ++i) {
    std::string& a = out[i];
    if ((a == "-o" || a == "--extended") && i + 1 < out.size()) {
      out[i + 1] = rewrite(out[i + 1]);
      ++i;
    } else if (a.starts_with("--extended=")) {
      a = "--extended=" + rewrite(std::string_view(a).substr(11));
    } else if (a.starts_with("-o") && !a.starts_with("--") && a.size() > 2) {
      a = "-o" + rewrite(std::string_view(a).substr(2));
    }
  }
  return out;
}

// The replay args an axis value adds (ext_path_size rewrites instead).
std::vector<std::string> axis_args(const SweepAxis& axis, const std::string& value) {
  if (is_value_flag(axis.name)) return {"-" + axis.name, value};
  if (is_switch_flag(axis.name))
    return value == "on" ? std::vector<std::string>{"-" + axis.name} : std::vector<std::string>{};
  if (axis.name == "sample") return {"--sample", value};
  return {"-o", axis.name + "=" + value};
}

// Checks an axis against the base flags: known name, no clash with a fixed
// flag, values of the right shape.
std::string check_axis(const SweepAxis& axis, const SimOptions& base,
                       const std::vector<std::string>& base_args) {
  const std::string& name = axis.name;
  const std::string grid = "--grid " + name;
  if (is_value_flag(name) || is_switch_flag(name)) {
    if (has_short_flag(base, name)) {
      return grid + ": -" + name + " is also given as a fixed flag; give it in one place only";
    }
    if (is_switch_flag(name)) {
      for (const std::string& v : axis.values) {
        if (v != "on" && v != "off") {
          return grid + ": value '" + v + "' is not allowed (allowed: on, off)";
        }
      }
    }
    return "";
  }
  if (name == "sample") {
    if (has_replay_option(base_args, "sample")) {
      return grid + ": --sample is also given as a fixed option; give it in one place only";
    }
    return "";
  }
  if (name == "ext_path_size") {
    const size_t paths = base.engine.ext.paths.size();
    if (paths == 0) {
      return grid + " needs a flash tier to resize: add -o ext_path=FILE:SIZE to the flags";
    }
    for (const std::string& v : axis.values) {
      const std::vector<std::string> sizes = split(v, '/');
      if (sizes.size() != 1 && sizes.size() != paths) {
        return grid + ": value '" + v + "' gives " + std::to_string(sizes.size()) + " sizes for " +
               std::to_string(paths) +
               " ext_paths (allowed: one SIZE for every ext_path, or SIZE/SIZE/... one each)";
      }
      for (const std::string& s : sizes) {
        uint64_t bytes = 0;
        if (!parse_size_with_unit(s, bytes) || bytes == 0) {
          return grid + ": value '" + v +
                 "' is not a size (allowed: a size > 0 like 64m, 10g, "
                 "2t, units k/m/g/t/p)";
        }
      }
    }
    return "";
  }
  if (name == "ext_path") {
    return "--grid ext_path: sweep the flash size with ext_path_size=SIZE,... (the file stays "
           "as given in -o ext_path=FILE:SIZE)";
  }
  EngineConfig probe;
  if (apply_memcached_option(probe, name, axis.values.front()).status ==
      OptionStatus::kUnknownOption) {
    return "--grid '" + name + "' is not a grid axis (allowed: " + sweep_axis_names_help() + ")";
  }
  if (suboption_names(base).count(name) != 0) {
    return grid + ": -o " + name + " is also given as a fixed flag; give it in one place only";
  }
  return "";
}

std::string describe_flags(const std::vector<std::pair<std::string, std::string>>& flags) {
  std::string text;
  for (const auto& [name, value] : flags) {
    if (!text.empty()) text += " ";
    text += name + "=" + value;
  }
  return text;
}

}  // namespace

std::string parse_grid_option(std::string_view text, SweepAxis* out) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return "--grid '" + std::string(text) +
           "' is not NAME=v1,v2,... (NAME one of: " + sweep_axis_names_help() + ")";
  }
  out->name = std::string(text.substr(0, eq));
  out->values = split(text.substr(eq + 1), ',');
  std::set<std::string> seen;
  for (const std::string& v : out->values) {
    if (v.empty()) {
      return "--grid '" + std::string(text) +
             "' has an empty value (give NAME=v1,v2,... with every value non-empty)";
    }
    if (!seen.insert(v).second) {
      return "--grid '" + std::string(text) + "' gives value '" + v + "' twice";
    }
  }
  return "";
}

std::string sweep_axis_names_help() {
  return "a memcached flag letter m, I, f, n (values as memcached takes them) or M, C (values "
         "on, off); an -o option name such as ext_item_age, ext_low_ttl, ext_recache_rate, "
         "ext_max_frag, ext_compact_under, ext_drop_under, ext_item_size, ext_page_size, "
         "ext_wbuf_size, hot_lru_pct, slab_chunk_max; ext_path_size (the size of every "
         "ext_path, or SIZE/SIZE/... one per ext_path); sample (the replay's --sample)";
}

std::string build_sweep_spec(const std::string& trace, const std::vector<std::string>& base_args,
                             const std::vector<SweepAxis>& axes, SweepSpec* out) {
  assert(out != nullptr);
  if (axes.empty()) return "no --grid given (give at least one --grid NAME=v1,v2,...)";
  for (const std::string& a : base_args) {
    if (a == "--out" || a.starts_with("--out=")) {
      return "--out names the sweep directory; each cell writes DIR/cells/<id>/report.json";
    }
  }
  out->trace = std::filesystem::absolute(trace).lexically_normal().string();
  out->base_args = base_args;
  out->axes = axes;
  out->cells.clear();

  std::vector<std::string> trace_and_base{out->trace};
  trace_and_base.insert(trace_and_base.end(), base_args.begin(), base_args.end());
  SimOptions base;
  if (const std::string error = parse_replay_args(trace_and_base, &base); !error.empty()) {
    return "the replay flags are rejected: " + error;
  }
  std::set<std::string> names;
  size_t cells = 1;
  for (const SweepAxis& axis : axes) {
    assert(!axis.values.empty());
    if (!names.insert(axis.name).second) return "--grid " + axis.name + " is given twice";
    if (const std::string error = check_axis(axis, base, base_args); !error.empty()) return error;
    cells *= axis.values.size();
    if (cells > kMaxCells) {
      return "the grid has more than " + std::to_string(kMaxCells) + " cells; split the sweep";
    }
  }

  auto cell_args = [&](const std::vector<std::pair<std::string, std::string>>& flags) {
    std::vector<std::string> args = trace_and_base;
    for (size_t a = 0; a < axes.size(); ++a) {
      if (axes[a].name == "ext_path_size")
        args = with_ext_path_sizes(args, split(flags[a].second, '/'));
    }
    for (size_t a = 0; a < axes.size(); ++a) {
      if (axes[a].name == "ext_path_size") continue;
      for (std::string& extra : axis_args(axes[a], flags[a].second))
        args.push_back(std::move(extra));
    }
    return args;
  };

  // Each value alone first, so a bad value is named as such.
  for (const SweepAxis& axis : axes) {
    for (const std::string& value : axis.values) {
      std::vector<std::string> args = trace_and_base;
      if (axis.name == "ext_path_size") {
        args = with_ext_path_sizes(args, split(value, '/'));
      } else {
        for (std::string& extra : axis_args(axis, value)) args.push_back(std::move(extra));
      }
      SimOptions probe;
      if (const std::string error = parse_replay_args(args, &probe); !error.empty()) {
        return "--grid " + axis.name + ": value '" + value + "' is rejected by replay: " + error;
      }
    }
  }

  const size_t width = std::max<size_t>(4, std::to_string(cells - 1).size());
  std::vector<size_t> digit(axes.size(), 0);
  for (size_t n = 0; n < cells; ++n) {
    SweepCell cell;
    std::string number = std::to_string(n);
    cell.id = "c" + std::string(width - number.size(), '0') + number;
    for (size_t a = 0; a < axes.size(); ++a) {
      cell.flags.emplace_back(axes[a].name, axes[a].values[digit[a]]);
    }
    cell.args = cell_args(cell.flags);
    SimOptions probe;
    if (const std::string error = parse_replay_args(cell.args, &probe); !error.empty()) {
      return "cell " + cell.id + " (" + describe_flags(cell.flags) +
             ") is rejected by replay: " + error;
    }
    out->cells.push_back(std::move(cell));
    for (size_t a = axes.size(); a-- > 0;) {
      if (++digit[a] < axes[a].values.size()) break;
      digit[a] = 0;
    }
  }
  return "";
}

nlohmann::json sweep_spec_to_json(const SweepSpec& spec) {
  nlohmann::json axes = nlohmann::json::array();
  for (const SweepAxis& axis : spec.axes) {
    axes.push_back({{"name", axis.name}, {"values", axis.values}});
  }
  nlohmann::json cells = nlohmann::json::array();
  for (const SweepCell& cell : spec.cells) {
    nlohmann::json flags = nlohmann::json::object();
    for (const auto& [name, value] : cell.flags) flags[name] = value;
    cells.push_back({{"id", cell.id}, {"args", cell.args}, {"flags", flags}});
  }
  return {{"schema", kSweepSpecSchema},
          {"trace", spec.trace},
          {"base_args", spec.base_args},
          {"axes", axes},
          {"cells", cells}};
}

std::string sweep_spec_from_json(const nlohmann::json& json, SweepSpec* out) {
  try {
    if (json.value("schema", "") != kSweepSpecSchema) {
      return "not a sweep spec (schema is not " + std::string(kSweepSpecSchema) + ")";
    }
    out->trace = json.at("trace").get<std::string>();
    out->base_args = json.at("base_args").get<std::vector<std::string>>();
    out->axes.clear();
    for (const auto& axis : json.at("axes")) {
      out->axes.push_back(
          {axis.at("name").get<std::string>(), axis.at("values").get<std::vector<std::string>>()});
    }
    out->cells.clear();
    for (const auto& cell : json.at("cells")) {
      SweepCell c;
      c.id = cell.at("id").get<std::string>();
      c.args = cell.at("args").get<std::vector<std::string>>();
      for (const SweepAxis& axis : out->axes) {
        c.flags.emplace_back(axis.name, cell.at("flags").at(axis.name).get<std::string>());
      }
      out->cells.push_back(std::move(c));
    }
  } catch (const nlohmann::json::exception& e) {
    return std::string("malformed sweep spec: ") + e.what();
  }
  return "";
}

}  // namespace memext
