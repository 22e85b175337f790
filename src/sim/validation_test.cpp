// The simulator (and the engine under it) proven against queueing theory: M/M/c runs agree with
// Erlang C, M/M/c+M runs (exponential patience) with Erlang A, within a stated statistical
// tolerance.
//
// Tolerance. A simulated figure is a random estimate of the steady-state value, so it may differ
// from the formula by chance; the test bounds that chance with batch means. The run is cut into
// reporting intervals of equal length (the batches; the first is dropped as warm-up, since the
// centre starts empty). Each batch gives one estimate of the figure; the standard error SE of
// their mean is stddev / sqrt(batches). Batches of about 25 h are several relaxation times of
// these queues long, so batch estimates are close to independent and SE is honest. A figure
// passes when |simulated - formula| <= 4 SE: a correct simulator fails that less than once in
// 10,000 runs per figure (normal tails), while any modelling error bigger than a few SE shows.
// To keep the test meaningful, SE itself must also be small (the limits below), i.e. the run must
// be long enough to resolve errors of about a percentage point of P(wait) or service level and
// about a second of ASA. The seed is fixed, so the outcome is reproducible.
//
// What must match the formulas' assumptions: Poisson arrivals, exponential handle times, one FCFS
// queue, no wrap-up, no answer delay (answer_delay 0), longest-idle routing (any work-conserving
// rule gives the same queue), short abandons disabled (short_abandon 0) so abandon_rate and
// service_level use every abandon, and drain so every contact ends.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

#include "sim/erlang.h"
#include "sim/scenario.h"
#include "sim/simulator.h"

