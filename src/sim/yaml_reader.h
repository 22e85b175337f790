// Reading YAML documents (scenario files, the server config) with errors that name the source,
// the line and the key path: `demo.yaml:12: queues[1].strategy: unknown strategy "fastest"`.
//
// YamlReader holds the checks both parsers share (scalar types, durations via parseDuration,
// unknown keys, capacity). A failed check throws YamlError; a parser that stops at the first
// error catches it once at the top (parseScenario), one that collects errors catches it around
// each key and carries on (parseConfig). Nothing here throws anything else on bad input, but
// yaml-cpp itself may throw YAML::Exception while loading: turn that into a message with
// yamlExceptionError().
//
// Thread rule: a YamlReader is immutable after construction; const use from any thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "engine/config.h"
#include "engine/types.h"

namespace parley::sim {

// One problem in a YAML document.
struct YamlError {
  int line = 0;         // 1-based; 0 when the position is unknown
  std::string path;     // key path such as "queues[1].strategy"; empty for the top level
  std::string message;  // what is wrong
  // The whole line as printed: "<label>:<line>: <path>: <message>", with ":<line>" left out
  // when the line is unknown and "(top level)" standing in for an empty path.
  std::string text;
};

// The error for a yaml-cpp exception thrown while loading or walking a document:
// "<label>:<line>: invalid YAML: <what yaml-cpp says>".
YamlError yamlExceptionError(std::string_view label, const YAML::Exception& e);

class YamlReader {
 public:
  // `label` names the source in every message (normally the file path).
  explicit YamlReader(std::string_view label) : label_(label) {}

  const std::string& label() const { return label_; }

  // The error at `node`'s line (none if the node has no position, e.g. it is absent).
  YamlError error(const YAML::Node& node, const std::string& path, const std::string& what) const;
  [[noreturn]] void fail(const YAML::Node& node, const std::string& path,
                         const std::string& what) const {
    throw error(node, path, what);
  }

  // Key paths: join("queues[0]", "name") is "queues[0].name"; at("queues", 2) is "queues[2]".
  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
  static std::string at(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

  // Requires a map whose keys are all in `allowed` (catches misspelt keys); fails on the first
  // key that is not.
  void requireMap(const YAML::Node& node, const std::string& path,
                  std::initializer_list<std::string_view> allowed) const;

  // The value under `key`, or an undefined node if absent (or if `map` is not a map).
  static YAML::Node get(const YAML::Node& map, std::string_view key) {
    if (!map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    return map[std::string(key)];
  }
  static bool has(const YAML::Node& map, std::string_view key) { return get(map, key).IsDefined(); }
  YAML::Node required(const YAML::Node& map, const std::string& path, std::string_view key) const {
    YAML::Node n = get(map, key);
    if (!n.IsDefined()) fail(map, join(path, key), "missing (required)");
    return n;
  }

  // Scalars. Each fails with a message that quotes what it got.
  std::string scalar(const YAML::Node& node, const std::string& path) const;
  std::string name(const YAML::Node& node, const std::string& path) const;  // non-empty
  double number(const YAML::Node& node, const std::string& path) const;     // finite
  long long integer(const YAML::Node& node, const std::string& path, long long lo,
                    long long hi) const;
  std::uint64_t unsignedInteger(const YAML::Node& node, const std::string& path) const;
  // true/yes/on or false/no/off.
  bool boolean(const YAML::Node& node, const std::string& path) const;
  // A duration as parseDuration() reads it: 90 (seconds), 250ms, 30s, 15m, 1h30m, 08:30.
  engine::Millis duration(const YAML::Node& node, const std::string& path) const;
  engine::Millis positiveDuration(const YAML::Node& node, const std::string& path) const;

  // An agent's capacity: "exclusive", {voice_or_chats: N} or
  // {total: N, <channel>: {max: M, cost: C}, ...}.
  engine::Capacity capacity(const YAML::Node& node, const std::string& path) const;

 private:
  std::string label_;
};

}  // namespace parley::sim
