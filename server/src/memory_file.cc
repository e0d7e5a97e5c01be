#include "memory_file.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "memext/restart.h"

namespace memext::server {
namespace {

std::string meta_path(const ServerConfig& config) {
  return config.ops.memory_file + ".meta";
}

std::string factor_text(double factor) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", factor);
  return buf;
}

// The settings a restart must match, in memcached's names and order.
std::vector<std::pair<std::string, std::string>> settings_lines(const EngineConfig& e) {
  return {{"slab_config", factor_text(e.growth_factor)},
          {"maxbytes", std::to_string(e.memory_limit)},
          {"chunk_size", std::to_string(e.chunk_min_size)},
          {"item_size_max", std::to_string(e.item_size_max)},
          {"slab_chunk_size_max", std::to_string(e.slab_chunk_max)},
          {"slab_page_size", std::to_string(e.slab_page_size)},
          {"use_cas", e.use_cas ? "true" : "false"},
          {"slab_reassign", e.slab_reassign ? "true" : "false"}};
}

bool parse_i64(const std::string& text, int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

void print_recovery(const char* what) {
  struct timeval tv {};
  ::gettimeofday(&tv, nullptr);
  // memcached prints the microseconds without zero padding.
  std::cerr << "[restart] recovery " << what << " [" << tv.tv_sec << "." << tv.tv_usec << "]\n";
}

// Reads the meta lines; nullopt (after printing why) when they do not allow
// a restart.
std::optional<RestartClock> read_meta(const ServerConfig& config, std::istream& in) {
  const char* clean = "[restart] failed to validate metadata, starting with a clean cache\n";
  std::string line;
  if (!std::getline(in, line)) {
    std::cerr << "[restart] Failed to read a tag from metadata file\n" << clean;
    return std::nullopt;
  }
  if (line != "Tmain") {
    const std::string tag = !line.empty() && line[0] == 'T' ? line.substr(1) : line;
    std::cerr << "[restart] internal handler for metadata tag not found: " << tag << ":\n"
              << "[restart] corrupt metadata file\n"
              << clean;
    return std::nullopt;
  }
  std::map<std::string, std::string> expected;
  for (auto& [key, value] : settings_lines(config.engine)) expected[key] = value;
  const std::map<std::string, bool> known_other = {
      {"current_time", true}, {"process_started", true}, {"stop_time", true},
      {"current_cas", false}, {"oldest_cas", false},     {"logger_gid", false},
      {"hashpower", false},   {"oldest_live", false},    {"mmap_oldbase", false}};
  std::map<std::string, std::string> seen;
  bool stopped = false;
  while (!stopped && std::getline(in, line)) {
    const size_t space = line.find(' ');
    if (line.size() < 2 || line[0] != 'K' || space == std::string::npos) {
      std::cerr << "[restart] invalid metadata line:\n\n" << line << "\n";
      stopped = true;
      break;
    }
    const std::string key = line.substr(1, space - 1);
    const std::string value = line.substr(space + 1);
    if (auto it = expected.find(key); it != expected.end()) {
      if (it->second != value) {
        std::cerr << "[restart] restart incompatible due to setting for [" << key
                  << "] [old value: " << value << "]\n";
        stopped = true;
        break;
      }
    } else if (auto other = known_other.find(key); other != known_other.end()) {
      int64_t number = 0;
      if (other->second && !parse_i64(value, number)) {
        std::cerr << "[restart] invalid metadata line:\n\n" << line << "\n";
        stopped = true;
        break;
      }
      // A clock that has not moved past the stop (or went back) would put
      // items in the future: memcached refuses the restart.
      if (key == "stop_time" && static_cast<int64_t>(std::time(nullptr)) <= number) {
        std::cerr << "[restart] restart incompatible due to setting for [stop_time] [old value: "
                  << value << "]\n";
        stopped = true;
        break;
      }
    } else {
      std::cerr << "[restart] unknown/unhandled key: " << key << "\n";
      continue;
    }
    seen[key] = value;
  }
  bool complete = !stopped;
  for (const auto& [key, value] : expected) complete = complete && seen.count(key) > 0;
  for (const auto& [key, required] : known_other) {
    complete = complete && (!required || seen.count(key) > 0);
  }
  if (!complete) {
    std::cerr << "[restart] missing some metadata lines\n" << clean;
    return std::nullopt;
  }
  RestartClock clock;
  parse_i64(seen["process_started"], clock.process_started);
  return clock;
}

}  // namespace

std::optional<RestartClock> check_memory_file(const ServerConfig& config) {
  const std::string& path = config.ops.memory_file;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0700);
  if (fd < 0) {
    throw ConfigError::memcached(
        std::string("failed to open file for mmap: ") + std::strerror(errno), 71);
  }
  // memcached opens FILE as the -u user; the stop writes it as that user.
  if (::geteuid() == 0 && !config.user.empty()) {
    if (const struct passwd* pw = ::getpwnam(config.user.c_str())) {
      if (::fchown(fd, pw->pw_uid, pw->pw_gid) != 0) {
        std::cerr << "[restart] cannot give " << path << " to " << config.user << ": "
                  << std::strerror(errno) << "\n";
      }
    }
  }
  ::close(fd);
  std::ifstream meta(meta_path(config));
  if (!meta) {
    std::cerr << "[restart] no metadata save file, starting with a clean cache\n";
    return std::nullopt;
  }
  std::optional<RestartClock> clock;
  if (config.engine.ext.enabled()) {
    std::cerr << "[restart] memory restart with extstore not presently supported.\n";
  } else {
    clock = read_meta(config, meta);
  }
  // Whatever it said, the meta file has served: a crash from here on must
  // not restore this snapshot again.
  ::unlink(meta_path(config).c_str());
  return clock;
}

