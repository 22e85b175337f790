// Routing scenarios as data files: every tests/scenarios/*.scn is one GoogleTest. A scenario
// declares queues and agents, then scripts events at virtual times and lists the routing actions
// each step must produce, so a new routing case is a new file, not new code. The format is
// documented in tests/scenarios/README.md.
//
// The runner (ScenarioRunner) is a driver like the simulator: it owns one engine, sends ev::Tick
// at every engine deadline up to the time of the next event, renders the routing-relevant actions
// as text and compares them with the `expect` lines. After every engine call it checks
// Engine::checkInvariants. Any malformed line fails the scenario with "file:line: reason".
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "sim/duration.h"

namespace parley::engine {
namespace {

namespace fs = std::filesystem;

// A malformed line or a failed expectation: reported as "<label>:<line>: <message>".
struct ScenarioError {
  int line = 0;
  std::string message;
};

[[noreturn]] void fail(int line, std::string message) {
  throw ScenarioError{line, std::move(message)};
}

// ---- small parsers -------------------------------------------------------------------------

std::vector<std::string> splitWords(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) ++i;
    if (i >= text.size()) break;
    if (text[i] == '#') break;  // a comment runs to the end of the line
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\r') ++j;
    words.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return words;
}

std::vector<std::string> splitOn(std::string_view text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t at = text.find(sep, start);
    parts.emplace_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return parts;
}

std::optional<long long> parseInt(std::string_view text) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Durations as in scenario files ("20", "250ms", "1m30s"): the simulator's parser.
using sim::parseDuration;

std::string formatTime(TimePoint t) {
  std::ostringstream out;
  out << toSeconds(t.time_since_epoch()) << "s";
  return out.str();
}

// A "key=value" word.
struct KeyValue {
  std::string key;
  std::string value;
};

KeyValue splitKeyValue(const std::string& word, int line) {
  std::size_t eq = word.find('=');
  if (eq == std::string::npos || eq == 0) fail(line, "expected key=value, got \"" + word + "\"");
  return {word.substr(0, eq), word.substr(eq + 1)};
}

std::string joinWords(const std::vector<std::string>& words, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < words.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += words[i];
  }
  return out;
}

// ---- the runner ----------------------------------------------------------------------------

// Runs one scenario text. Not reusable: construct one per scenario.
class ScenarioRunner {
 public:
  explicit ScenarioRunner(std::string label) : label_(std::move(label)) {}

