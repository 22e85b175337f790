// Addresses in the config: listen addresses, IP literals and CIDR networks.
#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "app/config.h"
#include "app/config_reader.h"

namespace parley::app {

namespace {

// Parses an IPv4 or IPv6 literal into 16 bytes (IPv4 in bytes 0..3). False if neither.
bool parseIp(std::string_view text, bool& ipv6, std::array<std::uint8_t, 16>& bytes) {
  if (text.empty() || text.size() > 64) return false;
  const std::string s(text);  // inet_pton needs a terminated string
  bytes.fill(0);
  if (inet_pton(AF_INET, s.c_str(), bytes.data()) == 1) {
    ipv6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), bytes.data()) == 1) {
    ipv6 = true;
    return true;
  }
  return false;
}

// Zeroes every bit after the first `prefix` bits.
void maskTo(std::array<std::uint8_t, 16>& bytes, int prefix) {
  for (int i = 0; i < 16; ++i) {
    const int keep = std::max(0, std::min(8, prefix - 8 * i));
    bytes[static_cast<std::size_t>(i)] &= static_cast<std::uint8_t>(0xff00u >> keep);
  }
}

bool samePrefix(const std::array<std::uint8_t, 16>& a, const std::uint8_t* b, int prefix) {
  for (int i = 0; prefix > 0; ++i, prefix -= 8) {
    const auto mask = static_cast<std::uint8_t>(0xff00u >> std::min(8, prefix));
    if ((a[static_cast<std::size_t>(i)] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

std::string formatIp(bool ipv6, const std::array<std::uint8_t, 16>& bytes) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

enum class CidrProblem : std::uint8_t { None, Malformed, HostBits };

CidrProblem parseCidrInto(std::string_view text, Cidr& out) {
  out = Cidr{};
  out.text = std::string(text);
  const std::size_t slash = text.find('/');
  if (!parseIp(text.substr(0, slash), out.ipv6, out.address)) return CidrProblem::Malformed;
  const int max_prefix = out.ipv6 ? 128 : 32;
  out.prefix_length = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view len = text.substr(slash + 1);
    if (len.empty() || len.size() > 3) return CidrProblem::Malformed;
    int value = 0;
    for (const char c : len) {
      if (c < '0' || c > '9') return CidrProblem::Malformed;
      value = value * 10 + (c - '0');
    }
    if (value > max_prefix) return CidrProblem::Malformed;
    out.prefix_length = value;
  }
  std::array<std::uint8_t, 16> masked = out.address;
  maskTo(masked, out.prefix_length);
  if (masked != out.address) {
    out.address = masked;
    return CidrProblem::HostBits;
  }
  return CidrProblem::None;
}

}  // namespace

bool ListenAddress::isWildcard() const {
  return host == "0.0.0.0" || host == "::";
}

std::string ListenAddress::toString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool Cidr::contains(std::string_view ip) const {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
  if (!parseIp(ip, v6, bytes)) return false;
  if (v6 == ipv6) return samePrefix(address, bytes.data(), prefix_length);
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d), as a dual-stack socket reports IPv4 peers.
  static constexpr std::array<std::uint8_t, 12> kMapped = {0, 0, 0, 0, 0,    0,
                                                           0, 0, 0, 0, 0xff, 0xff};
  if (v6 && !ipv6 && std::memcmp(bytes.data(), kMapped.data(), kMapped.size()) == 0) {
    return samePrefix(address, bytes.data() + 12, prefix_length);
  }
  return false;
}

std::optional<Cidr> parseCidr(std::string_view text) {
  Cidr out;
  if (parseCidrInto(text, out) != CidrProblem::None) return std::nullopt;
  return out;
}

namespace config_detail {

bool isIpLiteral(std::string_view s) {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
  return parseIp(s, v6, bytes);
}

std::string ipAddress(const sim::YamlReader& reader, const YAML::Node& node,
                      const std::string& path) {
  const std::string s = reader.scalar(node, path);
  if (!isIpLiteral(s)) {
    reader.fail(node, path, "expected an IP address such as 127.0.0.1 or ::1, got \"" + s + "\"");
  }
  return s;
}

ListenAddress listenAddress(const sim::YamlReader& reader, const YAML::Node& node,
                            const std::string& path, std::uint16_t default_port) {
  if (node.IsSequence()) {
    // `[::1]:5060` unquoted is a YAML list.
    reader.fail(node, path, "expected \"host:port\"; quote IPv6 addresses: \"[::1]:5060\"");
  }
  const std::string s = reader.scalar(node, path);
  const std::string example = " (such as 127.0.0.1:5060 or \"[::1]:5060\")";
  ListenAddress out;
  std::string port_text;
  if (!s.empty() && s.front() == '[') {
    const std::size_t close = s.find(']');
    if (close == std::string::npos) reader.fail(node, path, "missing ']' in \"" + s + "\"");
    out.host = s.substr(1, close - 1);
    const std::string rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') reader.fail(node, path, "expected ':' after ']' in \"" + s + "\"");
      port_text = rest.substr(1);
      if (port_text.empty()) reader.fail(node, path, "missing port after ':' in \"" + s + "\"");
    }
    if (out.host.find(':') == std::string::npos || !isIpLiteral(out.host)) {
      reader.fail(node, path, "expected an IPv6 address in brackets, got \"" + s + "\"");
    }
  } else if (isIpLiteral(s) && s.find(':') != std::string::npos) {
    out.host = s;  // a bare IPv6 address, no port
  } else {
    const std::size_t colon = s.find(':');
    if (colon != std::string::npos && s.find(':', colon + 1) != std::string::npos) {
      reader.fail(node, path,
                  "write IPv6 addresses in brackets: \"[::1]:5060\", got \"" + s + "\"");
    }
    out.host = s.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = s.substr(colon + 1);
      if (port_text.empty()) reader.fail(node, path, "missing port after ':' in \"" + s + "\"");
    }
    if (!isIpLiteral(out.host)) {
      reader.fail(node, path, "expected an IP address and port" + example + ", got \"" + s + "\"");
    }
  }
  out.port = default_port;
  if (!port_text.empty()) {
    char* end = nullptr;
    errno = 0;
    const long port = std::strtol(port_text.c_str(), &end, 10);
    if (*end != '\0' || errno != 0 || port < 0 || port > 65535 || port_text.front() == '-' ||
        port_text.front() == '+') {
      reader.fail(node, path, "port must be 0..65535, got \"" + port_text + "\"");
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

Cidr cidr(const sim::YamlReader& reader, const YAML::Node& node, const std::string& path) {
  const std::string s = reader.scalar(node, path);
  Cidr out;
  switch (parseCidrInto(s, out)) {
    case CidrProblem::None:
      return out;
    case CidrProblem::HostBits:
      reader.fail(node, path,
                  "\"" + s + "\" has host bits set; did you mean " +
                      formatIp(out.ipv6, out.address) + "/" + std::to_string(out.prefix_length) +
                      "?");
    case CidrProblem::Malformed:
      break;
  }
  reader.fail(node, path,
              "expected an IP address or network such as 192.0.2.10, 10.0.0.0/8 or "
              "2001:db8::/32, got \"" +
                  s + "\"");
}

}  // namespace config_detail

}  // namespace parley::app