void load_memory_file(const ServerConfig& config, Engine& engine) {
  if (config.verbose >= 1) print_recovery("start");
  std::ifstream in(config.ops.memory_file, std::ios::binary);
  LoadOutcome outcome;
  if (in) {
    outcome = load_items(engine, in);
  } else {
    outcome.error = std::strerror(errno);
  }
  if (!outcome.ok) {
    std::cerr << "[restart] memory file " << config.ops.memory_file << ": " << outcome.error
              << ", starting with a clean cache\n";
  } else if (outcome.no_memory > 0) {
    std::cerr << "[restart] " << outcome.no_memory << " items found no memory and were dropped\n";
  }
  if (config.verbose >= 1) print_recovery("end");
}

bool save_memory_file(const ServerConfig& config, const Engine& engine, rel_time_t now,
                      int64_t process_started) {
  const std::string& path = config.ops.memory_file;
  SaveOutcome saved;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (out) saved = save_items(engine, out);
    out.close();
    saved.ok = saved.ok && !out.fail();
  }
  if (!saved.ok) {
    std::cerr << "[restart] failed to write the memory file " << path << ": "
              << std::strerror(errno) << "\n";
    return false;
  }
  std::ostringstream meta;
  meta << "Tmain\n";
  for (const auto& [key, value] : settings_lines(config.engine)) {
    meta << "K" << key << " " << value << "\n";
  }
  const Stats st = engine.stats();
  meta << "Kcurrent_time " << now << "\n"
       << "Kprocess_started " << process_started << "\n"
       << "Kstop_time " << std::time(nullptr) << "\n"
       << "Kcurrent_cas " << saved.cas_id + 1 << "\n"
       << "Koldest_cas 0\n"
       << "Klogger_gid 1\n"
       << "Khashpower " << st.hash_power_level << "\n"
       << "Koldest_live 0\n";
  // Written aside and renamed: a meta file is either whole or absent.
  const std::string tmp = meta_path(config) + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << meta.str();
    out.close();
    if (out.fail()) {
      std::cerr << "[restart] failed to write " << tmp << ": " << std::strerror(errno) << "\n";
      ::unlink(tmp.c_str());
      return false;
    }
  }
  ::chmod(tmp.c_str(), 0600);
  if (::rename(tmp.c_str(), meta_path(config).c_str()) != 0) {
    std::cerr << "[restart] failed to write " << meta_path(config) << ": " << std::strerror(errno)
              << "\n";
    return false;
  }
  return true;
}

}  // namespace memext::server
