// Internal to the config parser (config.cpp, config_flows.cpp, config_net.cpp): a YamlReader
// that collects errors instead of stopping at the first one.
//
// A check that fails throws sim::YamlError as in the scenario parser; field() and attempt()
// catch it around one key, record it, and let reading go on with the next key, so one run of
// `parley check-config` shows every mistake. When kMaxConfigErrors are recorded, the next one
// throws StopParsing, which parseConfig() catches.
//
// Thread rule: one parse, one thread.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.h"
#include "sim/yaml_reader.h"

namespace parley::app::config_detail {

// Thrown when the error limit is reached; parseConfig() stops there.
struct StopParsing {};

// Names as the config writes them for queues, flows, nodes, skills, attributes:
// letters, digits, '_' and '-', 1..64 characters.
bool isIdentifier(std::string_view s);
constexpr const char* kIdentifierRule = "use letters, digits, '_' and '-' (at most 64)";

class CollectingReader : public sim::YamlReader {
 public:
  explicit CollectingReader(std::string_view label) : sim::YamlReader(label) {}

  std::vector<ConfigError>& errors() { return errors_; }
  std::vector<ConfigError>& warnings() { return warnings_; }

  // Records an error (or throws StopParsing past the limit) / a warning.
  void record(ConfigError e);
  void errorAt(const YAML::Node& node, const std::string& path, const std::string& what) {
    record(error(node, path, what));
  }
  void warnAt(const YAML::Node& node, const std::string& path, const std::string& what) {
    warnings_.push_back(error(node, path, what));
  }

  // Runs `read`; a YamlError it throws is recorded. True if it finished.
  template <typename F>
  bool attempt(F&& read) {
    try {
      read();
      return true;
    } catch (const sim::YamlError& e) {
      record(e);
      return false;
    }
  }

  // If `map` has `key`, calls read(value, path_of_key) under attempt(). A key with no value
  // (`key:` or `key: ~`) is an error unless `null_ok`; then `read` gets the null node.
  template <typename F>
  void field(const YAML::Node& map, const std::string& path, std::string_view key, F&& read,
             bool null_ok = false) {
    const YAML::Node n = get(map, key);
    if (!n.IsDefined()) return;
    const std::string key_path = join(path, key);
    if (n.IsNull() && !null_ok) {
      errorAt(keyNode(map, key), key_path, "has no value");  // a null value has no line of its own
      return;
    }
    attempt([&] { read(n, key_path); });
  }

  // The key node of `key` in `map` (for its line), or an undefined node.
  static YAML::Node keyNode(const YAML::Node& map, std::string_view key);

  // Requires a map (throws otherwise); records every key not in `allowed` (with a suggestion
  // when one is close) and every key given twice, and returns normally so reading goes on.
  void keys(const YAML::Node& node, const std::string& path,
            std::initializer_list<std::string_view> allowed);

  // Requires a list of at most `max_items` (throws otherwise).
  void list(const YAML::Node& node, const std::string& path, std::size_t max_items,
            std::string_view what) const;

  // A name that must be an identifier (see isIdentifier).
  std::string identifier(const YAML::Node& node, const std::string& path) const;
  // One DTMF key (0-9, *, #, A-D) written as a one-character string.
  char dtmfKey(const YAML::Node& node, const std::string& path) const;
  // A DTMF key, or none for "none"/"off" (and for null when the caller passes it on).
  std::optional<char> optionalDtmfKey(const YAML::Node& node, const std::string& path) const;

 private:
  std::vector<ConfigError> errors_;
  std::vector<ConfigError> warnings_;
};

// Address parsing for config_net.cpp's users: an IP literal (IPv4 or IPv6, no brackets), and
// "host:port" / "[v6]:port" / a bare host (then `default_port`).
bool isIpLiteral(std::string_view s);
// Fails (throws YamlError through `reader`) with a message saying what is wrong.
ListenAddress listenAddress(const sim::YamlReader& reader, const YAML::Node& node,
                            const std::string& path, std::uint16_t default_port);
std::string ipAddress(const sim::YamlReader& reader, const YAML::Node& node,
                      const std::string& path);
Cidr cidr(const sim::YamlReader& reader, const YAML::Node& node, const std::string& path);

// Parses `flows` (a map of name to flow) into config.flows, checking node references with
// flow::validateFlow() and queue nodes against config.queues (which must be parsed already),
// and filling queue nodes' unset voice options from their queue. config_flows.cpp.
void readFlows(CollectingReader& reader, const YAML::Node& flows, Config& config);

}  // namespace parley::app::config_detail
