#include "meta_request.h"

#include "parse_util.h"

namespace memext::server {
namespace {
// memcached 1.6.18's _meta_flag_preparse knows one set of letters for every
// meta command; a command ignores the ones it has no use for.
constexpr std::string_view kMetaFlagLetters = "bNTRlOPLkstcfvhuqFCMJDI";
constexpr size_t kMaxOpaqueLength = 32;

}  // namespace

void append_ttl(std::string& out, rel_time_t exptime, rel_time_t now) {
  if (exptime == 0) {
    out.append("-1");
  } else {
    append_uint(out, static_cast<uint32_t>(exptime - now));
  }
}

std::string_view preparse(const Tokens& t, size_t first_flag, MetaRequest& req) {
  switch (parse_meta_flags(t, first_flag, kMetaFlagLetters, req.flags)) {
    case MetaFlagError::kNone:
      break;
    case MetaFlagError::kDuplicate:
      return "CLIENT_ERROR duplicate flag\r\n";
    case MetaFlagError::kInvalid:
    case MetaFlagError::kTooMany:
      return "CLIENT_ERROR invalid flag\r\n";
  }
  req.key = t[1];
  bool failed = false;
  std::string_view error = "CLIENT_ERROR bad command line format\r\n";
  // memcached leaves the message as it was for a bad F token.
  auto fail = [&](std::string_view named = {}) {
    failed = true;
    if (!named.empty()) error = named;
  };
  constexpr std::string_view kBadToken = "CLIENT_ERROR bad token in command line format\r\n";
  MetaValues& v = req.values;
  for (char flag : req.flags.order) {
    const std::string_view value = req.flags.get(flag);
    switch (flag) {
      case 'b':
        if (!base64_decode(t[1], req.key_storage) || req.key_storage.empty()) {
          fail("CLIENT_ERROR error decoding key\r\n");
        } else {
          req.key = req.key_storage;
        }
        break;
      case 'N':
        if (!parse_int32(value, v.vivify_ttl)) fail(kBadToken);
        break;
      case 'T':
        if (!parse_int32(value, v.ttl)) fail(kBadToken);
        break;
      case 'R':
        if (!parse_int32(value, v.recache_ttl)) fail(kBadToken);
        break;
      case 'F':
        if (!parse_uint32(value, v.client_flags)) fail();
        break;
      case 'C':
        if (!parse_uint64(value, v.cas)) fail(kBadToken);
        break;
      case 'M':
        if (value.size() != 1) {
          fail("CLIENT_ERROR incorrect length for M token\r\n");
        } else {
          v.mode = value[0];
        }
        break;
      case 'J':
        if (!parse_uint64(value, v.initial)) fail("CLIENT_ERROR invalid numeric initial value\r\n");
        break;
      case 'D':
        if (!parse_uint64(value, v.delta)) fail("CLIENT_ERROR invalid numeric delta value\r\n");
        break;
      default:
        break;
    }
  }
  return failed ? error : std::string_view{};
}

bool opaque_too_long(const MetaRequest& req) {
  return req.flags.has('O') && req.flags.get('O').size() + 1 > kMaxOpaqueLength;
}

bool parse_request(Session& s, const Tokens& t, MetaCommand command, MetaRequest& req) {
  if (t[1].size() > kKeyMaxLength) {
    s.reply_error("CLIENT_ERROR bad command line format\r\n");
    return false;
  }
  if (t.size() + 1 > kMaxMetaTokens) {
    s.reply_error(command == MetaCommand::kGet ? "CLIENT_ERROR options flags are too long\r\n"
                                               : "CLIENT_ERROR options flags too long\r\n");
    return false;
  }
  const std::string_view error = preparse(t, 2, req);
  if (!error.empty()) {
    // md and ma print one line for every preparse failure.
    s.reply_error(command == MetaCommand::kGet ? error
                                               : "CLIENT_ERROR invalid or duplicate flag\r\n");
    return false;
  }
  return true;
}

void append_key(std::string& out, std::string_view key, bool binary) {
  out.append(" k");
  if (binary) {
    base64_encode(key, out);
    out.append(" b");
  } else {
    out.append(key);
  }
}

void append_key_opaque(std::string& out, char flag, const MetaRequest& req) {
  if (flag == 'k') {
    append_key(out, req.key, req.flags.has('b'));
  } else if (flag == 'O') {
    out.append(" O");
    out.append(req.flags.get('O'));
  }
}

std::string echoed_status(std::string_view code, const MetaRequest& req) {
  std::string line(code);
  for (char flag : req.flags.order) append_key_opaque(line, flag, req);
  line.append("\r\n");
  return line;
}

MetaFlagError parse_meta_flags(const Tokens& tokens, size_t first, std::string_view allowed,
                               MetaFlags& flags) {
  for (size_t i = first; i < tokens.size(); ++i) {
    std::string_view tok = tokens[i];
    unsigned char c = static_cast<unsigned char>(tok[0]);
    // memcached reports bytes from 127 up as duplicates.
    if (c >= 127 || flags.present[c]) return MetaFlagError::kDuplicate;
    if (allowed.find(static_cast<char>(c)) == std::string_view::npos) {
      return MetaFlagError::kInvalid;
    }
    flags.present[c] = true;
    flags.value[c] = tok.substr(1);
    flags.order.push_back(static_cast<char>(c));
  }
  return MetaFlagError::kNone;
}

}  // namespace memext::server
