// Real-time contact-centre statistics: a pure fold over the engine's action stream.
//
// Counters (offered, answered, abandoned, service level, ASA, AHT, occupancy...) accumulate over
// the current interval; gauges (waiting, longest wait, agents by state) are live. Every metric is
// defined in docs/METRICS.md with its source. Keys: per queue, per channel, per campaign, total.
//
// Thread rule: not thread-safe; lives on the engine's thread and is fed the engine's actions in
// order, with the same `now` the engine was given.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/actions.h"
#include "engine/engine.h"

namespace parley::engine {

// Event counts and sums over an interval. A contact is counted in the interval in which the
// thing happened (offered when it entered the queue, answered when accepted, ...).
struct Counters {
  std::uint64_t offered = 0;              // entered the queue (arrivals, moves in, transfers in)
  std::uint64_t answered = 0;             // accepted by an agent
  std::uint64_t answered_within_sl = 0;   // answered with wait <= the queue's SL threshold
  std::uint64_t abandoned = 0;            // left before answer (includes short abandons)
  std::uint64_t short_abandoned = 0;      // abandoned with wait <= short-abandon threshold
  std::uint64_t abandoned_within_sl = 0;  // abandoned (not short) with wait <= SL threshold
  std::uint64_t exited = 0;               // exit action or customer choice (not an abandon)
  std::uint64_t moved_out = 0;            // moved to another queue (exit action or transfer)
  std::uint64_t completed = 0;            // agent legs ended (completion, transfer out)
  Millis answered_wait{0};                // sum of waits of answered contacts (for ASA)
  Millis abandoned_wait{0};               // sum of waits of abandoned contacts
  Millis talk_time{0};                    // sum of answer-to-end times of completed legs
  Millis wrap_time{0};                    // sum of wrap-up durations, counted as they end
  // Agent time integrals (agent-milliseconds), attributed to the total, every queue the agent
  // is a member of and every channel it has capacity for (campaign rows get none).
  // Staffed = logged in and not NotReady; busy = Reserved, Busy or WrapUp.
  double staffed_agent_ms = 0;
  double busy_agent_ms = 0;
};

// Live values at the time of the report.
struct Gauges {
  std::uint64_t waiting = 0;  // contacts waiting (including those being offered)
  Millis longest_wait{0};     // wait so far of the longest-waiting contact
  std::array<std::uint64_t, kAgentStateCount> agents{};  // by AgentState
};

// Metrics derived from counters; NaN where the denominator is zero (or negative, which can
// happen right after startInterval because events are counted when they happen). Fractions are
// 0..1, not percentages. Definitions and sources: docs/METRICS.md.
struct Metrics {
  // The wallboard's service level (Genesys Cloud's formula with short abandons excluded):
  // answered within T / (answered + abandoned - short abandoned).
  double service_level = 0;
  double service_level_answered = 0;  // answered within T / answered (Asterisk "SL")
  double asa_seconds = 0;             // answered_wait / answered
  double aht_seconds = 0;             // (talk + wrap) / completed
  double abandon_rate = 0;            // (abandoned - short) / (offered - short)
  double occupancy = 0;               // busy / staffed agent time
};

struct StatsRow {
  Counters counters;
  Gauges gauges;
  Metrics metrics() const;
};

struct StatsReport {
  TimePoint from{};
  TimePoint to{};
  StatsRow total;
  std::vector<StatsRow> by_queue;                    // index = QueueId
  std::array<StatsRow, kChannelCount> by_channel{};  // index = Channel
  std::vector<StatsRow> by_campaign;                 // index = CampaignId (0 = none)
};

class Statistics {
 public:
  // *engine must outlive this object; it is read for configuration (memberships, thresholds,
  // capacity) and, at construction only, for the agents' states: agents already logged in
  // count from `start`. Contacts already live at construction are not known to the gauges.
  explicit Statistics(const Engine& engine, TimePoint start = {});
  ~Statistics();
  // Copies are independent snapshots (deep copy); both must still not outlive the engine.
  Statistics(const Statistics& other);
  Statistics& operator=(const Statistics& other);
  Statistics(Statistics&&) noexcept;
  Statistics& operator=(Statistics&&) noexcept;

  // Folds one action (or a batch, in order) emitted by the engine at `now`. O(1) per action,
  // plus the agent's queues and channels for AgentStateChanged; allocates only when the number
  // of live contacts or known queues/agents/campaigns reaches a new high. Never throws on odd
  // input (unknown contacts, ids beyond the engine's): it counts what it can.
  void apply(const Action& action, TimePoint now);
  void apply(std::span<const Action> actions, TimePoint now);

  // Starts a new interval at `now`: counters restart from zero, gauges and the EWT estimators
  // carry on.
  void startInterval(TimePoint now);
  // Counters since the interval start, gauges as of `now`, agent time integrated up to `now`.
  // O(live contacts + agents x memberships); meant for a wallboard tick, not per action.
  StatsReport report(TimePoint now) const;

  // Estimated wait in seconds for a contact at 1-based `position` in queue `q` (the algorithm is
  // in docs/METRICS.md; position 0 counts as 1). 0 when enough members are Available; NaN when
  // nothing has been handled yet anywhere, so there is no handle time to go on. Updates with
  // every action and, while the queue is backlogged, with `now`.
  double ewtSeconds(QueueId q, std::size_t position, TimePoint now) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::engine