  // Returns an empty string when the scenario passes, else "<label>:<line>: what went wrong".
  std::string run(std::string_view text) {
    int line_no = 0;
    try {
      std::size_t start = 0;
      while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        ++line_no;
        line(splitWords(text.substr(start, end - start)), line_no);
        start = end + 1;
      }
      if (!engine_) fail(line_no, "scenario has no `at` step");
      finishStep();
    } catch (const ScenarioError& e) {
      return label_ + ":" + std::to_string(e.line) + ": " + e.message;
    } catch (const std::exception& e) {
      return label_ + ":" + std::to_string(line_no) + ": exception: " + e.what();
    }
    return {};
  }

 private:
  struct QueueDecl {
    int line = 0;
    QueueConfig config;
    std::string max_wait_target;    // queue name for on_max_wait=queue:NAME
    std::string max_length_target;  // queue name for on_max_length=queue:NAME
    std::vector<std::string> escalation_queue;  // parallel to config.escalation, "" for none
  };
  struct AgentDecl {
    int line = 0;
    AgentConfig config;
    std::vector<std::pair<std::string, int>> queues;  // name, penalty
    std::vector<std::pair<std::string, int>> skills;  // name, level
  };
  // An expect-* line, checked once the step's actions have been compared.
  struct Check {
    int line = 0;
    std::vector<std::string> words;
  };

  // ---- lines -------------------------------------------------------------------------------
  void line(const std::vector<std::string>& w, int n) {
    if (w.empty()) return;
    const std::string& kind = w[0];
    if (kind == "engine" || kind == "queue" || kind == "agent" || kind == "show") {
      if (engine_) fail(n, "`" + kind + "` after the first `at` step: declare everything first");
      if (kind == "engine") engineLine(w, n);
      if (kind == "show") showLine(w, n);
      if (kind == "queue") queueLine(w, n);
      if (kind == "agent") agentLine(w, n);
    } else if (kind == "at") {
      atLine(w, n);
    } else if (kind == "expect") {
      if (!engine_) fail(n, "`expect` before the first `at` step");
      if (w.size() < 2) fail(n, "`expect` needs an action, or `none`");
      if (w.size() == 2 && (w[1] == "none" || w[1] == "any")) {
        if (!expected_.empty() || expect_none_ || expect_any_) {
          fail(n, "`expect " + w[1] + "` must be the step's only expect line");
        }
        (w[1] == "none" ? expect_none_ : expect_any_) = true;
        return;
      }
      if (expect_none_ || expect_any_) fail(n, "`expect` after `expect none` or `expect any`");
      expected_.push_back(joinWords(w, 1));
      expected_lines_.push_back(n);
    } else if (kind.rfind("expect-", 0) == 0) {
      if (!engine_) fail(n, "`" + kind + "` before the first `at` step");
      checks_.push_back({n, w});
    } else {
      fail(n, "unknown directive \"" + kind + "\"");
    }
  }

  void engineLine(const std::vector<std::string>& w, int n) {
    for (std::size_t i = 1; i < w.size(); ++i) {
      KeyValue kv = splitKeyValue(w[i], n);
      auto v = parseInt(kv.value);
      if (!v || *v < 0) fail(n, "engine " + kv.key + ": expected a non-negative integer");
      if (kv.key == "seed") {
        engine_config_.seed = static_cast<std::uint64_t>(*v);
      } else if (kv.key == "max_misses") {
        engine_config_.max_consecutive_misses = static_cast<int>(*v);
      } else {
        fail(n, "unknown engine key \"" + kv.key + "\"");
      }
    }
  }

  // show states|wrapups...: also render agent state changes / wrap-up ends for this scenario.
  void showLine(const std::vector<std::string>& w, int n) {
    if (w.size() < 2) fail(n, "usage: show states|wrapups...");
    for (std::size_t i = 1; i < w.size(); ++i) {
      if (w[i] == "states") {
        show_states_ = true;
      } else if (w[i] == "wrapups") {
        show_wrapups_ = true;
      } else {
        fail(n, "show: expected states or wrapups, got \"" + w[i] + "\"");
      }
    }
  }

  Millis durationValue(const KeyValue& kv, int n) {
    auto d = parseDuration(kv.value);
    if (!d) fail(n, kv.key + ": bad duration \"" + kv.value + "\"");
    return *d;
  }

  // hangup | callback | voicemail | queue:NAME
  ExitAction exitValue(const KeyValue& kv, std::string& target, int n) {
    ExitAction a;
    if (kv.value == "hangup") {
      a.kind = ExitAction::Kind::HangUp;
    } else if (kv.value == "callback") {
      a.kind = ExitAction::Kind::CallbackOffer;
    } else if (kv.value == "voicemail") {
      a.kind = ExitAction::Kind::Voicemail;
    } else if (kv.value.rfind("queue:", 0) == 0 && kv.value.size() > 6) {
      a.kind = ExitAction::Kind::Queue;
      target = kv.value.substr(6);
    } else {
      fail(n, kv.key + ": expected hangup, callback, voicemail or queue:NAME");
    }
    return a;
  }

  void queueLine(const std::vector<std::string>& w, int n) {
    if (w.size() < 2 || w[1].find('=') != std::string::npos) fail(n, "queue needs a name");
    if (queue_names_.count(w[1]) != 0) fail(n, "queue \"" + w[1] + "\" declared twice");
    QueueDecl d;
    d.line = n;
    d.config.name = w[1];
    for (std::size_t i = 2; i < w.size(); ++i) {
      KeyValue kv = splitKeyValue(w[i], n);
      QueueConfig& c = d.config;
      if (kv.key == "strategy") {
        if (!parseStrategy(kv.value, c.strategy)) fail(n, "unknown strategy \"" + kv.value + "\"");
      } else if (kv.key == "sl") {
        c.service_level_threshold = durationValue(kv, n);
      } else if (kv.key == "short_abandon") {
        c.short_abandon_threshold = durationValue(kv, n);
      } else if (kv.key == "offer_timeout") {
        c.offer_timeout = durationValue(kv, n);
      } else if (kv.key == "wrap_up") {
        c.wrap_up = durationValue(kv, n);
      } else if (kv.key == "retry") {
        c.retry_other_agent_for = durationValue(kv, n);
      } else if (kv.key == "max_wait") {
        c.max_wait = durationValue(kv, n);
      } else if (kv.key == "max_length") {
        auto v = parseInt(kv.value);
        if (!v || *v < 0) fail(n, "max_length: expected a non-negative integer");
        c.max_length = static_cast<std::size_t>(*v);
      } else if (kv.key == "on_max_wait") {
        c.on_max_wait = exitValue(kv, d.max_wait_target, n);
      } else if (kv.key == "on_max_length") {
        c.on_max_length = exitValue(kv, d.max_length_target, n);
      } else if (kv.key == "resume") {
        c.abandon_resume_window = durationValue(kv, n);
      } else if (kv.key == "escalate") {
        // AFTER:relax=N and/or AFTER:queue=NAME, e.g. escalate=30s:relax=2:queue=overflow
        std::vector<std::string> parts = splitOn(kv.value, ':');
        EscalationStep step;
        auto after = parseDuration(parts[0]);
        if (!after) fail(n, "escalate: bad duration \"" + parts[0] + "\"");
        step.after = *after;
        std::string target;
        if (parts.size() < 2) fail(n, "escalate: expected AFTER:relax=N or AFTER:queue=NAME");
        for (std::size_t p = 1; p < parts.size(); ++p) {
          KeyValue part = splitKeyValue(parts[p], n);
          if (part.key == "relax") {
            auto level = parseInt(part.value);
            if (!level || *level < 1 || *level > 5) fail(n, "escalate: relax level must be 1..5");
            step.relax_level_to = static_cast<int>(*level);
          } else if (part.key == "queue") {
            target = part.value;
          } else {
            fail(n, "escalate: unknown part \"" + part.key + "\"");
          }
        }
        c.escalation.push_back(step);
        d.escalation_queue.push_back(target);
      } else {
        fail(n, "unknown queue key \"" + kv.key + "\"");
      }
    }
    queue_names_[w[1]] = QueueId{static_cast<std::uint32_t>(queue_decls_.size())};
    queue_decls_.push_back(std::move(d));
  }

  // name:level,name:level (level defaults to 1)
  std::vector<std::pair<std::string, int>> namedLevels(const KeyValue& kv, int default_level,
                                                       int n) {
    std::vector<std::pair<std::string, int>> out;
    for (const std::string& item : splitOn(kv.value, ',')) {
      std::vector<std::string> parts = splitOn(item, ':');
      if (parts[0].empty() || parts.size() > 2) fail(n, kv.key + ": bad item \"" + item + "\"");
      int level = default_level;
      if (parts.size() == 2) {
        auto v = parseInt(parts[1]);
        if (!v) fail(n, kv.key + ": bad number in \"" + item + "\"");
        level = static_cast<int>(*v);
      }
      out.emplace_back(parts[0], level);
    }
    return out;
  }

  // exclusive | chats:N | total:T,CHANNEL:MAX/COST,... (unlisted channels: none)
  Capacity capacityValue(const KeyValue& kv, int n) {
    if (kv.value == "exclusive") return Capacity::exclusive();
    if (kv.value.rfind("chats:", 0) == 0) {
      auto v = parseInt(kv.value.substr(6));
      if (!v || *v < 1) fail(n, "capacity=chats:N needs N >= 1");
      return Capacity::voiceOrChats(static_cast<int>(*v));
    }
    Capacity c;
    bool has_total = false;
    for (const std::string& item : splitOn(kv.value, ',')) {
      std::vector<std::string> parts = splitOn(item, ':');
      if (parts.size() != 2) fail(n, "capacity: bad item \"" + item + "\"");
      if (parts[0] == "total") {
        auto v = parseInt(parts[1]);
        if (!v || *v < 0) fail(n, "capacity: bad total \"" + parts[1] + "\"");
        c.total = static_cast<int>(*v);
        has_total = true;
        continue;
      }
      Channel ch{};
      if (!parseChannel(parts[0], ch)) fail(n, "capacity: unknown channel \"" + parts[0] + "\"");
      std::vector<std::string> mc = splitOn(parts[1], '/');
      auto max = parseInt(mc[0]);
      auto cost = mc.size() == 2 ? parseInt(mc[1]) : std::optional<long long>(1);
      if (mc.size() > 2 || !max || !cost || *max < 0 || *cost < 0) {
        fail(n, "capacity: expected CHANNEL:MAX/COST, got \"" + item + "\"");
      }
      c[ch] = {static_cast<int>(*max), static_cast<int>(*cost)};
    }
    if (!has_total) fail(n, "capacity: expected exclusive, chats:N or total:T,CHANNEL:MAX/COST...");
    return c;
  }

  void agentLine(const std::vector<std::string>& w, int n) {
    if (w.size() < 2 || w[1].find('=') != std::string::npos) fail(n, "agent needs a name");
    const std::string& name = w[1];
    if (agent_names_.count(name) != 0 || ghost_agents_.count(name) != 0) {
      fail(n, "agent \"" + name + "\" declared twice");
    }
    if (w.size() == 3 && w[2] == "ghost") {
      // A name the engine never hears of, for stale or bogus events.
      ghost_agents_[name] = AgentId{static_cast<std::uint32_t>(1'000'000 + ghost_agents_.size())};
      return;
    }
    AgentDecl d;
    d.line = n;
    d.config.name = name;
    for (std::size_t i = 2; i < w.size(); ++i) {
      KeyValue kv = splitKeyValue(w[i], n);
      if (kv.key == "queues") {
        d.queues = namedLevels(kv, 0, n);
      } else if (kv.key == "skills") {
        d.skills = namedLevels(kv, 1, n);
      } else if (kv.key == "capacity") {
        d.config.capacity = capacityValue(kv, n);
      } else {
        fail(n, "unknown agent key \"" + kv.key + "\"");
      }
    }
    agent_names_[name] = AgentId{static_cast<std::uint32_t>(agent_decls_.size())};
    agent_decls_.push_back(std::move(d));
  }

  QueueId queueNamed(const std::string& name, int n) const {
    auto it = queue_names_.find(name);
    if (it == queue_names_.end()) fail(n, "unknown queue \"" + name + "\"");
    return it->second;
  }

  // Creates the engine from the declarations (at the first `at` step).
  void build() {
    engine_ = std::make_unique<Engine>(engine_config_);
    for (QueueDecl& d : queue_decls_) {
      if (!d.max_wait_target.empty()) d.config.on_max_wait.target = queueNamed(d.max_wait_target, d.line);
      if (!d.max_length_target.empty()) {
        d.config.on_max_length.target = queueNamed(d.max_length_target, d.line);
      }
      for (std::size_t i = 0; i < d.config.escalation.size(); ++i) {
        if (!d.escalation_queue[i].empty()) {
          d.config.escalation[i].add_queue = queueNamed(d.escalation_queue[i], d.line);
        }
      }
      engine_->addQueue(d.config);
    }
    for (AgentDecl& d : agent_decls_) {
      for (const auto& [queue, penalty] : d.queues) {
        d.config.queues.push_back({queueNamed(queue, d.line), penalty});
      }
      for (const auto& [skill, level] : d.skills) {
        d.config.skills.push_back({engine_->internSkill(skill), level});
      }
      try {
        engine_->addAgent(d.config);
      } catch (const std::invalid_argument& e) {
        fail(d.line, e.what());
      }
    }
  }

  // ---- steps -------------------------------------------------------------------------------
  AgentId agentNamed(const std::string& name, int n) const {
    auto it = agent_names_.find(name);
    if (it != agent_names_.end()) return it->second;
    auto ghost = ghost_agents_.find(name);
    if (ghost != ghost_agents_.end()) return ghost->second;
    fail(n, "unknown agent \"" + name + "\" (declare `agent " + name + " ghost` for a bogus one)");
  }

  // Contacts are named freely; a name gets an id on first use, so events for contacts that
  // never arrived can be scripted too.
  ContactId contactNamed(const std::string& name) {
    auto it = contact_ids_.find(name);
    if (it != contact_ids_.end()) return it->second;
    ContactId id{contact_ids_.size() + 1};
    contact_ids_[name] = id;
    contact_names_[id] = name;
    return id;
  }

  std::string agentName(AgentId a) const {
    for (const auto& [name, id] : agent_names_) {
      if (id == a) return name;
    }
    for (const auto& [name, id] : ghost_agents_) {
      if (id == a) return name;
    }
    return "agent#" + std::to_string(index(a));
  }
  std::string queueName(QueueId q) const {
    if (index(q) < engine_->queueCount()) return engine_->queueConfig(q).name;
    return "queue#" + std::to_string(index(q));
  }
  std::string contactName(ContactId c) const {
    auto it = contact_names_.find(c);
    return it != contact_names_.end() ? it->second : "contact#" + std::to_string(index(c));
  }

  TimePoint timeValue(const std::string& text, int n) const {
    auto d = parseDuration(text);
    if (!d) fail(n, "bad time \"" + text + "\"");
    return TimePoint{*d};
  }

  void need(const std::vector<std::string>& w, std::size_t min, std::size_t max, int n,
            const char* usage) const {
    if (w.size() < min || w.size() > max) fail(n, std::string("usage: at T ") + usage);
  }

  // at T EVENT...  (words w[2..] are the event)
  void atLine(const std::vector<std::string>& w, int n) {
    if (w.size() < 3) fail(n, "usage: at T EVENT...");
    if (!engine_) build();
    finishStep();
    TimePoint t = timeValue(w[1], n);
    if (t < now_) fail(n, "time goes backwards: " + w[1] + " is before " + formatTime(now_));
    std::optional<Event> event = parseEvent(std::vector<std::string>(w.begin() + 2, w.end()), t, n);

    std::vector<Action> actions;
    int ticks = 0;
    for (auto d = engine_->nextDeadline(); d && *d <= t; d = engine_->nextDeadline()) {
      if (++ticks > 10'000) fail(n, "timers keep firing at " + formatTime(*d) + " (a timer loop?)");
      now_ = std::max(now_, *d);
      engine_->handle(ev::Tick{}, now_, actions);
      checkInvariants(n, "tick at " + formatTime(now_));
    }
    now_ = t;
    if (event) {
      engine_->handle(*event, now_, actions);
      checkInvariants(n, joinWords(w, 2) + " at " + formatTime(now_));
    }
    rendered_.clear();
    for (const Action& a : actions) {
      if (auto text = render(a)) rendered_.push_back(*text);
      if (const auto* e = std::get_if<act::ContactEnded>(&a)) ended_[e->contact] = *e;
    }
    step_line_ = n;
    step_text_ = joinWords(w, 0);
    if (trace_) {
      std::cerr << label_ << ":" << n << ": " << step_text_ << "\n";
      for (const std::string& r : rendered_) std::cerr << "expect " << r << "\n";
    }
  }

  std::optional<Event> parseEvent(const std::vector<std::string>& w, TimePoint t, int n) {
    const std::string& e = w[0];
    if (e == "tick") {
      need(w, 1, 1, n, "tick");
      return std::nullopt;
    }
    if (e == "login") {
      need(w, 2, 3, n, "login AGENT [not-ready]");
      if (w.size() == 3 && w[2] != "not-ready") fail(n, "usage: at T login AGENT [not-ready]");
      return ev::AgentLogin{agentNamed(w[1], n), w.size() == 2};
    }
    if (e == "logout") {
      need(w, 2, 2, n, "logout AGENT");
      return ev::AgentLogout{agentNamed(w[1], n)};
    }
    if (e == "ready") {
      need(w, 2, 2, n, "ready AGENT");
      return ev::AgentReady{agentNamed(w[1], n)};
    }
    if (e == "notready") {
      need(w, 2, 3, n, "notready AGENT [REASON]");
      return ev::AgentNotReady{agentNamed(w[1], n), w.size() == 3 ? w[2] : std::string{}};
    }
    if (e == "arrive") {
      if (w.size() < 2 || w[1].find('=') != std::string::npos) {
        fail(n, "usage: at T arrive CONTACT queue=Q [key=value...]");
      }
      return ev::ContactArrived{contactSpec(w, t, n)};
    }
    if (e == "accept") {
      need(w, 3, 3, n, "accept CONTACT AGENT");
      return ev::OfferAccepted{contactNamed(w[1]), agentNamed(w[2], n)};
    }
    if (e == "reject") {
      need(w, 3, 3, n, "reject CONTACT AGENT");
      return ev::OfferRejected{contactNamed(w[1]), agentNamed(w[2], n)};
    }
    if (e == "abandon") {
      need(w, 2, 2, n, "abandon CONTACT");
      return ev::ContactAbandoned{contactNamed(w[1])};
    }
    if (e == "leave") {
      need(w, 2, 2, n, "leave CONTACT");
      return ev::ContactLeftQueue{contactNamed(w[1])};
    }
    if (e == "complete") {
      need(w, 2, 2, n, "complete CONTACT");
      return ev::ContactCompleted{contactNamed(w[1])};
    }
    if (e == "wrapdone") {
      need(w, 2, 2, n, "wrapdone AGENT");
      return ev::WrapUpDone{agentNamed(w[1], n)};
    }
    if (e == "transfer") {
      need(w, 2, 3, n, "transfer CONTACT [QUEUE]");
      std::optional<QueueId> to;
      if (w.size() == 3) to = queueNamed(w[2], n);
      return ev::ContactTransferred{contactNamed(w[1]), to};
    }
    fail(n, "unknown event \"" + e + "\"");
  }

  ContactSpec contactSpec(const std::vector<std::string>& w, TimePoint t, int n) {
    ContactSpec spec;
    spec.id = contactNamed(w[1]);
    bool has_queue = false;
    for (std::size_t i = 2; i < w.size(); ++i) {
      KeyValue kv = splitKeyValue(w[i], n);
      if (kv.key == "queue") {
        spec.queue = queueNamed(kv.value, n);
        has_queue = true;
      } else if (kv.key == "channel") {
        if (!parseChannel(kv.value, spec.channel)) fail(n, "unknown channel \"" + kv.value + "\"");
      } else if (kv.key == "priority") {
        auto v = parseInt(kv.value);
        if (!v) fail(n, "priority: expected an integer");
        spec.priority = static_cast<int>(*v);
      } else if (kv.key == "skills") {
        for (const auto& [skill, level] : namedLevels(kv, 1, n)) {
          spec.skills.push_back({engine_->internSkill(skill), level});
        }
      } else if (kv.key == "caller") {
        spec.caller = kv.value;
      } else if (kv.key == "enqueued") {
        // "-30s": that long before the arrival; "12": an absolute time.
        if (!kv.value.empty() && kv.value[0] == '-') {
          auto d = parseDuration(std::string_view(kv.value).substr(1));
          if (!d) fail(n, "enqueued: bad duration \"" + kv.value + "\"");
          spec.enqueued_at = t - *d;
        } else {
          spec.enqueued_at = timeValue(kv.value, n);
        }
      } else if (kv.key == "campaign") {
        spec.attributes.campaign = kv.value;
      } else if (kv.key == "customer") {
        spec.attributes.customer_id = kv.value;
      } else if (kv.key == "language") {
        spec.attributes.language = kv.value;
      } else if (kv.key == "entry") {
        spec.attributes.entry_point = kv.value;
      } else {
        fail(n, "unknown arrive key \"" + kv.key + "\"");
      }
    }
    if (!has_queue) fail(n, "arrive needs queue=NAME");
    return spec;
  }

  void checkInvariants(int n, const std::string& what) {
    std::string broken = engine_->checkInvariants(now_);
    if (!broken.empty()) fail(n, "engine invariant broken after " + what + ":\n" + broken);
  }

  // The canonical text of a routing-relevant action; nullopt for agent state changes and wrap-up
  // ends unless the scenario asked to `show` them.
  std::optional<std::string> render(const Action& action) const {
    return std::visit(
        [&](const auto& a) -> std::optional<std::string> {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<T, act::ContactQueued>) {
            return "queued " + contactName(a.contact) + " " + queueName(a.tag.queue) + " " +
                   std::to_string(a.position);
          } else if constexpr (std::is_same_v<T, act::OfferCreated>) {
            return "offer " + contactName(a.contact) + " " + agentName(a.agent);
          } else if constexpr (std::is_same_v<T, act::OfferWithdrawn>) {
            return "withdraw " + contactName(a.contact) + " " + agentName(a.agent) + " " +
                   std::string(toString(a.reason));
          } else if constexpr (std::is_same_v<T, act::ContactAnswered>) {
            return "answered " + contactName(a.contact) + " " + agentName(a.agent);
          } else if constexpr (std::is_same_v<T, act::ContactRequeued>) {
            return "requeued " + contactName(a.contact);
          } else if constexpr (std::is_same_v<T, act::ContactMoved>) {
            return "moved " + contactName(a.contact) + " " + queueName(a.from.queue) + " " +
                   queueName(a.to);
          } else if constexpr (std::is_same_v<T, act::ContactEnded>) {
            std::string text =
                "ended " + contactName(a.contact) + " " + std::string(toString(a.outcome));
            if (a.reason != ExitReason::None) text += " " + std::string(toString(a.reason));
            if (a.outcome == Outcome::Exited) text += " " + std::string(toString(a.exit.kind));
            return text;
          } else if constexpr (std::is_same_v<T, act::AgentStateChanged>) {
            if (!show_states_) return std::nullopt;
            std::string text = "state " + agentName(a.agent) + " " +
                               std::string(toString(a.from)) + " " + std::string(toString(a.to));
            if (!a.reason.empty()) text += " " + a.reason;
            return text;
          } else if constexpr (std::is_same_v<T, act::WrapUpEnded>) {
            if (!show_wrapups_) return std::nullopt;
            return "wrapup-ended " + contactName(a.contact) + " " + agentName(a.agent) + " " +
                   formatTime(TimePoint{a.duration});
          } else {
            return std::nullopt;
          }
        },
        action);
  }

  static std::string listing(const std::vector<std::string>& lines) {
    if (lines.empty()) return "    (nothing)\n";
    std::string out;
    for (const std::string& l : lines) out += "    " + l + "\n";
    return out;
  }

  // Compares the last step's actions with its expect lines, then runs its expect-* checks.
  void finishStep() {
    if (step_line_ != 0 && rendered_ != expected_ && !trace_ && !expect_any_) {
      // Point at the first differing expect line when there is one, else at the step.
      std::size_t i = 0;
      while (i < rendered_.size() && i < expected_.size() && rendered_[i] == expected_[i]) ++i;
      int where = i < expected_lines_.size() ? expected_lines_[i] : step_line_;
      fail(where, "step `" + step_text_ + "` (line " + std::to_string(step_line_) +
                      ") produced other actions.\n  expected:\n" + listing(expected_) +
                      "  actual:\n" + listing(rendered_));
    }
    for (const Check& c : checks_) check(c.words, c.line);
    expected_.clear();
    expected_lines_.clear();
    expect_none_ = false;
    expect_any_ = false;
    checks_.clear();
  }

  template <typename T>
  void same(const T& actual, const T& expected, const std::string& what, int n) const {
    if (!(actual == expected)) {
      std::ostringstream out;
      out << what << ": expected " << expected << ", actual " << actual;
      fail(n, out.str());
    }
  }

  std::string names(const std::vector<ContactId>& ids) const {
    std::string out;
    for (ContactId id : ids) out += (out.empty() ? "" : ",") + contactName(id);
    return out.empty() ? "none" : out;
  }
  std::string names(const std::vector<AgentId>& ids) const {
    std::string out;
    for (AgentId id : ids) out += (out.empty() ? "" : ",") + agentName(id);
    return out.empty() ? "none" : out;
  }
  std::string names(const std::vector<QueueId>& ids) const {
    std::string out;
    for (QueueId id : ids) out += (out.empty() ? "" : ",") + queueName(id);
    return out.empty() ? "none" : out;
  }

  void check(const std::vector<std::string>& w, int n) {
    const std::string& kind = w[0];
    if (kind == "expect-state") {
      // expect-state AGENT STATE [REASON]
      if (w.size() < 3 || w.size() > 4) fail(n, "usage: expect-state AGENT STATE [REASON]");
      AgentView a = engine_->agent(agentNamed(w[1], n));
      same(std::string(toString(a.state)), w[2], "state of " + w[1], n);
      if (w.size() == 4) same(a.reason, w[3], "not-ready reason of " + w[1], n);
    } else if (kind == "expect-wrapup") {
      // expect-wrapup AGENT none|C1,C2
      if (w.size() != 3) fail(n, "usage: expect-wrapup AGENT none|CONTACT,...");
      same(names(engine_->agent(agentNamed(w[1], n)).wrapping), w[2], "wrap-up of " + w[1], n);
    } else if (kind == "expect-position") {
      // expect-position CONTACT N|none
      if (w.size() != 3) fail(n, "usage: expect-position CONTACT N|none");
      auto p = engine_->position(contactNamed(w[1]));
      same(p ? std::to_string(*p) : std::string("none"), w[2], "position of " + w[1], n);
    } else if (kind == "expect-waiting") {
      // expect-waiting QUEUE N
      if (w.size() != 3) fail(n, "usage: expect-waiting QUEUE N");
      same(std::to_string(engine_->waitingCount(queueNamed(w[1], n))), w[2],
           "waiting in " + w[1], n);
    } else if (kind == "expect-live") {
      if (w.size() != 2) fail(n, "usage: expect-live N");
      same(std::to_string(engine_->liveContactCount()), w[1], "live contacts", n);
    } else if (kind == "expect-agent") {
      checkAgent(w, n);
    } else if (kind == "expect-contact") {
      checkContact(w, n);
    } else if (kind == "expect-ended") {
      checkEnded(w, n);
    } else {
      fail(n, "unknown check \"" + kind + "\"");
    }
  }

  // expect-agent AGENT key=value...: state, reason, answered, handle, misses, used, offer,
  // active, wrapping, idle_since.
  void checkAgent(const std::vector<std::string>& w, int n) {
    if (w.size() < 3) fail(n, "usage: expect-agent AGENT key=value...");
    AgentView a = engine_->agent(agentNamed(w[1], n));
    for (std::size_t i = 2; i < w.size(); ++i) {
      KeyValue kv = splitKeyValue(w[i], n);
      std::string what = w[1] + " " + kv.key;
      if (kv.key == "state") {
        same(std::string(toString(a.state)), kv.value, what, n);
      } else if (kv.key == "reason") {
        same(a.reason, kv.value, what, n);
      } else if (kv.key == "answered") {
        same(std::to_string(a.contacts_answered), kv.value, what, n);
      } else if (kv.key == "handle") {
        same(formatTime(TimePoint{a.handle_time}), formatTime(timeValue(kv.value, n)), what, n);
      } else if (kv.key == "misses") {
        same(std::to_string(a.consecutive_misses), kv.value, what, n);
      } else if (kv.key == "used") {
        same(std::to_string(a.used_capacity), kv.value, what, n);
      } else if (kv.key == "offer") {
        same(a.offer ? contactName(*a.offer) : std::string("none"), kv.value, what, n);
      } else if (kv.key == "active") {
        same(names(a.active), kv.value, what, n);
      } else if (kv.key == "wrapping") {
        same(names(a.wrapping), kv.value, what, n);
      } else if (kv.key == "idle_since") {
        same(formatTime(a.idle_since), formatTime(timeValue(kv.value, n)), what, n);
      } else {
        fail(n, "unknown expect-agent key \"" + kv.key + "\"");
      }
    }
  }

  // expect-contact CONTACT gone | key=value...: state, queue, queues, agent, offered, enqueued,
  // priority, skills.
  void checkContact(const std::vector<std::string>& w, int n) {
    if (w.size() < 3) fail(n, "usage: expect-contact CONTACT gone|key=value...");
    auto c = engine_->contact(contactNamed(w[1]));
    if (w.size() == 3 && w[2] == "gone") {
      if (c) fail(n, w[1] + ": expected gone, but it is live (" + std::string(toString(c->state)) + ")");
      return;
    }
    if (!c) fail(n, w[1] + ": expected a live contact, but it is gone");
    for (std::size_t i = 2; i < w.size(); ++i) {
      KeyValue kv = splitKeyValue(w[i], n);
      std::string what = w[1] + " " + kv.key;
      if (kv.key == "state") {
        same(std::string(toString(c->state)), kv.value, what, n);
      } else if (kv.key == "queue") {
        same(queueName(c->queue), kv.value, what, n);
      } else if (kv.key == "queues") {
        same(names(c->queues), kv.value, what, n);
      } else if (kv.key == "agent") {
        same(c->agent ? agentName(*c->agent) : std::string("none"), kv.value, what, n);
      } else if (kv.key == "offered") {
        same(names(c->offered_to), kv.value, what, n);
      } else if (kv.key == "enqueued") {
        same(formatTime(c->enqueued_at), formatTime(timeValue(kv.value, n)), what, n);
      } else if (kv.key == "priority") {
        same(std::to_string(c->priority), kv.value, what, n);
      } else if (kv.key == "skills") {
        std::string text;
        for (const SkillRequirement& r : c->skills) {
          text += (text.empty() ? "" : ",") + std::string(engine_->skillName(r.skill)) + ":" +
                  std::to_string(r.min_level);
        }
        same(text.empty() ? std::string("none") : text, kv.value, what, n);
      } else {
        fail(n, "unknown expect-contact key \"" + kv.key + "\"");
      }
    }
  }

  // expect-ended CONTACT key=value...: the contact's ContactEnded (from any step so far):
  // outcome, reason, exit, queue, answered (yes|no), agent, waited, handled.
  void checkEnded(const std::vector<std::string>& w, int n) {
    if (w.size() < 3) fail(n, "usage: expect-ended CONTACT key=value...");
    auto it = ended_.find(contactNamed(w[1]));
    if (it == ended_.end()) fail(n, w[1] + ": has not ended");
    const act::ContactEnded& e = it->second;
    for (std::size_t i = 2; i < w.size(); ++i) {
      KeyValue kv = splitKeyValue(w[i], n);
      std::string what = w[1] + " ended " + kv.key;
      if (kv.key == "outcome") {
        same(std::string(toString(e.outcome)), kv.value, what, n);
      } else if (kv.key == "reason") {
        same(std::string(toString(e.reason)), kv.value, what, n);
      } else if (kv.key == "exit") {
        same(std::string(toString(e.exit.kind)), kv.value, what, n);
      } else if (kv.key == "queue") {
        same(queueName(e.tag.queue), kv.value, what, n);
      } else if (kv.key == "answered") {
        same(std::string(e.answered ? "yes" : "no"), kv.value, what, n);
      } else if (kv.key == "agent") {
        same(e.answered ? agentName(e.agent) : std::string("none"), kv.value, what, n);
      } else if (kv.key == "waited") {
        same(formatTime(TimePoint{e.waited}), formatTime(timeValue(kv.value, n)), what, n);
      } else if (kv.key == "handled") {
        same(formatTime(TimePoint{e.handled}), formatTime(timeValue(kv.value, n)), what, n);
      } else {
        fail(n, "unknown expect-ended key \"" + kv.key + "\"");
      }
    }
  }

  std::string label_;
  EngineConfig engine_config_;
  std::vector<QueueDecl> queue_decls_;
  std::vector<AgentDecl> agent_decls_;
  std::map<std::string, QueueId> queue_names_;
  std::map<std::string, AgentId> agent_names_;
  std::map<std::string, AgentId> ghost_agents_;
  std::map<std::string, ContactId> contact_ids_;
  std::map<ContactId, std::string> contact_names_;
  std::map<ContactId, act::ContactEnded> ended_;  // the last ContactEnded of each contact
  std::unique_ptr<Engine> engine_;  // created at the first `at` step
  TimePoint now_{};
  // PARLEY_SCENARIO_TRACE=1: print every step's actions as expect lines instead of comparing
  // them (for exploring; expect-* checks still run). Never set in CI.
  bool trace_ = std::getenv("PARLEY_SCENARIO_TRACE") != nullptr;
  bool show_states_ = false;   // render act::AgentStateChanged too
  bool show_wrapups_ = false;  // render act::WrapUpEnded too

  // The current step: its rendered actions, and the expectations read so far.
  int step_line_ = 0;
  std::string step_text_;
  std::vector<std::string> rendered_;
  std::vector<std::string> expected_;
  std::vector<int> expected_lines_;
  bool expect_none_ = false;
  bool expect_any_ = false;  // `expect any`: the step's output is not compared, only its checks
  std::vector<Check> checks_;
};

