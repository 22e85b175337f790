#include "sim/scenario.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <map>

#include "sim/duration.h"
#include "sim/yaml_reader.h"

namespace parley::sim {

using engine::Millis;

double Scenario::expectedContacts() const {
  double total = 0;
  for (const ArrivalStream& stream : arrivals) {
    for (std::size_t i = 0; i < stream.profile.size(); ++i) {
      const Millis from = std::min(stream.profile[i].from, duration);
      const Millis to =
          i + 1 < stream.profile.size() ? std::min(stream.profile[i + 1].from, duration) : duration;
      if (to > from)
        total += stream.profile[i].rate_per_hour * engine::toSeconds(to - from) / 3600.0;
    }
  }
  return total;
}

std::size_t Scenario::agentCount() const {
  std::size_t total = 0;
  for (const AgentGroup& group : agents) total += static_cast<std::size_t>(group.count);
  return total;
}

namespace {

constexpr std::size_t kMaxArrivalStreams = 65'535;  // ContactRec keeps the stream in 16 bits
constexpr std::size_t kMaxAgentsTotal = 1'000'000;
constexpr double kMaxExpectedContacts = 100'000'000;
constexpr long long kMaxIntervals = 100'000;

// Recursive-descent reader over a loaded YAML tree. Each function takes the node and its key path
// ("queues[0].strategy") so that every error names the line and the key. The first error throws
// YamlError, which parseScenario turns into ScenarioParse::error.
class Parser : private YamlReader {
 public:
  explicit Parser(std::string_view label) : YamlReader(label) {}

  Scenario parse(const YAML::Node& root);

 private:
  QueueIndex queueRef(const YAML::Node& node, const std::string& path) const {
    const std::string s = name(node, path);
    const auto it = queue_index_.find(s);
    if (it == queue_index_.end()) fail(node, path, "unknown queue \"" + s + "\"");
    return it->second;
  }

  std::vector<NamedSkill> skills(const YAML::Node& node, const std::string& path) const {
    if (!node.IsMap())
      fail(node, path, "expected a mapping of skill name to level, e.g. {english: 3}");
    std::vector<NamedSkill> out;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string skill = name(it->first, path);
      out.push_back({skill, static_cast<int>(integer(it->second, join(path, skill), 1, 5))});
    }
    return out;
  }

  engine::ExitAction exitAction(const YAML::Node& node, const std::string& path,
                                std::optional<QueueIndex>& target) const {
    engine::ExitAction action;
    if (node.IsMap()) {
      requireMap(node, path, {"queue"});
      action.kind = engine::ExitAction::Kind::Queue;
      target = queueRef(required(node, path, "queue"), join(path, "queue"));
      return action;
    }
    const std::string s = scalar(node, path);
    if (s == "hangup" || s == "hang-up") {
      action.kind = engine::ExitAction::Kind::HangUp;
    } else if (s == "callback") {
      action.kind = engine::ExitAction::Kind::CallbackOffer;
    } else if (s == "voicemail") {
      action.kind = engine::ExitAction::Kind::Voicemail;
    } else {
      fail(node, path,
           "unknown exit action \"" + s + "\" (use hangup, callback, voicemail or {queue: NAME})");
    }
    return action;
  }

  Distribution distribution(const YAML::Node& node, const std::string& path) const {
    Distribution d;
    if (node.IsScalar()) {  // a plain duration is a constant
      d.kind = Distribution::Kind::Constant;
      d.mean_seconds = engine::toSeconds(duration(node, path));
      return d;
    }
    requireMap(node, path, {"dist", "mean", "stddev"});
    const YAML::Node dist = required(node, path, "dist");
    const std::string kind = scalar(dist, join(path, "dist"));
    if (kind == "constant") {
      d.kind = Distribution::Kind::Constant;
    } else if (kind == "exponential") {
      d.kind = Distribution::Kind::Exponential;
    } else if (kind == "lognormal") {
      d.kind = Distribution::Kind::Lognormal;
    } else {
      fail(dist, join(path, "dist"),
           "unknown distribution \"" + kind + "\" (use constant, exponential or lognormal)");
    }
    const YAML::Node mean = required(node, path, "mean");
    d.mean_seconds = engine::toSeconds(duration(mean, join(path, "mean")));
    if (d.kind != Distribution::Kind::Constant && d.mean_seconds <= 0) {
      fail(mean, join(path, "mean"), "must be greater than zero");
    }
    if (d.kind == Distribution::Kind::Lognormal) {
      const YAML::Node sd = required(node, path, "stddev");
      d.stddev_seconds = engine::toSeconds(duration(sd, join(path, "stddev")));
    } else if (has(node, "stddev")) {
      fail(get(node, "stddev"), join(path, "stddev"), "only a lognormal distribution has a stddev");
    }
    return d;
  }

