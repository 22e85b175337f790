#include "web/auth.h"

#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <random>

namespace parley::web {

namespace {

constexpr std::string_view kSha256Prefix = "sha256:";

std::string hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

std::string sha256Hex(std::string_view text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return hex(digest.data(), digest.size());
}

// Compares in time that depends on a's length only.
bool constantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

std::string lowerHex(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string_view toString(Role role) {
  switch (role) {
    case Role::Agent:
      return "agent";
    case Role::Supervisor:
      return "supervisor";
    case Role::Admin:
      return "admin";
  }
  return "agent";
}

std::optional<Role> parseRole(std::string_view text) {
  if (text == "agent") return Role::Agent;
  if (text == "supervisor") return Role::Supervisor;
  if (text == "admin") return Role::Admin;
  return std::nullopt;
}

bool isSha256Password(std::string_view stored) {
  if (!stored.starts_with(kSha256Prefix)) return false;
  const std::string_view digest = stored.substr(kSha256Prefix.size());
  return digest.size() == 64 && std::all_of(digest.begin(), digest.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

bool checkPassword(std::string_view stored, std::string_view given) {
  if (isSha256Password(stored)) {
    return constantTimeEquals(lowerHex(stored.substr(kSha256Prefix.size())), sha256Hex(given));
  }
  return constantTimeEquals(stored, given);
}

std::string sha256Password(std::string_view password) {
  return std::string(kSha256Prefix) + sha256Hex(password);
}

std::string randomToken() {
  std::random_device random;  // /dev/urandom (getrandom) in libstdc++ on Linux
  std::array<unsigned char, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    const auto r = static_cast<std::uint32_t>(random());
    for (std::size_t k = 0; k < 4; ++k) bytes[i + k] = static_cast<unsigned char>(r >> (8 * k));
  }
  return hex(bytes.data(), bytes.size());
}

std::string SessionTable::create(Session session, Clock::time_point now) {
  std::string token = randomToken();
  std::lock_guard lock(mutex_);
  expire(now);
  if (sessions_.size() >= max_sessions_ && !sessions_.empty()) {
    const auto oldest = std::min_element(
        sessions_.begin(), sessions_.end(),
        [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; });
    sessions_.erase(oldest);
  }
  sessions_[token] = Entry{std::move(session), now};
  return token;
}

std::optional<Session> SessionTable::find(std::string_view token, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto it = sessions_.find(token);
  if (it == sessions_.end()) return std::nullopt;
  if (now - it->second.last_used >= idle_timeout_) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second.session;
}

void SessionTable::remove(std::string_view token) {
  std::lock_guard lock(mutex_);
  const auto it = sessions_.find(token);
  if (it != sessions_.end()) sessions_.erase(it);
}

std::size_t SessionTable::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void SessionTable::expire(Clock::time_point now) {
  std::erase_if(sessions_,
                [&](const auto& kv) { return now - kv.second.last_used >= idle_timeout_; });
}

bool LoginLimiter::allowed(const std::string& address, Clock::time_point now) {
  return retryAfterSeconds(address, now) == 0;
}

std::int64_t LoginLimiter::retryAfterSeconds(const std::string& address, Clock::time_point now) {
  if (max_failures_ <= 0) return 0;
  std::lock_guard lock(mutex_);
  const auto it = windows_.find(address);
  if (it == windows_.end()) return 0;
  const auto ends = it->second.started + window_;
  if (now >= ends) {
    windows_.erase(it);
    return 0;
  }
  if (it->second.failures < max_failures_) return 0;
  const auto left = std::chrono::ceil<std::chrono::seconds>(ends - now).count();
  return std::max<std::int64_t>(left, 1);
}

void LoginLimiter::failed(const std::string& address, Clock::time_point now) {
  if (max_failures_ <= 0) return;
  std::lock_guard lock(mutex_);
  auto it = windows_.find(address);
  if (it != windows_.end() && now - it->second.started >= window_) {
    windows_.erase(it);
    it = windows_.end();
  }
  if (it == windows_.end()) {
    if (windows_.size() >= max_addresses_) {
      std::erase_if(windows_, [&](const auto& kv) { return now - kv.second.started >= window_; });
      if (windows_.size() >= max_addresses_) windows_.erase(windows_.begin());
    }
    it = windows_.emplace(address, Window{now, 0}).first;
  }
  ++it->second.failures;
}

}  // namespace parley::web
