// A simulation scenario: queues, agent groups with skills and shifts, and arrival streams with
// their rates, handle times and customer patience. Parsed from YAML text (the format is in
// docs/SIMULATION.md); the caller reads the file, so parsing does no I/O.
//
// Thread rule: pure values and a pure parse function; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.h"
#include "engine/types.h"
#include "sim/random.h"

namespace parley::sim {

// A non-negative random duration in seconds.
struct Distribution {
  enum class Kind : std::uint8_t { Constant, Exponential, Lognormal };
  Kind kind = Kind::Constant;
  double mean_seconds = 0;
  double stddev_seconds = 0;  // Lognormal only

  // One sample in seconds, drawn from `rng`.
  double sample(Rng& rng) const {
    switch (kind) {
      case Kind::Constant:
        return mean_seconds;
      case Kind::Exponential:
        return mean_seconds * rng.exponential1();
      case Kind::Lognormal: {
        // Parameters of the underlying normal from the lognormal's own mean m and stddev s:
        // sigma^2 = ln(1 + s^2/m^2), mu = ln(m) - sigma^2/2.
        const double cv2 = (stddev_seconds * stddev_seconds) / (mean_seconds * mean_seconds);
        const double sigma2 = std::log1p(cv2);
        const double mu = std::log(mean_seconds) - sigma2 / 2;
        return std::exp(mu + std::sqrt(sigma2) * rng.normal());
      }
    }
    return mean_seconds;
  }
};

// A skill by name with a level (1..5); names are interned by the engine when the run starts.
struct NamedSkill {
  std::string name;
  int level = 1;
};

// Queue index in Scenario::queues; the simulator adds queues in order, so it is also the QueueId.
using QueueIndex = std::uint32_t;

struct QueueSpec {
  // Everything but the queue references below. Exit targets and escalation add_queue inside it
  // are filled in by the simulator from the indices.
  engine::QueueConfig config;
  std::optional<QueueIndex> on_max_wait_target;                 // for exit kind Queue
  std::optional<QueueIndex> on_max_length_target;               // for exit kind Queue
  std::vector<std::optional<QueueIndex>> escalation_add_queue;  // parallel to config.escalation
};

struct MembershipSpec {
  QueueIndex queue = 0;
  int penalty = 0;
};

// `count` identical agents named "<name>-1" .. "<name>-<count>".
struct AgentGroup {
  std::string name;
  int count = 1;
  std::vector<MembershipSpec> queues;
  std::vector<NamedSkill> skills;
  engine::Capacity capacity = engine::Capacity::exclusive();
  engine::Millis shift_start{0};  // logs in (ready) at this time
  engine::Millis shift_end{0};    // goes not-ready, finishes current work, then logs out
};

// Piecewise-constant arrival rate: `rate_per_hour` applies from `from` until the next step.
struct RateStep {
  engine::Millis from{0};
  double rate_per_hour = 0;
};

// A Poisson stream of contacts into one queue.
struct ArrivalStream {
  QueueIndex queue = 0;
  engine::Channel channel = engine::Channel::Voice;
  std::vector<RateStep> profile;         // sorted by `from`, first step at 0
  Distribution handle_time;              // talk time, sampled when the agent answers
  std::optional<Distribution> patience;  // none: the customer waits forever
  std::vector<NamedSkill> skills;
  int priority = 0;
  std::string campaign;            // empty: no campaign
  engine::Millis answer_delay{0};  // from offer to the agent's accept
};

struct Scenario {
  std::string name;                    // for reports; defaults to the label
  engine::Millis duration{0};          // arrivals happen in [0, duration)
  engine::Millis interval{1'800'000};  // reporting interval
  std::uint64_t seed = 42;
  // After `duration`, keep running (no new arrivals) until every contact has ended, so each has
  // an outcome; the figures from that tail form a last, "after close" interval.
  bool drain = true;
  int max_consecutive_misses = 3;  // engine setting
  std::vector<QueueSpec> queues;
  std::vector<AgentGroup> agents;
  std::vector<ArrivalStream> arrivals;

  // Expected number of arrivals over the whole duration (sum of rate x time).
  double expectedContacts() const;
  // Total number of agents over all groups.
  std::size_t agentCount() const;
};

// Outcome of parseScenario: a scenario, or one error message.
struct ScenarioParse {
  std::optional<Scenario> scenario;
  // "<label>:<line>: <key path>: <what is wrong>", e.g.
  // `scenario.yaml:12: queues[0].strategy: unknown strategy "fastest"`. Empty on success.
  std::string error;
  explicit operator bool() const { return scenario.has_value(); }
};

// Parses and validates a scenario from YAML text. `label` names the source in error messages
// (normally the file path). Never throws: malformed YAML, unknown keys, wrong types and
// inconsistent values (unknown queue, shift ending before it starts...) all come back as `error`.
// Size limits, so a typo cannot start a run that exhausts memory: at most 1,000,000 agents,
// about 100,000,000 expected contacts, 100,000 reporting intervals and 65,535 arrival streams.
[[nodiscard]] ScenarioParse parseScenario(std::string_view yaml_text, std::string_view label);

}  // namespace parley::sim
