// Subcommands of the `parley` executable. Each add*Command registers its options and callback.
#pragma once

#include <CLI/CLI.hpp>

namespace parley::app {

void addErlangCommand(CLI::App& app);       // cmd_erlang.cpp
void addSimulateCommand(CLI::App& app);     // cmd_simulate.cpp
void addCheckConfigCommand(CLI::App& app);  // cmd_check_config.cpp
void addServeCommand(CLI::App& app);        // cmd_serve.cpp

// Exit status set by the subcommand that ran (0 unless it failed).
int exitCode();
void setExitCode(int code);

}  // namespace parley::app
