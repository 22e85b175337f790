// `parley check-config FILE`: reads and validates a server config (docs/CONFIG.md) without
// starting anything. Prints "FILE: ok" (exit 0), or every error as "FILE:LINE: KEY: message" on
// stderr (exit 2). Warnings (given only for a file without errors) go to stderr, prefixed
// "warning: ".
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.h"
#include "app/config_file.h"

namespace parley::app {
namespace {

constexpr int kBadInput = 2;

int run(const std::string& path) {
  if (!loadConfigFile(path, "check-config", std::cerr)) return kBadInput;
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
