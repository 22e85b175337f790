// Who may use the HTTP API: roles, the user directory the application supplies, password
// checks, browser sessions and the failed-login limiter.
//
// Thread rule: Role, UserDirectory and checkPassword() are values and pure functions.
// SessionTable and LoginLimiter guard their state with a mutex, so any thread may call them
// (the HTTP server calls them from its one io thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "web/role.h"

namespace parley::web {

using Clock = std::chrono::steady_clock;

// The application's users: the role of `name` if `password` is right, nullopt otherwise (for an
// unknown user as for a wrong password, so callers cannot tell them apart). Called on the HTTP
// server's thread; must be thread-safe and should not block.
using UserDirectory =
    std::function<std::optional<Role>(std::string_view name, std::string_view password)>;

// True if `given` matches `stored`: "sha256:<64 hex digits>" compares SHA-256(given) with the
// digest, anything else compares as plain text. Constant time in the stored length.
bool checkPassword(std::string_view stored, std::string_view given);
// "sha256:<hex>" of `password` (for docs, tools and tests).
std::string sha256Password(std::string_view password);
// True if `stored` starts with "sha256:" and 64 hex digits follow.
bool isSha256Password(std::string_view stored);

struct Session {
  std::string user;
  Role role = Role::Agent;
};

// Browser sessions: random 128-bit tokens (hex) that expire after `idle_timeout` without use.
// At most `max_sessions`; a new one beyond that evicts the least recently used.
class SessionTable {
 public:
  SessionTable(Clock::duration idle_timeout, std::size_t max_sessions = 10'000)
      : idle_timeout_(idle_timeout), max_sessions_(max_sessions) {}

  std::string create(Session session, Clock::time_point now);
  // The session of `token` if it exists and has not expired; refreshes its idle timer.
  std::optional<Session> find(std::string_view token, Clock::time_point now);
  void remove(std::string_view token);
  std::size_t size() const;

 private:
  struct Entry {
    Session session;
    Clock::time_point last_used;
  };
  void expire(Clock::time_point now);  // with mutex_ held

  const Clock::duration idle_timeout_;
  const std::size_t max_sessions_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> sessions_;  // GUARDED_BY(mutex_), by token
};

// Failed logins per client address: `max_failures` within `window` blocks that address for
// the rest of the window (the server answers 429). Fixed windows counted from the first
// failure. Tracks at most `max_addresses`; beyond that the oldest windows are forgotten.
class LoginLimiter {
 public:
  LoginLimiter(int max_failures, Clock::duration window, std::size_t max_addresses = 100'000)
      : max_failures_(max_failures), window_(window), max_addresses_(max_addresses) {}

  // True if `address` may try to log in now. max_failures 0: always.
  bool allowed(const std::string& address, Clock::time_point now);
  void failed(const std::string& address, Clock::time_point now);
  // Seconds until `address` may try again (0 if it may now), for Retry-After.
  std::int64_t retryAfterSeconds(const std::string& address, Clock::time_point now);

 private:
  struct Window {
    Clock::time_point started;
    int failures = 0;
  };
  const int max_failures_;
  const Clock::duration window_;
  const std::size_t max_addresses_;
  std::mutex mutex_;
  std::map<std::string, Window, std::less<>> windows_;  // GUARDED_BY(mutex_)
};

// A random 128-bit token as 32 lowercase hex digits (std::random_device: /dev/urandom on Linux).
std::string randomToken();

}  // namespace parley::web
