// Reading a text file given on the command line (config, scenario), with a size bound so that
// a path like /dev/zero cannot exhaust memory.
//
// Thread rule: a plain function; call it from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace parley::app {

// Reads at most `max_bytes + 1` bytes of `path`, so the caller can tell (by size) a file over
// its limit and refuse it with its own message. On failure returns nullopt and sets `error` to
// "cannot read PATH: reason".
std::optional<std::string> readTextFile(const std::string& path, std::size_t max_bytes,
                                        std::string& error);

}  // namespace parley::app
