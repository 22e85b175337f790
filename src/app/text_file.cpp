#include "app/text_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace parley::app {

std::optional<std::string> readTextFile(const std::string& path, std::size_t max_bytes,
                                        std::string& error) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string text(max_bytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (file.bad()) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  text.resize(static_cast<std::size_t>(file.gcount()));
  return text;
}

}  // namespace parley::app
