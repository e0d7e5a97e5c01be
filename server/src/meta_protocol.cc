#include "meta_protocol.h"

#include <mutex>
#include <optional>
#include <string>

#include "engine_store.h"
#include "memext/slabs.h"
#include "meta_request.h"
#include "parse_util.h"
#include "text_protocol.h"

namespace memext::server {
namespace {

// mg's reply line up to its value: VA/HD and the return flags in request
// order. Precondition: a side of the engine lock is held (`info` and the
// clock are read as of this request).
std::string meta_get_head(const Engine& engine, const MetaRequest& req, const ItemInfo& info) {
  const MetaFlags& f = req.flags;
  const MetaValues& v = req.values;
  const rel_time_t now = engine.current_time();
  std::string head;
  if (f.has('v')) {
    head.append("VA ");
    append_uint(head, info.value_len);
  } else {
    head.append("HD");
  }
  // memcached writes the flags while it applies T and N, so a `t` shows the
  // exptime as of its place in the request.
  rel_time_t exptime = info.exptime_before;
  for (char flag : f.order) {
    switch (flag) {
      case 'T':
        exptime = engine.realtime(v.ttl);
        break;
      case 'N':
        if (info.vivified) exptime = engine.realtime(v.vivify_ttl);
        break;
      case 'c':
        head.append(" c");
        append_uint(head, info.cas);
        break;
      case 'f':
        head.append(" f");
        append_uint(head, info.client_flags);
        break;
      case 'h':
        head.append(info.fetched ? " h1" : " h0");
        break;
      case 'l':
        head.append(" l");
        append_uint(head, now >= info.last_access ? now - info.last_access : 0);
        break;
      case 's':
        head.append(" s");
        append_uint(head, info.value_len);
        break;
      case 't':
        head.append(" t");
        append_ttl(head, exptime, now);
        break;
      case 'k':
        append_key(head, req.key, info.key_binary);
        break;
      default:
        append_key_opaque(head, flag, req);
    }
  }
  // Z before X, and W last: the order memcached writes them in.
  if (info.token_sent) head.append(" Z");
  if (info.stale) head.append(" X");
  if (info.won) head.append(" W");
  head.append("\r\n");
  return head;
}

// mg under the shared side of the engine lock when the engine can serve it
// there (Engine::try_get_shared: no T, no N on a miss, no recache token
// won; its flash read planned, finished or aborted by the ExtStore's
// shared variants), else under the exclusive side, as text get does.
void meta_get(Session& s, const Tokens& t) {
  MetaRequest req;
  if (!parse_request(s, t, MetaCommand::kGet, req)) return;
  if (opaque_too_long(req)) {
    s.reply_error("CLIENT_ERROR opaque token too long\r\n");
    return;
  }
  const MetaFlags& f = req.flags;
  const MetaValues& v = req.values;
  GetOptions options;
  options.meta = true;
  options.bump = !f.has('u');
  options.touch = f.has('T');
  options.exptime = v.ttl;
  options.vivify = f.has('N');
  options.vivify_exptime = v.vivify_ttl;
  options.recache = f.has('R');
  options.recache_exptime = v.recache_ttl;
  options.reports_last_access = f.has('l');
  bool seen_touch = false;
  for (char flag : f.order) {
    if (flag == 'T') seen_touch = true;
    if (flag == 'R') options.touch_before_recache = seen_touch;
    if (flag == 'N') options.touch_after_vivify = !seen_touch;
  }
  const bool quiet = f.has('q');
  const bool value = f.has('v');
  const std::string miss = echoed_status("EN", req);
  SharedEngine& shared = s.ctx().engine;
  uint32_t found_size = 0;
  // A plan made under the shared side whose abort may free its page.
  std::optional<memext::FlashRead> abort_exclusively;
  fetch_and_use(shared, req.key, options, s.recache_counter(), [&](Fetch& fetch) {
    if (fetch.kind == FetchKind::kMiss) {
      if (!quiet) s.responses().append(miss);
      return;
    }
    found_size = fetch.info.value_len;
    std::string head = meta_get_head(shared.engine, req, fetch.info);
    if (fetch.kind == FetchKind::kValue) {
      std::string& out = s.responses().text();
      out.append(head);
      if (value) {
        out.append(fetch.value);
        out.append("\r\n");
      }
      return;
    }
    if (!value) {
      // The header alone answers: the item is there; no need to read flash.
      s.responses().append(head);
      const memext::FlashRead& plan = fetch.pending->plan;
      if (!fetch.shared) {
        shared.flash->abort_read(plan);
      } else if (!shared.flash->try_abort_read_shared(plan)) {
        abort_exclusively = plan;
      }
      PendingFlashRead::recycle(std::move(fetch.pending));
      return;
    }
    PendingFlashRead& read = *fetch.pending;
    read.prefix = std::move(head);
    read.suffix = "\r\n";
    read.on_miss = quiet ? "" : miss;
    read.slot = &s.responses().reserve();
    s.queue_flash_read(std::move(fetch.pending));
  });
  if (abort_exclusively) {
    ExclusiveSection lock(shared.mutex, Holder::kGet);
    shared.flash->abort_read(*abort_exclusively);
  }
  s.ctx().recorder.record(options.touch ? Op::kGat : Op::kGet, req.key, found_size,
                          options.touch ? int64_t{v.ttl} : 0);
}

size_t meta_set(Session& s, const Tokens& t, std::string_view rest) {
  if (t[1].size() > kKeyMaxLength || t.size() < 3) {
    s.reply_error("CLIENT_ERROR bad command line format\r\n");
    return 0;
  }
  if (t.size() + 1 > kMaxMetaTokens) {
    s.reply_error("CLIENT_ERROR options flags too long\r\n");
    return 0;
  }
  int32_t vlen = 0;
  if (!parse_int32(t[2], vlen) || vlen < 0 || vlen > INT32_MAX - 2) {
    s.reply_error("CLIENT_ERROR bad command line format\r\n");
    return 0;
  }
  const size_t data_len = static_cast<size_t>(vlen) + 2;
  auto refuse = [&](std::string_view error) {
    s.reply_error(error);
    s.swallow(data_len);
    return size_t{0};
  };
  MetaRequest req;
  const std::string_view error = preparse(t, 3, req);
  if (!error.empty()) return refuse(error);
  const MetaFlags& f = req.flags;
  const MetaValues& v = req.values;
  StoreRequest request;
  // memcached 1.6.18 knows the upper-case mode letters only.
  switch (v.mode) {
    case 0:
    case 'S':
      request.mode = StoreMode::kSet;
      break;
    case 'E':
      request.mode = StoreMode::kAdd;
      break;
    case 'A':
      request.mode = StoreMode::kAppend;
      break;
    case 'P':
      request.mode = StoreMode::kPrepend;
      break;
    case 'R':
      request.mode = StoreMode::kReplace;
      break;
    default:
      return refuse("CLIENT_ERROR invalid mode for ms M token\r\n");
  }
  if (opaque_too_long(req)) return refuse("CLIENT_ERROR opaque token too long\r\n");
  // A CAS turns set and replace into cas; append/prepend compare it themselves.
  if (f.has('C') && (request.mode == StoreMode::kSet || request.mode == StoreMode::kReplace)) {
    request.mode = StoreMode::kCas;
  }
  request.client_flags = v.client_flags;
  request.cas = v.cas;
  request.exptime = v.ttl;
  request.invalidate = f.has('I');
  request.key_binary = f.has('b');
  ServerContext& ctx = s.ctx();
  const EngineConfig& config = ctx.engine.engine.config();
  uint64_t total =
      item_total_size(static_cast<uint32_t>(req.key.size()), static_cast<uint32_t>(data_len),
                      request.client_flags, config.use_cas);
  if (ctx.engine.engine.slab_classes().clsid(total) == 0) {
    ctx.recorder.record(store_op(request.mode), req.key, static_cast<uint32_t>(vlen), v.ttl);
    ctx.counters.store_too_large.fetch_add(1, std::memory_order_relaxed);
    // memcached unlinks the old item whatever the mode, so no stale value stays.
    {
      std::lock_guard lock(ctx.engine.mutex);
      ctx.engine.engine.unlink(req.key);
    }
    return refuse("SERVER_ERROR object too large for cache\r\n");
  }
  s.trace().value_wanted();
  if (rest.size() < data_len) {
    s.want_data(data_len);
    return Session::kNeedMore;
  }
  if (rest[data_len - 2] != '\r' || rest[data_len - 1] != '\n') {
    s.reply_error("CLIENT_ERROR bad data chunk\r\n");
    return data_len;
  }
  ctx.recorder.record(store_op(request.mode), req.key, static_cast<uint32_t>(vlen), v.ttl);
  request.key = req.key;
  request.value = rest.substr(0, static_cast<size_t>(vlen));
  request.value_len = static_cast<uint32_t>(vlen);
  // memcached 1.6.18 parses N but an append or prepend to a missing item
  // stays NS (its protocol.txt describes an autovivify it does not do).
  const StoreOutcome outcome = store_on_engine(ctx.engine, request);
  std::string out;
  switch (outcome.result) {
    case StoreResult::kStored:
      if (f.has('q')) return data_len;
      out = "HD";
      break;
    case StoreResult::kNotStored:
      out = "NS";
      break;
    case StoreResult::kExists:
      out = "EX";
      break;
    case StoreResult::kNotFound:
      out = "NF";
      break;
    case StoreResult::kTooLarge:
      ctx.counters.store_too_large.fetch_add(1, std::memory_order_relaxed);
      s.reply_error("SERVER_ERROR object too large for cache\r\n");
      return data_len;
    case StoreResult::kOutOfMemory:
      ctx.counters.store_no_memory.fetch_add(1, std::memory_order_relaxed);
      s.reply_error("SERVER_ERROR out of memory storing object\r\n");
      return data_len;
  }
  for (char flag : f.order) {
    if (flag == 'c') {
      out.append(" c");
      append_uint(out, outcome.result == StoreResult::kStored ? outcome.cas : 0);
    } else {
      append_key_opaque(out, flag, req);
    }
  }
  out.append("\r\n");
  s.responses().append(out);
  return data_len;
}

void meta_delete(Session& s, const Tokens& t) {
  MetaRequest req;
  if (!parse_request(s, t, MetaCommand::kDelete, req)) return;
  if (opaque_too_long(req)) {
    s.reply_error("CLIENT_ERROR opaque token too long\r\n");
    return;
  }
  const MetaFlags& f = req.flags;
  s.ctx().recorder.record(Op::kDelete, req.key, 0, 0);
  DeleteResult result;
  {
    SharedEngine& shared = s.ctx().engine;
    std::lock_guard lock(shared.mutex);
    if (f.has('I')) {
      // I: mark stale instead of deleting; T only counts together with I.
      result = shared.engine.invalidate(req.key, req.values.cas, f.has('T'), req.values.ttl);
    } else {
      result = shared.engine.remove(req.key, req.values.cas);
    }
  }
  std::string out;
  switch (result) {
    case DeleteResult::kDeleted:
      if (f.has('q')) return;
      out = "HD";
      break;
    case DeleteResult::kNotFound:
      out = "NF";
      break;
    case DeleteResult::kExists:
      out = "EX";
      break;
  }
  s.responses().append(echoed_status(out, req));
}

void meta_arithmetic(Session& s, const Tokens& t) {
  MetaRequest req;
  if (!parse_request(s, t, MetaCommand::kArithmetic, req)) return;
  const MetaFlags& f = req.flags;
  const MetaValues& v = req.values;
  bool incr = true;
  // As for ms, memcached 1.6.18 takes no lower-case letters here.
  switch (v.mode) {
    case 0:
    case 'I':
    case '+':
      break;
    case 'D':
    case '-':
      incr = false;
      break;
    default:
      s.reply_error("CLIENT_ERROR invalid mode for ma M token\r\n");
      return;
  }
  if (opaque_too_long(req)) {
    s.reply_error("CLIENT_ERROR opaque token too long\r\n");
    return;
  }
  const uint64_t delta = v.delta;
  const uint64_t cas = v.cas;
  s.ctx().recorder.record(incr ? Op::kIncr : Op::kDecr, req.key, 0, 0);
  SharedEngine& shared = s.ctx().engine;
  std::unique_lock lock(shared.mutex);
  Engine& engine = shared.engine;
  // N creates the counter (at exptime 0: the flags below apply N's TTL in
  // their order); a create that fails answers as the miss it was.
  DeltaOutcome outcome;
  bool created = false;
  if (f.has('N')) {
    const Engine::DeltaOrCreateOutcome r =
        engine.delta_or_create(req.key, incr, delta, cas, v.initial, /*exptime=*/0);
    outcome = r.delta;
    created = r.created;
  } else {
    outcome = incr ? engine.incr(req.key, delta, cas) : engine.decr(req.key, delta, cas);
  }
  std::string out;
  switch (outcome.result) {
    case DeltaResult::kOk:
      break;
    case DeltaResult::kNotFound:
      lock.unlock();
      s.responses().append(echoed_status("NF", req));
      return;
    case DeltaResult::kExists:
      lock.unlock();
      s.responses().append(echoed_status("EX", req));
      return;
    case DeltaResult::kNonNumeric:
      lock.unlock();
      s.reply_error("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
      return;
    case DeltaResult::kOutOfMemory:
      lock.unlock();
      s.reply_error("SERVER_ERROR out of memory\r\n");
      return;
  }
  // memcached builds the reply while it applies T and N in flag order
  // (without counting a touch), so a `t` shows the exptime as of its place;
  // a counter N created starts with exptime 0.
  rel_time_t exptime = created ? 0 : outcome.exptime;
  const rel_time_t now = engine.current_time();
  std::string flags_text;
  for (char flag : f.order) {
    switch (flag) {
      case 'T':
        exptime = engine.realtime(v.ttl);
        break;
      case 'N':
        if (created) exptime = engine.realtime(v.vivify_ttl);
        break;
      case 't':
        flags_text.append(" t");
        append_ttl(flags_text, exptime, now);
        break;
      case 'c':
        flags_text.append(" c");
        append_uint(flags_text, outcome.cas);
        break;
      default:
        append_key_opaque(flags_text, flag, req);
    }
  }
  if (exptime != (created ? 0 : outcome.exptime)) engine.set_expiry(req.key, exptime);
  lock.unlock();
  // memcached hides a successful update's reply under q, but not the reply
  // of an N that created the counter.
  if (f.has('q') && !created) return;
  std::string number;
  append_uint(number, outcome.value);
  if (f.has('v')) {
    out = "VA ";
    append_uint(out, number.size());
  } else {
    out = "HD";
  }
  out.append(flags_text);
  out.append("\r\n");
  if (f.has('v')) {
    out.append(number);
    out.append("\r\n");
  }
  s.responses().append(out);
}

// memcached's process_meta_command: no flag parsing; only a "b" right after
// the key decodes it, anything else is ignored.
void meta_debug(Session& s, const Tokens& t) {
  std::string key_storage;
  std::string_view key = t[1];
  if (key.size() > kKeyMaxLength) {
    s.reply_error("CLIENT_ERROR bad command line format\r\n");
    return;
  }
  if (t.size() >= 3 && t[2] == "b") {
    if (!base64_decode(key, key_storage) || key_storage.empty()) {
      s.reply_error("CLIENT_ERROR bad command line format\r\n");
      return;
    }
    key = key_storage;
  }
  SharedEngine& shared = s.ctx().engine;
  std::string out;
  {
    std::lock_guard lock(shared.mutex);
    GetOptions peek;
    peek.bump = false;
    GetResult r = shared.engine.get(key, peek);
    if (!r.hit()) {
      out = "EN\r\n";
    } else {
      const rel_time_t now = shared.engine.current_time();
      const ItemInfo& i = r.info;
      const EngineConfig& config = shared.engine.config();
      out = "ME ";
      // The item's key, base64 (without " b") when it was stored with b.
      if (i.key_binary) {
        base64_encode(key, out);
      } else {
        out.append(key);
      }
      // memcached prints current_time - exptime: negative while the item lives.
      out.append(" exp=");
      if (i.exptime == 0) {
        out.append("-1");
      } else {
        out.append(std::to_string(static_cast<int32_t>(now - i.exptime)));
      }
      out.append(" la=");
      append_uint(out, static_cast<uint32_t>(now - i.last_access));
      out.append(" cas=");
      append_uint(out, i.cas);
      out.append(i.fetched ? " fetch=yes" : " fetch=no");
      out.append(" cls=");
      append_uint(out, i.slab_class);
      out.append(" size=");
      append_uint(out, item_total_size(static_cast<uint32_t>(key.size()), i.value_len + 2,
                                       i.client_flags, config.use_cas));
      out.append("\r\n");
    }
  }
  s.responses().append(out);
}

}  // namespace

size_t meta_command(Session& s, const Tokens& t, std::string_view rest) {
  const char c = t[0][1];
  if (c == 'n') {
    s.responses().append("MN\r\n");
    return 0;
  }
  if (c != 'g' && c != 's' && c != 'd' && c != 'a' && c != 'e') {
    s.responses().append("ERROR\r\n");
    return 0;
  }
  if (t.size() < 2) {
    // me checks its own token count.
    s.responses().append(c == 'e' ? "CLIENT_ERROR bad command line format\r\n" : "ERROR\r\n");
    return 0;
  }
  switch (c) {
    case 'g':
      meta_get(s, t);
      return 0;
    case 's':
      return meta_set(s, t, rest);
    case 'd':
      meta_delete(s, t);
      return 0;
    case 'a':
      meta_arithmetic(s, t);
      return 0;
    default:
      meta_debug(s, t);
      return 0;
  }
}

}  // namespace memext::server