namespace parley::sim {
namespace {

struct Estimate {
  double value = 0;  // pooled over the batches
  double se = 0;     // standard error from the spread of the batch values
  int batches = 0;
};

// A figure as numerator / denominator of one row.
using Ratio = std::function<std::pair<double, double>(const RowResult&)>;

Estimate batchMeans(const SimResult& r, const Ratio& ratio) {
  double num = 0;
  double den = 0;
  std::vector<double> values;
  for (std::size_t i = 1; i < r.intervals.size(); ++i) {  // interval 0: warm-up
    if (r.intervals[i].after_close) continue;
    const auto [n, d] = ratio(r.intervals[i].total);
    num += n;
    den += d;
    values.push_back(n / d);
  }
  Estimate e;
  e.batches = static_cast<int>(values.size());
  e.value = num / den;
  double mean = 0;
  for (double v : values) mean += v;
  mean /= e.batches;
  double ss = 0;
  for (double v : values) ss += (v - mean) * (v - mean);
  e.se = std::sqrt(ss / (e.batches - 1)) / std::sqrt(static_cast<double>(e.batches));
  return e;
}

const Ratio kPWait = [](const RowResult& r) {
  return std::pair{static_cast<double>(r.delayed), static_cast<double>(r.arrivals)};
};
const Ratio kServiceLevel = [](const RowResult& r) {
  const auto& c = r.counters;
  return std::pair{static_cast<double>(c.answered_within_sl),
                   static_cast<double>(c.answered + c.abandoned)};
};
const Ratio kAsa = [](const RowResult& r) {
  return std::pair{static_cast<double>(r.counters.answered_wait.count()) / 1000.0,
                   static_cast<double>(r.counters.answered)};
};
const Ratio kAbandonRate = [](const RowResult& r) {
  return std::pair{static_cast<double>(r.counters.abandoned),
                   static_cast<double>(r.counters.offered)};
};
const Ratio kOccupancy = [](const RowResult& r) {
  return std::pair{r.counters.busy_agent_ms, r.counters.staffed_agent_ms};
};

// Checks one figure and prints the comparison (the numbers quoted in docs/SIMULATION.md).
void expectAgrees(const char* what, const Estimate& sim, double formula, double max_se) {
  std::printf("    %-16s simulated %10.5f  formula %10.5f  diff %+9.5f  SE %8.5f (%d batches)\n",
              what, sim.value, formula, sim.value - formula, sim.se, sim.batches);
  EXPECT_LE(std::abs(sim.value - formula), 4 * sim.se)
      << what << ": simulated " << sim.value << " vs formula " << formula << ", SE " << sim.se;
  EXPECT_LT(sim.se, max_se) << what << ": run too short to test anything";
}

// A one-queue scenario matching the Erlang models' assumptions.
Scenario queueingScenario(int agents, double calls_per_hour, double aht_seconds, double sl_seconds,
                          std::optional<double> patience_seconds, double hours, double batch_hours,
                          std::uint64_t seed) {
  char yaml[1024];
  std::snprintf(
      yaml, sizeof yaml, R"(duration: %gh
interval: %gh
seed: %llu
queues:
  - {name: q, strategy: longest-idle, sl_seconds: %g, short_abandon: 0, wrap_up: 0}
agents:
  - {name: a, count: %d, queues: [q]}
arrivals:
  - queue: q
    rate_per_hour: %g
    handle_time: {dist: exponential, mean: %gs}
    patience: %s
    answer_delay: 0s
)",
      hours, batch_hours, static_cast<unsigned long long>(seed), sl_seconds, agents, calls_per_hour,
      aht_seconds,
      patience_seconds
          ? ("{dist: exponential, mean: " + std::to_string(*patience_seconds) + "s}").c_str()
          : "none");
  ScenarioParse p = parseScenario(yaml, "validation");
  EXPECT_TRUE(p) << p.error;
  return *p.scenario;
}

TEST(ErlangValidation, MMcMatchesErlangC) {
  // 20 agents, AHT 180 s, 320 calls/h: A = 16 Erlangs, utilisation 0.8. 625 h gives about
  // 200,000 contacts in 25 batches of 25 h.
  const StaffingInput in{20, 320, 180, 20, std::nullopt};
  const StaffingResult erlang = erlangCMetrics(in);
  const Scenario s = queueingScenario(in.agents, in.calls_per_hour, in.aht_seconds, in.sl_seconds,
                                      std::nullopt, 625, 25, 2024);
  const SimResult r = simulate(s);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.unfinished, 0u);
  EXPECT_GT(r.contacts, 190'000u);
  EXPECT_EQ(r.total.counters.abandoned, 0u);
  std::printf("  Erlang C: c=%d, A=%.1f, T=%gs, %llu contacts\n", in.agents, erlang.load_erlangs,
              in.sl_seconds, static_cast<unsigned long long>(r.contacts));
  expectAgrees("P(wait)", batchMeans(r, kPWait), erlang.p_wait, 0.01);
  expectAgrees("service level", batchMeans(r, kServiceLevel), erlang.service_level, 0.01);
  expectAgrees("ASA seconds", batchMeans(r, kAsa), erlang.asa_seconds, 1.0);
  expectAgrees("occupancy", batchMeans(r, kOccupancy), erlang.occupancy, 0.005);
}

TEST(ErlangValidation, MMcPlusMMatchesErlangA) {
  // 20 agents, AHT 180 s, 400 calls/h: A = 20 Erlangs on 20 agents (critically loaded; Erlang C
  // would be unstable), mean patience 120 s. 500 h gives about 200,000 contacts.
  const StaffingInput in{20, 400, 180, 20, 120.0};
  const StaffingResult erlang = erlangAMetrics(in);
  const Scenario s = queueingScenario(in.agents, in.calls_per_hour, in.aht_seconds, in.sl_seconds,
                                      in.patience_seconds, 500, 20, 2025);
  const SimResult r = simulate(s);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.unfinished, 0u);
  EXPECT_GT(r.contacts, 190'000u);
  std::printf("  Erlang A: c=%d, A=%.1f, T=%gs, patience %gs, %llu contacts\n", in.agents,
              erlang.load_erlangs, in.sl_seconds, *in.patience_seconds,
              static_cast<unsigned long long>(r.contacts));
  expectAgrees("P(wait)", batchMeans(r, kPWait), erlang.p_wait, 0.01);
  expectAgrees("abandon rate", batchMeans(r, kAbandonRate), erlang.abandon_rate, 0.005);
  expectAgrees("service level", batchMeans(r, kServiceLevel), erlang.service_level, 0.01);
  expectAgrees("ASA seconds", batchMeans(r, kAsa), erlang.asa_seconds, 1.0);
  expectAgrees("occupancy", batchMeans(r, kOccupancy), erlang.occupancy, 0.005);
}

}  // namespace
}  // namespace parley::sim
