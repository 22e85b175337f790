// The `flows` section: YAML into flow::Flow (src/flow/flow.h), then flow::validateFlow() for
// references and ranges, with its findings mapped back to file lines and key paths.
//
// Shape: flows: {<flow>: {start: <node>, nodes: {<node>: {<type>: {<fields>}}}}}, where <type>
// is play, menu, collect, set, hours, queue, transfer or hangup (`hangup` alone also works).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <set>
#include <variant>

#include "app/config.h"
#include "app/config_reader.h"

namespace parley::app::config_detail {

namespace {

constexpr std::size_t kMaxFlows = 1'000;
constexpr std::size_t kMaxNodes = 10'000;
constexpr std::size_t kMaxPrompts = 100;
constexpr std::size_t kMaxSchedule = 100;
constexpr std::size_t kMaxClosedDates = 1'000;
constexpr std::size_t kMaxAssignments = 100;
constexpr std::size_t kMaxNodeSkills = 100;

constexpr const char* kNodeTypes =
    "play, menu, collect, set, hours, queue, transfer, callback, schedule_callback, hangup";

// Follows a flow::FlowIssue field ("options.1", "schedule[0].from") down from `base` as far as
// the document goes, so the error points at the closest line.
YAML::Node locate(const YAML::Node& base, std::string_view field) {
  YAML::Node cur = base;  // copies share the document; only reset() rebinds
  std::size_t i = 0;
  while (i < field.size()) {
    if (field[i] == '.') {
      ++i;
      continue;
    }
    if (field[i] == '[') {
      const std::size_t close = field.find(']', i);
      if (close == std::string_view::npos) break;
      std::size_t index = 0;
      for (std::size_t k = i + 1; k < close && index < 1'000'000; ++k) {
        if (field[k] < '0' || field[k] > '9') return cur;
        index = index * 10 + static_cast<std::size_t>(field[k] - '0');
      }
      if (!cur.IsSequence() || index >= cur.size()) break;
      const YAML::Node next = cur[index];
      cur.reset(next);
      i = close + 1;
      continue;
    }
    const std::size_t end = std::min(field.find_first_of(".[", i), field.size());
    const YAML::Node next = sim::YamlReader::get(cur, field.substr(i, end - i));
    if (!next.IsDefined()) break;
    cur.reset(next);
    i = end;
  }
  return cur;
}

class FlowReader {
 public:
  FlowReader(CollectingReader& r, Config& config) : r_(r), config_(config) {
    for (std::size_t i = 0; i < config.queues.size(); ++i) {
      queue_index_.emplace(config.queues[i].routing.name, i);
    }
  }

  void read(const YAML::Node& flows) {
    if (!flows.IsMap()) {
      r_.fail(flows, "flows",
              "expected a mapping of flow name to flow, e.g. {main: {start: ..., nodes: ...}}");
    }
    if (flows.size() > kMaxFlows) {
      r_.fail(flows, "flows", "at most " + std::to_string(kMaxFlows) + " flows");
    }
    std::set<std::string, std::less<>> seen;
    for (auto it = flows.begin(); it != flows.end(); ++it) {
      r_.attempt([&] {
        const std::string name = r_.identifier(it->first, "flows");
        const std::string path = r_.join("flows", name);
        if (!seen.insert(name).second)
          r_.fail(it->first, path, "flow \"" + name + "\" given twice");
        const YAML::Node body = it->second;
        flow(body, path, name);
      });
    }
  }

 private:
  using Path = std::string;