  QueueSpec queue(const YAML::Node& node, const std::string& path) const;
  AgentGroup agentGroup(const YAML::Node& node, const std::string& path, Millis sim_duration) const;
  ArrivalStream arrival(const YAML::Node& node, const std::string& path,
                        const std::vector<QueueSpec>& queues) const;

  std::map<std::string, QueueIndex, std::less<>> queue_index_;  // queue name -> index
};

QueueSpec Parser::queue(const YAML::Node& node, const std::string& path) const {
  requireMap(node, path,
             {"name", "strategy", "sl_seconds", "short_abandon", "wrap_up", "offer_timeout",
              "retry_other_agent_for", "max_wait", "on_max_wait", "max_length", "on_max_length",
              "escalation"});
  QueueSpec spec;
  engine::QueueConfig& q = spec.config;
  q.name = name(required(node, path, "name"), join(path, "name"));
  if (const YAML::Node n = get(node, "strategy"); n.IsDefined()) {
    const std::string s = scalar(n, join(path, "strategy"));
    if (!engine::parseStrategy(s, q.strategy)) {
      fail(n, join(path, "strategy"), "unknown strategy \"" + s + "\"");
    }
  }
  if (const YAML::Node n = get(node, "sl_seconds"); n.IsDefined()) {
    q.service_level_threshold = duration(n, join(path, "sl_seconds"));
  }
  if (const YAML::Node n = get(node, "short_abandon"); n.IsDefined()) {
    q.short_abandon_threshold = duration(n, join(path, "short_abandon"));
  }
  if (const YAML::Node n = get(node, "wrap_up"); n.IsDefined()) {
    q.wrap_up = duration(n, join(path, "wrap_up"));
  }
  if (const YAML::Node n = get(node, "offer_timeout"); n.IsDefined()) {
    q.offer_timeout = positiveDuration(n, join(path, "offer_timeout"));
  }
  if (const YAML::Node n = get(node, "retry_other_agent_for"); n.IsDefined()) {
    q.retry_other_agent_for = duration(n, join(path, "retry_other_agent_for"));
  }
  if (const YAML::Node n = get(node, "max_wait"); n.IsDefined()) {
    q.max_wait = positiveDuration(n, join(path, "max_wait"));
  }
  if (const YAML::Node n = get(node, "on_max_wait"); n.IsDefined()) {
    q.on_max_wait = exitAction(n, join(path, "on_max_wait"), spec.on_max_wait_target);
  }
  if (const YAML::Node n = get(node, "max_length"); n.IsDefined()) {
    q.max_length = static_cast<std::size_t>(integer(n, join(path, "max_length"), 0, 100'000'000));
  }
  if (const YAML::Node n = get(node, "on_max_length"); n.IsDefined()) {
    q.on_max_length = exitAction(n, join(path, "on_max_length"), spec.on_max_length_target);
  }
  if (const YAML::Node list = get(node, "escalation"); list.IsDefined()) {
    const std::string list_path = join(path, "escalation");
    if (!list.IsSequence()) fail(list, list_path, "expected a list of steps");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const YAML::Node step_node = list[i];
      const std::string step_path = at(list_path, i);
      requireMap(step_node, step_path, {"after", "relax_level_to", "add_queue"});
      engine::EscalationStep step;
      step.after = duration(required(step_node, step_path, "after"), join(step_path, "after"));
      if (!q.escalation.empty() && step.after < q.escalation.back().after) {
        fail(step_node, join(step_path, "after"), "steps must be in order of `after`");
      }
      std::optional<QueueIndex> add;
      if (const YAML::Node n = get(step_node, "relax_level_to"); n.IsDefined()) {
        step.relax_level_to = static_cast<int>(integer(n, join(step_path, "relax_level_to"), 1, 5));
      }
      if (const YAML::Node n = get(step_node, "add_queue"); n.IsDefined()) {
        add = queueRef(n, join(step_path, "add_queue"));
      }
      if (!step.relax_level_to && !add) {
        fail(step_node, step_path, "a step needs relax_level_to or add_queue");
      }
      q.escalation.push_back(step);
      spec.escalation_add_queue.push_back(add);
    }
  }
  return spec;
}

