// Stateless digest nonces: each nonce carries the time it was issued and an HMAC over that time,
// a random salt and the realm, keyed with a server secret. The server keeps no table of issued
// nonces; it can still tell its own nonces from forged ones and fresh ones from stale ones.
//
// Format: 64 lowercase hex digits = issued-at seconds (16) | salt (16) | HMAC-SHA1 prefix (32).
// Secrets are per process, so a restart invalidates outstanding nonces (clients get a new
// challenge, which costs one round trip).
//
// Thread rule: const after construction; issue() and check() are safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace parley::sip {

// Registrar time: a monotonic clock. Tests pass any time point they like; nothing here reads a
// clock.
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

enum class NonceCheck {
  Valid,    // ours and younger than the lifetime
  Stale,    // ours but older than the lifetime: the client should retry with a new one
  Invalid,  // not ours, malformed, or issued in the future
};

class NonceIssuer {
 public:
  // `secret` keys the HMAC (at least 16 random bytes in production); `realm` is bound into every
  // nonce so one realm's nonces do not work in another.
  NonceIssuer(std::string secret, std::string realm, std::chrono::seconds lifetime);

  // A new nonce issued at `now`; `salt` makes nonces issued in the same second differ.
  std::string issue(TimePoint now, std::uint64_t salt) const;
  NonceCheck check(std::string_view nonce, TimePoint now) const;

  std::chrono::seconds lifetime() const { return lifetime_; }

 private:
  std::string mac(std::uint64_t issued_s, std::uint64_t salt) const;

  std::string secret_;
  std::string realm_;
  std::chrono::seconds lifetime_;
};

}  // namespace parley::sip
