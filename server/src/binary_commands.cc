#include "binary_commands.h"

#include <mutex>
#include <string>
#include <vector>

#include "engine_store.h"
#include "memext/slabs.h"
#include "session.h"
#include "stats_text.h"

namespace memext::server {
namespace {

uint32_t load32(std::string_view bytes, size_t at) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

uint64_t load64(std::string_view bytes, size_t at) {
  return (uint64_t{load32(bytes, at)} << 32) | load32(bytes, at + 4);
}

void append32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void append64(std::string& out, uint64_t v) {
  append32(out, static_cast<uint32_t>(v >> 32));
  append32(out, static_cast<uint32_t>(v));
}

std::string_view error_text(uint16_t status) {
  switch (status) {
    case kStatusKeyNotFound:
      return "Not found";
    case kStatusKeyExists:
      return "Data exists for key.";
    case kStatusTooLarge:
      return "Too large.";
    case kStatusInvalidArguments:
      return "Invalid arguments";
    case kStatusNotStored:
      return "Not stored.";
    case kStatusNonNumeric:
      return "Non-numeric server-side value for incr or decr";
    case kStatusAuthError:
      return "Auth failure.";
    case kStatusUnknownCommand:
      return "Unknown command";
    case kStatusOutOfMemory:
      return "Out of memory";
    default:
      return "UNHANDLED ERROR";
  }
}

std::string error_bytes(const BinaryRequest& r, uint16_t status) {
  std::string out;
  std::string_view text = error_text(status);
  append_binary_header(out, r.header.opcode, status, 0, 0, static_cast<uint32_t>(text.size()),
                       r.header.opaque, 0);
  out.append(text);
  return out;
}

// A miss: getk and gatk return the key instead of the text; quiet gets say
// nothing.
std::string miss_bytes(const BinaryRequest& r, bool return_key) {
  if (r.quiet) return {};
  if (!return_key) return error_bytes(r, kStatusKeyNotFound);
  std::string out;
  const auto keylen = static_cast<uint16_t>(r.key.size());
  append_binary_header(out, r.header.opcode, kStatusKeyNotFound, 0, keylen, keylen, r.header.opaque,
                       0);
  out.append(r.key);
  return out;
}

// The store mode of a set-family command; a CAS in the header turns set, add
// and replace into cas (memcached's NREAD_CAS).
StoreMode store_mode(const BinaryRequest& r) {
  switch (r.command) {
    case kOpAppend:
      return StoreMode::kAppend;
    case kOpPrepend:
      return StoreMode::kPrepend;
    default:
      break;
  }
  if (r.header.cas != 0) return StoreMode::kCas;
  if (r.command == kOpAdd) return StoreMode::kAdd;
  if (r.command == kOpReplace) return StoreMode::kReplace;
  return StoreMode::kSet;
}

bool has_flags(const BinaryRequest& r) {
  return r.command == kOpSet || r.command == kOpAdd || r.command == kOpReplace;
}

void stat_packet(std::string& out, const BinaryRequest& r, std::string_view key,
                 std::string_view value) {
  append_binary_header(out, r.header.opcode, kStatusSuccess, 0, static_cast<uint16_t>(key.size()),
                       static_cast<uint32_t>(key.size() + value.size()), r.header.opaque, 0);
  out.append(key);
  out.append(value);
}

// The reply to an incr/decr, whatever created or changed the counter.
void binary_delta_reply(Session& s, const BinaryRequest& r, const DeltaOutcome& outcome) {
  switch (outcome.result) {
    case DeltaResult::kOk: {
      std::string body;
      append64(body, outcome.value);
      binary_response(s, r, kStatusSuccess, body, outcome.cas);
      return;
    }
    case DeltaResult::kNotFound:
      binary_error(s, r, kStatusKeyNotFound);
      return;
    case DeltaResult::kNonNumeric:
      binary_error(s, r, kStatusNonNumeric);
      return;
    case DeltaResult::kExists:
      binary_error(s, r, kStatusKeyExists);
      return;
    case DeltaResult::kOutOfMemory:
      binary_error(s, r, kStatusOutOfMemory);
      return;
  }
}

}  // namespace

void binary_error(Session& s, const BinaryRequest& r, uint16_t status) {
  s.responses().append(error_bytes(r, status));
}

void binary_response(Session& s, const BinaryRequest& r, uint16_t status, std::string_view body,
                     uint64_t cas) {
  if (r.quiet) return;
  std::string& out = s.responses().text();
  append_binary_header(out, r.header.opcode, status, 0, 0, static_cast<uint32_t>(body.size()),
                       r.header.opaque, cas);
  out.append(body);
}

void binary_get(Session& s, const BinaryRequest& r) {
  const bool touch = r.command == kOpTouch || r.command == kOpGat || r.command == kOpGatK;
  const bool return_key = r.command == kOpGetK || r.command == kOpGatK;
  const bool return_value = r.command != kOpTouch;
  GetOptions options;
  if (touch) {
    options.touch = true;
    options.exptime = load32(r.extras, 0);
  }
  SharedEngine& shared = s.ctx().engine;
  uint32_t found_size = 0;
  fetch_and_use(shared, r.key, options, s.recache_counter(), [&](Fetch& f) {
    if (f.kind == FetchKind::kMiss) {
      s.responses().append(miss_bytes(r, return_key));
      return;
    }
    const ItemInfo& info = f.info;
    found_size = info.value_len;
    const auto keylen = static_cast<uint16_t>(return_key ? r.key.size() : 0);
    const uint32_t bodylen = 4 + keylen + (return_value ? info.value_len : 0);
    std::string head;
    append_binary_header(head, r.header.opcode, kStatusSuccess, 4, keylen, bodylen, r.header.opaque,
                         info.cas);
    append32(head, info.client_flags);
    if (return_key) head.append(r.key);
    if (f.kind == FetchKind::kValue) {
      std::string& out = s.responses().text();
      out.append(head);
      if (return_value) out.append(f.value);
      return;
    }
    PendingFlashRead& read = *f.pending;
    if (!return_value) {
      // A touch answers from the header item; the value stays on flash.
      s.responses().append(head);
      if (shared.flash != nullptr) shared.flash->abort_read(read.plan);
      return;
    }
    read.prefix = std::move(head);
    read.on_miss = miss_bytes(r, return_key);
    read.slot = &s.responses().reserve();
    s.queue_flash_read(std::move(f.pending));
  });
  const Op op = !touch ? Op::kGet : return_value ? Op::kGat : Op::kTouch;
  s.ctx().recorder.record(op, r.key, return_value ? found_size : 0, touch ? options.exptime : 0);
}

bool binary_store_fits(Session& s, const BinaryRequest& r, size_t value_len) {
  ServerContext& ctx = s.ctx();
  const EngineConfig& config = ctx.engine.engine.config();
  const uint32_t flags = has_flags(r) ? load32(r.extras, 0) : 0;
  bool fits = value_len <= UINT32_MAX - 2;
  if (fits) {
    const uint64_t total =
        item_total_size(static_cast<uint32_t>(r.key.size()), static_cast<uint32_t>(value_len + 2),
                        flags, config.use_cas);
    fits = ctx.engine.engine.slab_classes().clsid(total) != 0;
  }
  if (fits) return true;
  // 1.6.18's binary protocol counts no store_too_large.
  s.ctx().recorder.record(store_op(store_mode(r)), r.key, static_cast<uint32_t>(value_len),
                          has_flags(r) ? static_cast<int32_t>(load32(r.extras, 4)) : 0);
  binary_error(s, r, kStatusTooLarge);
  s.swallow(value_len);
  // A failed set must not leave the old value visible; 1.6.18 keeps it for
  // the other modes.
  if (r.command == kOpSet) {
    std::lock_guard lock(ctx.engine.mutex);
    ctx.engine.engine.unlink(r.key);
  }
  return false;
}

void binary_store(Session& s, const BinaryRequest& r) {
  StoreRequest request;
  request.mode = store_mode(r);
  request.key = r.key;
  request.value = r.value;
  request.value_len = static_cast<uint32_t>(r.value.size());
  request.cas = r.header.cas;
  if (has_flags(r)) {
    request.client_flags = load32(r.extras, 0);
    request.exptime = load32(r.extras, 4);
  }
  ServerContext& ctx = s.ctx();
  ctx.recorder.record(store_op(request.mode), r.key, request.value_len, request.exptime);
  const StoreOutcome outcome = store_on_engine(ctx.engine, request);
  uint16_t refused = kStatusNotStored;
  if (request.mode == StoreMode::kAdd) refused = kStatusKeyExists;
  if (request.mode == StoreMode::kReplace) refused = kStatusKeyNotFound;
  switch (outcome.result) {
    case StoreResult::kStored:
      binary_response(s, r, kStatusSuccess, {}, outcome.cas);
      return;
    case StoreResult::kExists:
      binary_error(s, r, kStatusKeyExists);
      return;
    case StoreResult::kNotFound:
      binary_error(s, r, kStatusKeyNotFound);
      return;
    case StoreResult::kNotStored:
      binary_error(s, r, refused);
      return;
    case StoreResult::kTooLarge:
      binary_error(s, r, refused);
      return;
    case StoreResult::kOutOfMemory: {
      // memcached fails the item's allocation before it reads a value
      // ("Out of memory"); an append's copy fails later, as not stored.
      const bool concat = request.mode == StoreMode::kAppend || request.mode == StoreMode::kPrepend;
      binary_error(s, r, concat ? refused : uint16_t{kStatusOutOfMemory});
      return;
    }
  }
}

void binary_delete(Session& s, const BinaryRequest& r) {
  s.ctx().recorder.record(Op::kDelete, r.key, 0, 0);
  DeleteResult result;
  {
    SharedEngine& shared = s.ctx().engine;
    std::lock_guard lock(shared.mutex);
    result = shared.engine.remove(r.key, r.header.cas);
  }
  switch (result) {
    case DeleteResult::kDeleted:
      binary_response(s, r, kStatusSuccess, {}, 0);
      return;
    case DeleteResult::kNotFound:
      binary_error(s, r, kStatusKeyNotFound);
      return;
    case DeleteResult::kExists:
      binary_error(s, r, kStatusKeyExists);
      return;
  }
}

void binary_delta(Session& s, const BinaryRequest& r) {
  const bool incr = r.command == kOpIncrement;
  const uint64_t delta = load64(r.extras, 0);
  const uint64_t initial = load64(r.extras, 8);
  const uint32_t expiration = load32(r.extras, 16);
  // memcached's "do not create" expiration.
  constexpr uint32_t kNoCreate = 0xffffffff;
  s.ctx().recorder.record(incr ? Op::kIncr : Op::kDecr, r.key, 0, 0);
  SharedEngine& shared = s.ctx().engine;
  std::unique_lock lock(shared.mutex);
  Engine& engine = shared.engine;
  if (expiration != kNoCreate) {
    const Engine::DeltaOrCreateOutcome created =
        engine.delta_or_create(r.key, incr, delta, r.header.cas, initial, expiration);
    lock.unlock();
    if (created.delta.result == DeltaResult::kNotFound) {
      binary_error(s, r,
                   created.create_result == StoreResult::kOutOfMemory ? kStatusOutOfMemory
                                                                      : kStatusNotStored);
      return;
    }
    binary_delta_reply(s, r, created.delta);
    return;
  }
  const DeltaOutcome outcome =
      incr ? engine.incr(r.key, delta, r.header.cas) : engine.decr(r.key, delta, r.header.cas);
  lock.unlock();
  binary_delta_reply(s, r, outcome);
}

void binary_flush(Session& s, const BinaryRequest& r) {
  // -F: memcached answers the binary flush as an auth failure (quiet or not)
  // and, unlike the text command, leaves cmd_flush alone.
  if (!s.ctx().config.ops.flush_enabled) {
    binary_error(s, r, kStatusAuthError);
    return;
  }
  const int64_t delay = r.extras.size() == 4 ? load32(r.extras, 0) : 0;
  {
    SharedEngine& shared = s.ctx().engine;
    std::lock_guard lock(shared.mutex);
    shared.engine.flush_all(delay);
  }
  binary_response(s, r, kStatusSuccess, {}, 0);
}

void binary_stat(Session& s, const BinaryRequest& r) {
  // The group as 1.6.18 matches it: reset, settings and detail by prefix,
  // the engine's groups exactly; `stats extstore` and `stats conns` are
  // text-only there.
  const std::string_view key = r.key;
  std::vector<std::string_view> t{"stats"};
  bool detail_dump = false;
  if (key.starts_with("reset")) {
    t.push_back("reset");
  } else if (key.starts_with("settings")) {
    t.push_back("settings");
  } else if (key.starts_with("detail")) {
    const std::string_view sub = key.substr(6);
    t.push_back("detail");
    if (sub.starts_with(" dump")) {
      t.push_back("dump");
      detail_dump = true;
    } else if (sub.starts_with(" on")) {
      t.push_back("on");
    } else if (sub.starts_with(" off")) {
      t.push_back("off");
    } else {
      binary_error(s, r, kStatusKeyNotFound);
      return;
    }
  } else if (key == "items" || key == "slabs" || key == "sizes" || key == "sizes_enable" ||
             key == "sizes_disable") {
    t.push_back(key);
  } else if (!key.empty()) {
    binary_error(s, r, kStatusKeyNotFound);
    return;
  }
  // The text command is the one source of the figures; its lines become
  // packets.
  Session text_session(s.ctx());
  stats_command(text_session, t);
  const std::string text = text_session.responses().ready_text();
  if (text.starts_with("ERROR") || text.starts_with("CLIENT_ERROR")) {
    binary_error(s, r, kStatusKeyNotFound);
    return;
  }
  std::string& out = s.responses().text();
  if (detail_dump) {
    stat_packet(out, r, "detailed", text);
  } else {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find("\r\n", pos);
      if (end == std::string::npos) end = text.size();
      std::string_view line(text.data() + pos, end - pos);
      pos = end + 2;
      if (!line.starts_with("STAT ")) continue;
      line.remove_prefix(5);
      const size_t space = line.find(' ');
      if (space == std::string_view::npos) {
        stat_packet(out, r, line, {});
      } else {
        stat_packet(out, r, line.substr(0, space), line.substr(space + 1));
      }
    }
  }
  stat_packet(out, r, {}, {});
}

}  // namespace memext::server