AgentGroup Parser::agentGroup(const YAML::Node& node, const std::string& path,
                              Millis sim_duration) const {
  requireMap(node, path, {"name", "count", "queues", "skills", "shift", "capacity"});
  AgentGroup group;
  group.name = name(required(node, path, "name"), join(path, "name"));
  if (const YAML::Node n = get(node, "count"); n.IsDefined()) {
    group.count = static_cast<int>(integer(n, join(path, "count"), 0, 1'000'000));
  }
  const std::string queues_path = join(path, "queues");
  const YAML::Node queues = required(node, path, "queues");
  if (!queues.IsSequence() || queues.size() == 0) {
    fail(queues, queues_path, "expected a non-empty list of queue names or {queue, penalty}");
  }
  for (std::size_t i = 0; i < queues.size(); ++i) {
    const YAML::Node m = queues[i];
    const std::string m_path = at(queues_path, i);
    MembershipSpec membership;
    if (m.IsMap()) {
      requireMap(m, m_path, {"queue", "penalty"});
      membership.queue = queueRef(required(m, m_path, "queue"), join(m_path, "queue"));
      if (const YAML::Node p = get(m, "penalty"); p.IsDefined()) {
        membership.penalty = static_cast<int>(integer(p, join(m_path, "penalty"), 0, 1000));
      }
    } else {
      membership.queue = queueRef(m, m_path);
    }
    for (const MembershipSpec& other : group.queues) {
      if (other.queue == membership.queue) fail(m, m_path, "queue listed twice");
    }
    group.queues.push_back(membership);
  }
  if (const YAML::Node n = get(node, "skills"); n.IsDefined()) {
    group.skills = skills(n, join(path, "skills"));
  }
  if (const YAML::Node n = get(node, "capacity"); n.IsDefined()) {
    group.capacity = capacity(n, join(path, "capacity"));
  }
  group.shift_start = Millis{0};
  group.shift_end = sim_duration;
  if (const YAML::Node shift = get(node, "shift"); shift.IsDefined()) {
    const std::string shift_path = join(path, "shift");
    requireMap(shift, shift_path, {"start", "end"});
    if (const YAML::Node n = get(shift, "start"); n.IsDefined()) {
      group.shift_start = duration(n, join(shift_path, "start"));
    }
    if (const YAML::Node n = get(shift, "end"); n.IsDefined()) {
      group.shift_end = duration(n, join(shift_path, "end"));
      if (group.shift_end <= group.shift_start) {
        fail(n, join(shift_path, "end"), "must be after the shift start");
      }
    } else if (group.shift_end <= group.shift_start) {
      fail(shift, shift_path, "the shift starts at or after the end of the simulation");
    }
  }
  return group;
}

