#include "binary_protocol.h"

#include <mutex>

#include "binary_commands.h"
#include "binary_sasl.h"
#include "session.h"

namespace memext::server {
namespace {

uint16_t load16(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}

uint32_t load32(const char* p) {
  return (static_cast<uint32_t>(load16(p)) << 16) | load16(p + 2);
}

// What 1.6.18 requires of each command's lengths before it runs it; a
// request that breaks them answers "Invalid arguments" and closes.
bool lengths_valid(const BinaryHeader& h, uint8_t command) {
  const uint32_t key = h.keylen;
  const uint32_t ext = h.extlen;
  const uint32_t body = h.bodylen;
  switch (command) {
    case kOpGet:
    case kOpGetK:
      return ext == 0 && body == key && key > 0;
    case kOpSet:
    case kOpAdd:
    case kOpReplace:
      return ext == 8 && key != 0 && body >= key + 8;
    case kOpAppend:
    case kOpPrepend:
      return key > 0 && ext == 0;
    case kOpDelete:
      return key > 0 && ext == 0 && body == key;
    case kOpIncrement:
    case kOpDecrement:
      return key > 0 && ext == 20 && body == key + ext;
    case kOpTouch:
    case kOpGat:
    case kOpGatK:
      return ext == 4 && key != 0 && body == key + ext;
    case kOpVersion:
    case kOpQuit:
    case kOpNoop:
    case kOpSaslListMechs:
      return ext == 0 && key == 0 && body == 0;
    case kOpFlush:
      return key == 0 && body == ext && (ext == 0 || ext == 4);
    case kOpStat:
      return ext == 0;
    case kOpSaslAuth:
    case kOpSaslStep:
      return ext == 0 && key != 0;
    default:
      return true;
  }
}

// The command a quiet opcode is the silent form of, or the opcode itself.
uint8_t loud_form(uint8_t opcode, bool& quiet) {
  quiet = true;
  switch (opcode) {
    case kOpGetQ:
      return kOpGet;
    case kOpGetKQ:
      return kOpGetK;
    case kOpSetQ:
      return kOpSet;
    case kOpAddQ:
      return kOpAdd;
    case kOpReplaceQ:
      return kOpReplace;
    case kOpDeleteQ:
      return kOpDelete;
    case kOpIncrementQ:
      return kOpIncrement;
    case kOpDecrementQ:
      return kOpDecrement;
    case kOpQuitQ:
      return kOpQuit;
    case kOpFlushQ:
      return kOpFlush;
    case kOpAppendQ:
      return kOpAppend;
    case kOpPrependQ:
      return kOpPrepend;
    case kOpGatQ:
      return kOpGat;
    case kOpGatKQ:
      return kOpGatK;
    default:
      quiet = false;
      return opcode;
  }
}

// One request whose header, extras and key are in `bytes`. Returns the bytes
// used, or Session::kNeedMore with bytes_wanted set.
size_t dispatch(Session& s, const BinaryHeader& h, std::string_view bytes) {
  const size_t head = kBinaryHeaderSize + h.extlen + h.keylen;
  BinaryRequest r;
  r.header = h;
  r.extras = bytes.substr(kBinaryHeaderSize, h.extlen);
  r.key = bytes.substr(kBinaryHeaderSize + h.extlen, h.keylen);
  if (uint64_t{h.keylen} + h.extlen > h.bodylen) {
    binary_error(s, r, kStatusUnknownCommand);
    s.close();
    return head;
  }
  // memcached checks authentication before the key length and the command.
  if (!binary_command_allowed(s, h.opcode)) {
    binary_error(s, r, kStatusAuthError);
    s.close();
    return head;
  }
  if (h.keylen > kKeyMaxLength) {
    binary_error(s, r, kStatusInvalidArguments);
    s.close();
    return head;
  }
  r.command = loud_form(h.opcode, r.quiet);
  if (!lengths_valid(h, r.command)) {
    binary_error(s, r, kStatusInvalidArguments);
    s.close();
    return head;
  }
  const size_t value_len = h.bodylen - h.extlen - h.keylen;
  switch (r.command) {
    case kOpGet:
    case kOpGetK:
    case kOpTouch:
    case kOpGat:
    case kOpGatK:
      binary_get(s, r);
      return head;
    case kOpSet:
    case kOpAdd:
    case kOpReplace:
    case kOpAppend:
    case kOpPrepend: {
      const std::string_view rest = bytes.substr(head);
      if (!binary_store_fits(s, r, value_len)) return head;
      if (rest.size() < value_len) {
        s.set_bytes_wanted(head + value_len);
        return Session::kNeedMore;
      }
      r.value = rest.substr(0, value_len);
      binary_store(s, r);
      return head + value_len;
    }
    case kOpDelete:
      binary_delete(s, r);
      return head;
    case kOpIncrement:
    case kOpDecrement:
      binary_delta(s, r);
      return head;
    case kOpFlush:
      binary_flush(s, r);
      return head;
    case kOpNoop:
      binary_response(s, r, kStatusSuccess, {}, 0);
      return head;
    case kOpVersion:
      binary_response(s, r, kStatusSuccess, kVersion, 0);
      return head;
    case kOpQuit:
      binary_response(s, r, kStatusSuccess, {}, 0);
      s.close();
      return head;
    case kOpStat:
      binary_stat(s, r);
      return head;
    case kOpSaslListMechs:
      if (s.ctx().config.sasl) {
        binary_sasl_list_mechs(s, r);
      } else {
        binary_error(s, r, kStatusUnknownCommand);
      }
      return head;
    case kOpSaslAuth:
    case kOpSaslStep: {
      if (!s.ctx().config.sasl) {
        // Without SASL the mechanism data is swallowed, as 1.6.18 does.
        binary_error(s, r, kStatusUnknownCommand);
        s.swallow(value_len);
        return head;
      }
      const size_t used = binary_sasl_auth(s, r, bytes.substr(head), value_len);
      if (used == Session::kNeedMore) {
        s.set_bytes_wanted(head + value_len);
        return Session::kNeedMore;
      }
      return head + used;
    }
    default:
      // 1.6.18 swallows the whole body after it has already read the extras
      // and key, so it eats extlen + keylen bytes of what follows too.
      binary_error(s, r, kStatusUnknownCommand);
      s.swallow(h.bodylen);
      return head;
  }
}

}  // namespace

BinaryHeader parse_binary_header(std::string_view bytes) {
  const char* p = bytes.data();
  BinaryHeader h;
  h.magic = static_cast<uint8_t>(p[0]);
  h.opcode = static_cast<uint8_t>(p[1]);
  h.keylen = load16(p + 2);
  h.extlen = static_cast<uint8_t>(p[4]);
  h.datatype = static_cast<uint8_t>(p[5]);
  h.vbucket = load16(p + 6);
  h.bodylen = load32(p + 8);
  h.opaque = load32(p + 12);
  h.cas = (static_cast<uint64_t>(load32(p + 16)) << 32) | load32(p + 20);
  return h;
}

void append_binary_header(std::string& out, uint8_t opcode, uint16_t status, uint8_t extlen,
                          uint16_t keylen, uint32_t bodylen, uint32_t opaque, uint64_t cas) {
  char h[kBinaryHeaderSize];
  h[0] = static_cast<char>(kBinaryResponseMagic);
  h[1] = static_cast<char>(opcode);
  h[2] = static_cast<char>(keylen >> 8);
  h[3] = static_cast<char>(keylen);
  h[4] = static_cast<char>(extlen);
  h[5] = 0;
  h[6] = static_cast<char>(status >> 8);
  h[7] = static_cast<char>(status);
  for (int i = 0; i < 4; ++i) {
    h[8 + i] = static_cast<char>(bodylen >> (24 - 8 * i));
    h[12 + i] = static_cast<char>(opaque >> (24 - 8 * i));
  }
  for (int i = 0; i < 8; ++i) h[16 + i] = static_cast<char>(cas >> (56 - 8 * i));
  out.append(h, sizeof h);
}

size_t binary_consume(Session& s, std::string_view input) {
  size_t pos = 0;
  s.set_bytes_wanted(0);
  while (!s.closing() && s.flash_reads().empty() && s.may_run_request()) {
    if (s.swallowing()) {
      pos += s.swallow_from(input.substr(pos));
      if (s.swallowing()) break;
      continue;
    }
    std::string_view rest = input.substr(pos);
    if (rest.size() < kBinaryHeaderSize) break;
    const BinaryHeader h = parse_binary_header(rest);
    if (h.magic != kBinaryRequestMagic) {
      // memcached closes without a reply (what was answered before still goes).
      s.close();
      break;
    }
    // memcached reads the extras and key with the header before it looks
    // at the command.
    const size_t head = kBinaryHeaderSize + h.extlen + h.keylen;
    if (rest.size() < head) {
      s.set_bytes_wanted(head);
      break;
    }
    if (!s.begin_request()) break;
    s.begin_message();
    size_t used = dispatch(s, h, rest);
    if (used == Session::kNeedMore) {
      s.request_waits();
      break;
    }
    pos += used;
    s.request_ran();
  }
  return pos;
}

}  // namespace memext::server
