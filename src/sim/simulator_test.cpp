// The simulator driving the real engine: determinism, shifts, drain, spikes, and the JSON report.
#include "sim/simulator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "sim/report.h"
#include "sim/scenario.h"

namespace parley::sim {
namespace {

Scenario scenarioFrom(const std::string& yaml) {
  ScenarioParse p = parseScenario(yaml, "test.yaml");
  EXPECT_TRUE(p) << p.error;
  return p ? *p.scenario : Scenario{};
}

// Two queues, skills, wrap-up, a priority stream, lognormal handle times, patience, answer delay
// and staggered shifts: a bit of everything, small enough to check invariants at every event.
const char* const kMixed = R"(duration: 2h
interval: 30m
seed: 11
queues:
  - {name: sales, wrap_up: 15s, strategy: longest-idle}
  - {name: support, strategy: fewest-contacts, max_wait: 5m, on_max_wait: {queue: sales}}
agents:
  - {name: early, count: 6, queues: [sales, {queue: support, penalty: 1}], skills: {english: 3},
     shift: {start: 0, end: 1h}}
  - {name: late, count: 6, queues: [support, sales], skills: {english: 2},
     shift: {start: 50m, end: 2h}}
arrivals:
  - queue: sales
    rate_per_hour: 90
    handle_time: {dist: lognormal, mean: 150s, stddev: 100s}
    patience: {dist: exponential, mean: 90s}
    answer_delay: 3s
    campaign: spring
  - queue: support
    rate_per_hour: 60
    priority: 2
    skills: {english: 2}
    handle_time: {dist: exponential, mean: 200s}
    patience: {dist: exponential, mean: 120s}
)";

TEST(Simulator, EngineInvariantsHoldAtEveryEvent) {
  SimOptions options;
  options.check_invariants_every = 1;
  const SimResult r = simulate(scenarioFrom(kMixed), options);
  EXPECT_EQ(r.error, "");
  EXPECT_GT(r.contacts, 200u);
  EXPECT_EQ(r.unfinished, 0u);
  // Every contact ended exactly once, in one of the three ways.
  const engine::Counters& c = r.total.counters;
  EXPECT_EQ(r.contacts, r.total.arrivals);
  EXPECT_EQ(c.answered + c.abandoned + c.exited, r.contacts);
  EXPECT_EQ(c.completed, c.answered);  // drained: every answered contact was handled to the end
  EXPECT_GT(c.answered, c.abandoned);
  // Intervals: four of 30 minutes, then the drain tail.
  ASSERT_GE(r.intervals.size(), 4u);
  EXPECT_EQ(r.intervals[0].from, engine::Millis{0});
  EXPECT_EQ(r.intervals[3].to, engine::Millis{7'200'000});
  for (std::size_t i = 0; i < 4; ++i) EXPECT_FALSE(r.intervals[i].after_close);
  if (r.intervals.size() == 5) {
    EXPECT_TRUE(r.intervals[4].after_close);
    EXPECT_EQ(r.intervals[4].to, r.end);
  }
  // Interval counters add up to the totals.
  std::uint64_t answered = 0;
  for (const IntervalResult& i : r.intervals) answered += i.total.counters.answered;
  EXPECT_EQ(answered, c.answered);
  // Campaign row: only the sales stream has one.
  ASSERT_EQ(r.campaign_names.size(), 2u);
  EXPECT_EQ(r.campaign_names[1], "spring");
  EXPECT_EQ(r.campaigns[1].arrivals, r.queues[0].arrivals);
}

TEST(Simulator, EveryStrategyEndsEveryContactOnce) {
  // Ring-all offers one contact to several agents at once; the first accept wins and the other
  // offers are withdrawn, so their scheduled accepts must be dropped.
  for (const char* strategy : {"longest-idle", "ring-all", "round-robin", "fewest-contacts",
                               "least-talk-time", "top-down", "random", "skills-best-match"}) {
    SCOPED_TRACE(strategy);
    std::string yaml = kMixed;
    const std::string from = "strategy: longest-idle";
    yaml.replace(yaml.find(from), from.size(), std::string("strategy: ") + strategy);
    SimOptions options;
    options.check_invariants_every = 7;
    const SimResult r = simulate(scenarioFrom(yaml), options);
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.unfinished, 0u);
    const engine::Counters& c = r.total.counters;
    EXPECT_EQ(c.answered + c.abandoned + c.exited, r.contacts);
    EXPECT_EQ(c.completed, c.answered);
  }
}

TEST(Simulator, SameSeedSameFiguresOtherSeedOtherFigures) {
  const Scenario s = scenarioFrom(kMixed);
  const std::string a = toJson(simulate(s)).dump();
  const std::string b = toJson(simulate(s)).dump();
  EXPECT_EQ(a, b);
  Scenario other = s;
  other.seed = 12;
  EXPECT_NE(toJson(simulate(other)).dump(), a);
}