ArrivalStream Parser::arrival(const YAML::Node& node, const std::string& path,
                              const std::vector<QueueSpec>& queues) const {
  requireMap(node, path,
             {"queue", "channel", "rate_per_hour", "profile", "handle_time", "patience", "skills",
              "priority", "campaign", "answer_delay"});
  ArrivalStream stream;
  stream.queue = queueRef(required(node, path, "queue"), join(path, "queue"));
  if (const YAML::Node n = get(node, "channel"); n.IsDefined()) {
    const std::string s = scalar(n, join(path, "channel"));
    if (!engine::parseChannel(s, stream.channel)) {
      fail(n, join(path, "channel"),
           "unknown channel \"" + s + "\" (use voice, callback, chat, social or email)");
    }
  }
  const YAML::Node rate = get(node, "rate_per_hour");
  const YAML::Node profile = get(node, "profile");
  if (rate.IsDefined() == profile.IsDefined()) {
    fail(node, path, "give exactly one of rate_per_hour or profile");
  }
  if (rate.IsDefined()) {
    const double r = number(rate, join(path, "rate_per_hour"));
    if (r < 0) fail(rate, join(path, "rate_per_hour"), "must not be negative");
    stream.profile.push_back({Millis{0}, r});
  } else {
    const std::string profile_path = join(path, "profile");
    if (!profile.IsSequence() || profile.size() == 0) {
      fail(profile, profile_path, "expected a non-empty list of {from, rate_per_hour}");
    }
    for (std::size_t i = 0; i < profile.size(); ++i) {
      const YAML::Node step_node = profile[i];
      const std::string step_path = at(profile_path, i);
      requireMap(step_node, step_path, {"from", "rate_per_hour"});
      RateStep step;
      const YAML::Node from = required(step_node, step_path, "from");
      step.from = duration(from, join(step_path, "from"));
      const YAML::Node r = required(step_node, step_path, "rate_per_hour");
      step.rate_per_hour = number(r, join(step_path, "rate_per_hour"));
      if (step.rate_per_hour < 0) fail(r, join(step_path, "rate_per_hour"), "must not be negative");
      if (!stream.profile.empty() && step.from <= stream.profile.back().from) {
        fail(from, join(step_path, "from"), "steps must be in increasing order of `from`");
      }
      if (stream.profile.empty() && step.from > Millis{0}) {
        stream.profile.push_back({Millis{0}, 0.0});  // nothing arrives before the first step
      }
      stream.profile.push_back(step);
    }
  }
  stream.handle_time = distribution(required(node, path, "handle_time"), join(path, "handle_time"));
  if (const YAML::Node n = get(node, "patience"); n.IsDefined() && !n.IsNull()) {
    if (!(n.IsScalar() && (n.Scalar() == "none" || n.Scalar() == "infinite"))) {
      stream.patience = distribution(n, join(path, "patience"));
      if (stream.patience->mean_seconds <= 0) {
        fail(n, join(path, "patience"), "must be greater than zero (or none)");
      }
    }
  }
  if (const YAML::Node n = get(node, "skills"); n.IsDefined()) {
    stream.skills = skills(n, join(path, "skills"));
  }
  if (const YAML::Node n = get(node, "priority"); n.IsDefined()) {
    stream.priority = static_cast<int>(integer(n, join(path, "priority"), -1'000'000, 1'000'000));
  }
  if (const YAML::Node n = get(node, "campaign"); n.IsDefined()) {
    stream.campaign = name(n, join(path, "campaign"));
  }
  if (const YAML::Node n = get(node, "answer_delay"); n.IsDefined()) {
    stream.answer_delay = duration(n, join(path, "answer_delay"));
    const Millis timeout = queues[stream.queue].config.offer_timeout;
    if (stream.answer_delay >= timeout) {
      // Every offer would time out and agents would be made not-ready for missing them.
      fail(n, join(path, "answer_delay"),
           "must be shorter than the queue's offer_timeout (" + formatDuration(timeout) + ")");
    }
  }
  return stream;
}

