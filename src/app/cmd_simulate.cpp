// `parley simulate SCENARIO.yaml [--json] [--seed N]`: runs the routing engine in virtual time
// over a scenario and prints per-interval and total figures (docs/SIMULATION.md).
//
// This file does the I/O the simulator must not: it reads the scenario file and prints. A bad
// file or scenario gets one line on stderr naming the file, line and key, and exit status 2.
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.h"
#include "app/text_file.h"
#include "sim/report.h"
#include "sim/scenario.h"
#include "sim/simulator.h"

namespace parley::app {
namespace {

constexpr int kBadInput = 2;
constexpr int kRunFailed = 1;
constexpr std::size_t kMaxScenarioBytes = 16u << 20;  // scenarios are a few KiB

struct SimulateOptions {
  std::string scenario_path;
  std::string seed;  // text, checked here for a clear message
  bool json = false;
};

int run(const SimulateOptions& o) {
  std::string error;
  std::optional<std::string> text = readTextFile(o.scenario_path, kMaxScenarioBytes, error);
  if (!text) {
    std::cerr << "parley simulate: " << error << '\n';
    return kBadInput;
  }
  if (text->size() > kMaxScenarioBytes) {
    std::cerr << "parley simulate: " << o.scenario_path << ": larger than "
              << (kMaxScenarioBytes >> 20) << " MiB\n";
    return kBadInput;
  }

  sim::ScenarioParse parsed = sim::parseScenario(*text, o.scenario_path);
  if (!parsed) {
    std::cerr << "parley simulate: " << parsed.error << '\n';
    return kBadInput;
  }
  sim::Scenario& scenario = *parsed.scenario;
  if (!o.seed.empty()) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long seed = std::strtoull(o.seed.c_str(), &end, 10);
    if (o.seed.front() == '-' || *end != '\0' || errno != 0) {
      std::cerr << "parley simulate: --seed must be a non-negative whole number, got '" << o.seed
                << "'\n";
      return kBadInput;
    }
    scenario.seed = seed;
  }

  const sim::SimResult result = sim::simulate(scenario);
  if (o.json) {
    std::cout << sim::toJson(result).dump(2) << '\n';
  } else {
    std::cout << sim::toText(result);
  }
  if (!result.error.empty()) {
    std::cerr << "parley simulate: " << result.error << '\n';
    return kRunFailed;
  }
  return 0;
}

}  // namespace

void addSimulateCommand(CLI::App& app) {
  // Shared with the callback, which CLI11 keeps alive as long as `app`.
  auto opts = std::make_shared<SimulateOptions>();
  CLI::App* cmd =
      app.add_subcommand("simulate",
                         "Run the routing engine in virtual time over a scenario (YAML) and report "
                         "service level, ASA, abandonment and occupancy per interval and queue");
  cmd->add_option("scenario", opts->scenario_path, "Scenario file (format: docs/SIMULATION.md)")
      ->required();
  cmd->add_flag("--json", opts->json, "Print one JSON object instead of a table");
  cmd->add_option("--seed", opts->seed, "Random seed; overrides the scenario's `seed`");
  cmd->callback([opts] { setExitCode(run(*opts)); });
}

}  // namespace parley::app