TEST(Simulator, AgentsWorkOnlyDuringTheirShift) {
  // Agents from 1h to 2h only; contacts arriving in the first hour wait for them.
  const SimResult r = simulate(scenarioFrom(R"(duration: 3h
interval: 1h
queues: [{name: q}]
agents: [{name: a, count: 5, queues: [q], shift: {start: 1h, end: 2h}}]
arrivals:
  - {queue: q, rate_per_hour: 30, handle_time: {dist: constant, mean: 30s}}
)"));
  ASSERT_GE(r.intervals.size(), 3u);
  EXPECT_EQ(r.intervals[0].total.counters.answered, 0u);
  EXPECT_TRUE(std::isnan(r.intervals[0].total.metrics.occupancy));  // nobody staffed
  // At 1h the backlog of the first hour is answered at once.
  EXPECT_GT(r.intervals[1].total.counters.answered, r.intervals[1].total.counters.offered);
  EXPECT_GT(r.intervals[1].total.metrics.asa_seconds, 60);
  EXPECT_EQ(r.intervals[2].total.counters.answered, 0u);  // logged out again
  // Infinite patience and nobody left: the run stops and says so instead of running forever.
  EXPECT_GT(r.unfinished, 0u);
  EXPECT_EQ(r.unfinished, r.intervals[2].total.counters.offered);
}

TEST(Simulator, ShiftEndLetsAgentsFinishTheirCalls) {
  // One agent until 10 minutes, calls of exactly 4 minutes: the agent logs out only after the
  // call in progress at 10 minutes ends, and that call is completed, not cut.
  const SimResult r = simulate(scenarioFrom(R"(duration: 20m
interval: 5m
queues: [{name: q, wrap_up: 30s}]
agents: [{name: a, queues: [q], shift: {start: 0, end: 10m}}]
arrivals:
  - {queue: q, rate_per_hour: 600, handle_time: 4m}
)"));
  EXPECT_EQ(r.error, "");
  // Answers at 0, 4m30, 9m (each call 4m + 30s wrap-up); the third ends at 13m, after the shift.
  EXPECT_EQ(r.total.counters.answered, 3u);
  EXPECT_EQ(r.total.counters.completed, 3u);
  EXPECT_EQ(r.intervals[2].total.counters.answered, 0u);  // 10m-15m: not-ready, finishing
  EXPECT_EQ(r.intervals[2].total.counters.completed, 1u);
  EXPECT_GT(r.intervals[2].total.counters.busy_agent_ms, 0);
}

TEST(Simulator, NoDrainStopsAtDuration) {
  Scenario s = scenarioFrom(kMixed);
  s.drain = false;
  const SimResult r = simulate(s);
  EXPECT_EQ(r.end, s.duration);
  EXPECT_EQ(r.intervals.size(), 4u);
  EXPECT_GT(r.unfinished, 0u);  // calls still in progress at the end
}

TEST(Simulator, SpikeIntervalHasWorseServiceLevel) {
  // 20 agents, 180 s handle time: 300 calls/h is 15 Erlangs (comfortable), the campaign spike
  // from 2h to 3h at 600 calls/h is 30 Erlangs (overloaded).
  const SimResult r = simulate(scenarioFrom(R"(duration: 5h
interval: 1h
seed: 3
queues: [{name: sales, sl_seconds: 20}]
agents: [{name: s, count: 20, queues: [sales]}]
arrivals:
  - queue: sales
    profile:
      - {from: 0, rate_per_hour: 300}
      - {from: 2h, rate_per_hour: 600}
      - {from: 3h, rate_per_hour: 300}
    handle_time: {dist: exponential, mean: 180s}
    patience: {dist: exponential, mean: 120s}
)"));
  ASSERT_GE(r.intervals.size(), 5u);
  const engine::Metrics& before = r.intervals[1].total.metrics;
  const engine::Metrics& spike = r.intervals[2].total.metrics;
  EXPECT_GT(before.service_level, 0.8);
  EXPECT_LT(spike.service_level, 0.4);
  EXPECT_GT(spike.abandon_rate, 3 * before.abandon_rate);
  EXPECT_GT(spike.asa_seconds, before.asa_seconds + 20);
  EXPECT_GT(spike.occupancy, 0.97);
  // About twice the contacts (Poisson, so not exactly).
  EXPECT_GT(r.intervals[2].total.counters.offered, 1.6 * r.intervals[1].total.counters.offered);
}

TEST(Report, JsonHasTheDocumentedKeys) {
  const SimResult r = simulate(scenarioFrom(kMixed));
  const nlohmann::ordered_json j = toJson(r);
  for (const char* key : {"contacts", "answered", "abandoned", "service_level", "asa_seconds",
                          "abandon_rate", "occupancy", "queues", "intervals", "campaigns",
                          "probability_of_wait", "seed", "unfinished"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  ASSERT_TRUE(j["queues"].contains("sales"));
  ASSERT_TRUE(j["queues"].contains("support"));
  for (const char* key : {"contacts", "answered", "abandoned", "service_level", "asa_seconds",
                          "abandon_rate", "occupancy"}) {
    EXPECT_TRUE(j["queues"]["sales"].contains(key)) << key;
    EXPECT_TRUE(j["intervals"][0].contains(key)) << key;
  }
  EXPECT_EQ(j["intervals"][0]["from_seconds"], 0.0);
  EXPECT_EQ(j["intervals"][0]["to_seconds"], 1800.0);
  EXPECT_TRUE(j["intervals"][0]["queues"].contains("support"));
  EXPECT_EQ(j["answered"], r.total.counters.answered);
  EXPECT_DOUBLE_EQ(j["service_level"].get<double>(), r.total.metrics.service_level);

  const std::string text = toText(r);
  EXPECT_NE(text.find("00:00-00:30"), std::string::npos) << text;
  EXPECT_NE(text.find("support"), std::string::npos) << text;
  EXPECT_NE(text.find("total"), std::string::npos) << text;
}

}  // namespace
}  // namespace parley::sim
