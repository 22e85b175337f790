#include "sim/report.h"

#include <cmath>
#include <cstdio>

#include "engine/types.h"
#include "sim/duration.h"

namespace parley::sim {
namespace {

nlohmann::ordered_json number(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json();
}

std::string percent(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v * 100.0);
  return buf;
}

std::string seconds(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", v);
  return buf;
}

void appendRow(std::string& out, const std::string& when, const std::string& name,
               const RowResult& r) {
  char line[256];
  std::snprintf(line, sizeof line, "%-13s %-14s %9llu %9llu %9llu %8s %8s %8s %8s %8s %8s\n",
                when.c_str(), name.c_str(), static_cast<unsigned long long>(r.counters.offered),
                static_cast<unsigned long long>(r.counters.answered),
                static_cast<unsigned long long>(r.counters.abandoned),
                percent(r.metrics.service_level).c_str(), seconds(r.metrics.asa_seconds).c_str(),
                percent(r.metrics.abandon_rate).c_str(), percent(r.metrics.occupancy).c_str(),
                seconds(r.metrics.aht_seconds).c_str(), percent(r.probabilityOfWait()).c_str());
  out += line;
}

void appendBlock(std::string& out, const std::string& when, const SimResult& result,
                 const std::vector<RowResult>& queues, const RowResult& total) {
  for (std::size_t q = 0; q < queues.size(); ++q) {
    appendRow(out, q == 0 ? when : "", result.queue_names[q], queues[q]);
  }
  if (queues.size() > 1) appendRow(out, "", "(all)", total);
}

}  // namespace

nlohmann::ordered_json rowToJson(const RowResult& row) {
  const engine::Counters& c = row.counters;
  const engine::Metrics& m = row.metrics;
  nlohmann::ordered_json j;
  j["contacts"] = c.offered;
  j["arrivals"] = row.arrivals;
  j["answered"] = c.answered;
  j["answered_within_sl"] = c.answered_within_sl;
  j["abandoned"] = c.abandoned;
  j["short_abandoned"] = c.short_abandoned;
  j["exited"] = c.exited;
  j["moved_out"] = c.moved_out;
  j["completed"] = c.completed;
  j["delayed"] = row.delayed;
  j["service_level"] = number(m.service_level);
  j["service_level_answered"] = number(m.service_level_answered);
  j["asa_seconds"] = number(m.asa_seconds);
  j["aht_seconds"] = number(m.aht_seconds);
  j["abandon_rate"] = number(m.abandon_rate);
  j["occupancy"] = number(m.occupancy);
  j["probability_of_wait"] = number(row.probabilityOfWait());
  return j;
}

nlohmann::ordered_json toJson(const SimResult& result) {
  nlohmann::ordered_json j;
  j["scenario"] = result.scenario_name;
  j["seed"] = result.seed;
  j["duration_seconds"] = engine::toSeconds(result.duration);
  j["interval_seconds"] = engine::toSeconds(result.interval);
  j["end_seconds"] = engine::toSeconds(result.end);
  j.update(rowToJson(result.total));
  j["unfinished"] = result.unfinished;
  if (!result.error.empty()) j["error"] = result.error;

  nlohmann::ordered_json queues = nlohmann::ordered_json::object();
  for (std::size_t q = 0; q < result.queues.size(); ++q) {
    queues[result.queue_names[q]] = rowToJson(result.queues[q]);
  }
  j["queues"] = std::move(queues);

  if (result.campaigns.size() > 1) {
    nlohmann::ordered_json campaigns = nlohmann::ordered_json::object();
    for (std::size_t c = 1; c < result.campaigns.size(); ++c) {
      campaigns[result.campaign_names[c]] = rowToJson(result.campaigns[c]);
    }
    j["campaigns"] = std::move(campaigns);
  }

  nlohmann::ordered_json intervals = nlohmann::ordered_json::array();
  for (const IntervalResult& interval : result.intervals) {
    nlohmann::ordered_json ij;
    ij["from_seconds"] = engine::toSeconds(interval.from);
    ij["to_seconds"] = engine::toSeconds(interval.to);
    ij["after_close"] = interval.after_close;
    ij.update(rowToJson(interval.total));
    nlohmann::ordered_json iq = nlohmann::ordered_json::object();
    for (std::size_t q = 0; q < interval.queues.size(); ++q) {
      iq[result.queue_names[q]] = rowToJson(interval.queues[q]);
    }
    ij["queues"] = std::move(iq);
    intervals.push_back(std::move(ij));
  }
  j["intervals"] = std::move(intervals);
  return j;
}

std::string toText(const SimResult& result) {
  std::string out;
  out += "Scenario " + result.scenario_name + "  seed " + std::to_string(result.seed) + "  " +
         formatDuration(result.duration) + " in " + formatDuration(result.interval) +
         " intervals  " + std::to_string(result.contacts) + " contacts\n\n";
  char header[256];
  std::snprintf(header, sizeof header, "%-13s %-14s %9s %9s %9s %8s %8s %8s %8s %8s %8s\n",
                "interval", "queue", "contacts", "answered", "abandoned", "SL", "ASA", "aband",
                "occ", "AHT", "P(wait)");
  out += header;
  for (const IntervalResult& interval : result.intervals) {
    // Clock times for up to two days; longer runs (validation cases) read better as offsets.
    const bool clock = result.duration <= engine::Millis{48LL * 3'600'000};
    const std::string when =
        interval.after_close ? "after close"
        : clock              ? formatClock(interval.from) + "-" + formatClock(interval.to)
                             : formatDuration(interval.from) + "-" + formatDuration(interval.to);
    appendBlock(out, when, result, interval.queues, interval.total);
  }
  out += "\n";
  appendBlock(out, "total", result, result.queues, result.total);
  if (result.campaigns.size() > 1) {
    out += "\n";
    for (std::size_t c = 1; c < result.campaigns.size(); ++c) {
      appendRow(out, c == 1 ? "campaigns" : "", result.campaign_names[c], result.campaigns[c]);
    }
  }
  if (result.unfinished > 0) {
    out += "\n" + std::to_string(result.unfinished) +
           " contacts had not ended when the simulation stopped\n";
  }
  if (!result.error.empty()) out += "\nerror: " + result.error + "\n";
  return out;
}

}  // namespace parley::sim
