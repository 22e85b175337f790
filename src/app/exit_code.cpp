#include "app/commands.h"

namespace parley::app {
namespace {
int g_exit_code = 0;  // written once by the subcommand callback, read by main after parsing
}  // namespace
int exitCode() { return g_exit_code; }
void setExitCode(int code) { g_exit_code = code; }
}  // namespace parley::app
