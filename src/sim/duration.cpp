#include "sim/duration.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace parley::sim {
namespace {

// Reads an unsigned decimal number ("12", "1.5", ".5") from the front of `text`.
std::optional<double> takeNumber(std::string_view& text) {
  std::size_t n = 0;
  bool digits = false;
  bool dot = false;
  while (n < text.size()) {
    const char c = text[n];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
    ++n;
  }
  if (!digits) return std::nullopt;
  // strtod needs a terminated string; numbers here are short.
  const std::string number(text.substr(0, n));
  text.remove_prefix(n);
  return std::strtod(number.c_str(), nullptr);
}

std::optional<engine::Millis> fromMillis(double ms) {
  if (!std::isfinite(ms) || ms < 0 || ms > 1e15) return std::nullopt;
  return engine::Millis{static_cast<std::int64_t>(std::llround(ms))};
}

// "HH:MM" or "HH:MM:SS" (hours may exceed 23).
std::optional<engine::Millis> parseClock(std::string_view text) {
  double parts[3] = {0, 0, 0};
  int count = 0;
  while (true) {
    if (count == 3) return std::nullopt;
    const auto value = takeNumber(text);
    if (!value) return std::nullopt;
    parts[count++] = *value;
    if (text.empty()) break;
    if (text.front() != ':') return std::nullopt;
    text.remove_prefix(1);
  }
  if (count < 2 || parts[1] >= 60 || parts[2] >= 60) return std::nullopt;
  return fromMillis(((parts[0] * 60 + parts[1]) * 60 + parts[2]) * 1000.0);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<engine::Millis> parseDuration(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  if (text.find(':') != std::string_view::npos) return parseClock(text);

  double total_ms = 0;
  bool any = false;
  while (!text.empty()) {
    const auto value = takeNumber(text);
    if (!value) return std::nullopt;
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    std::size_t unit_len = 0;
    while (unit_len < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_len]))) {
      ++unit_len;
    }
    const std::string_view unit = text.substr(0, unit_len);
    text.remove_prefix(unit_len);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    double scale = 0;
    if (unit.empty()) {
      // A bare number is seconds, and only on its own ("90", not "1h30").
      if (any || !text.empty()) return std::nullopt;
      scale = 1000.0;
    } else if (unit == "ms") {
      scale = 1.0;
    } else if (unit == "s" || unit == "sec") {
      scale = 1000.0;
    } else if (unit == "m" || unit == "min") {
      scale = 60'000.0;
    } else if (unit == "h") {
      scale = 3'600'000.0;
    } else if (unit == "d") {
      scale = 86'400'000.0;
    } else {
      return std::nullopt;
    }
    total_ms += *value * scale;
    any = true;
  }
  return fromMillis(total_ms);
}

std::string formatDuration(engine::Millis d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms < 1000) return out + std::to_string(ms) + "ms";
  const std::int64_t h = ms / 3'600'000;
  const std::int64_t m = ms / 60'000 % 60;
  const std::int64_t s_ms = ms % 60'000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s_ms) {
    char buf[32];
    if (s_ms % 1000 == 0) {
      std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s_ms / 1000));
    } else {
      std::snprintf(buf, sizeof buf, "%gs", static_cast<double>(s_ms) / 1000.0);
    }
    out += buf;
  }
  return out;
}

std::string formatClock(engine::Millis d) {
  const long long total_s = d.count() / 1000;
  const long long h = total_s / 3600;
  const long long m = total_s / 60 % 60;
  const long long s = total_s % 60;
  char buf[48];
  if (s != 0) {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", h, m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", h, m);
  }
  return buf;
}

}  // namespace parley::sim
