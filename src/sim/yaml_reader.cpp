#include "sim/yaml_reader.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "sim/duration.h"

namespace parley::sim {

namespace {

YamlError makeError(std::string_view label, int line, std::string path, std::string message) {
  YamlError e{line, std::move(path), std::move(message), std::string(label)};
  if (line > 0) e.text += ":" + std::to_string(line);
  e.text += ": " + (e.path.empty() ? std::string("(top level)") : e.path) + ": " + e.message;
  return e;
}

}  // namespace

YamlError yamlExceptionError(std::string_view label, const YAML::Exception& e) {
  YamlError out;
  out.line = e.mark.is_null() ? 0 : e.mark.line + 1;
  out.message = "invalid YAML: " + e.msg;
  out.text = std::string(label);
  if (out.line > 0) out.text += ":" + std::to_string(out.line);
  out.text += ": " + out.message;
  return out;
}

YamlError YamlReader::error(const YAML::Node& node, const std::string& path,
                            const std::string& what) const {
  int line = 0;
  // An absent node (IsDefined() false) has no position; asking a zombie node for one throws.
  if (node.IsDefined()) {
    const YAML::Mark mark = node.Mark();
    if (!mark.is_null()) line = mark.line + 1;
  }
  return makeError(label_, line, path, what);
}

void YamlReader::requireMap(const YAML::Node& node, const std::string& path,
                            std::initializer_list<std::string_view> allowed) const {
  if (!node.IsMap()) fail(node, path, "expected a mapping (key: value pairs)");
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) fail(it->first, path, "keys must be plain names");
    const std::string key = it->first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      fail(it->first, join(path, key), "unknown key");
    }
  }
}

std::string YamlReader::scalar(const YAML::Node& node, const std::string& path) const {
  if (!node.IsScalar()) fail(node, path, "expected a single value");
  return node.Scalar();
}

std::string YamlReader::name(const YAML::Node& node, const std::string& path) const {
  std::string s = scalar(node, path);
  if (s.empty()) fail(node, path, "must not be empty");
  return s;
}

double YamlReader::number(const YAML::Node& node, const std::string& path) const {
  const std::string s = scalar(node, path);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno != 0 || !std::isfinite(v)) {
    fail(node, path, "expected a number, got \"" + s + "\"");
  }
  return v;
}

long long YamlReader::integer(const YAML::Node& node, const std::string& path, long long lo,
                              long long hi) const {
  const std::string s = scalar(node, path);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || end != s.c_str() + s.size() || errno != 0) {
    fail(node, path, "expected a whole number, got \"" + s + "\"");
  }
  if (v < lo || v > hi) {
    fail(node, path, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  return v;
}

std::uint64_t YamlReader::unsignedInteger(const YAML::Node& node, const std::string& path) const {
  const std::string s = scalar(node, path);
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || s.front() == '-' || end != s.c_str() + s.size() || errno != 0) {
    fail(node, path, "expected a non-negative whole number, got \"" + s + "\"");
  }
  return v;
}

bool YamlReader::boolean(const YAML::Node& node, const std::string& path) const {
  const std::string s = scalar(node, path);
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  fail(node, path, "expected true or false, got \"" + s + "\"");
}

engine::Millis YamlReader::duration(const YAML::Node& node, const std::string& path) const {
  const std::string s = scalar(node, path);
  const auto d = parseDuration(s);
  if (!d) {
    fail(node, path,
         "expected a duration such as 90 (seconds), 30s, 15m, 8h, 1h30m or 08:30, got \"" + s +
             "\"");
  }
  return *d;
}

engine::Millis YamlReader::positiveDuration(const YAML::Node& node, const std::string& path) const {
  const engine::Millis d = duration(node, path);
  if (d <= engine::Millis{0}) fail(node, path, "must be greater than zero");
  return d;
}

engine::Capacity YamlReader::capacity(const YAML::Node& node, const std::string& path) const {
  if (node.IsScalar()) {
    if (node.Scalar() == "exclusive") return engine::Capacity::exclusive();
    fail(node, path,
         "expected \"exclusive\", {voice_or_chats: N} or {total: N, <channel>: {max, cost}}");
  }
  if (node.IsMap() && has(node, "voice_or_chats")) {
    requireMap(node, path, {"voice_or_chats"});
    return engine::Capacity::voiceOrChats(static_cast<int>(
        integer(get(node, "voice_or_chats"), join(path, "voice_or_chats"), 1, 100)));
  }
  requireMap(node, path, {"total", "voice", "callback", "chat", "social", "email"});
  engine::Capacity cap;
  cap.total =
      static_cast<int>(integer(required(node, path, "total"), join(path, "total"), 1, 1000));
  for (const engine::Channel c : engine::kAllChannels) {
    const std::string key(engine::toString(c));
    const YAML::Node ch = get(node, key);
    if (!ch.IsDefined()) continue;
    const std::string ch_path = join(path, key);
    requireMap(ch, ch_path, {"max", "cost"});
    cap[c].max =
        static_cast<int>(integer(required(ch, ch_path, "max"), join(ch_path, "max"), 0, 1000));
    cap[c].cost =
        static_cast<int>(integer(required(ch, ch_path, "cost"), join(ch_path, "cost"), 1, 1000));
  }
  return cap;
}

}  // namespace parley::sim
