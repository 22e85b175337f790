// What stands between a public HTTP request and an outbound call: number validation (only
// numbers we are willing to dial, in one normal form) and rate limits per client address and
// per number, so POST /api/callbacks cannot be used for toll fraud or to harass a third party.
//
// Numbers: E.164 "+<country code><subscriber>", 8..15 digits, with spaces, dashes, dots and
// parentheses ignored ("+44 (0)7911 123-456" is "+447911123456": a "(0)" after the country code
// is the national trunk prefix and dropped). With `country_code` set, a national number is
// accepted too: it must start with `national_prefix` (when one is set), which is replaced by
// "+<country_code>" ("07911 123456" -> "+447911123456"). Then `denied_prefixes` (always wins)
// and `allowed_prefixes` (empty: every country) are applied to the normalised number.
//
// Rate limits: sliding windows (the last `window` of admitted requests) per client address and
// per normalised number. Only admitted requests count. At most `max_tracked_keys` addresses and
// as many numbers are remembered; beyond that the least recently admitted key is forgotten.
//
// Thread rule: checkNumber() is pure; admit() locks, so any thread may call it (the Api calls
// both from the HTTP io thread). The clock is the caller's: every call takes `now`.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace parley::web {

struct RateLimit {
  int max_requests = 0;  // within `window`; 0: no limit
  std::chrono::seconds window{0};
};

struct DialGuardConfig {
  // Digits of the country code for national numbers ("44"); empty: E.164 only.
  std::string country_code;
  // What national numbers start with and what "+<country_code>" replaces ("0"); empty: every
  // number without "+" is national (e.g. country_code "1" for ten-digit North American numbers).
  std::string national_prefix = "0";
  std::vector<std::string> allowed_prefixes;  // E.164 prefixes ("+44", "+1"); empty: all
  std::vector<std::string> denied_prefixes;   // E.164 prefixes ("+449", "+1900"); win over allowed
  RateLimit per_source{5, std::chrono::minutes(10)};
  RateLimit per_number{3, std::chrono::hours(1)};
  std::size_t max_tracked_keys = 100'000;  // per kind (addresses, numbers)
};

// Why `config` cannot be used ("dial_guard.allowed_prefixes[1]: expected \"+\" and digits"),
// or empty. For the config loader; DialGuard itself copes with anything.
std::string validate(const DialGuardConfig& config);

struct NumberCheck {
  std::string number;  // normalised E.164 ("+447911123456"); set iff `error` is empty
  std::string error;   // for the client: "number: ..." naming why
  bool ok() const { return error.empty(); }
};

struct Admission {
  bool allowed = true;
  std::int64_t retry_after_s = 0;  // when refused: seconds until a request would be admitted
  std::string error;               // when refused: for the client, names which limit
};

class DialGuard {
 public:
  using Clock = std::chrono::steady_clock;

  explicit DialGuard(DialGuardConfig config);

  // Validates and normalises `input` (untrusted, any bytes).
  NumberCheck checkNumber(std::string_view input) const;

  // Admits a request from `source` (client address) for `number` (normalised) at `now` and
  // counts it against both limits, or refuses it (and counts nothing).
  Admission admit(const std::string& source, const std::string& number, Clock::time_point now);

  const DialGuardConfig& config() const { return config_; }

  // How many client addresses and numbers are remembered (for tests and metrics).
  std::size_t trackedSources();
  std::size_t trackedNumbers();

 private:
  // Admission times per key, least recently admitted key evicted beyond `max_keys`.
  class Windows {
   public:
    Windows(RateLimit limit, std::size_t max_keys) : limit_(limit), max_keys_(max_keys) {}
    // Seconds until `key` may be admitted (0: now).
    std::int64_t wait(const std::string& key, Clock::time_point now);
    void record(const std::string& key, Clock::time_point now);
    std::size_t size() const { return keys_.size(); }

   private:
    struct Entry {
      std::deque<Clock::time_point> admitted;  // within the window, oldest first
      std::list<std::string>::iterator position;
    };
    const RateLimit limit_;
    const std::size_t max_keys_;
    std::unordered_map<std::string, Entry> keys_;
    std::list<std::string> recency_;  // most recently admitted first
  };

  const DialGuardConfig config_;
  std::mutex mutex_;
  Windows sources_;  // GUARDED_BY(mutex_)
  Windows numbers_;  // GUARDED_BY(mutex_)
};

}  // namespace parley::web
