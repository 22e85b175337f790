#include "sip/digest.h"

#include <string>

#include "sip/libre.h"

namespace parley::sip {
namespace {

pl toPl(std::string_view s) {
  return pl{s.data(), s.size()};
}
std::string toString(const pl& p) {
  return p.p ? std::string(p.p, p.l) : std::string();
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// libre's httpauth_digest_response_decode keeps only the fields RFC 2617 needs to verify a
// response; `algorithm` is read here with the same name/value grammar.
std::string findParam(std::string_view value, std::string_view name) {
  pl rest = toPl(value);
  pl pname{};
  pl pval{};
  while (rest.l > 0 &&
         re_regex(rest.p, rest.l, "[ \t\r\n,]+[a-z]+[ \t\r\n]*=[ \t\r\n]*[~ \t\r\n,]*", nullptr,
                  &pname, nullptr, nullptr, &pval) == 0) {
    const std::size_t consumed = static_cast<std::size_t>(pval.p + pval.l - rest.p);
    rest.p += consumed;
    rest.l -= consumed;
    if (pl_strcasecmp(&pname, std::string(name).c_str()) == 0) return toString(pval);
  }
  return {};
}

// The parameters after the leading "Digest" token, starting at the separator that follows it.
std::string_view afterScheme(std::string_view value) {
  const std::size_t start = value.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  value.remove_prefix(start);
  const std::size_t end = value.find_first_of(" \t\r\n");
  return end == std::string_view::npos ? std::string_view{} : value.substr(end);
}

}  // namespace

Ha1 computeHa1(std::string_view user, std::string_view realm, std::string_view password) {
  const std::string a1 = std::string(user) + ":" + std::string(realm) + ":" + std::string(password);
  Ha1 out{};
  md5(reinterpret_cast<const std::uint8_t*>(a1.data()), a1.size(), out.data());
  return out;
}

std::optional<Ha1> parseHa1Hex(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  Ha1 out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hexValue(hex[2 * i]);
    const int lo = hexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

std::string toHex(const Ha1& ha1) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (std::uint8_t b : ha1) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

std::optional<DigestCredentials> parseAuthorization(std::string_view header_value) {
  // Bound the work on hostile input; real Authorization values are a few hundred bytes.
  if (header_value.size() > 4096) return std::nullopt;
  httpauth_digest_resp resp{};
  const pl value = toPl(header_value);
  if (httpauth_digest_response_decode(&resp, &value) != 0) return std::nullopt;
  DigestCredentials c;
  c.username = toString(resp.username);
  c.realm = toString(resp.realm);
  c.nonce = toString(resp.nonce);
  c.uri = toString(resp.uri);
  c.response = toString(resp.response);
  c.qop = toString(resp.qop);
  c.nc = toString(resp.nc);
  c.cnonce = toString(resp.cnonce);
  c.algorithm = findParam(afterScheme(header_value), "algorithm");
  return c;
}

bool verifyDigest(const DigestCredentials& creds, std::string_view method, const Ha1& ha1) {
  httpauth_digest_resp resp{};
  resp.realm = toPl(creds.realm);
  resp.nonce = toPl(creds.nonce);
  resp.response = toPl(creds.response);
  resp.username = toPl(creds.username);
  resp.uri = toPl(creds.uri);
  if (!creds.qop.empty()) {
    resp.qop = toPl(creds.qop);
    resp.nc = toPl(creds.nc);
    resp.cnonce = toPl(creds.cnonce);
  }
  const pl met = toPl(method);
  return httpauth_digest_response_auth(&resp, &met, ha1.data()) == 0;
}

std::string computeDigestResponse(const DigestCredentials& creds, std::string_view method,
                                  const Ha1& ha1) {
  const std::string a2 = std::string(method) + ":" + creds.uri;
  Ha1 ha2{};
  md5(reinterpret_cast<const std::uint8_t*>(a2.data()), a2.size(), ha2.data());
  std::string kd = toHex(ha1) + ":" + creds.nonce + ":";
  if (!creds.qop.empty()) kd += creds.nc + ":" + creds.cnonce + ":" + creds.qop + ":";
  kd += toHex(ha2);
  Ha1 response{};
  md5(reinterpret_cast<const std::uint8_t*>(kd.data()), kd.size(), response.data());
  return toHex(response);
}

}  // namespace parley::sip
