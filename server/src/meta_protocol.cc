#include "meta_protocol.h"

#include <charconv>
#include <mutex>
#include <string>

#include "memext/slabs.h"
#include "parse_util.h"
#include "text_protocol.h"

namespace memext::server {
namespace {

// memcached's MFLAG_MAX_OPT_LENGTH and opaque limit.
constexpr size_t kMaxMetaTokens = 20;
constexpr size_t kMaxOpaqueLength = 32;

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}
void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

int64_t ttl_remaining(rel_time_t exptime, rel_time_t now) {
  if (exptime == 0) return -1;
  return exptime > now ? static_cast<int64_t>(exptime - now) : 0;
}

// Common request prelude: key (maybe base64) and flags.
struct MetaRequest {
  std::string key_storage;
  std::string_view token;  // the key as sent (base64 when the b flag is given)
  std::string_view key;
  MetaFlags flags;
};

// Reports the error itself and returns false when the request is unusable.
bool parse_request(Session& s, const Tokens& t, size_t first_flag, std::string_view allowed,
                   MetaRequest& req, bool arithmetic = false) {
  if (t.size() > kMaxMetaTokens) {
    s.reply_error("CLIENT_ERROR options flags are too long\r\n");
    return false;
  }
  switch (parse_meta_flags(t, first_flag, allowed, req.flags)) {
    case MetaFlagError::kNone:
      break;
    case MetaFlagError::kDuplicate:
      s.reply_error(arithmetic ? "CLIENT_ERROR invalid or duplicate flag\r\n"
                               : "CLIENT_ERROR duplicate flag\r\n");
      return false;
    case MetaFlagError::kInvalid:
    case MetaFlagError::kTooMany:
      s.reply_error(arithmetic ? "CLIENT_ERROR invalid or duplicate flag\r\n"
                               : "CLIENT_ERROR invalid flag\r\n");
      return false;
  }
  if (req.flags.has('O') && req.flags.get('O').size() > kMaxOpaqueLength) {
    s.reply_error("CLIENT_ERROR opaque token too long\r\n");
    return false;
  }
  req.token = t[1];
  req.key = t[1];
  if (req.flags.has('b')) {
    if (!base64_decode(t[1], req.key_storage)) {
      s.reply_error("CLIENT_ERROR error decoding key\r\n");
      return false;
    }
    req.key = req.key_storage;
  }
  if (req.key.empty() || req.key.size() > kKeyMaxLength) {
    s.reply_error("CLIENT_ERROR bad command line format\r\n");
    return false;
  }
  return true;
}

// Appends the k and O return flags (the ones every command echoes). memcached
// 1.6.18 echoes a base64 key as given plus " b", except on an mg hit, where it
// prints the decoded key.
void append_key_opaque(std::string& out, char flag, const MetaRequest& req,
                       bool decoded_key = false) {
  if (flag == 'k') {
    out.append(" k");
    if (req.flags.has('b') && !decoded_key) {
      out.append(req.token);
      out.append(" b");
    } else {
      out.append(req.key);
    }
  } else if (flag == 'O') {
    out.append(" O");
    out.append(req.flags.get('O'));
  }
}

void meta_get(Session& s, const Tokens& t) {
  MetaRequest req;
  if (!parse_request(s, t, 2, "bcfhklOqstuvT", req)) return;
  const MetaFlags& f = req.flags;
  GetOptions options;
  options.bump = !f.has('u');
  if (f.has('T')) {
    int32_t ttl = 0;
    if (!parse_int32(f.get('T'), ttl)) {
      s.reply_error("CLIENT_ERROR bad token in command line format\r\n");
      return;
    }
    options.touch = true;
    options.exptime = ttl;
  }
  const bool quiet = f.has('q');
  SharedEngine& shared = s.ctx().engine;
  std::lock_guard lock(shared.mutex);
  const rel_time_t now = shared.engine.current_time();
  Fetch fetch = fetch_locked(shared, req.key, options);
  const std::string miss = [&] {
    std::string en = "EN";
    for (char flag : f.order) append_key_opaque(en, flag, req);
    return en + "\r\n";
  }();
  if (fetch.kind == FetchKind::kMiss) {
    if (!quiet) s.responses().append(miss);
    return;
  }
  const ItemInfo& info = fetch.info;
  std::string head;
  const bool value = f.has('v');
  if (value) {
    head.append("VA ");
    append_uint(head, info.value_len);
  } else {
    head.append("HD");
  }
  for (char flag : f.order) {
    switch (flag) {
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
        append_int(head, ttl_remaining(info.exptime, now));
        break;
      default:
        append_key_opaque(head, flag, req, true);
    }
  }
  head.append("\r\n");
  if (fetch.kind == FetchKind::kValue) {
    std::string& out = s.responses().text();
    out.append(head);
    if (value) {
      out.append(fetch.value);
      out.append("\r\n");
    }
    return;
  }
  PendingFlashRead& read = *fetch.pending;
  read.prefix = std::move(head);
  read.suffix = value ? "\r\n" : "";
  read.on_miss = quiet ? "" : miss;
  if (!value) {
    // The header alone answers: the item is there; no need to read flash.
    std::string& out = s.responses().text();
    out.append(read.prefix);
    if (shared.flash != nullptr) shared.flash->abort_read(read.plan);
    return;
  }
  read.slot = &s.responses().reserve();
  s.queue_flash_read(std::move(fetch.pending));
}

size_t meta_set(Session& s, const Tokens& t, std::string_view rest) {
  if (t.size() < 3) {
    s.reply_error("CLIENT_ERROR bad command line format\r\n");
    return 0;
  }
  int32_t vlen = 0;
  if (!parse_int32(t[2], vlen) || vlen < 0 || vlen > INT32_MAX - 2) {
    s.reply_error("CLIENT_ERROR bad command line format\r\n");
    return 0;
  }
  const size_t data_len = static_cast<size_t>(vlen) + 2;
  MetaRequest req;
  if (!parse_request(s, t, 3, "bcCFIkOqsTMN", req)) {
    s.swallow(data_len);
    return 0;
  }
  const MetaFlags& f = req.flags;
  StoreRequest request;
  request.mode = StoreMode::kSet;
  if (f.has('M')) {
    std::string_view m = f.get('M');
    char mode = m.size() == 1 ? m[0] : '?';
    switch (mode) {
      case 'E':
      case 'e':
        request.mode = StoreMode::kAdd;
        break;
      case 'A':
      case 'a':
        request.mode = StoreMode::kAppend;
        break;
      case 'P':
      case 'p':
        request.mode = StoreMode::kPrepend;
        break;
      case 'R':
      case 'r':
        request.mode = StoreMode::kReplace;
        break;
      case 'S':
      case 's':
        request.mode = StoreMode::kSet;
        break;
      default:
        s.reply_error("CLIENT_ERROR invalid mode for ms M token\r\n");
        s.swallow(data_len);
        return 0;
    }
  }
  bool bad_token = false;
  int32_t ttl = 0;
  if (f.has('T') && !parse_int32(f.get('T'), ttl)) bad_token = true;
  if (f.has('F') && !parse_uint32(f.get('F'), request.client_flags)) bad_token = true;
  if (f.has('C') && !parse_uint64(f.get('C'), request.cas)) bad_token = true;
  int32_t vivify_ttl = 0;
  if (f.has('N') && !parse_int32(f.get('N'), vivify_ttl)) bad_token = true;
  if (bad_token) {
    s.reply_error("CLIENT_ERROR bad token in command line format\r\n");
    s.swallow(data_len);
    return 0;
  }
  if (f.has('C') && request.mode == StoreMode::kSet) request.mode = StoreMode::kCas;
  request.exptime = ttl;
  ServerContext& ctx = s.ctx();
  const EngineConfig& config = ctx.engine.engine.config();
  uint64_t total =
      item_total_size(static_cast<uint32_t>(req.key.size()), static_cast<uint32_t>(data_len),
                      request.client_flags, config.use_cas);
  if (ctx.engine.engine.slab_classes().clsid(total) == 0) {
    s.reply_error("SERVER_ERROR object too large for cache\r\n");
    ctx.counters.store_too_large.fetch_add(1, std::memory_order_relaxed);
    s.swallow(data_len);
    return 0;
  }
  if (rest.size() < data_len) {
    s.want_data(data_len);
    return Session::kNeedMore;
  }
  if (rest[data_len - 2] != '\r' || rest[data_len - 1] != '\n') {
    s.reply_error("CLIENT_ERROR bad data chunk\r\n");
    return data_len;
  }
  request.key = req.key;
  request.value = rest.substr(0, static_cast<size_t>(vlen));
  request.value_len = static_cast<uint32_t>(vlen);
  StoreOutcome outcome;
  {
    std::lock_guard lock(ctx.engine.mutex);
    outcome = ctx.engine.engine.store(request);
    const bool appending =
        request.mode == StoreMode::kAppend || request.mode == StoreMode::kPrepend;
    if (appending && f.has('N') && outcome.result == StoreResult::kNotStored) {
      StoreRequest vivify = request;
      vivify.mode = StoreMode::kAdd;
      vivify.exptime = vivify_ttl;
      outcome = ctx.engine.engine.store(vivify);
    }
  }
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
  if (!parse_request(s, t, 2, "bCkOqT", req)) return;
  const MetaFlags& f = req.flags;
  uint64_t cas = 0;
  if (f.has('C') && !parse_uint64(f.get('C'), cas)) {
    s.reply_error("CLIENT_ERROR bad token in command line format\r\n");
    return;
  }
  DeleteResult result;
  {
    SharedEngine& shared = s.ctx().engine;
    std::lock_guard lock(shared.mutex);
    result = shared.engine.remove(req.key, cas);
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
  for (char flag : f.order) append_key_opaque(out, flag, req);
  out.append("\r\n");
  s.responses().append(out);
}

void meta_arithmetic(Session& s, const Tokens& t) {
  MetaRequest req;
  if (!parse_request(s, t, 2, "bCNJDTMOqtcvk", req, true)) return;
  const MetaFlags& f = req.flags;
  bool incr = true;
  if (f.has('M')) {
    std::string_view m = f.get('M');
    char mode = m.size() == 1 ? m[0] : '?';
    if (mode == 'I' || mode == 'i' || mode == '+') {
      incr = true;
    } else if (mode == 'D' || mode == 'd' || mode == '-') {
      incr = false;
    } else {
      s.reply_error("CLIENT_ERROR invalid mode for ma M token\r\n");
      return;
    }
  }
  uint64_t delta = 1, initial = 0, cas = 0;
  int32_t vivify_ttl = 0, ttl = 0;
  if (f.has('D') && !parse_uint64(f.get('D'), delta)) {
    s.reply_error("CLIENT_ERROR invalid numeric delta argument\r\n");
    return;
  }
  if ((f.has('J') && !parse_uint64(f.get('J'), initial)) ||
      (f.has('N') && !parse_int32(f.get('N'), vivify_ttl)) ||
      (f.has('T') && !parse_int32(f.get('T'), ttl)) ||
      (f.has('C') && !parse_uint64(f.get('C'), cas))) {
    s.reply_error("CLIENT_ERROR bad token in command line format\r\n");
    return;
  }
  SharedEngine& shared = s.ctx().engine;
  std::unique_lock lock(shared.mutex);
  Engine& engine = shared.engine;
  DeltaOutcome outcome = incr ? engine.incr(req.key, delta, cas) : engine.decr(req.key, delta, cas);
  if (outcome.result == DeltaResult::kNotFound && f.has('N')) {
    std::string initial_text = std::to_string(initial);
    StoreRequest add;
    add.mode = StoreMode::kAdd;
    add.key = req.key;
    add.value = initial_text;
    add.value_len = static_cast<uint32_t>(initial_text.size());
    add.exptime = vivify_ttl;
    StoreOutcome stored = engine.store(add);
    if (stored.result == StoreResult::kStored) {
      outcome.result = DeltaResult::kOk;
      outcome.value = initial;
      outcome.cas = stored.cas;
    } else {
      outcome = incr ? engine.incr(req.key, delta, cas) : engine.decr(req.key, delta, cas);
    }
  }
  std::string out;
  switch (outcome.result) {
    case DeltaResult::kOk:
      break;
    case DeltaResult::kNotFound:
      lock.unlock();
      out = "NF";
      for (char flag : f.order) append_key_opaque(out, flag, req);
      out.append("\r\n");
      s.responses().append(out);
      return;
    case DeltaResult::kExists:
      lock.unlock();
      out = "EX";
      for (char flag : f.order) append_key_opaque(out, flag, req);
      out.append("\r\n");
      s.responses().append(out);
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
  if (f.has('T')) engine.touch(req.key, ttl);
  int64_t remaining = -1;
  if (f.has('t')) {
    GetOptions peek;
    peek.bump = false;
    GetResult r = engine.get(req.key, peek);
    if (r.hit()) remaining = ttl_remaining(r.info.exptime, engine.current_time());
  }
  lock.unlock();
  if (f.has('q') && !f.has('v')) return;
  std::string number;
  append_uint(number, outcome.value);
  if (f.has('v')) {
    out = "VA ";
    append_uint(out, number.size());
  } else {
    out = "HD";
  }
  for (char flag : f.order) {
    if (flag == 't') {
      out.append(" t");
      append_int(out, remaining);
    } else if (flag == 'c') {
      out.append(" c");
      append_uint(out, outcome.cas);
    } else {
      append_key_opaque(out, flag, req);
    }
  }
  out.append("\r\n");
  if (f.has('v')) {
    out.append(number);
    out.append("\r\n");
  }
  s.responses().append(out);
}

void meta_debug(Session& s, const Tokens& t) {
  MetaRequest req;
  if (!parse_request(s, t, 2, "b", req)) return;
  SharedEngine& shared = s.ctx().engine;
  std::string out;
  {
    std::lock_guard lock(shared.mutex);
    GetOptions peek;
    peek.bump = false;
    GetResult r = shared.engine.get(req.key, peek);
    if (!r.hit()) {
      out = "EN\r\n";
    } else {
      const rel_time_t now = shared.engine.current_time();
      const ItemInfo& i = r.info;
      const EngineConfig& config = shared.engine.config();
      out = "ME ";
      out.append(req.key);
      out.append(" exp=");
      append_int(out, ttl_remaining(i.exptime, now));
      out.append(" la=");
      append_uint(out, now >= i.last_access ? now - i.last_access : 0);
      out.append(" cas=");
      append_uint(out, i.cas);
      out.append(i.fetched ? " fetch=yes" : " fetch=no");
      out.append(" cls=");
      append_uint(out, i.slab_class);
      out.append(" size=");
      append_uint(out, item_total_size(static_cast<uint32_t>(req.key.size()), i.value_len + 2,
                                       i.client_flags, config.use_cas));
      out.append("\r\n");
    }
  }
  s.responses().append(out);
}

}  // namespace

MetaFlagError parse_meta_flags(const Tokens& tokens, size_t first, std::string_view allowed,
                               MetaFlags& flags) {
  for (size_t i = first; i < tokens.size(); ++i) {
    std::string_view tok = tokens[i];
    unsigned char c = static_cast<unsigned char>(tok[0]);
    if (c >= 128 || allowed.find(static_cast<char>(c)) == std::string_view::npos) {
      return MetaFlagError::kInvalid;
    }
    if (flags.present[c]) return MetaFlagError::kDuplicate;
    flags.present[c] = true;
    flags.value[c] = tok.substr(1);
    flags.order.push_back(static_cast<char>(c));
  }
  return MetaFlagError::kNone;
}

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
    s.responses().append("ERROR\r\n");
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
