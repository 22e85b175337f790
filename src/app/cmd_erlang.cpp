// `parley erlang`: Erlang C / Erlang A staffing calculator on the command line.
//
// Options are read as text and checked here, so every bad value (missing, negative, not a
// number, zero agents) gets one clear line on stderr and exit status 2 rather than a parser
// exception code. The maths lives in sim/erlang.h; docs/STAFFING.md shows the output.
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "app/commands.h"
#include "sim/erlang.h"

namespace parley::app {
namespace {

constexpr int kBadInput = 2;

struct ErlangOptions {
  std::string agents;
  std::string calls_per_hour;
  std::string aht;
  std::string sl_seconds;
  std::string patience;
  std::string target_sl;
  bool json = false;
  std::vector<std::string> missing_values;  // options given without a value
  std::vector<std::string> extras;          // arguments the subcommand does not know
};

// Reads option text; the first problem is kept and later reads still return a harmless value,
// so run() can read everything and then check error() once.
class OptionReader {
 public:
  // A whole-string finite number.
  double number(const std::string& text, const std::string& what) {
    const char* begin = text.c_str();
    char* end = nullptr;
    const double value = std::strtod(begin, &end);
    if (text.empty() || end == begin || *end != '\0' || !std::isfinite(value)) {
      fail(what + " must be a number, got '" + text + "'");
      return 0;
    }
    return value;
  }

  double positive(const std::string& text, const std::string& what) {
    const double value = number(text, what);
    if (value <= 0) fail(what + " must be greater than zero, got '" + text + "'");
    return value;
  }

  int agents(const std::string& text) {
    const double value = number(text, "--agents");
    if (value != std::floor(value) || value < 1 || value > sim::kMaxAgents) {
      fail("--agents must be a whole number from 1 to " + std::to_string(sim::kMaxAgents) +
           ", got '" + text + "'");
      return 0;
    }
    return static_cast<int>(value);
  }

  void require(const std::string& text, const std::string& what) {
    if (text.empty()) fail(what + " is required");
  }

  void fail(std::string message) {
    if (!error_) error_ = std::move(message);
  }

  const std::optional<std::string>& error() const { return error_; }

