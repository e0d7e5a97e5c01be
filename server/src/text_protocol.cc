#include "text_protocol.h"

#include <mutex>

#include "engine_store.h"
#include "lock_holds.h"
#include "memext/slabs.h"
#include "parse_util.h"
#include "verbose_log.h"

namespace memext::server {
namespace {

void append_value_line(std::string& out, std::string_view key, const ItemInfo& info,
                       bool return_cas) {
  out.append("VALUE ");
  out.append(key);
  out.push_back(' ');
  append_uint(out, info.client_flags);
  out.push_back(' ');
  append_uint(out, info.value_len);
  if (return_cas) {
    out.push_back(' ');
    append_uint(out, info.cas);
  }
  out.append("\r\n");
}

}  // namespace

bool last_token_is_noreply(const Tokens& t) {
  return !t.empty() && t.back() == "noreply";
}

void text_get(Session& s, const Tokens& t, bool return_cas, bool touch) {
  GetOptions options;
  size_t first_key = 1;
  if (touch) {
    int32_t exptime = 0;
    if (!parse_int32(t[1], exptime)) {
      s.reply("CLIENT_ERROR invalid exptime argument\r\n");
      return;
    }
    options.touch = true;
    options.exptime = exptime;
    first_key = 2;
  }
  for (size_t i = first_key; i < t.size(); ++i) {
    if (t[i].size() > kKeyMaxLength) {
      // memcached drops what it had stacked for this command.
      s.reply("CLIENT_ERROR bad command line format\r\n");
      return;
    }
  }
  const Op trace_op =
      touch ? (return_cas ? Op::kGats : Op::kGat) : (return_cas ? Op::kGets : Op::kGet);
  SharedEngine& shared = s.ctx().engine;
  const bool verbose = s.ctx().verbosity.load(std::memory_order_relaxed) >= 2;
  // One lock acquisition per key, as memcached takes one item lock per key.
  for (size_t i = first_key; i < t.size(); ++i) {
    std::string_view key = t[i];
    // Each further key takes a response object of its own, as in memcached.
    if (i > first_key && !s.start_response()) {
      s.fail_get_out_of_memory();
      return;
    }
    s.begin_key_message(i == first_key);
    uint32_t found_size = 0;
    fetch_and_use(shared, key, options, s.recache_counter(), [&](Fetch& f) {
      s.ctx().prefix_stats.record_get(key, f.kind != FetchKind::kMiss);
      if (f.kind == FetchKind::kMiss) return;
      found_size = f.info.value_len;
      if (verbose) log_sending_key(s.log_id(), key);
      if (f.kind == FetchKind::kValue) {
        std::string& out = s.responses().text();
        append_value_line(out, key, f.info, return_cas);
        out.append(f.value);
        out.append("\r\n");
        return;
      }
      PendingFlashRead& read = *f.pending;
      append_value_line(read.prefix, key, f.info, return_cas);
      read.suffix = "\r\n";
      read.slot = &s.responses().reserve();
      s.queue_flash_read(std::move(f.pending));
    });
    s.ctx().recorder.record(trace_op, key, found_size, touch ? options.exptime : 0);
  }
  s.responses().append("END\r\n");
  if (verbose) log_reply_line(s.log_id(), "END");
  s.respond_at_once();
}

size_t text_store(Session& s, const Tokens& t, StoreMode mode, std::string_view rest) {
  const bool cas_command = mode == StoreMode::kCas;
  s.set_noreply(last_token_is_noreply(t));
  std::string_view key = t[1];
  if (key.size() > kKeyMaxLength) {
    s.reply("CLIENT_ERROR bad command line format\r\n");
    return 0;
  }
  uint32_t flags = 0;
  int32_t exptime = 0;
  int32_t vlen = 0;
  uint64_t cas = 0;
  if (!(parse_uint32(t[2], flags) && parse_int32(t[3], exptime) && parse_int32(t[4], vlen))) {
    s.reply("CLIENT_ERROR bad command line format\r\n");
    return 0;
  }
  if (cas_command && !parse_uint64(t[5], cas)) {
    s.reply("CLIENT_ERROR bad command line format\r\n");
    return 0;
  }
  if (vlen < 0 || vlen > INT32_MAX - 2) {
    s.reply("CLIENT_ERROR bad command line format\r\n");
    return 0;
  }
  const size_t data_len = static_cast<size_t>(vlen) + 2;
  ServerContext& ctx = s.ctx();
  ctx.prefix_stats.record_set(key);
  const EngineConfig& config = ctx.engine.engine.config();
  uint64_t total = item_total_size(static_cast<uint32_t>(key.size()),
                                   static_cast<uint32_t>(data_len), flags, config.use_cas);
  if (ctx.engine.engine.slab_classes().clsid(total) == 0) {
    ctx.recorder.record(store_op(mode), key, static_cast<uint32_t>(vlen), exptime);
    s.reply("SERVER_ERROR object too large for cache\r\n");
    ctx.counters.store_too_large.fetch_add(1, std::memory_order_relaxed);
    s.swallow(data_len);
    // A failed set must not leave the old value visible (memcached unlinks it).
    if (mode == StoreMode::kSet) {
      std::lock_guard lock(ctx.engine.mutex);
      ctx.engine.engine.unlink(key);
    }
    return 0;
  }
  s.trace().value_wanted();
  if (rest.size() < data_len) {
    s.want_data(data_len);
    return Session::kNeedMore;
  }
  if (rest[data_len - 2] != '\r' || rest[data_len - 1] != '\n') {
    s.reply("CLIENT_ERROR bad data chunk\r\n");
    return data_len;
  }
  ctx.recorder.record(store_op(mode), key, static_cast<uint32_t>(vlen), exptime);
  StoreRequest request;
  request.mode = mode;
  request.key = key;
  request.value = rest.substr(0, static_cast<size_t>(vlen));
  request.value_len = static_cast<uint32_t>(vlen);
  request.client_flags = flags;
  request.exptime = exptime;
  request.cas = cas;
  const StoreOutcome outcome = store_on_engine(ctx.engine, request);
  switch (outcome.result) {
    case StoreResult::kStored:
      s.reply("STORED\r\n");
      break;
    case StoreResult::kNotStored:
      s.reply("NOT_STORED\r\n");
      break;
    case StoreResult::kExists:
      s.reply("EXISTS\r\n");
      break;
    case StoreResult::kNotFound:
      s.reply("NOT_FOUND\r\n");
      break;
    case StoreResult::kTooLarge:
      ctx.counters.store_too_large.fetch_add(1, std::memory_order_relaxed);
      s.reply("SERVER_ERROR object too large for cache\r\n");
      break;
    case StoreResult::kOutOfMemory:
      ctx.counters.store_no_memory.fetch_add(1, std::memory_order_relaxed);
      s.reply("SERVER_ERROR out of memory storing object\r\n");
      break;
  }
  return data_len;
}

void text_delta(Session& s, const Tokens& t, bool incr) {
  s.set_noreply(last_token_is_noreply(t));
  std::string_view key = t[1];
  if (key.size() > kKeyMaxLength) {
    s.reply("CLIENT_ERROR bad command line format\r\n");
    return;
  }
  uint64_t delta = 0;
  if (!parse_uint64(t[2], delta)) {
    s.reply("CLIENT_ERROR invalid numeric delta argument\r\n");
    return;
  }
  s.ctx().recorder.record(incr ? Op::kIncr : Op::kDecr, key, 0, 0);
  DeltaOutcome outcome;
  {
    SharedEngine& shared = s.ctx().engine;
    std::lock_guard lock(shared.mutex);
    outcome = incr ? shared.engine.incr(key, delta) : shared.engine.decr(key, delta);
  }
  switch (outcome.result) {
    case DeltaResult::kOk: {
      if (s.noreply()) break;
      std::string& out = s.responses().text();
      append_uint(out, outcome.value);
      out.append("\r\n");
      break;
    }
    case DeltaResult::kNotFound:
      s.reply("NOT_FOUND\r\n");
      break;
    case DeltaResult::kNonNumeric:
      s.reply("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
      break;
    case DeltaResult::kExists:
      s.reply("EXISTS\r\n");
      break;
    case DeltaResult::kOutOfMemory:
      s.reply("SERVER_ERROR out of memory\r\n");
      break;
  }
}

void text_delete(Session& s, const Tokens& t) {
  s.set_noreply(last_token_is_noreply(t));
  // memcached allows "delete <key> 0" (a legacy hold time of zero) only.
  if (t.size() > 2) {
    bool hold_is_zero = t[2] == "0";
    bool sane = (t.size() == 3 && (hold_is_zero || t[2] == "noreply")) ||
                (t.size() == 4 && hold_is_zero && t[3] == "noreply");
    if (!sane) {
      s.reply("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
      return;
    }
  }
  std::string_view key = t[1];
  if (key.size() > kKeyMaxLength) {
    s.reply("CLIENT_ERROR bad command line format\r\n");
    return;
  }
  s.ctx().prefix_stats.record_delete(key);
  s.ctx().recorder.record(Op::kDelete, key, 0, 0);
  DeleteResult result;
  {
    SharedEngine& shared = s.ctx().engine;
    std::lock_guard lock(shared.mutex);
    result = shared.engine.remove(key);
  }
  s.reply(result == DeleteResult::kDeleted ? "DELETED\r\n" : "NOT_FOUND\r\n");
}

void text_touch(Session& s, const Tokens& t) {
  s.set_noreply(last_token_is_noreply(t));
  std::string_view key = t[1];
  if (key.size() > kKeyMaxLength) {
    s.reply("CLIENT_ERROR bad command line format\r\n");
    return;
  }
  int32_t exptime = 0;
  if (!parse_int32(t[2], exptime)) {
    s.reply("CLIENT_ERROR invalid exptime argument\r\n");
    return;
  }
  s.ctx().recorder.record(Op::kTouch, key, 0, exptime);
  TouchResult result;
  {
    SharedEngine& shared = s.ctx().engine;
    std::lock_guard lock(shared.mutex);
    result = shared.engine.touch(key, exptime);
  }
  s.reply(result == TouchResult::kTouched ? "TOUCHED\r\n" : "NOT_FOUND\r\n");
}

void text_flush_all(Session& s, const Tokens& t) {
  s.set_noreply(last_token_is_noreply(t));
  if (!s.ctx().config.ops.flush_enabled) {
    s.ctx().counters.cmd_flush_refused.fetch_add(1, std::memory_order_relaxed);
    s.reply("CLIENT_ERROR flush_all not allowed\r\n");
    return;
  }
  int32_t delay = 0;
  if (t.size() == (s.noreply() ? 2u : 1u)) {
    delay = 0;
  } else if (!parse_int32(t[1], delay)) {
    s.reply("CLIENT_ERROR invalid exptime argument\r\n");
    return;
  }
  {
    SharedEngine& shared = s.ctx().engine;
    std::lock_guard lock(shared.mutex);
    shared.engine.flush_all(delay);
  }
  s.reply("OK\r\n");
}

void text_verbosity(Session& s, const Tokens& t) {
  s.set_noreply(last_token_is_noreply(t));
  uint32_t level = 0;
  if (!parse_uint32(t[1], level)) {
    s.reply("CLIENT_ERROR bad command line format\r\n");
    return;
  }
  s.ctx().verbosity.store(level > 2 ? 2 : static_cast<int>(level));
  // Never above 2 from here: the lookup lines of -vvv stop.
  s.ctx().logger.set_stderr_lookups(false);
  s.reply("OK\r\n");
}

}  // namespace memext::server
