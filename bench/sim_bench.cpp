// Simulator throughput: contacts per second of wall time for a simulated day of a 1,000-agent
// centre with about 500,000 contacts, engine and statistics included (the target is a day in
// under 2 seconds). Run with `make bench` or build/bench/parley_sim_bench.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "sim/scenario.h"
#include "sim/simulator.h"

namespace {

using parley::sim::Scenario;

// 24 hours, 1,000 agents. Calls follow a daily curve averaging about 20,800/h (peak 26,000/h),
// handle time lognormal with mean 150 s (about 870 Erlangs on average), patience exponential
// with mean 2 minutes. `queues` queues of equal size; each agent group serves its own queue and
// the next one as backup (penalty 1), so routing looks at more than one queue.
Scenario dayScenario(int queues, double wrap_up_seconds) {
  std::string yaml = "duration: 24h\ninterval: 30m\nseed: 42\nqueues:\n";
  for (int q = 0; q < queues; ++q) {
    yaml += "  - {name: q" + std::to_string(q) +
            ", sl_seconds: 20, wrap_up: " + std::to_string(wrap_up_seconds) + "}\n";
  }
  yaml += "agents:\n";
  const int per_queue = 1000 / queues;
  for (int q = 0; q < queues; ++q) {
    yaml += "  - {name: g" + std::to_string(q) + ", count: " + std::to_string(per_queue) +
            ", queues: [q" + std::to_string(q);
    if (queues > 1) yaml += ", {queue: q" + std::to_string((q + 1) % queues) + ", penalty: 1}";
    yaml += "]}\n";
  }
  yaml += "arrivals:\n";
  // Relative rate per 3-hour block: quiet night, morning ramp, midday peak, evening tail.
  const double curve[8] = {0.55, 0.75, 1.05, 1.25, 1.25, 1.1, 1.0, 1.05};
  const double mean_per_hour = 20'800.0 / queues;
  for (int q = 0; q < queues; ++q) {
    yaml += "  - queue: q" + std::to_string(q) + "\n    profile:\n";
    for (int b = 0; b < 8; ++b) {
      yaml += "      - {from: " + std::to_string(3 * b) +
              "h, rate_per_hour: " + std::to_string(mean_per_hour * curve[b]) + "}\n";
    }
    yaml +=
        "    handle_time: {dist: lognormal, mean: 150s, stddev: 100s}\n"
        "    patience: {dist: exponential, mean: 120s}\n";
  }
  parley::sim::ScenarioParse p = parley::sim::parseScenario(yaml, "bench");
  if (!p) {
    std::fprintf(stderr, "%s\n", p.error.c_str());
    std::abort();
  }
  return *p.scenario;
}

void runDay(benchmark::State& state, const Scenario& scenario) {
  std::uint64_t contacts = 0;
  for (auto _ : state) {
    const parley::sim::SimResult r = parley::sim::simulate(scenario);
    contacts += r.contacts;
    benchmark::DoNotOptimize(r.total.metrics.service_level);
    state.counters["contacts"] = static_cast<double>(r.contacts);
    state.counters["engine_events"] = static_cast<double>(r.engine_events);
    state.counters["service_level"] = r.total.metrics.service_level;
    state.counters["occupancy"] = r.total.metrics.occupancy;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(contacts));
}

void BM_SimulateDay_1000Agents_OneQueue(benchmark::State& state) {
  runDay(state, dayScenario(1, 0));
}
BENCHMARK(BM_SimulateDay_1000Agents_OneQueue)->Unit(benchmark::kMillisecond);

void BM_SimulateDay_1000Agents_FiveQueuesWithBackup(benchmark::State& state) {
  runDay(state, dayScenario(5, 5));
}
BENCHMARK(BM_SimulateDay_1000Agents_FiveQueuesWithBackup)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
