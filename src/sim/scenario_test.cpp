// Scenario parsing: the full format, defaults, and error messages that name file, line and key.
#include "sim/scenario.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace parley::sim {
namespace {

using engine::Millis;

const char* const kFull = R"(name: full example
duration: 8h
interval: 15m
seed: 7
drain: false
queues:
  - name: sales
    strategy: skills-best-match
    sl_seconds: 30
    short_abandon: 3s
    wrap_up: 10s
    offer_timeout: 15s
    max_wait: 10m
    on_max_wait: {queue: overflow}
    max_length: 50
    on_max_length: callback
    escalation:
      - {after: 30s, relax_level_to: 1}
      - {after: 1m, add_queue: overflow}
  - name: overflow
agents:
  - name: sales
    count: 20
    queues: [sales, {queue: overflow, penalty: 2}]
    skills: {english: 3, german: 1}
    shift: {start: 0, end: 4h}
  - name: chat
    count: 3
    queues: [overflow]
    capacity: {voice_or_chats: 3}
    shift: {start: "02:00"}
arrivals:
  - queue: sales
    channel: voice
    profile:
      - {from: 0, rate_per_hour: 200}
      - {from: 2h, rate_per_hour: 600}
      - {from: 3h, rate_per_hour: 200}
    handle_time: {dist: lognormal, mean: 180s, stddev: 90s}
    patience: {dist: exponential, mean: 60s}
    skills: {english: 2}
    priority: 5
    campaign: fluggerbot
    answer_delay: 2s
  - queue: overflow
    channel: chat
    rate_per_hour: 30
    handle_time: 5m
    patience: none
)";

ScenarioParse parse(const std::string& text) {
  return parseScenario(text, "scenario.yaml");
}

