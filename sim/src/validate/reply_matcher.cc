#include "validate/reply_matcher.h"

#include <algorithm>
#include <cassert>

namespace memext {

namespace {

Op op_of(const AwaitedReply& a) {
  return a.fill ? Op::kSet : a.request.op;
}

std::string key_of(const AwaitedReply& a) {
  std::string key;
  append_live_key(key, a.request.key_id, a.request.key_size);
  return key;
}

// A reply read without knowing its request: a value or END, else one line.
Reply parse_any_reply(std::string_view buf) {
  const bool retrieval = buf.starts_with("VALUE ") || buf.starts_with("END\r\n");
  return parse_reply(buf, retrieval ? Op::kGet : Op::kSet);
}

bool is_number(std::string_view line) {
  return !line.empty() &&
         std::all_of(line.begin(), line.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

}  // namespace

bool reply_fits(ReplyStatus status, std::string_view line, Op op, std::string_view key) {
  if (status == ReplyStatus::kError) return line != kGetResponseOomLine || is_get_op(op);
  if (is_get_op(op)) {
    if (status == ReplyStatus::kMiss) return true;
    if (status != ReplyStatus::kHit) return false;
    std::string_view rest = line.substr(6);  // after "VALUE "
    return rest.substr(0, rest.find(' ')) == key;
  }
  if (status != ReplyStatus::kLine) return false;
  switch (op) {
    case Op::kDelete:
      return line == "DELETED" || line == "NOT_FOUND";
    case Op::kIncr:
    case Op::kDecr:
      return line == "NOT_FOUND" || is_number(line);
    case Op::kTouch:
      return line == "TOUCHED" || line == "NOT_FOUND";
    default:
      return line == "STORED" || line == "NOT_STORED" || line == "EXISTS" || line == "NOT_FOUND";
  }
}

void ReplyMatcher::expect(const AwaitedReply& awaited) {
  awaited_.push_back(awaited);
}

void ReplyMatcher::marker_sent() {
  assert(marker_wanted_);
  AwaitedReply marker;
  marker.marker = true;
  awaited_.push_back(marker);
  marker_wanted_ = false;
  marker_awaited_ = true;
}

bool ReplyMatcher::fits(const Collected& reply, const AwaitedReply& awaited) const {
  const Op op = op_of(awaited);
  if (reply.status == ReplyStatus::kHit) {
    return reply_fits(reply.status, reply.line, op, key_of(awaited));
  }
  return reply_fits(reply.status, reply.line, op, {});
}

size_t ReplyMatcher::consume(std::string_view buf, std::vector<MatchedReply>* out,
                             std::string* error) {
  size_t pos = 0;
  while (pos < buf.size()) {
    const std::string_view rest = buf.substr(pos);
    if (collected_.empty()) {
      if (awaited_.empty()) {
        *error = "sent bytes no request asked for: '" + std::string(rest.substr(0, 80)) + "'";
        return pos;
      }
      const AwaitedReply& head = awaited_.front();
      assert(!head.marker);
      const Op op = op_of(head);
      const Reply reply = parse_reply(rest, op);
      if (reply.status == ReplyStatus::kIncomplete) break;
      pos += reply.consumed;
      if (reply.status == ReplyStatus::kError && reply.line == kGetResponseOomLine) {
        collected_.push_back({reply.status, std::string(reply.line)});
        marker_wanted_ = true;
        continue;
      }
      const bool fit = reply.status != ReplyStatus::kProtocolError &&
                       reply_fits(reply.status, reply.line, op,
                                  reply.status == ReplyStatus::kHit ? key_of(head) : "");
      if (!fit) {
        *error = "answered '" + std::string(reply.line.substr(0, 120)) + "' to a " +
                 std::string(op_name(op)) + " request";
        return pos;
      }
      out->push_back({head, false, reply.status, std::string(reply.line)});
      awaited_.pop_front();
      continue;
    }
    const Reply reply = parse_any_reply(rest);
    if (reply.status == ReplyStatus::kIncomplete) break;
    pos += reply.consumed;
    if (reply.status == ReplyStatus::kProtocolError) {
      *error = "answered '" + std::string(reply.line.substr(0, 120)) +
               "', which is no reply, after '" + std::string(kGetResponseOomLine) + "'";
      return pos;
    }
    if (marker_awaited_ && reply.line.starts_with("VERSION ")) {
      if (!resolve(out, error)) return pos;
      continue;
    }
    collected_.push_back({reply.status, std::string(reply.line)});
  }
  return pos;
}

bool ReplyMatcher::place(size_t reply_end, size_t request_end, std::vector<int>* reply_of) const {
  size_t i = reply_end;
  size_t j = request_end;
  while (i > 0 && j > 0) {
    const Collected& reply = collected_[i - 1];
    const AwaitedReply& request = awaited_[j - 1];
    if (!fits(reply, request)) return false;
    (*reply_of)[j - 1] = static_cast<int>(i - 1);
    --i;
    --j;
    if (reply.line != kGetResponseOomLine) continue;
    // The requests of memcached's batch before this get lost their replies:
    // all that are left before the first such error, fewest possible before
    // a later one.
    if (i == 0) {
      std::fill(reply_of->begin(), reply_of->begin() + static_cast<ptrdiff_t>(j), -1);
      return true;
    }
    for (size_t dropped = 0; dropped < j; ++dropped) {
      if (dropped > 0) (*reply_of)[j - dropped] = -1;
      if (place(i, j - dropped, reply_of)) return true;
    }
    return false;
  }
  return false;
}

bool ReplyMatcher::resolve(std::vector<MatchedReply>* out, std::string* error) {
  assert(!collected_.empty() && collected_.front().line == kGetResponseOomLine);
  const auto marker = std::find_if(awaited_.begin(), awaited_.end(),
                                   [](const AwaitedReply& a) { return a.marker; });
  assert(marker != awaited_.end());
  const size_t requests = static_cast<size_t>(marker - awaited_.begin());
  std::vector<int> reply_of(requests, -1);
  if (!place(collected_.size(), requests, &reply_of)) {
    *error = "answered " + std::to_string(collected_.size()) + " replies from '" +
             std::string(kGetResponseOomLine) + "' on to " + std::to_string(requests) +
             " requests in an order none of them fits";
    return false;
  }
  for (size_t j = 0; j < requests; ++j) {
    MatchedReply m{awaited_[j], reply_of[j] < 0, ReplyStatus::kLine, ""};
    if (!m.dropped) {
      const Collected& reply = collected_[static_cast<size_t>(reply_of[j])];
      m.status = reply.status;
      m.line = reply.line;
    }
    out->push_back(std::move(m));
  }
  awaited_.erase(awaited_.begin(), awaited_.begin() + static_cast<ptrdiff_t>(requests) + 1);
  collected_.clear();
  marker_awaited_ = false;
  return true;
}

}  // namespace memext
