// `parley check-config FILE`: reads and validates a server config (docs/CONFIG.md) without
// starting anything. Prints "FILE: ok" (exit 0), or every error as "FILE:LINE: KEY: message" on
// stderr (exit 2). Warnings (given only for a file without errors) go to stderr, prefixed
// "warning: ".
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.h"
#include "app/config.h"

namespace parley::app {
namespace {

constexpr int kBadInput = 2;

int run(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::cerr << "parley check-config: cannot read " << path << ": " << std::strerror(errno)
              << '\n';
    return kBadInput;
  }
  // Read at most one byte past the limit, so /dev/zero or a huge file cannot exhaust memory;
  // parseConfig() refuses the oversized text with a message.
  std::string text(kMaxConfigBytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (file.bad()) {
    std::cerr << "parley check-config: cannot read " << path << '\n';
    return kBadInput;
  }
  text.resize(static_cast<std::size_t>(file.gcount()));

  const ConfigParse parsed = parseConfig(text, path);
  if (!parsed) {
    for (const ConfigError& e : parsed.errors) std::cerr << e.text << '\n';
    return kBadInput;
  }
  for (const ConfigError& w : parsed.warnings) std::cerr << "warning: " << w.text << '\n';
  std::cout << path << ": ok\n";
  return 0;
}

}  // namespace

void addCheckConfigCommand(CLI::App& app) {
  // Shared with the callback, which CLI11 keeps alive as long as `app`.
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "check-config", "Validate a server config file (YAML) and report every error with its line");
  cmd->add_option("file", *path, "Config file (format: docs/CONFIG.md)")->required();
  cmd->callback([path] { setExitCode(run(*path)); });
}

}  // namespace parley::app