  void flow(const YAML::Node& node, const Path& path, const std::string& name) {
    const std::size_t errors_before = r_.errors().size();
    r_.keys(node, path, {"start", "nodes"});
    flow::Flow f;
    f.name = name;
    r_.field(node, path, "start",
             [&](const YAML::Node& n, const Path& p) { f.start = r_.identifier(n, p); });
    std::map<std::string, YAML::Node> bodies;  // node name -> its <type> value, for lines
    r_.field(node, path, "nodes", [&](const YAML::Node& n, const Path& p) {
      if (!n.IsMap()) r_.fail(n, p, "expected a mapping of node name to node");
      if (n.size() > kMaxNodes) r_.fail(n, p, "at most " + std::to_string(kMaxNodes) + " nodes");
      for (auto it = n.begin(); it != n.end(); ++it) {
        r_.attempt([&] {
          const std::string node_name = r_.identifier(it->first, p);
          const Path np = r_.join(p, node_name);
          if (f.nodes.contains(node_name)) r_.fail(it->first, np, "node given twice");
          const YAML::Node value = it->second;
          auto [parsed, body] = flowNode(value, np);
          f.nodes.emplace(node_name, std::move(parsed));
          bodies.emplace(node_name, body);
        });
      }
    });
    if (r_.errors().size() == errors_before) check(f, node, path, bodies);
    config_.flows.push_back(std::move(f));
  }

  // Runs flow::validateFlow and the checks that need the rest of the config.
  void check(const flow::Flow& f, const YAML::Node& flow_node, const Path& path,
             const std::map<std::string, YAML::Node>& bodies) {
    for (const auto& [name, node] : f.nodes) {
      if (const auto* q = std::get_if<flow::QueueNode>(&node)) {
        skillWarnings(*q, bodies.at(name), nodePath(path, name, node));
      }
    }
    for (const flow::FlowIssue& issue : flow::validateFlow(f)) {
      YAML::Node base = flow_node;
      Path p = path;
      if (!issue.node.empty()) {
        const auto it = bodies.find(issue.node);
        if (it != bodies.end()) base.reset(it->second);
        const auto node = f.nodes.find(issue.node);
        p = node != f.nodes.end() ? nodePath(path, issue.node, node->second)
                                  : r_.join(r_.join(path, "nodes"), issue.node);
      }
      if (!issue.field.empty()) p = r_.join(p, issue.field);
      const YAML::Node where = locate(base, issue.field);
      if (issue.severity == flow::FlowIssue::Severity::Warning) {
        r_.warnAt(where, p, issue.message);
        continue;
      }
      bool duplicate = false;  // said already, e.g. an inherited callback_key without on_callback
      for (const ConfigError& e : r_.errors()) duplicate = duplicate || e.path == p;
      if (!duplicate) r_.errorAt(where, p, issue.message);
    }
  }

  static Path nodePath(const Path& flow_path, const std::string& name, const flow::Node& node) {
    return flow_path + ".nodes." + name + "." + std::string(flow::nodeType(node));
  }

  // Warns about a skill no member of the queue has at the level asked for.
  void skillWarnings(const flow::QueueNode& q, const YAML::Node& body, const Path& path) {
    const auto it = queue_index_.find(q.queue);
    if (it == queue_index_.end()) return;
    const std::map<std::string, int>& best = bestLevels(it->second);
    for (const flow::SkillNeed& need : q.skills) {
      const auto level = best.find(need.skill);
      if (level != best.end() && level->second >= need.min_level) continue;
      r_.warnAt(locate(body, "skills." + need.skill), r_.join(r_.join(path, "skills"), need.skill),
                "no agent in queue \"" + q.queue + "\" has skill " + need.skill + " at level " +
                    std::to_string(need.min_level) + " or more");
    }
  }

  // The highest level of each skill among the members of queue `queue` (computed once).
  const std::map<std::string, int>& bestLevels(std::size_t queue) {
    if (best_levels_.empty()) {
      best_levels_.resize(config_.queues.size());
      for (const AgentEntry& a : config_.agents) {
        for (const engine::Membership& m : a.queues) {
          if (engine::index(m.queue) >= best_levels_.size()) continue;
          std::map<std::string, int>& levels = best_levels_[engine::index(m.queue)];
          for (const NamedSkill& s : a.skills) levels[s.name] = std::max(levels[s.name], s.level);
        }
      }
    }
    return best_levels_[queue];
  }

