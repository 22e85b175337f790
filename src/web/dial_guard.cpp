#include "web/dial_guard.h"

#include <algorithm>
#include <utility>

namespace parley::web {

namespace {

constexpr std::size_t kMaxInput = 64;
constexpr std::size_t kMinDigits = 8;   // shortest E.164 number we dial (country code included)
constexpr std::size_t kMaxDigits = 15;  // ITU-T E.164
constexpr int kMaxRequestsPerWindow = 100'000;
constexpr std::chrono::seconds kMaxWindow = std::chrono::hours(24 * 7);

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

bool allDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), isDigit);
}

// "+44" / "+44 or +1" / "+44, +1 or +33".
std::string listed(const std::vector<std::string>& prefixes) {
  std::string out;
  for (std::size_t i = 0; i < prefixes.size(); ++i) {
    if (i > 0) out += i + 1 == prefixes.size() ? " or " : ", ";
    out += prefixes[i];
  }
  return out;
}

NumberCheck refuse(std::string why) {
  return {{}, "number: " + std::move(why)};
}

std::string validPrefix(const std::string& prefix) {
  if (prefix.size() < 2 || prefix.size() > kMaxDigits + 1 || prefix[0] != '+' ||
      !allDigits(std::string_view(prefix).substr(1))) {
    return "expected \"+\" and 1 to 15 digits, got \"" + prefix + "\"";
  }
  return {};
}

std::string validLimit(const RateLimit& limit) {
  if (limit.max_requests < 0 || limit.max_requests > kMaxRequestsPerWindow) {
    return "max_requests: expected 0.." + std::to_string(kMaxRequestsPerWindow);
  }
  if (limit.max_requests > 0 && (limit.window.count() < 1 || limit.window > kMaxWindow)) {
    return "window: expected 1 s to 7 days";
  }
  return {};
}

}  // namespace

std::string validate(const DialGuardConfig& config) {
  const std::string& cc = config.country_code;
  if (!cc.empty() && (cc.size() > 3 || !allDigits(cc) || cc[0] == '0')) {
    return "country_code: expected 1 to 3 digits not starting with 0 (\"44\"), got \"" + cc + "\"";
  }
  if (config.national_prefix.size() > 4 || !allDigits(config.national_prefix)) {
    return "national_prefix: expected up to 4 digits (\"0\"), got \"" + config.national_prefix +
           "\"";
  }
  for (const auto* list : {&config.allowed_prefixes, &config.denied_prefixes}) {
    const char* name = list == &config.allowed_prefixes ? "allowed_prefixes" : "denied_prefixes";
    for (std::size_t i = 0; i < list->size(); ++i) {
      if (auto bad = validPrefix((*list)[i]); !bad.empty()) {
        return std::string(name) + "[" + std::to_string(i) + "]: " + bad;
      }
    }
  }
  if (auto bad = validLimit(config.per_source); !bad.empty()) return "per_source." + bad;
  if (auto bad = validLimit(config.per_number); !bad.empty()) return "per_number." + bad;
  if (config.max_tracked_keys < 1) return "max_tracked_keys: expected at least 1";
  return {};
}

DialGuard::DialGuard(DialGuardConfig config)
    : config_(std::move(config)),
      sources_(config_.per_source, std::max<std::size_t>(config_.max_tracked_keys, 1)),
      numbers_(config_.per_number, std::max<std::size_t>(config_.max_tracked_keys, 1)) {}

