// Rate limiting of failed authentications per source address (brute-force protection).
//
// Each source may fail `max_failures` times within a sliding `window` (counted from its first
// failure in the window); the failure that reaches the limit blocks the source for `lockout`.
// While blocked, the registrar refuses the source's requests without looking at credentials.
// Memory is bounded: at most `max_tracked` sources are remembered; when full, expired entries
// are pruned and, if that is not enough, the entry with the oldest window is forgotten.
//
// Thread rule: not thread-safe; owned by the registrar's thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sip/nonce.h"

namespace parley::sip {

struct AuthFailureLimits {
  int max_failures = 5;  // 0 disables rate limiting
  std::chrono::seconds window{60};
  std::chrono::seconds lockout{300};
  std::size_t max_tracked = 65536;
};

class AuthFailureLimiter {
 public:
  explicit AuthFailureLimiter(AuthFailureLimits limits) : limits_(limits) {}

  // True while `source` is locked out at `now`.
  bool blocked(std::string_view source, TimePoint now) const;
  // Records a failure; returns the end of the lockout if this failure started one.
  std::optional<TimePoint> recordFailure(std::string_view source, TimePoint now);
  // Drops entries whose window and lockout are both over.
  void prune(TimePoint now);

  std::size_t tracked() const { return entries_.size(); }
  const AuthFailureLimits& limits() const { return limits_; }

 private:
  struct Entry {
    int failures = 0;
    TimePoint window_start{};
    TimePoint blocked_until{};
  };
  bool expired(const Entry& e, TimePoint now) const;

  AuthFailureLimits limits_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace parley::sip
