#include "sip/auth_failure_limiter.h"

#include <algorithm>

namespace parley::sip {

bool AuthFailureLimiter::blocked(std::string_view source, TimePoint now) const {
  if (limits_.max_failures <= 0) return false;
  const auto it = entries_.find(std::string(source));
  return it != entries_.end() && now < it->second.blocked_until;
}

bool AuthFailureLimiter::expired(const Entry& e, TimePoint now) const {
  return now >= e.blocked_until && now - e.window_start >= limits_.window;
}

std::optional<TimePoint> AuthFailureLimiter::recordFailure(std::string_view source, TimePoint now) {
  if (limits_.max_failures <= 0) return std::nullopt;
  auto it = entries_.find(std::string(source));
  if (it == entries_.end()) {
    if (entries_.size() >= limits_.max_tracked) {
      prune(now);
      if (entries_.size() >= limits_.max_tracked && !entries_.empty()) {
        const auto oldest =
            std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
              return a.second.window_start < b.second.window_start;
            });
        entries_.erase(oldest);
      }
    }
    it = entries_.emplace(std::string(source), Entry{0, now, TimePoint{}}).first;
  }
  Entry& e = it->second;
  if (now < e.blocked_until) return std::nullopt;  // already locked out
  if (now - e.window_start >= limits_.window) {
    e.failures = 0;
    e.window_start = now;
  }
  ++e.failures;
  if (e.failures < limits_.max_failures) return std::nullopt;
  e.blocked_until = now + limits_.lockout;
  e.failures = 0;
  e.window_start = e.blocked_until;  // a fresh window starts when the lockout ends
  return e.blocked_until;
}

void AuthFailureLimiter::prune(TimePoint now) {
  std::erase_if(entries_, [&](const auto& kv) { return expired(kv.second, now); });
}

}  // namespace parley::sip
