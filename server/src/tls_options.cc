#include "tls_options.h"

#include <charconv>
#include <stdexcept>

#include "config.h"

namespace memext::server {
namespace {

// memcached exits with status 1 for a bad -o value.
[[noreturn]] void fail(const std::string& text) {
  throw ConfigError::memcached(text, 1);
}

int64_t parse_number(const std::string& name, const std::string& value) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
    fail("could not parse argument to " + name);
  }
  return v;
}

const std::string& required(const std::string& name, const std::string& value) {
  if (value.empty()) fail("Missing " + name + " argument");
  return value;
}

}  // namespace

bool apply_tls_suboption(TlsConfig& tls, const std::string& name, const std::string& value) {
  if (name == "ssl_chain_cert") {
    tls.chain_cert = required(name, value);
  } else if (name == "ssl_key") {
    tls.key = required(name, value);
  } else if (name == "ssl_ca_cert") {
    tls.ca_cert = required(name, value);
  } else if (name == "ssl_ciphers") {
    tls.ciphers = required(name, value);
  } else if (name == "ssl_keyformat") {
    tls.keyformat = static_cast<int>(parse_number(name, required(name, value)));
  } else if (name == "ssl_verify_mode") {
    int64_t mode = parse_number(name, required(name, value));
    if (mode < 0 || mode > 3) fail("Invalid ssl_verify_mode. Use help to see valid options.");
    tls.verify_mode = static_cast<int>(mode);
  } else if (name == "ssl_min_version") {
    int64_t version = parse_number(name, required(name, value));
    if (version < 0 || version > 3) fail("Invalid ssl_min_version. Use help to see valid options.");
    tls.min_version = static_cast<int>(version);
  } else if (name == "ssl_wbuf_size") {
    required(name, value);
    if (value[0] == '-') fail("could not parse argument to " + name);
    int64_t kb = parse_number(name, value);
    if (kb > (int64_t{1} << 32)) fail("could not parse argument to " + name);
    tls.wbuf_size = static_cast<uint64_t>(kb) << 10;
  } else if (name == "ssl_session_cache") {
    tls.session_cache = true;
  } else if (name == "ssl_kernel_tls") {
    tls.kernel_tls = true;
  } else {
    return false;
  }
  return true;
}

int tls_verify_flags(int verify_mode) {
  constexpr int kFlags[] = {0, 1, 1 | 2, 1 | 2 | 4};
  return kFlags[verify_mode];
}

std::string_view tls_version_name(int min_version) {
  switch (min_version) {
    case 0:
      return "tlsv1.0";
    case 1:
      return "tlsv1.1";
    case 2:
      return "tlsv1.2";
    default:
      return "tlsv1.3";
  }
}

ListenSpec parse_listen_spec(std::string_view entry) {
  ListenSpec spec;
  std::string_view rest = entry;
  if (rest.starts_with("notls:")) {
    spec.notls = true;
    rest.remove_prefix(6);
  }
  std::string_view port_text;
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      throw std::runtime_error("-l " + std::string(entry) + ": no ']' after the IPv6 address");
    }
    spec.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (after.starts_with(':')) port_text = after.substr(1);
  } else {
    const size_t colon = rest.find(':');
    // More than one colon: a bare IPv6 address, which takes no port.
    if (colon != std::string_view::npos && rest.find(':', colon + 1) == std::string_view::npos) {
      spec.host = std::string(rest.substr(0, colon));
      port_text = rest.substr(colon + 1);
    } else {
      spec.host = std::string(rest);
    }
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
      throw std::runtime_error("-l " + std::string(entry) + ": invalid port '" +
                               std::string(port_text) + "' (allowed: 0..65535)");
    }
    spec.port = static_cast<uint16_t>(port);
  }
  return spec;
}

}  // namespace memext::server
