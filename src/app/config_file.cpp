#include "app/config_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace parley::app {

std::optional<Config> loadConfigFile(const std::string& path, std::string_view command,
                                     std::ostream& err) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    err << "parley " << command << ": cannot read " << path << ": " << std::strerror(errno) << '\n';
    return std::nullopt;
  }
  // One byte past the limit lets parseConfig() refuse oversized text with a message.
  std::string text(kMaxConfigBytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (file.bad()) {
    err << "parley " << command << ": cannot read " << path << '\n';
    return std::nullopt;
  }
  text.resize(static_cast<std::size_t>(file.gcount()));

  ConfigParse parsed = parseConfig(text, path);
  if (!parsed) {
    for (const ConfigError& e : parsed.errors) err << e.text << '\n';
    return std::nullopt;
  }
  for (const ConfigError& w : parsed.warnings) err << "warning: " << w.text << '\n';
  return std::move(parsed.config);
}

}  // namespace parley::app