Scenario Parser::parse(const YAML::Node& root) {
  if (!root.IsDefined() || root.IsNull()) fail(root, "", "the scenario is empty");
  requireMap(root, "",
             {"name", "duration", "interval", "seed", "drain", "max_consecutive_misses", "queues",
              "agents", "arrivals"});
  Scenario s;
  s.name = label();
  if (const YAML::Node n = get(root, "name"); n.IsDefined()) s.name = name(n, "name");
  s.duration = positiveDuration(required(root, "", "duration"), "duration");
  if (const YAML::Node n = get(root, "interval"); n.IsDefined()) {
    s.interval = positiveDuration(n, "interval");
  }
  if (const YAML::Node n = get(root, "seed"); n.IsDefined()) s.seed = unsignedInteger(n, "seed");
  if (const YAML::Node n = get(root, "drain"); n.IsDefined()) s.drain = boolean(n, "drain");
  if (const YAML::Node n = get(root, "max_consecutive_misses"); n.IsDefined()) {
    s.max_consecutive_misses = static_cast<int>(integer(n, "max_consecutive_misses", 0, 1000));
  }

  // Queue names first, so escalation and exit actions may name queues listed later.
  const YAML::Node queues = required(root, "", "queues");
  if (!queues.IsSequence() || queues.size() == 0) {
    fail(queues, "queues", "expected a non-empty list of queues");
  }
  for (std::size_t i = 0; i < queues.size(); ++i) {
    const YAML::Node q = queues[i];
    const std::string q_path = at("queues", i);
    if (!q.IsMap()) fail(q, q_path, "expected a mapping (key: value pairs)");
    const YAML::Node n = required(q, q_path, "name");
    const std::string queue_name = name(n, join(q_path, "name"));
    if (!queue_index_.emplace(queue_name, static_cast<QueueIndex>(i)).second) {
      fail(n, join(q_path, "name"), "duplicate queue name \"" + queue_name + "\"");
    }
  }
  for (std::size_t i = 0; i < queues.size(); ++i) {
    s.queues.push_back(queue(queues[i], at("queues", i)));
  }

  const YAML::Node agents = required(root, "", "agents");
  if (!agents.IsSequence()) fail(agents, "agents", "expected a list of agent groups");
  std::map<std::string, std::size_t, std::less<>> group_names;
  for (std::size_t i = 0; i < agents.size(); ++i) {
    AgentGroup group = agentGroup(agents[i], at("agents", i), s.duration);
    if (!group_names.emplace(group.name, i).second) {
      fail(agents[i]["name"], join(at("agents", i), "name"),
           "duplicate agent group name \"" + group.name + "\"");
    }
    s.agents.push_back(std::move(group));
  }

  const YAML::Node arrivals = required(root, "", "arrivals");
  if (!arrivals.IsSequence()) fail(arrivals, "arrivals", "expected a list of arrival streams");
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    s.arrivals.push_back(arrival(arrivals[i], at("arrivals", i), s.queues));
  }
  if (s.arrivals.size() > kMaxArrivalStreams) {
    fail(arrivals, "arrivals", "at most " + std::to_string(kMaxArrivalStreams) + " streams");
  }

  // Size limits, so that a typo (rate_per_hour: 3e9) gets an error rather than a run that
  // exhausts memory.
  if (s.agentCount() > kMaxAgentsTotal) {
    fail(agents, "agents", "at most " + std::to_string(kMaxAgentsTotal) + " agents in total");
  }
  if (s.expectedContacts() > kMaxExpectedContacts) {
    fail(arrivals, "arrivals",
         "about " + std::to_string(static_cast<long long>(s.expectedContacts())) +
             " contacts expected; at most " +
             std::to_string(static_cast<long long>(kMaxExpectedContacts)) + " are allowed");
  }
  if (s.duration.count() / s.interval.count() > kMaxIntervals) {
    fail(get(root, "interval").IsDefined() ? get(root, "interval") : root, "interval",
         "more than " + std::to_string(kMaxIntervals) + " intervals; choose a longer interval");
  }
  return s;
}

}  // namespace

ScenarioParse parseScenario(std::string_view yaml_text, std::string_view label) {
  ScenarioParse result;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml_text));
    result.scenario = Parser(label).parse(root);
  } catch (const YamlError& e) {
    result.error = e.text;
  } catch (const YAML::Exception& e) {
    result.error = yamlExceptionError(label, e).text;
  } catch (const std::exception& e) {
    result.error = std::string(label) + ": " + e.what();
  }
  return result;
}

}  // namespace parley::sim