 private:
  std::optional<std::string> error_;  // the first problem found
};

const char* modelName(sim::StaffingModel model) {
  return model == sim::StaffingModel::ErlangA ? "erlang_a" : "erlang_c";
}

std::string fixed(double value, int decimals) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << value;
  return out.str();
}

std::string percent(double fraction) {
  return fixed(100.0 * fraction, 2) + " %";
}

std::string seconds(double value) {
  return std::isfinite(value) ? fixed(value, 2) + " s" : std::string("infinite");
}

// Trims trailing zeros so "240" prints as given rather than "240.000000".
std::string plain(double value) {
  std::ostringstream out;
  out << std::setprecision(10) << value;
  return out.str();
}

void printRow(const std::string& label, const std::string& value) {
  std::cout << "  " << std::left << std::setw(26) << label << value << '\n';
}

void printHuman(const sim::StaffingInput& in, const sim::StaffingResult& r,
                std::optional<double> target, std::optional<int> needed) {
  const bool a = r.model == sim::StaffingModel::ErlangA;
  std::cout << (a ? "Erlang A (M/M/c+M, callers abandon)" : "Erlang C (M/M/c, nobody abandons)")
            << '\n';
  printRow("agents", std::to_string(r.agents));
  printRow("calls per hour", plain(in.calls_per_hour));
  printRow("AHT", plain(in.aht_seconds) + " s");
  printRow("SL threshold", plain(in.sl_seconds) + " s");
  if (a) printRow("mean patience", plain(*in.patience_seconds) + " s");
  printRow("offered load", fixed(r.load_erlangs, 3) + " Erlangs");
  printRow("occupancy", percent(r.occupancy));
  printRow("P(wait > 0)", percent(r.p_wait));
  printRow(a ? "service level (offered)" : "service level", percent(r.service_level));
  if (a) {
    printRow("service level (answered)", percent(r.service_level_answered));
    printRow("abandon rate", percent(r.abandon_rate));
  }
  printRow("ASA", seconds(r.asa_seconds));
  if (a) printRow("mean wait (all callers)", seconds(r.mean_wait_seconds));
  if (target) printRow("target service level", percent(*target));
  if (needed) printRow("agents needed", std::to_string(*needed));
  if (!r.stable) {
    std::cout << "  unstable: offered load >= agents, the queue grows without bound\n";
  }
}

void printJson(const sim::StaffingInput& in, const sim::StaffingResult& r,
               std::optional<double> target, std::optional<int> needed) {
  nlohmann::ordered_json j;
  j["model"] = modelName(r.model);
  j["agents"] = r.agents;
  j["calls_per_hour"] = in.calls_per_hour;
  j["aht_seconds"] = in.aht_seconds;
  j["sl_seconds"] = in.sl_seconds;
  j["load_erlangs"] = r.load_erlangs;
  j["occupancy"] = r.occupancy;
  j["p_wait"] = r.p_wait;
  j["service_level"] = r.service_level;
  j["asa_seconds"] = r.asa_seconds;  // +inf (unstable) is written as null
  j["stable"] = r.stable;
  if (r.model == sim::StaffingModel::ErlangA) {
    j["patience_seconds"] = *in.patience_seconds;
    j["abandon_rate"] = r.abandon_rate;
    j["service_level_answered"] = r.service_level_answered;
    j["mean_wait_seconds"] = r.mean_wait_seconds;
  }
  if (target) j["target_sl"] = *target;
  if (needed) j["agents_needed"] = *needed;
  std::cout << j.dump(2) << '\n';
}

int run(const ErlangOptions& o) {
  OptionReader read;
  if (!o.extras.empty()) read.fail("unknown argument '" + o.extras.front() + "' (see --help)");
  for (const std::string& name : o.missing_values) read.fail(name + " needs a value");
  read.require(o.calls_per_hour, "--calls-per-hour");
  read.require(o.aht, "--aht");
  read.require(o.sl_seconds, "--sl-seconds");
  if (o.agents.empty() && o.target_sl.empty()) read.fail("give --agents, --target-sl, or both");
  sim::StaffingInput in;
  std::optional<double> target;
  if (!read.error()) {
    in.calls_per_hour = read.positive(o.calls_per_hour, "--calls-per-hour");
    in.aht_seconds = read.positive(o.aht, "--aht");
    in.sl_seconds = read.number(o.sl_seconds, "--sl-seconds");
    if (in.sl_seconds < 0)
      read.fail("--sl-seconds must be zero or more, got '" + o.sl_seconds + "'");
    if (!o.patience.empty()) in.patience_seconds = read.positive(o.patience, "--patience");
    if (!o.agents.empty()) in.agents = read.agents(o.agents);
    if (!o.target_sl.empty()) {
      target = read.number(o.target_sl, "--target-sl");
      if (*target <= 0 || *target >= 1) {
        read.fail("--target-sl must be a fraction between 0 and 1 (e.g. 0.8), got '" + o.target_sl +
                  "'");
      }
    }
  }
  if (!read.error()) {
    if (auto problem = sim::validate(in, !o.agents.empty())) read.fail(*problem);
  }
  if (read.error()) {
    std::cerr << "parley erlang: " << *read.error() << '\n';
    return kBadInput;
  }

  std::optional<int> needed;
  sim::StaffingResult result;
  if (target) {
    const auto found = sim::agentsForTarget(in.calls_per_hour, in.aht_seconds, in.sl_seconds,
                                            *target, in.patience_seconds);
    if (!found) {
      std::cerr << "parley erlang: target service level not reachable with " << sim::kMaxAgents
                << " agents or fewer\n";
      return kBadInput;
    }
    needed = found->agents;
    result = found->result;
  }
  if (in.agents > 0) result = sim::staffingMetrics(in);
  if (result.tail_truncated) {
    std::cerr << "parley erlang: warning: patience is so long for this overload that the queue "
                 "distribution was cut at "
              << sim::kErlangAMaxStates << " states; results are approximate\n";
  }
  if (o.json) {
    printJson(in, result, target, needed);
  } else {
    printHuman(in, result, target, needed);
  }
  return 0;
}

}  // namespace

void addErlangCommand(CLI::App& app) {
  // Shared with the callback, which CLI11 keeps alive as long as `app`.
  auto opts = std::make_shared<ErlangOptions>();
  CLI::App* cmd = app.add_subcommand(
      "erlang", "Erlang C / Erlang A staffing: waiting, service level, ASA, agents needed");
  // Values are taken as text and may be left off (`--agents` alone) so run() can report every
  // problem itself with exit status 2; unknown arguments are collected for the same reason.
  cmd->allow_extras();
  auto given = std::make_shared<std::vector<std::pair<CLI::Option*, const std::string*>>>();
  auto text_option = [&](const char* name, std::string& into, const char* type, const char* help) {
    CLI::Option* opt = cmd->add_option(name, into, help)
                           ->type_name(type)
                           ->expected(0, 1)
                           ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    given->emplace_back(opt, &into);
  };
  text_option("--agents", opts->agents, "N",
              "Agents handling the queue (optional with --target-sl)");
  text_option("--calls-per-hour", opts->calls_per_hour, "X", "Offered calls per hour (required)");
  text_option("--aht", opts->aht, "SECONDS", "Average handling time in seconds (required)");
  text_option("--sl-seconds", opts->sl_seconds, "SECONDS",
              "Service-level threshold T in seconds: answered within T (required)");
  text_option("--patience", opts->patience, "SECONDS",
              "Mean caller patience in seconds; switches to Erlang A with abandonment");
  text_option("--target-sl", opts->target_sl, "FRACTION",
              "Target service level as a fraction (e.g. 0.8); prints the agents needed");
  cmd->add_flag("--json", opts->json, "Print one JSON object instead of a table");
  cmd->callback([opts, cmd, given] {
    opts->extras = cmd->remaining();
    for (const auto& [opt, text] : *given) {
      if (opt->count() > 0 && text->empty()) opts->missing_values.push_back(opt->get_name());
    }
    setExitCode(run(*opts));
  });
}

}  // namespace parley::app
