#include "sip/nonce.h"

#include <array>
#include <cinttypes>
#include <cstdio>

#include "sip/libre.h"

namespace parley::sip {
namespace {

constexpr std::size_t kNonceLength = 64;
constexpr std::size_t kMacBytes = 16;
constexpr std::size_t kSha1Bytes = 20;
// Clock skew tolerated for a nonce stamped "in the future": none should be, as the same process
// issues and checks, but a second of rounding costs nothing.
constexpr std::int64_t kFutureSlackSeconds = 1;

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

bool parseHex64(std::string_view s, std::uint64_t& out) {
  if (s.size() != 16) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    int d = 0;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  out = v;
  return true;
}

std::int64_t secondsOf(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Compares without an early exit so the time taken does not reveal the matching prefix.
bool equalConstantTime(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

}  // namespace

NonceIssuer::NonceIssuer(std::string secret, std::string realm, std::chrono::seconds lifetime)
    : secret_(std::move(secret)), realm_(std::move(realm)), lifetime_(lifetime) {}

std::string NonceIssuer::mac(std::uint64_t issued_s, std::uint64_t salt) const {
  const std::string data = hex64(issued_s) + hex64(salt) + realm_;
  // libre's OpenSSL-backed hmac_sha1 ignores its length argument and always writes the whole
  // SHA-1 digest, so the buffer must hold all of it; the nonce uses the first kMacBytes.
  std::array<std::uint8_t, kSha1Bytes> out{};
  hmac_sha1(reinterpret_cast<const std::uint8_t*>(secret_.data()), secret_.size(),
            reinterpret_cast<const std::uint8_t*>(data.data()), data.size(), out.data(),
            out.size());
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * kMacBytes);
  for (std::size_t i = 0; i < kMacBytes; ++i) {
    const std::uint8_t b = out[i];
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 0x0f]);
  }
  return hex;
}

std::string NonceIssuer::issue(TimePoint now, std::uint64_t salt) const {
  const auto issued_s = static_cast<std::uint64_t>(secondsOf(now));
  return hex64(issued_s) + hex64(salt) + mac(issued_s, salt);
}

NonceCheck NonceIssuer::check(std::string_view nonce, TimePoint now) const {
  std::uint64_t issued_s = 0;
  std::uint64_t salt = 0;
  if (nonce.size() != kNonceLength || !parseHex64(nonce.substr(0, 16), issued_s) ||
      !parseHex64(nonce.substr(16, 16), salt)) {
    return NonceCheck::Invalid;
  }
  if (!equalConstantTime(nonce.substr(32), mac(issued_s, salt))) return NonceCheck::Invalid;
  const std::int64_t age = secondsOf(now) - static_cast<std::int64_t>(issued_s);
  if (age < -kFutureSlackSeconds) return NonceCheck::Invalid;
  if (age > lifetime_.count()) return NonceCheck::Stale;
  return NonceCheck::Valid;
}

}  // namespace parley::sip
