// HTTP/SIP digest authentication primitives (RFC 2617, RFC 3261 §22.4, RFC 7616 with MD5):
// H(A1) for a user, parsing an Authorization header value, checking a response, and computing
// one (for tests and, later, outbound registration). Thin wrappers over libre's MD5 and digest
// decoder; the interface uses only standard types so the registrar core stays free of libre.
//
// Thread rule: pure functions; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::sip {

// MD5(username:realm:password), the stored secret of digest authentication.
using Ha1 = std::array<std::uint8_t, 16>;

Ha1 computeHa1(std::string_view user, std::string_view realm, std::string_view password);
// Parses 32 hex digits (either case); nullopt for anything else.
std::optional<Ha1> parseHa1Hex(std::string_view hex);
std::string toHex(const Ha1& ha1);

// The fields of a `Digest ...` Authorization header value, unquoted. Empty when absent.
struct DigestCredentials {
  std::string username;
  std::string realm;
  std::string nonce;
  std::string uri;
  std::string response;
  std::string algorithm;  // absent means MD5
  std::string qop;        // "auth", or empty for RFC 2069 clients
  std::string nc;
  std::string cnonce;
};

// Parses an Authorization (or Proxy-Authorization) header value. nullopt when it is not a
// Digest value or lacks username, realm, nonce, uri or response. Never throws on any input.
std::optional<DigestCredentials> parseAuthorization(std::string_view header_value);

// True when `creds.response` is the correct digest for `method` and the user's `ha1`:
// MD5(HA1:nonce:nc:cnonce:qop:HA2) with qop, MD5(HA1:nonce:HA2) without, HA2 = MD5(method:uri).
// Does not check realm, nonce freshness, algorithm or uri; the caller does.
bool verifyDigest(const DigestCredentials& creds, std::string_view method, const Ha1& ha1);

// The response a client computes (lowercase hex); the inverse of verifyDigest.
std::string computeDigestResponse(const DigestCredentials& creds, std::string_view method,
                                  const Ha1& ha1);

}  // namespace parley::sip
