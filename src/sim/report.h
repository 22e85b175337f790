// Presentation of a simulation run: a text table for people and one JSON object for programs.
// The figures and their definitions are in docs/SIMULATION.md ("What is reported").
//
// Thread rule: pure functions; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "sim/simulator.h"

namespace parley::sim {

// One row as JSON: contacts, answered, abandoned, service_level, asa_seconds, abandon_rate,
// occupancy and the other counters and metrics (NaN metrics become null).
nlohmann::ordered_json rowToJson(const RowResult& row);

// The whole run: the total row's keys at the top level, plus `queues` (object keyed by queue
// name), `campaigns` (keyed by campaign name, only if the scenario has campaigns), `intervals`
// (array in time order, each with from_seconds/to_seconds, the total row's keys and `queues`),
// and run facts (scenario, seed, duration_seconds, interval_seconds, end_seconds, unfinished).
nlohmann::ordered_json toJson(const SimResult& result);

// Fixed-width table: per interval one line per queue (and an "all" line with several queues),
// then the totals.
std::string toText(const SimResult& result);

}  // namespace parley::sim