TEST(Scenario, ParsesEveryPart) {
  const ScenarioParse p = parse(kFull);
  ASSERT_TRUE(p) << p.error;
  const Scenario& s = *p.scenario;
  EXPECT_EQ(s.name, "full example");
  EXPECT_EQ(s.duration, Millis{8 * 3'600'000});
  EXPECT_EQ(s.interval, Millis{900'000});
  EXPECT_EQ(s.seed, 7u);
  EXPECT_FALSE(s.drain);

  ASSERT_EQ(s.queues.size(), 2u);
  const engine::QueueConfig& sales = s.queues[0].config;
  EXPECT_EQ(sales.name, "sales");
  EXPECT_EQ(sales.strategy, engine::Strategy::SkillsBestMatch);
  EXPECT_EQ(sales.service_level_threshold, Millis{30'000});
  EXPECT_EQ(sales.short_abandon_threshold, Millis{3'000});
  EXPECT_EQ(sales.wrap_up, Millis{10'000});
  EXPECT_EQ(sales.offer_timeout, Millis{15'000});
  EXPECT_EQ(sales.max_wait, Millis{600'000});
  EXPECT_EQ(sales.on_max_wait.kind, engine::ExitAction::Kind::Queue);
  EXPECT_EQ(s.queues[0].on_max_wait_target, QueueIndex{1});
  EXPECT_EQ(sales.max_length, std::size_t{50});
  EXPECT_EQ(sales.on_max_length.kind, engine::ExitAction::Kind::CallbackOffer);
  ASSERT_EQ(sales.escalation.size(), 2u);
  EXPECT_EQ(sales.escalation[0].relax_level_to, 1);
  EXPECT_EQ(s.queues[0].escalation_add_queue[1], QueueIndex{1});
  // Defaults.
  EXPECT_EQ(s.queues[1].config.strategy, engine::Strategy::LongestIdle);
  EXPECT_EQ(s.queues[1].config.service_level_threshold, Millis{20'000});

  ASSERT_EQ(s.agents.size(), 2u);
  EXPECT_EQ(s.agents[0].count, 20);
  ASSERT_EQ(s.agents[0].queues.size(), 2u);
  EXPECT_EQ(s.agents[0].queues[1].queue, 1u);
  EXPECT_EQ(s.agents[0].queues[1].penalty, 2);
  ASSERT_EQ(s.agents[0].skills.size(), 2u);
  EXPECT_EQ(s.agents[0].skills[0].name, "english");
  EXPECT_EQ(s.agents[0].skills[0].level, 3);
  EXPECT_EQ(s.agents[0].shift_end, Millis{4 * 3'600'000});
  EXPECT_EQ(s.agents[1].shift_start, Millis{2 * 3'600'000});
  EXPECT_EQ(s.agents[1].shift_end, s.duration);  // default: until the end
  EXPECT_EQ(s.agents[1].capacity.total, 3);
  EXPECT_EQ(s.agentCount(), 23u);

  ASSERT_EQ(s.arrivals.size(), 2u);
  const ArrivalStream& a = s.arrivals[0];
  ASSERT_EQ(a.profile.size(), 3u);
  EXPECT_EQ(a.profile[1].from, Millis{7'200'000});
  EXPECT_EQ(a.profile[1].rate_per_hour, 600);
  EXPECT_EQ(a.handle_time.kind, Distribution::Kind::Lognormal);
  EXPECT_EQ(a.handle_time.mean_seconds, 180);
  EXPECT_EQ(a.handle_time.stddev_seconds, 90);
  ASSERT_TRUE(a.patience);
  EXPECT_EQ(a.patience->kind, Distribution::Kind::Exponential);
  EXPECT_EQ(a.priority, 5);
  EXPECT_EQ(a.campaign, "fluggerbot");
  EXPECT_EQ(a.answer_delay, Millis{2'000});
  EXPECT_EQ(s.arrivals[1].channel, engine::Channel::Chat);
  EXPECT_EQ(s.arrivals[1].handle_time.kind, Distribution::Kind::Constant);
  EXPECT_EQ(s.arrivals[1].handle_time.mean_seconds, 300);
  EXPECT_FALSE(s.arrivals[1].patience);
  // 2h x 200 + 1h x 600 + 5h x 200 + 8h x 30.
  EXPECT_NEAR(s.expectedContacts(), 400 + 600 + 1000 + 240, 1e-9);
}

TEST(Scenario, NameDefaultsToLabelAndProfileMayStartLate) {
  const ScenarioParse p = parse(R"(duration: 1h
queues: [{name: q}]
agents: [{name: a, queues: [q]}]
arrivals:
  - queue: q
    profile: [{from: 30m, rate_per_hour: 60}]
    handle_time: {dist: exponential, mean: 1m}
)");
  ASSERT_TRUE(p) << p.error;
  EXPECT_EQ(p.scenario->name, "scenario.yaml");
  ASSERT_EQ(p.scenario->arrivals[0].profile.size(), 2u);
  EXPECT_EQ(p.scenario->arrivals[0].profile[0].rate_per_hour, 0);
  EXPECT_NEAR(p.scenario->expectedContacts(), 30, 1e-9);
  EXPECT_EQ(p.scenario->agents[0].count, 1);
}

// The error for `text`, which must fail to parse.
std::string errorOf(const std::string& text) {
  const ScenarioParse p = parse(text);
  EXPECT_FALSE(p) << "parsed but should not have:\n" << text;
  return p.error;
}

const char* const kHead = "duration: 1h\nqueues:\n  - name: q\n";
const char* const kTail =
    "agents:\n  - name: a\n    queues: [q]\narrivals:\n  - queue: q\n    rate_per_hour: 60\n"
    "    handle_time: 1m\n";

TEST(ScenarioErrors, UnknownStrategyNamesFileLineAndKey) {
  EXPECT_EQ(errorOf(std::string(kHead) + "    strategy: fastest\n" + kTail),
            "scenario.yaml:4: queues[0].strategy: unknown strategy \"fastest\"");
}

TEST(ScenarioErrors, UnknownKeyIsCaught) {
  EXPECT_EQ(errorOf(std::string(kHead) + "    sl_second: 20\n" + kTail),
            "scenario.yaml:4: queues[0].sl_second: unknown key");
}

TEST(ScenarioErrors, BadDuration) {
  EXPECT_EQ(errorOf(std::string(kHead) + "    wrap_up: 10 parsecs\n" + kTail),
            "scenario.yaml:4: queues[0].wrap_up: expected a duration such as 90 (seconds), 30s, "
            "15m, 8h, 1h30m or 08:30, got \"10 parsecs\"");
}

TEST(ScenarioErrors, MissingRequiredKeyPointsAtItsParent) {
  EXPECT_EQ(errorOf("queues: [{name: q}]\nagents: []\narrivals: []\n"),
            "scenario.yaml:1: duration: missing (required)");
  EXPECT_EQ(errorOf(std::string(kHead) +
                    "agents:\n  - name: a\n    queues: [q]\narrivals:\n  - queue: q\n"
                    "    rate_per_hour: 60\n"),
            "scenario.yaml:8: arrivals[0].handle_time: missing (required)");
}

TEST(ScenarioErrors, UnknownQueueReference) {
  EXPECT_EQ(errorOf(std::string(kHead) + "agents:\n  - name: a\n    queues: [q, sales]\n"
                                         "arrivals: []\n"),
            "scenario.yaml:6: agents[0].queues[1]: unknown queue \"sales\"");
}

TEST(ScenarioErrors, DuplicateQueue) {
  EXPECT_EQ(errorOf(std::string(kHead) + "  - name: q\n" + kTail),
            "scenario.yaml:4: queues[1].name: duplicate queue name \"q\"");
}

TEST(ScenarioErrors, ValueChecks) {
  EXPECT_EQ(errorOf(std::string(kHead) +
                    "agents:\n  - name: a\n    queues: [q]\n    shift: {start: 2h, end: 1h}\n"
                    "arrivals: []\n"),
            "scenario.yaml:7: agents[0].shift.end: must be after the shift start");
  EXPECT_EQ(errorOf(std::string(kHead) +
                    "agents:\n  - name: a\n    queues: [q]\n    skills: {english: 9}\n"
                    "arrivals: []\n"),
            "scenario.yaml:7: agents[0].skills.english: must be between 1 and 5");
  EXPECT_EQ(
      errorOf(std::string(kHead) + "agents: []\narrivals:\n  - queue: q\n    rate_per_hour: -3\n"
                                   "    handle_time: 1m\n"),
      "scenario.yaml:7: arrivals[0].rate_per_hour: must not be negative");
  EXPECT_EQ(
      errorOf(std::string(kHead) + "agents: []\narrivals:\n  - queue: q\n    rate_per_hour: lots\n"
                                   "    handle_time: 1m\n"),
      "scenario.yaml:7: arrivals[0].rate_per_hour: expected a number, got \"lots\"");
  EXPECT_EQ(errorOf(std::string(kHead) +
                    "agents: []\narrivals:\n  - queue: q\n    rate_per_hour: 5\n"
                    "    profile: [{from: 0, rate_per_hour: 5}]\n    handle_time: 1m\n"),
            "scenario.yaml:6: arrivals[0]: give exactly one of rate_per_hour or profile");
  EXPECT_EQ(errorOf(std::string(kHead) +
                    "agents: []\narrivals:\n  - queue: q\n    profile:\n"
                    "      - {from: 1h, rate_per_hour: 5}\n      - {from: 30m, rate_per_hour: 5}\n"
                    "    handle_time: 1m\n"),
            "scenario.yaml:9: arrivals[0].profile[1].from: steps must be in increasing order of "
            "`from`");
  EXPECT_EQ(
      errorOf(std::string(kHead) + "agents: []\narrivals:\n  - queue: q\n    rate_per_hour: 5\n"
                                   "    handle_time: {dist: gamma, mean: 1m}\n"),
      "scenario.yaml:8: arrivals[0].handle_time.dist: unknown distribution \"gamma\" (use "
      "constant, exponential or lognormal)");
  EXPECT_EQ(
      errorOf(std::string(kHead) + "agents: []\narrivals:\n  - queue: q\n    rate_per_hour: 5\n"
                                   "    handle_time: {dist: lognormal, mean: 1m}\n"),
      "scenario.yaml:8: arrivals[0].handle_time.stddev: missing (required)");
  EXPECT_EQ(
      errorOf(std::string(kHead) + "agents: []\narrivals:\n  - queue: q\n    rate_per_hour: 5\n"
                                   "    handle_time: 1m\n    answer_delay: 30s\n"),
      "scenario.yaml:9: arrivals[0].answer_delay: must be shorter than the queue's "
      "offer_timeout (20s)");
  EXPECT_EQ(
      errorOf(std::string(kHead) + "agents: []\narrivals:\n  - queue: q\n    channel: pigeon\n"
                                   "    rate_per_hour: 5\n    handle_time: 1m\n"),
      "scenario.yaml:7: arrivals[0].channel: unknown channel \"pigeon\" (use voice, "
      "callback, chat, social or email)");
}

TEST(ScenarioErrors, MalformedYamlAndWrongShapes) {
  const std::string broken = errorOf("duration: 1h\nqueues: [{name: q}\n");
  EXPECT_EQ(broken.rfind("scenario.yaml:", 0), 0u) << broken;
  EXPECT_NE(broken.find("invalid YAML"), std::string::npos) << broken;
  EXPECT_EQ(errorOf(""), "scenario.yaml: (top level): the scenario is empty");
  EXPECT_EQ(errorOf("- just\n- a list\n"),
            "scenario.yaml:1: (top level): expected a mapping (key: value pairs)");
  EXPECT_EQ(errorOf("duration: 1h\nqueues: sales\nagents: []\narrivals: []\n"),
            "scenario.yaml:2: queues: expected a non-empty list of queues");
  EXPECT_EQ(errorOf("duration: [1h]\nqueues: [{name: q}]\nagents: []\narrivals: []\n"),
            "scenario.yaml:1: duration: expected a single value");
  // Odd bytes never crash the parser.
  EXPECT_FALSE(parse(std::string("duration: \"\\xff\0\n", 16)));
  EXPECT_FALSE(parse("{{{{"));
  EXPECT_FALSE(parse("*alias"));
}

TEST(ScenarioErrors, SizeLimits) {
  EXPECT_EQ(
      errorOf(std::string(kHead) + "agents: []\narrivals:\n  - queue: q\n    rate_per_hour: 3e9\n"
                                   "    handle_time: 1m\n"),
      "scenario.yaml:6: arrivals: about 3000000000 contacts expected; at most 100000000 "
      "are allowed");
  EXPECT_EQ(errorOf("duration: 1000d\ninterval: 1s\nqueues: [{name: q}]\nagents: []\n"
                    "arrivals: []\n"),
            "scenario.yaml:2: interval: more than 100000 intervals; choose a longer interval");
  EXPECT_EQ(
      errorOf(std::string(kHead) + "agents:\n  - {name: a, count: 900000, queues: [q]}\n"
                                   "  - {name: b, count: 900000, queues: [q]}\narrivals: []\n"),
      "scenario.yaml:5: agents: at most 1000000 agents in total");
}

// The scenarios shipped in examples/ parse.
TEST(ScenarioExamples, ShippedExamplesParse) {
  for (const char* path : {"examples/sim-campaign-spike.yaml", "examples/sim-mmc.yaml"}) {
    std::ifstream file(path);
    ASSERT_TRUE(file) << path << " (tests run from the project root)";
    std::stringstream text;
    text << file.rdbuf();
    const ScenarioParse p = parseScenario(text.str(), path);
    EXPECT_TRUE(p) << p.error;
  }
}

}  // namespace
}  // namespace parley::sim
