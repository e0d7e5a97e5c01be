#include "traces/watch_log.h"

#include <algorithm>

#include "traces/trace_key_hash.h"
#include "traces/trace_text.h"

namespace memext {

namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kHoldNs = kNsPerSecond;

WatchLine malformed(std::string field, std::string_view bad, std::string why) {
  WatchLine line;
  line.kind = WatchLineKind::kMalformed;
  line.field = std::move(field);
  line.bad = std::string(bad);
  line.why = std::move(why);
  return line;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// memcached's uriencode in reverse: %XX is a byte, anything else itself.
bool uri_decode(std::string_view text, std::string& out) {
  out.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return false;
    const int hi = hex_digit(text[i + 1]);
    const int lo = hex_digit(text[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return !out.empty();
}

// "SEC.USEC": logger.c prints tv_usec with %d, unpadded (".4321" is 4321 us).
bool parse_log_time(std::string_view text, uint64_t& ns) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return false;
  uint64_t seconds = 0;
  uint64_t micros = 0;
  if (!parse_int(text.substr(0, dot), seconds) || !parse_int(text.substr(dot + 1), micros)) {
    return false;
  }
  if (micros >= 1'000'000 || seconds > UINT64_MAX / kNsPerSecond - 1) return false;
  ns = seconds * kNsPerSecond + micros * 1000;
  return true;
}

struct Fields {
  std::string_view ts, gid, type, key, status, cmd, ttl, cfd, size;
};

Fields split_fields(std::string_view line) {
  Fields f;
  while (!line.empty()) {
    const size_t space = line.find(' ');
    const std::string_view token = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    const size_t eq = token.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = token.substr(0, eq);
    const std::string_view value = token.substr(eq + 1);
    if (name == "ts")
      f.ts = value;
    else if (name == "gid")
      f.gid = value;
    else if (name == "type" && f.type.empty())
      f.type = value;
    else if (name == "key")
      f.key = value;
    else if (name == "status")
      f.status = value;
    else if (name == "cmd")
      f.cmd = value;
    else if (name == "ttl")
      f.ttl = value;
    else if (name == "cfd")
      f.cfd = value;
    else if (name == "size")
      f.size = value;
  }
  return f;
}

bool store_op(std::string_view cmd, Op& op) {
  static constexpr std::pair<std::string_view, Op> kCmds[] = {
      {"set", Op::kSet},       {"add", Op::kAdd},         {"replace", Op::kReplace},
      {"append", Op::kAppend}, {"prepend", Op::kPrepend}, {"cas", Op::kCas}};
  for (const auto& [name, value] : kCmds) {
    if (cmd == name) {
      op = value;
      return true;
    }
  }
  return false;
}

bool one_of(std::string_view value, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

}  // namespace

WatchLine parse_watch_line(std::string_view line) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  WatchLine out;
  if (line == "OK") {
    out.kind = WatchLineKind::kOther;
    return out;
  }
  if (line.starts_with("skipped=")) {
    if (!parse_int(line.substr(8), out.skipped)) {
      return malformed("skipped", line.substr(8), "is not a count of lines");
    }
    out.kind = WatchLineKind::kSkipped;
    return out;
  }
  if (!line.starts_with("ts=")) {
    return malformed("(line)", line,
                     "is not a memcached watch log line (ts=... gid=... type=..., or skipped=N)");
  }
  const Fields f = split_fields(line);
  WatchEvent& e = out.event;
  if (!parse_log_time(f.ts, e.time_ns)) {
    return malformed("ts", f.ts, "is not SECONDS.MICROSECONDS");
  }
  if (!parse_int(f.gid, e.gid)) return malformed("gid", f.gid, "is not an unsigned integer");
  if (f.type != "item_get" && f.type != "item_store") {
    if (f.type.empty()) return malformed("type", f.type, "is missing");
    out.kind = WatchLineKind::kOther;
    return out;
  }
  e.store = f.type == "item_store";
  if (!uri_decode(f.key, e.key) || e.key.size() > 250) {
    return malformed("key", f.key, "is not a URI-encoded key of 1..250 bytes");
  }
  if (!parse_int(f.cfd, e.cfd)) return malformed("cfd", f.cfd, "is not an integer");
  if (!parse_int(f.size, e.size)) {
    return malformed("size", f.size, "is not an unsigned 32-bit integer");
  }
  if (e.store) {
    if (!store_op(f.cmd, e.op)) {
      return malformed("cmd", f.cmd,
                       "is not a storage command (allowed: set, add, replace, append, prepend, "
                       "cas)");
    }
    if (!one_of(f.status,
                {"stored", "not_stored", "exists", "not_found", "too_large", "no_memory"})) {
      return malformed("status", f.status,
                       "is not an item_store status (allowed: stored, not_stored, exists, "
                       "not_found, too_large, no_memory)");
    }
    uint32_t ttl = 0;
    if (!parse_int(f.ttl, ttl)) return malformed("ttl", f.ttl, "is not an unsigned 32-bit integer");
    // logger.c logs exptime - current_time as unsigned: past times wrap.
    e.ttl = ttl > INT32_MAX ? int64_t{-1} : int64_t{ttl};
  } else {
    if (!one_of(f.status, {"found", "not_found", "flushed", "expired"})) {
      return malformed("status", f.status,
                       "is not an item_get status (allowed: found, not_found, flushed, expired)");
    }
    e.found = f.status == "found";
    e.op = Op::kGet;
  }
  out.kind = WatchLineKind::kEvent;
  return out;
}

WatchAssembler::WatchAssembler(size_t max_events) : max_events_(max_events) {}

void WatchAssembler::add(WatchEvent event) {
  ++(event.store ? counts_.stores : counts_.gets);
  newest_ns_ = std::max(newest_ns_, event.time_ns);
  if (released_any_ && event.gid < released_gid_) ++counts_.out_of_order;
  by_gid_.push(std::move(event));
  release(false);
}

void WatchAssembler::finish() {
  release(true);
}

bool WatchAssembler::next(TraceRequest& out) {
  if (ready_.empty()) return false;
  out = ready_.front();
  ready_.pop_front();
  return true;
}

void WatchAssembler::release(bool all) {
  while (!by_gid_.empty() &&
         (all || by_gid_.size() > max_events_ || newest_ns_ - by_gid_.top().time_ns > kHoldNs)) {
    WatchEvent event = by_gid_.top();
    by_gid_.pop();
    released_gid_ = std::max(released_gid_, event.gid);
    released_any_ = true;
    order(std::move(event));
  }
  while (!held_.empty() && (all || held_.size() > max_events_ ||
                            newest_ns_ - held_.front().event.time_ns > kHoldNs)) {
    emit(held_.front());
    held_.pop_front();
    ++held_base_;
  }
}

void WatchAssembler::order(WatchEvent event) {
  const uint64_t index = held_base_ + held_.size();
  Held held;
  if (event.store) {
    const uint32_t full_size = event.size;
    // memcached ignores an append's exptime; the log shows the old item's.
    const bool concat = event.op == Op::kAppend || event.op == Op::kPrepend;
    if (concat) event.ttl = 0;
    if (auto it = last_get_by_cfd_.find(event.cfd);
        it != last_get_by_cfd_.end() && it->second >= held_base_) {
      Held& lookup = held_[it->second - held_base_];
      if (!lookup.dropped && lookup.event.key == event.key) {
        lookup.dropped = true;
        if (concat && lookup.event.found && event.size >= lookup.event.size) {
          event.size -= lookup.event.size;
        }
      }
      last_get_by_cfd_.erase(it);
    }
    if (auto it = unsized_by_key_.find(event.key); it != unsized_by_key_.end()) {
      for (uint64_t i : it->second) {
        if (i < held_base_) continue;
        Held& get = held_[i - held_base_];
        if (get.dropped || get.sized_later) continue;
        get.event.size = full_size;
        get.sized_later = true;
      }
      unsized_by_key_.erase(it);
    }
    last_size_[hash_key_bytes(event.key)] = full_size;
  } else {
    last_get_by_cfd_[event.cfd] = index;
    const uint64_t id = hash_key_bytes(event.key);
    if (event.found) {
      last_size_[id] = event.size;
    } else {
      if (auto it = last_size_.find(id); it != last_size_.end()) {
        held.has_earlier_size = true;
        held.earlier_size = it->second;
      }
      unsized_by_key_[event.key].push_back(index);
    }
  }
  held.event = std::move(event);
  held_.push_back(std::move(held));
}

void WatchAssembler::emit(Held& held) {
  const uint64_t index = held_base_;
  WatchEvent& e = held.event;
  if (!e.store) {
    if (auto it = last_get_by_cfd_.find(e.cfd);
        it != last_get_by_cfd_.end() && it->second == index) {
      last_get_by_cfd_.erase(it);
    }
    if (!e.found) {
      if (auto it = unsized_by_key_.find(e.key); it != unsized_by_key_.end()) {
        std::vector<uint64_t>& waiting = it->second;
        waiting.erase(
            std::remove_if(waiting.begin(), waiting.end(), [&](uint64_t i) { return i <= index; }),
            waiting.end());
        if (waiting.empty()) unsized_by_key_.erase(it);
      }
    }
  }
  if (held.dropped) {
    ++counts_.store_lookups;
    return;
  }
  if (!e.store && !e.found) {
    if (held.sized_later) {
      ++counts_.sized_by_later_store;
    } else if (held.has_earlier_size) {
      e.size = held.earlier_size;
      ++counts_.sized_by_earlier;
    } else {
      ++counts_.unsized_skipped;
      return;
    }
  }
  TraceRequest r;
  r.time_ns = e.time_ns;
  r.key_id = hash_key_bytes(e.key);
  r.key_size = static_cast<uint32_t>(e.key.size());
  r.value_size = e.size;
  r.ttl = e.store ? e.ttl : 0;
  r.op = e.op;
  ready_.push_back(r);
}

}  // namespace memext