  // One node: {<type>: {...}} or the word hangup. Returns the node and its body (for lines).
  std::pair<flow::Node, YAML::Node> flowNode(const YAML::Node& node, const Path& path) {
    if (node.IsScalar() && node.Scalar() == "hangup") return {flow::HangupNode{}, node};
    if (!node.IsMap() || node.size() != 1 || !node.begin()->first.IsScalar()) {
      r_.fail(node, path,
              std::string("expected one node type as the key, e.g. {play: {...}}; types: ") +
                  kNodeTypes);
    }
    const std::string type = node.begin()->first.Scalar();
    const YAML::Node body = node.begin()->second;
    const Path p = r_.join(path, type);
    if (type == "hangup") {
      if (!body.IsNull() && !(body.IsMap() && body.size() == 0)) {
        r_.fail(body, p, "hangup takes no fields (write `hangup: {}` or just `hangup`)");
      }
      return {flow::HangupNode{}, body};
    }
    if (body.IsNull()) r_.fail(body, p, "has no fields");
    if (type == "play") return {play(body, p), body};
    if (type == "menu") return {menu(body, p), body};
    if (type == "collect") return {collect(body, p), body};
    if (type == "set") return {set(body, p), body};
    if (type == "hours") return {hours(body, p), body};
    if (type == "queue") return {queue(body, p), body};
    if (type == "transfer") return {transfer(body, p), body};
    if (type == "callback") return {callback(body, p), body};
    if (type == "schedule_callback") return {scheduleCallback(body, p), body};
    r_.fail(node.begin()->first, p,
            "unknown node type \"" + type + "\" (expected one of " + kNodeTypes + ")");
  }

  // A reference to another node of the flow (validateFlow checks that it exists).
  void target(const YAML::Node& map, const Path& path, std::string_view key, std::string& out) {
    r_.field(map, path, key,
             [&](const YAML::Node& n, const Path& p) { out = r_.identifier(n, p); });
  }
  void duration(const YAML::Node& map, const Path& path, std::string_view key, Millis& out) {
    r_.field(map, path, key, [&](const YAML::Node& n, const Path& p) { out = r_.duration(n, p); });
  }
  void boolean(const YAML::Node& map, const Path& path, std::string_view key, bool& out) {
    r_.field(map, path, key, [&](const YAML::Node& n, const Path& p) { out = r_.boolean(n, p); });
  }
  void integer(const YAML::Node& map, const Path& path, std::string_view key, int& out,
               long long lo, long long hi) {
    r_.field(map, path, key, [&](const YAML::Node& n, const Path& p) {
      out = static_cast<int>(r_.integer(n, p, lo, hi));
    });
  }
  void prompts(const YAML::Node& map, const Path& path, std::string_view key, flow::Prompts& out) {
    r_.field(map, path, key, [&](const YAML::Node& n, const Path& p) { out = promptList(n, p); });
  }

  // {say: text}, {file: path}, a bare string (say), or a list of those.
  flow::Prompts promptList(const YAML::Node& node, const Path& path) {
    flow::Prompts out;
    if (node.IsSequence()) {
      if (node.size() > kMaxPrompts) {
        r_.fail(node, path, "at most " + std::to_string(kMaxPrompts) + " prompts");
      }
      for (std::size_t i = 0; i < node.size(); ++i) {
        r_.attempt([&] { out.push_back(prompt(node[i], r_.at(path, i))); });
      }
    } else {
      out.push_back(prompt(node, path));
    }
    return out;
  }

  flow::Prompt prompt(const YAML::Node& node, const Path& path) {
    if (node.IsScalar()) return {flow::Prompt::Kind::Tts, r_.name(node, path)};  // bare: say
    if (!node.IsMap() || node.size() != 1 || !node.begin()->first.IsScalar()) {
      r_.fail(node, path,
              "expected {say: \"text to speak\"}, {file: path/to/prompt.wav} or a list of them");
    }
    const std::string kind = node.begin()->first.Scalar();
    const Path p = r_.join(path, kind);
    flow::Prompt out;
    if (kind == "say") {
      out.kind = flow::Prompt::Kind::Tts;
    } else if (kind == "file") {
      out.kind = flow::Prompt::Kind::File;
    } else {
      r_.fail(node.begin()->first, p, "unknown prompt kind (expected say or file)");
    }
    out.value = r_.name(node.begin()->second, p);
    return out;
  }

  flow::PlayNode play(const YAML::Node& node, const Path& path) {
    r_.keys(node, path, {"prompts", "barge_in", "next"});
    flow::PlayNode n;
    prompts(node, path, "prompts", n.prompts);
    boolean(node, path, "barge_in", n.barge_in);
    target(node, path, "next", n.next);
    return n;
  }