NumberCheck DialGuard::checkNumber(std::string_view input) const {
  if (input.size() > kMaxInput) {
    return refuse("too long (at most " + std::to_string(kMaxInput) + " characters)");
  }
  // Separators go; a "+" may only come first; "(0)" after an international "+" is dropped.
  std::string digits;
  bool plus = false;
  for (std::size_t i = 0; i < input.size(); ++i) {
    const char c = input[i];
    if (isDigit(c)) {
      digits += c;
    } else if (c == '+' && digits.empty() && !plus) {
      plus = true;
    } else if (plus && !digits.empty() && input.substr(i, 3) == "(0)") {
      i += 2;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return refuse(
          "only digits, a leading \"+\", spaces, dashes, dots and parentheses are allowed");
    }
  }
  if (digits.empty()) return refuse("missing (expected e.g. \"+441234567890\")");
  if (!plus && digits.starts_with("00")) {  // the international call prefix written for "+"
    plus = true;
    digits.erase(0, 2);
  }
  std::string number;
  if (plus) {
    if (digits[0] == '0') return refuse("a country code cannot start with 0");
    number = "+" + digits;
  } else {
    if (config_.country_code.empty()) {
      return refuse("expected international format: \"+\", the country code and the number");
    }
    const std::string& prefix = config_.national_prefix;
    if (!digits.starts_with(prefix)) {
      return refuse("a national number starts with " + prefix +
                    " (or write \"+\" and the country code)");
    }
    number = "+" + config_.country_code + digits.substr(prefix.size());
  }
  const std::size_t count = number.size() - 1;
  if (count < kMinDigits || count > kMaxDigits) {
    return refuse("expected " + std::to_string(kMinDigits) + " to " + std::to_string(kMaxDigits) +
                  " digits with the country code, got " + std::to_string(count));
  }
  for (const std::string& denied : config_.denied_prefixes) {
    if (number.starts_with(denied)) {
      return refuse("numbers starting with " + denied + " are not called");
    }
  }
  if (!config_.allowed_prefixes.empty() &&
      std::none_of(config_.allowed_prefixes.begin(), config_.allowed_prefixes.end(),
                   [&](const std::string& p) { return number.starts_with(p); })) {
    return refuse("only numbers starting with " + listed(config_.allowed_prefixes) + " are called");
  }
  return {std::move(number), {}};
}

Admission DialGuard::admit(const std::string& source, const std::string& number,
                           Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const std::int64_t source_wait = sources_.wait(source, now);
  const std::int64_t number_wait = numbers_.wait(number, now);
  if (source_wait > 0 || number_wait > 0) {
    Admission refused;
    refused.allowed = false;
    refused.retry_after_s = std::max(source_wait, number_wait);
    refused.error = source_wait > 0
                        ? "too many callback requests from this address; try again in " +
                              std::to_string(refused.retry_after_s) + " s"
                        : "too many callback requests for this number; try again in " +
                              std::to_string(refused.retry_after_s) + " s";
    return refused;
  }
  sources_.record(source, now);
  numbers_.record(number, now);
  return {};
}

std::size_t DialGuard::trackedSources() {
  std::lock_guard lock(mutex_);
  return sources_.size();
}

std::size_t DialGuard::trackedNumbers() {
  std::lock_guard lock(mutex_);
  return numbers_.size();
}

std::int64_t DialGuard::Windows::wait(const std::string& key, Clock::time_point now) {
  if (limit_.max_requests <= 0) return 0;
  const auto it = keys_.find(key);
  if (it == keys_.end()) return 0;
  auto& admitted = it->second.admitted;
  while (!admitted.empty() && admitted.front() + limit_.window <= now) admitted.pop_front();
  if (admitted.size() < static_cast<std::size_t>(limit_.max_requests)) return 0;
  const auto left = admitted.front() + limit_.window - now;
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(left).count();
  return std::max<std::int64_t>(seconds, 1);
}

void DialGuard::Windows::record(const std::string& key, Clock::time_point now) {
  if (limit_.max_requests <= 0) return;
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    while (keys_.size() >= max_keys_ && !recency_.empty()) {
      keys_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.push_front(key);
    it = keys_.emplace(key, Entry{{}, recency_.begin()}).first;
  } else {
    recency_.splice(recency_.begin(), recency_, it->second.position);
  }
  auto& admitted = it->second.admitted;
  admitted.push_back(now);
  while (admitted.size() > static_cast<std::size_t>(limit_.max_requests)) admitted.pop_front();
}

}  // namespace parley::web
