#include "validate/live_protocol.h"

#include <algorithm>
#include <cassert>
#include <charconv>

namespace memext {

namespace {

constexpr std::string_view kDigits =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void append_number(std::string& out, int64_t v) {
  char text[24];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, v);
  assert(ec == std::errc());
  out.append(text, end);
}

std::string_view store_command(Op op) {
  switch (op) {
    case Op::kAdd:
      return "add ";
    case Op::kReplace:
    case Op::kCas:
      return "replace ";
    case Op::kAppend:
      return "append ";
    case Op::kPrepend:
      return "prepend ";
    default:
      return "set ";
  }
}

bool starts_with_error(std::string_view line) {
  return line == "ERROR" || line.starts_with("ERROR ") || line.starts_with("CLIENT_ERROR") ||
         line.starts_with("SERVER_ERROR");
}

}  // namespace

uint32_t live_key_length(uint32_t traced) {
  return std::clamp(traced, kMinLiveKeyBytes, kMaxLiveKeyBytes);
}

void append_live_key(std::string& out, uint64_t key_id, uint32_t length) {
  assert(length >= kMinLiveKeyBytes && length <= kMaxLiveKeyBytes);
  char digits[kMinLiveKeyBytes];
  for (char& d : digits) {
    d = kDigits[key_id % kDigits.size()];
    key_id /= kDigits.size();
  }
  out.append(digits, kMinLiveKeyBytes);
  out.append(length - kMinLiveKeyBytes, 'x');
}

void append_request(std::string& out, const TraceRequest& r, uint32_t key_length,
                    std::string_view filler) {
  switch (r.op) {
    case Op::kGet:
    case Op::kGets:
      out += r.op == Op::kGet ? "get " : "gets ";
      append_live_key(out, r.key_id, key_length);
      break;
    case Op::kGat:
    case Op::kGats:
      out += r.op == Op::kGat ? "gat " : "gats ";
      append_number(out, r.ttl);
      out += ' ';
      append_live_key(out, r.key_id, key_length);
      break;
    case Op::kSet:
    case Op::kAdd:
    case Op::kReplace:
    case Op::kCas:
    case Op::kAppend:
    case Op::kPrepend:
      assert(filler.size() >= r.value_size);
      out += store_command(r.op);
      append_live_key(out, r.key_id, key_length);
      out += " 0 ";
      append_number(out, r.ttl);
      out += ' ';
      append_number(out, r.value_size);
      out += "\r\n";
      out.append(filler.data(), r.value_size);
      break;
    case Op::kDelete:
      out += "delete ";
      append_live_key(out, r.key_id, key_length);
      break;
    case Op::kIncr:
    case Op::kDecr:
      out += r.op == Op::kIncr ? "incr " : "decr ";
      append_live_key(out, r.key_id, key_length);
      out += " 1";
      break;
    case Op::kTouch:
      out += "touch ";
      append_live_key(out, r.key_id, key_length);
      out += ' ';
      append_number(out, r.ttl);
      break;
  }
  out += "\r\n";
}

Reply parse_reply(std::string_view buf, Op op) {
  Reply reply;
  const size_t eol = buf.find("\r\n");
  if (eol == std::string_view::npos) return reply;
  reply.line = buf.substr(0, eol);
  reply.consumed = eol + 2;
  if (starts_with_error(reply.line)) {
    reply.status = ReplyStatus::kError;
    return reply;
  }
  if (!is_get_op(op)) {
    reply.status = reply.line.starts_with("VALUE ") || reply.line == "END"
                       ? ReplyStatus::kProtocolError
                       : ReplyStatus::kLine;
    return reply;
  }
  if (reply.line == "END") {
    reply.status = ReplyStatus::kMiss;
    return reply;
  }
  // VALUE <key> <flags> <bytes> [<cas>]
  reply.status = ReplyStatus::kProtocolError;
  if (!reply.line.starts_with("VALUE ")) return reply;
  std::string_view rest = reply.line.substr(6);
  for (int field = 0; field < 2; ++field) {
    const size_t space = rest.find(' ');
    if (space == std::string_view::npos) return reply;
    rest.remove_prefix(space + 1);
  }
  const std::string_view bytes_text = rest.substr(0, rest.find(' '));
  uint64_t bytes = 0;
  const auto [end, ec] =
      std::from_chars(bytes_text.data(), bytes_text.data() + bytes_text.size(), bytes);
  if (ec != std::errc() || end != bytes_text.data() + bytes_text.size()) return reply;
  constexpr std::string_view kTail = "\r\nEND\r\n";
  const uint64_t total = reply.consumed + bytes + kTail.size();
  if (buf.size() < total) {
    reply.status = ReplyStatus::kIncomplete;
    reply.consumed = 0;
    return reply;
  }
  if (buf.substr(reply.consumed + bytes, kTail.size()) != kTail) return reply;
  reply.status = ReplyStatus::kHit;
  reply.consumed = total;
  return reply;
}

}  // namespace memext
