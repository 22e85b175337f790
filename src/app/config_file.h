// Reading the server config from a file, shared by every command that takes one
// (`check-config`, `serve`), so they accept and refuse exactly the same files with the same
// messages.
//
// Thread rule: a plain function; call it from any thread.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "app/config.h"

namespace parley::app {

// Reads `path` (at most kMaxConfigBytes + 1 bytes, so /dev/zero cannot exhaust memory) and
// parses it with parseConfig(). On success returns the Config and writes each warning to `err`
// as "warning: FILE:LINE: KEY: message". On failure writes every error ("FILE:LINE: KEY:
// message", or "parley COMMAND: cannot read FILE: why") to `err` and returns nullopt.
std::optional<Config> loadConfigFile(const std::string& path, std::string_view command,
                                     std::ostream& err);

}  // namespace parley::app
