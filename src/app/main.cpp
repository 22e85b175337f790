// parley: command-line entry point. Subcommands register themselves from cmd_*.cpp.
#include <CLI/CLI.hpp>

#include "app/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Parley: omnichannel contact-centre server"};
  app.require_subcommand(1);
  parley::app::addErlangCommand(app);
  parley::app::addSimulateCommand(app);
  parley::app::addCheckConfigCommand(app);
  parley::app::addServeCommand(app);
  CLI11_PARSE(app, argc, argv);
  return parley::app::exitCode();
}
