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
#include <span>
#include <vector>

#include "engine/actions.h"
#include "engine/engine.h"

namespace parley::engine {

// Event counts and sums over an interval. A contact is counted in the interval in which the
// thing happened (offered when it entered the queue, answered when accepted, ...).
struct Counters {
  std::uint64_t offered = 0;            // entered the queue (arrivals, moves in, transfers in)
  std::uint64_t answered = 0;           // accepted by an agent
  std::uint64_t answered_within_sl = 0; // answered with wait <= the queue's SL threshold
  std::uint64_t abandoned = 0;          // customer left before answer (includes short abandons)
  std::uint64_t short_abandoned = 0;    // abandoned with wait <= the queue's short-abandon threshold
  std::uint64_t abandoned_within_sl = 0;// abandoned (not short) with wait <= SL threshold
  std::uint64_t exited = 0;             // left by exit action or customer choice (not an abandon)
  std::uint64_t moved_out = 0;          // moved to another queue
  std::uint64_t completed = 0;          // answered contacts whose handling (incl. wrap-up) ended
  Millis answered_wait{0};              // sum of waits of answered contacts (for ASA)
  Millis abandoned_wait{0};             // sum of waits of abandoned contacts
  Millis talk_time{0};                  // sum of answer-to-end times of completed contacts
  Millis wrap_time{0};                  // sum of wrap-up durations
  // Agent time integrals (agent-milliseconds), attributed to every queue the agent is a member
  // of. Staffed = logged in and not NotReady; busy = Reserved, Busy or WrapUp.
  double staffed_agent_ms = 0;
  double busy_agent_ms = 0;
};

// Live values at the time of the report.
struct Gauges {
  std::uint64_t waiting = 0;            // contacts waiting (including those being offered)
  Millis longest_wait{0};               // wait so far of the longest-waiting contact
  std::array<std::uint64_t, kAgentStateCount> agents{};  // by AgentState
};

// Metrics derived from counters; NaN where the denominator is zero.
struct Metrics {
  double service_level = 0;           // answered within T / (answered + abandoned - short)
  double service_level_answered = 0;  // answered within T / answered
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
  std::vector<StatsRow> by_queue;                   // index = QueueId
  std::array<StatsRow, kChannelCount> by_channel{}; // index = Channel
  std::vector<StatsRow> by_campaign;                // index = CampaignId (0 = none)
};

class Statistics {
 public:
  // *engine must outlive this object; it is read for memberships, thresholds and names only.
  explicit Statistics(const Engine& engine, TimePoint start = {});

  void apply(const Action& action, TimePoint now);
  void apply(std::span<const Action> actions, TimePoint now);

  // Starts a new interval at `now`: counters restart from zero, gauges carry on.
  void startInterval(TimePoint now);
  // Counters since the interval start, gauges as of `now`, agent time integrated up to `now`.
  StatsReport report(TimePoint now) const;

  // Estimated wait in seconds for a contact at 1-based `position` in queue `q` (the algorithm is
  // in docs/METRICS.md). Updates with every action.
  double ewtSeconds(QueueId q, std::size_t position, TimePoint now) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace parley::engine