  flow::MenuNode menu(const YAML::Node& node, const Path& path) {
    r_.keys(node, path,
            {"prompt", "options", "timeout", "retries", "invalid_prompt", "timeout_prompt",
             "on_failure", "barge_in"});
    flow::MenuNode n;
    prompts(node, path, "prompt", n.prompt);
    r_.field(node, path, "options", [&](const YAML::Node& o, const Path& p) {
      if (!o.IsMap()) r_.fail(o, p, "expected a mapping of key to node, e.g. {\"1\": sales}");
      for (auto it = o.begin(); it != o.end(); ++it) {
        r_.attempt([&] {
          const char key = r_.dtmfKey(it->first, p);
          const Path kp = r_.join(p, std::string(1, key));
          if (n.options.contains(key)) r_.fail(it->first, kp, "key given twice");
          n.options.emplace(key, r_.identifier(it->second, kp));
        });
      }
    });
    duration(node, path, "timeout", n.timeout);
    integer(node, path, "retries", n.retries, 0, 100);
    prompts(node, path, "invalid_prompt", n.invalid_prompt);
    prompts(node, path, "timeout_prompt", n.timeout_prompt);
    target(node, path, "on_failure", n.on_failure);
    boolean(node, path, "barge_in", n.barge_in);
    return n;
  }

  flow::CollectNode collect(const YAML::Node& node, const Path& path) {
    r_.keys(node, path,
            {"prompt", "attribute", "min_digits", "max_digits", "terminator", "timeout",
             "inter_digit_timeout", "retries", "invalid_prompt", "timeout_prompt", "next",
             "on_failure", "barge_in"});
    flow::CollectNode n;
    prompts(node, path, "prompt", n.prompt);
    r_.field(node, path, "attribute",
             [&](const YAML::Node& v, const Path& p) { n.attribute = r_.identifier(v, p); });
    integer(node, path, "min_digits", n.min_digits, 0, 1000);
    integer(node, path, "max_digits", n.max_digits, 0, 1000);
    r_.field(
        node, path, "terminator",
        [&](const YAML::Node& v, const Path& p) { n.terminator = r_.optionalDtmfKey(v, p); }, true);
    duration(node, path, "timeout", n.timeout);
    duration(node, path, "inter_digit_timeout", n.inter_digit_timeout);
    integer(node, path, "retries", n.retries, 0, 100);
    prompts(node, path, "invalid_prompt", n.invalid_prompt);
    prompts(node, path, "timeout_prompt", n.timeout_prompt);
    target(node, path, "next", n.next);
    target(node, path, "on_failure", n.on_failure);
    boolean(node, path, "barge_in", n.barge_in);
    return n;
  }

  flow::SetNode set(const YAML::Node& node, const Path& path) {
    r_.keys(node, path, {"values", "next"});
    flow::SetNode n;
    r_.field(node, path, "values", [&](const YAML::Node& v, const Path& p) {
      if (!v.IsMap()) r_.fail(v, p, "expected a mapping of attribute to value, e.g. {campaign: x}");
      if (v.size() > kMaxAssignments) {
        r_.fail(v, p, "at most " + std::to_string(kMaxAssignments) + " attributes");
      }
      std::set<std::string, std::less<>> seen;
      for (auto it = v.begin(); it != v.end(); ++it) {
        r_.attempt([&] {
          const std::string attribute = r_.identifier(it->first, p);
          const Path ap = r_.join(p, attribute);
          if (!seen.insert(attribute).second) r_.fail(it->first, ap, "given twice");
          n.assignments.push_back({attribute, r_.scalar(it->second, ap)});
        });
      }
    });
    target(node, path, "next", n.next);
    return n;
  }

