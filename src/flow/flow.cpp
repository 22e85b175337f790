#include "flow/flow.h"

#include <cctype>
#include <set>
#include <utility>

namespace parley::flow {

namespace {

constexpr std::array<std::string_view, 7> kWeekdayNames = {"mon", "tue", "wed", "thu",
                                                           "fri", "sat", "sun"};
constexpr std::array<std::string_view, 7> kWeekdayFullNames = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Parses exactly `width` decimal digits at text[pos..]; nullopt otherwise.
std::optional<int> fixedDigits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool isLeapYear(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int daysInMonth(int y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && isLeapYear(y) ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

// Collects issues for one flow; `node_` is the node being checked.
class Checker {
 public:
  explicit Checker(const Flow& flow) : flow_(flow) {}

  std::vector<FlowIssue> run() {
    if (flow_.start.empty()) {
      error("start", "is required");
    } else if (!flow_.nodes.contains(flow_.start)) {
      error("start", "names node '" + flow_.start + "', which does not exist");
    }
    if (flow_.nodes.empty()) error("nodes", "the flow has no nodes");
    for (const auto& [name, node] : flow_.nodes) {
      node_ = name;
      if (name.empty()) error("", "node name is empty");
      std::visit([this](const auto& n) { check(n); }, node);
    }
    node_.clear();
    warnUnreachable();
    return std::move(issues_);
  }

 private:
  void error(std::string field, std::string message) {
    issues_.push_back({FlowIssue::Severity::Error, node_, std::move(field), std::move(message)});
  }

  // A required reference to another node.
  void ref(const std::string& target, const std::string& field) {
    if (target.empty()) {
      error(field, "is required");
    } else if (!flow_.nodes.contains(target)) {
      error(field, "names node '" + target + "', which does not exist");
    }
  }
  // An optional reference: empty means "hang up".
  void optionalRef(const std::string& target, const std::string& field) {
    if (!target.empty()) ref(target, field);
  }

  void prompts(const Prompts& list, const std::string& field, bool required) {
    if (required && list.empty()) error(field, "needs at least one prompt");
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (list[i].value.empty()) {
        error(field + "[" + std::to_string(i) + "]",
              list[i].kind == Prompt::Kind::File ? "file path is empty" : "text is empty");
      }
    }
  }

  void positive(Millis d, const std::string& field) {
    if (d <= Millis{0}) error(field, "must be greater than zero");
  }

  void retries(int n) {
    if (n < 0) error("retries", "must be 0 or more");
  }

  void check(const PlayNode& n) {
    prompts(n.prompts, "prompts", true);
    ref(n.next, "next");
  }

  void check(const MenuNode& n) {
    prompts(n.prompt, "prompt", false);
    if (n.options.empty()) error("options", "needs at least one key");
    for (const auto& [key, target] : n.options) {
      const std::string field = "options." + std::string(1, key);
      if (!isDtmfKey(key)) error(field, "is not a DTMF key (0-9, *, #, A-D)");
      ref(target, field);
    }
    positive(n.timeout, "timeout");
    retries(n.retries);
    prompts(n.invalid_prompt, "invalid_prompt", false);
    prompts(n.timeout_prompt, "timeout_prompt", false);
    optionalRef(n.on_failure, "on_failure");
  }

  void check(const CollectNode& n) {
    prompts(n.prompt, "prompt", false);
    if (n.attribute.empty()) error("attribute", "is required");
    if (n.min_digits < 0) error("min_digits", "must be 0 or more");
    if (n.max_digits < 1 || n.max_digits > kMaxCollectDigits) {
      error("max_digits", "must be 1.." + std::to_string(kMaxCollectDigits));
    } else if (n.min_digits > n.max_digits) {
      error("min_digits", "is greater than max_digits");
    }
    if (n.terminator) {
      if (!isDtmfKey(*n.terminator)) {
        error("terminator", "is not a DTMF key");
      } else if (*n.terminator >= '0' && *n.terminator <= '9') {
        error("terminator", "cannot be a digit (digits are collected)");
      }
    }
    if (n.min_digits == 0 && !n.terminator) {
      error("min_digits",
            "0 needs a terminator (else an empty entry cannot be told apart "
            "from silence)");
    }
    positive(n.timeout, "timeout");
    positive(n.inter_digit_timeout, "inter_digit_timeout");
    retries(n.retries);
    prompts(n.invalid_prompt, "invalid_prompt", false);
    prompts(n.timeout_prompt, "timeout_prompt", false);
    ref(n.next, "next");
    optionalRef(n.on_failure, "on_failure");
  }

  void check(const SetNode& n) {
    if (n.assignments.empty()) error("values", "needs at least one attribute");
    for (const auto& a : n.assignments) {
      if (a.attribute.empty()) error("values", "attribute name is empty");
    }
    ref(n.next, "next");
  }

  void check(const HoursNode& n) {
    if (n.schedule.empty()) error("schedule", "needs at least one opening range");
    for (std::size_t i = 0; i < n.schedule.size(); ++i) {
      const OpenRange& r = n.schedule[i];
      const std::string field = "schedule[" + std::to_string(i) + "]";
      bool any_day = false;
      for (bool d : r.days) any_day = any_day || d;
      if (!any_day) error(field + ".days", "needs at least one day");
      if (r.from_minute < 0 || r.from_minute >= 1440)
        error(field + ".from", "must be 00:00..23:59");
      if (r.to_minute <= 0 || r.to_minute > 1440) error(field + ".to", "must be 00:01..24:00");
      if (r.from_minute >= r.to_minute) {
        error(field + ".to", "must be after from (split an overnight opening into two ranges)");
      }
    }
    for (std::size_t i = 0; i < n.closed_dates.size(); ++i) {
      const Date& d = n.closed_dates[i];
      if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > daysInMonth(d.year, d.month)) {
        error("closed_dates[" + std::to_string(i) + "]", "is not a calendar date");
      }
    }
    ref(n.open, "open");
    ref(n.closed, "closed");
  }

  void check(const QueueNode& n) {
    if (n.queue.empty()) error("name", "is required");
    std::set<std::string> seen;
    for (const auto& s : n.skills) {
      const std::string field = "skills." + s.skill;
      if (s.skill.empty()) error("skills", "skill name is empty");
      if (s.min_level < 1 || s.min_level > 5) error(field, "level must be 1..5");
      if (!seen.insert(s.skill).second) error(field, "is listed twice");
    }
    if (n.announce_every < Millis{0}) error("announce_every", "must not be negative");
    if (n.callback_key) {
      if (!isDtmfKey(*n.callback_key)) error("callback_key", "is not a DTMF key");
      ref(n.on_callback, "on_callback");
    } else if (!n.on_callback.empty()) {
      error("callback_key", "is required with on_callback");
    }
    if (n.offer_callback_over && !n.callback_key) {
      error("offer_callback_over", "needs callback_key");
    }
    if (n.offer_callback_over && *n.offer_callback_over < Millis{0}) {
      error("offer_callback_over", "must not be negative");
    }
    optionalRef(n.on_exit, "on_exit");
  }

  void check(const TransferNode& n) {
    if (n.uri.empty()) {
      error("uri", "is required");
    } else if (!n.uri.starts_with("sip:") && !n.uri.starts_with("sips:") &&
               !n.uri.starts_with("${")) {
      error("uri", "must be a sip: or sips: URI");
    }
    optionalRef(n.on_failure, "on_failure");
  }

  void check(const CallbackNode& n) {
    if (n.number.empty()) error("number", "must not be empty");
    ref(n.next, "next");
    optionalRef(n.on_failure, "on_failure");
  }

  void check(const ScheduleCallbackNode& n) {
    if (n.number.empty()) error("number", "must not be empty");
    if (n.slots < 1 || n.slots > 9) error("slots", "must be 1..9 (one key per time)");
    if (n.timeout <= Millis{0}) error("timeout", "must be positive");
    if (n.retries < 0) error("retries", "must not be negative");
    ref(n.next, "next");
    optionalRef(n.on_failure, "on_failure");
  }

  void check(const HangupNode&) {}

  static void targets(const Node& node, std::vector<const std::string*>& out) {
    std::visit(
        [&out](const auto& n) {
          using T = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<T, PlayNode> || std::is_same_v<T, SetNode>) {
            out.push_back(&n.next);
          } else if constexpr (std::is_same_v<T, MenuNode>) {
            for (const auto& [key, target] : n.options) out.push_back(&target);
            out.push_back(&n.on_failure);
          } else if constexpr (std::is_same_v<T, CollectNode>) {
            out.push_back(&n.next);
            out.push_back(&n.on_failure);
          } else if constexpr (std::is_same_v<T, HoursNode>) {
            out.push_back(&n.open);
            out.push_back(&n.closed);
          } else if constexpr (std::is_same_v<T, QueueNode>) {
            out.push_back(&n.on_callback);
            out.push_back(&n.on_exit);
          } else if constexpr (std::is_same_v<T, TransferNode>) {
            out.push_back(&n.on_failure);
          } else if constexpr (std::is_same_v<T, CallbackNode> ||
                               std::is_same_v<T, ScheduleCallbackNode>) {
            out.push_back(&n.next);
            out.push_back(&n.on_failure);
          }
        },
        node);
  }

