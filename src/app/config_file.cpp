#include "app/config_file.h"

#include "app/text_file.h"

namespace parley::app {

std::optional<Config> loadConfigFile(const std::string& path, std::string_view command,
                                     std::ostream& err) {
  // One byte past the limit lets parseConfig() refuse oversized text with a message.
  std::string error;
  std::optional<std::string> text = readTextFile(path, kMaxConfigBytes, error);
  if (!text) {
    err << "parley " << command << ": " << error << '\n';
    return std::nullopt;
  }

  ConfigParse parsed = parseConfig(*text, path);
  if (!parsed) {
    for (const ConfigError& e : parsed.errors) err << e.text << '\n';
    return std::nullopt;
  }
  for (const ConfigError& w : parsed.warnings) err << "warning: " << w.text << '\n';
  return std::move(parsed.config);
}

}  // namespace parley::app