  // "mon", "monday", or a range "mon-fri" (wrapping: "sat-sun", "fri-mon").
  void days(const YAML::Node& node, const Path& path, std::array<bool, 7>& out) {
    const std::string s = r_.scalar(node, path);
    const std::size_t dash = s.find('-');
    const auto first = flow::parseWeekday(s.substr(0, dash));
    const auto last = dash == std::string::npos ? first : flow::parseWeekday(s.substr(dash + 1));
    if (!first || !last) {
      r_.fail(node, path,
              "expected a day (mon..sun) or a range such as mon-fri, got \"" + s + "\"");
    }
    for (auto d = static_cast<std::size_t>(*first);; d = (d + 1) % 7) {
      out[d] = true;
      if (d == static_cast<std::size_t>(*last)) break;
    }
  }

  int timeOfDay(const YAML::Node& node, const Path& path) {
    const std::string s = r_.scalar(node, path);
    const auto t = flow::parseTimeOfDay(s);
    if (!t) r_.fail(node, path, "expected a time HH:MM (00:00..24:00), got \"" + s + "\"");
    return *t;
  }

  flow::HoursNode hours(const YAML::Node& node, const Path& path) {
    r_.keys(node, path, {"schedule", "closed_dates", "open", "closed"});
    flow::HoursNode n;
    r_.field(node, path, "schedule", [&](const YAML::Node& list, const Path& p) {
      r_.list(list, p, kMaxSchedule, "opening ranges {days, from, to}");
      for (std::size_t i = 0; i < list.size(); ++i) {
        const Path rp = r_.at(p, i);
        r_.attempt([&] {
          const YAML::Node item = list[i];
          r_.keys(item, rp, {"days", "from", "to"});
          flow::OpenRange range;
          r_.field(item, rp, "days", [&](const YAML::Node& d, const Path& dp) {
            if (d.IsSequence()) {
              r_.list(d, dp, 7, "days");
              for (std::size_t k = 0; k < d.size(); ++k) {
                r_.attempt([&] { days(d[k], r_.at(dp, k), range.days); });
              }
            } else {
              days(d, dp, range.days);
            }
          });
          r_.field(item, rp, "from", [&](const YAML::Node& v, const Path& vp) {
            range.from_minute = timeOfDay(v, vp);
          });
          r_.field(item, rp, "to", [&](const YAML::Node& v, const Path& vp) {
            range.to_minute = timeOfDay(v, vp);
          });
          n.schedule.push_back(range);
        });
      }
    });
    r_.field(node, path, "closed_dates", [&](const YAML::Node& list, const Path& p) {
      r_.list(list, p, kMaxClosedDates, "dates");
      for (std::size_t i = 0; i < list.size(); ++i) {
        r_.attempt([&] {
          const std::string s = r_.scalar(list[i], r_.at(p, i));
          const auto date = flow::parseDate(s);
          if (!date) r_.fail(list[i], r_.at(p, i), "expected a date YYYY-MM-DD, got \"" + s + "\"");
          n.closed_dates.push_back(*date);
        });
      }
    });
    target(node, path, "open", n.open);
    target(node, path, "closed", n.closed);
    return n;
  }