  void warnUnreachable() {
    if (!flow_.nodes.contains(flow_.start)) return;  // already an error; every node would warn
    std::set<std::string> reached{flow_.start};
    std::vector<std::string> todo{flow_.start};
    while (!todo.empty()) {  // bounded: each node is pushed at most once
      const std::string name = std::move(todo.back());
      todo.pop_back();
      std::vector<const std::string*> next;
      targets(flow_.nodes.at(name), next);
      for (const std::string* t : next) {
        if (!t->empty() && flow_.nodes.contains(*t) && reached.insert(*t).second) {
          todo.push_back(*t);
        }
      }
    }
    for (const auto& [name, node] : flow_.nodes) {
      if (!reached.contains(name)) {
        issues_.push_back({FlowIssue::Severity::Warning, name, "",
                           "is not reachable from start node '" + flow_.start + "'"});
      }
    }
  }

  const Flow& flow_;
  std::string node_;  // node being checked, for each issue
  std::vector<FlowIssue> issues_;
};

}  // namespace

std::string_view toString(Prompt::Kind k) {
  return k == Prompt::Kind::File ? "file" : "say";
}

bool isDtmfKey(char c) {
  return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D');
}

std::string_view toString(Weekday d) {
  return kWeekdayNames[static_cast<std::size_t>(d)];
}

