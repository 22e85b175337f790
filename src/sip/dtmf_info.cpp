#include "sip/dtmf_info.h"

#include <algorithm>
#include <cctype>

namespace parley::sip {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<char> keyOf(std::string_view text) {
  text = trim(text);
  if (text.size() == 1) {
    const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
    if ((c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D')) return c;
    return std::nullopt;
  }
  // RFC 4733 event codes 10-15 are also seen in dtmf-relay bodies ("Signal=10" for '*').
  static constexpr std::string_view kEvents[] = {"10", "11", "12", "13", "14", "15"};
  static constexpr char kKeys[] = {'*', '#', 'A', 'B', 'C', 'D'};
  for (std::size_t i = 0; i < 6; ++i) {
    if (text == kEvents[i]) return kKeys[i];
  }
  return std::nullopt;
}

}  // namespace

DtmfInfo parseDtmfInfo(std::string_view type, std::string_view subtype, std::string_view body) {
  if (!iequals(type, "application")) return {};
  if (iequals(subtype, "dtmf")) {
    const auto key = keyOf(body);
    return key ? DtmfInfo{DtmfInfoKind::Key, *key} : DtmfInfo{DtmfInfoKind::Invalid, 0};
  }
  if (!iequals(subtype, "dtmf-relay")) return {};
  // Lines "Name=value"; the key is the value of Signal.
  while (!body.empty()) {
    const auto end = body.find_first_of("\r\n");
    std::string_view line = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    if (!iequals(trim(line.substr(0, eq)), "signal")) continue;
    const auto key = keyOf(line.substr(eq + 1));
    return key ? DtmfInfo{DtmfInfoKind::Key, *key} : DtmfInfo{DtmfInfoKind::Invalid, 0};
  }
  return {DtmfInfoKind::Invalid, 0};
}

}  // namespace parley::sip