  flow::QueueNode queue(const YAML::Node& node, const Path& path) {
    r_.keys(node, path,
            {"name", "priority", "skills", "music", "announce_every", "announce_position",
             "announce_wait", "callback_key", "on_callback", "on_exit", "offer_callback_over",
             "callback_offer_prompt"});
    flow::QueueNode n;
    const QueueEntry* defaults = nullptr;
    r_.field(node, path, "name", [&](const YAML::Node& v, const Path& p) {
      n.queue = r_.name(v, p);
      const auto it = queue_index_.find(n.queue);
      if (it == queue_index_.end()) r_.fail(v, p, "unknown queue \"" + n.queue + "\"");
      defaults = &config_.queues[it->second];
    });
    integer(node, path, "priority", n.priority, -1'000'000, 1'000'000);
    r_.field(node, path, "skills", [&](const YAML::Node& v, const Path& p) {
      if (!v.IsMap()) r_.fail(v, p, "expected a mapping of skill name to level, e.g. {english: 3}");
      if (v.size() > kMaxNodeSkills) {
        r_.fail(v, p, "at most " + std::to_string(kMaxNodeSkills) + " skills");
      }
      for (auto it = v.begin(); it != v.end(); ++it) {
        r_.attempt([&] {
          const std::string skill = r_.identifier(it->first, p);
          n.skills.push_back(
              {skill, static_cast<int>(r_.integer(it->second, r_.join(p, skill), 1, 5))});
        });
      }
    });
    // Unset voice options come from the queue, then (music) from media.music_on_hold.
    if (defaults != nullptr) {
      n.music = defaults->music;
      n.announce_every = defaults->announce_every;
      n.announce_position = defaults->announce_position;
      n.announce_wait = defaults->announce_wait;
      n.callback_key = defaults->callback_key;
    }
    r_.field(node, path, "music",
             [&](const YAML::Node& v, const Path& p) { n.music = r_.name(v, p); });
    if (n.music.empty()) n.music = config_.media.music_on_hold;
    duration(node, path, "announce_every", n.announce_every);
    boolean(node, path, "announce_position", n.announce_position);
    boolean(node, path, "announce_wait", n.announce_wait);
    r_.field(
        node, path, "callback_key",
        [&](const YAML::Node& v, const Path& p) { n.callback_key = r_.optionalDtmfKey(v, p); },
        true);
    target(node, path, "on_callback", n.on_callback);
    target(node, path, "on_exit", n.on_exit);
    r_.field(node, path, "offer_callback_over", [&](const YAML::Node& v, const Path& p) {
      n.offer_callback_over = r_.duration(v, p);
      if (!n.callback_key) r_.fail(v, p, "needs callback_key (the key the offer asks for)");
    });
    prompts(node, path, "callback_offer_prompt", n.callback_offer_prompt);
    if (defaults != nullptr && n.callback_key && n.on_callback.empty() &&
        !sim::YamlReader::has(node, "callback_key")) {
      r_.errorAt(node, r_.join(path, "on_callback"),
                 "missing: queue \"" + n.queue + "\" sets callback_key \"" +
                     std::string(1, *n.callback_key) +
                     "\", so this node needs on_callback (or callback_key: none)");
    }
    return n;
  }

  flow::TransferNode transfer(const YAML::Node& node, const Path& path) {
    r_.keys(node, path, {"uri", "on_failure"});
    flow::TransferNode n;
    r_.field(node, path, "uri", [&](const YAML::Node& v, const Path& p) { n.uri = r_.name(v, p); });
    target(node, path, "on_failure", n.on_failure);
    return n;
  }

  // The `queue` (optional, a known queue) and `number` of the callback nodes.
  void queueAndNumber(const YAML::Node& node, const Path& path, std::string& queue,
                      std::string& number) {
    r_.field(node, path, "queue", [&](const YAML::Node& v, const Path& p) {
      queue = r_.name(v, p);
      if (!queue_index_.contains(queue)) r_.fail(v, p, "unknown queue \"" + queue + "\"");
    });
    r_.field(node, path, "number",
             [&](const YAML::Node& v, const Path& p) { number = r_.name(v, p); });
  }

  flow::CallbackNode callback(const YAML::Node& node, const Path& path) {
    r_.keys(node, path, {"queue", "number", "next", "on_failure"});
    flow::CallbackNode n;
    queueAndNumber(node, path, n.queue, n.number);
    target(node, path, "next", n.next);
    target(node, path, "on_failure", n.on_failure);
    return n;
  }

  flow::ScheduleCallbackNode scheduleCallback(const YAML::Node& node, const Path& path) {
    r_.keys(node, path,
            {"queue", "number", "slots", "prompt", "timeout", "retries", "next", "on_failure"});
    flow::ScheduleCallbackNode n;
    queueAndNumber(node, path, n.queue, n.number);
    integer(node, path, "slots", n.slots, 1, 9);
    prompts(node, path, "prompt", n.prompt);
    duration(node, path, "timeout", n.timeout);
    integer(node, path, "retries", n.retries, 0, 100);
    target(node, path, "next", n.next);
    target(node, path, "on_failure", n.on_failure);
    return n;
  }

  CollectingReader& r_;
  Config& config_;
  std::map<std::string, std::size_t, std::less<>> queue_index_;
  std::vector<std::map<std::string, int>> best_levels_;  // by queue index; see bestLevels()
};

}  // namespace

void readFlows(CollectingReader& reader, const YAML::Node& flows, Config& config) {
  FlowReader(reader, config).read(flows);
}

}  // namespace parley::app::config_detail