std::optional<Weekday> parseWeekday(std::string_view text) {
  const std::string l = lower(text);
  for (std::size_t i = 0; i < 7; ++i) {
    if (l == kWeekdayNames[i] || l == kWeekdayFullNames[i]) return static_cast<Weekday>(i);
  }
  return std::nullopt;
}

std::optional<Date> parseDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto y = fixedDigits(text, 0, 4);
  const auto m = fixedDigits(text, 5, 2);
  const auto d = fixedDigits(text, 8, 2);
  if (!y || !m || !d || *m < 1 || *m > 12 || *d < 1 || *d > daysInMonth(*y, *m)) {
    return std::nullopt;
  }
  return Date{*y, *m, *d};
}

std::optional<int> parseTimeOfDay(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  const auto h = fixedDigits(text, 0, 2);
  const auto m = fixedDigits(text, 3, 2);
  if (!h || !m || *m > 59 || *h > 24 || (*h == 24 && *m != 0)) return std::nullopt;
  return *h * 60 + *m;
}

std::string_view nodeType(const Node& node) {
  static constexpr std::array<std::string_view, std::variant_size_v<Node>> kNames = {
      "play",     "menu",     "collect",           "set",   "hours", "queue",
      "transfer", "callback", "schedule_callback", "hangup"};
  return kNames[node.index()];
}

std::vector<FlowIssue> validateFlow(const Flow& flow) {
  return Checker(flow).run();
}

bool hasErrors(const std::vector<FlowIssue>& issues) {
  for (const auto& i : issues) {
    if (i.severity == FlowIssue::Severity::Error) return true;
  }
  return false;
}

}  // namespace parley::flow