// ---- the scenario files --------------------------------------------------------------------

fs::path scenarioDir() {
  // PARLEY_SCENARIO_DIR runs another directory (scratch cases, tests/scenarios/pending); else
  // this file's own directory (CMake compiles it by absolute path), else the repo-relative path
  // the tests run from.
  if (const char* dir = std::getenv("PARLEY_SCENARIO_DIR"); dir && *dir) return dir;
  fs::path here = fs::path(__FILE__).parent_path() / "scenarios";
  std::error_code ec;
  if (fs::is_directory(here, ec)) return here;
  return fs::path("tests") / "scenarios";
}

std::vector<std::string> scenarioFiles() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(scenarioDir(), ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".scn") {
      files.push_back(entry.path().filename().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string testName(const testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).stem().string();
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

class RoutingScenario : public testing::TestWithParam<std::string> {};

TEST_P(RoutingScenario, Runs) {
  fs::path file = scenarioDir() / GetParam();
  std::ifstream in(file, std::ios::binary);
  ASSERT_TRUE(in) << "cannot read " << file;
  std::stringstream text;
  text << in.rdbuf();
  // Name the file relative to the working directory (the repo root under ctest) when inside it.
  fs::path shown = file.is_absolute() ? file.lexically_relative(fs::current_path()) : file;
  if (shown.empty() || *shown.begin() == "..") shown = file;
  std::string failure = ScenarioRunner(shown.string()).run(text.str());
  EXPECT_TRUE(failure.empty()) << failure;
}

INSTANTIATE_TEST_SUITE_P(Files, RoutingScenario, testing::ValuesIn(scenarioFiles()), testName);

// The directory listing itself: an empty or missing directory would silently run no scenario.
TEST(ScenarioFiles, DirectoryHasScenarios) {
  if (std::getenv("PARLEY_SCENARIO_DIR")) GTEST_SKIP() << "running another directory";
  EXPECT_GE(scenarioFiles().size(), 20u);
}

// ---- the runner's own behaviour ------------------------------------------------------------

std::string runText(std::string_view text) { return ScenarioRunner("t.scn").run(text); }

TEST(ScenarioRunner, PassingScenarioReportsNothing) {
  EXPECT_EQ(runText("queue q\n"
                    "agent a queues=q\n"
                    "at 0 login a\n"
                    "at 1 arrive c queue=q\n"
                    "expect queued c q 1\n"
                    "expect offer c a\n"
                    "expect-state a reserved\n"),
            "");
}

TEST(ScenarioRunner, MissingActionFailsWithBothLists) {
  std::string failure = runText("queue q\n"
                                "agent a queues=q\n"
                                "at 0 login a\n"
                                "at 1 arrive c queue=q\n"
                                "expect queued c q 1\n");
  EXPECT_NE(failure.find("t.scn:4:"), std::string::npos) << failure;
  EXPECT_NE(failure.find("expected:\n    queued c q 1\n"), std::string::npos) << failure;
  EXPECT_NE(failure.find("actual:\n    queued c q 1\n    offer c a\n"), std::string::npos)
      << failure;
}

TEST(ScenarioRunner, ExtraExpectationFailsAtItsLine) {
  std::string failure = runText("queue q\n"
                                "agent a queues=q\n"
                                "at 0 login a\n"
                                "expect offer c a\n");
  EXPECT_EQ(failure.rfind("t.scn:4:", 0), 0u) << failure;
}

TEST(ScenarioRunner, WrongStateFailsAtItsLine) {
  std::string failure = runText("queue q\n"
                                "agent a queues=q\n"
                                "at 0 login a\n"
                                "expect-state a busy\n");
  EXPECT_EQ(failure, "t.scn:4: state of a: expected busy, actual available");
}

TEST(ScenarioRunner, ShowRendersStatesAndWrapUps) {
  EXPECT_EQ(runText("show states wrapups\n"
                    "queue q wrap_up=5s\n"
                    "agent a queues=q\n"
                    "at 0 login a\n"
                    "expect state a logged-out available\n"
                    "at 1 arrive c queue=q\n"
                    "expect queued c q 1\n"
                    "expect offer c a\n"
                    "expect state a available reserved\n"
                    "at 2 accept c a\n"
                    "expect answered c a\n"
                    "expect state a reserved busy\n"
                    "at 3 complete c\n"
                    "expect ended c completed\n"
                    "expect state a busy wrap-up\n"
                    "at 9 tick\n"
                    "expect wrapup-ended c a 5s\n"
                    "expect state a wrap-up available\n"),
            "");
}

TEST(ScenarioRunner, EndedChecksReadTheContactEnd) {
  const char* text = "queue q\n"
                     "at 0 arrive c queue=q\n"
                     "expect queued c q 1\n"
                     "at 7 abandon c\n"
                     "expect ended c abandoned\n"
                     "expect-ended c outcome=abandoned answered=no waited=7s\n";
  EXPECT_EQ(runText(text), "");
  std::string wrong = std::string(text) + "expect-ended c waited=6s\n";
  EXPECT_EQ(runText(wrong), "t.scn:7: c ended waited: expected 6s, actual 7s");
}

TEST(ScenarioRunner, MalformedLinesFailWithLineAndReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"queue q strategy=fastest\n", "t.scn:1: unknown strategy \"fastest\""},
      {"queue q\nagent a queues=nowhere\nat 0 login a\n", "t.scn:2: unknown queue \"nowhere\""},
      {"queue q\nat 0 login bob\n", "t.scn:2: unknown agent \"bob\""},
      {"queue q\nat 0 dance\n", "t.scn:2: unknown event \"dance\""},
      {"queue q\nat x tick\n", "t.scn:2: bad time \"x\""},
      {"queue q\nat 5 tick\nat 4 tick\n", "t.scn:3: time goes backwards"},
      {"queue q\nexpect offer c a\n", "t.scn:2: `expect` before the first `at` step"},
      {"queue q\nat 0 tick\nqueue r\n", "t.scn:3: `queue` after the first `at` step"},
      {"queue q\nat 0 arrive c\n", "t.scn:2: arrive needs queue=NAME"},
      {"queue q\nat 0 arrive c queue=q channel=fax\n", "t.scn:2: unknown channel \"fax\""},
      {"queue q\nagent a capacity=lots\n", "t.scn:2: capacity: bad item \"lots\""},
      {"queue q\nagent a queues=q,q\nat 0 tick\n", "t.scn:2: agent a: queue listed twice"},
      {"queue q max_wait=soon\n", "t.scn:1: max_wait: bad duration \"soon\""},
      {"queue q escalate=10s\n", "t.scn:1: escalate: expected AFTER:relax=N"},
      {"queue q\n", "t.scn:1: scenario has no `at` step"},
      {"bogus\n", "t.scn:1: unknown directive \"bogus\""},
      {"queue q\nat 0 tick\nexpect-dance\n", "t.scn:3: unknown check \"expect-dance\""},
      {"queue q\nat 0 tick\nexpect-ended c outcome=x\n", "t.scn:3: c: has not ended"},
      {"show colours\n", "t.scn:1: show: expected states or wrapups"},
      {"queue q\nat 0 tick\nexpect none\nexpect requeued c\n", "t.scn:4: `expect` after"},
      {"queue q\nat 0 tick\nexpect requeued c\nexpect any\n", "t.scn:4: `expect any` must be"},
  };
  for (const auto& [text, want] : cases) {
    std::string failure = runText(text);
    EXPECT_EQ(failure.rfind(want, 0), 0u) << "input:\n" << text << "got: " << failure;
  }
}

}  // namespace
}  // namespace parley::engine
