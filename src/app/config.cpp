// The config parser: sections, queues (with their callback rules), agents, entry points, the
// callbacks' dial guard, the widget and cross references. Flows are read in config_flows.cpp,
// addresses in config_net.cpp. Key reference: docs/CONFIG.md.
#include "app/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <chrono>
#include <exception>
#include <map>
#include <set>
#include <utility>
#include <variant>

#include "app/config_reader.h"
#include "sim/duration.h"
#include "web/auth.h"
#include "web/dial_guard.h"

namespace parley::app {

namespace config_detail {

namespace {

// Edit distance between short strings, counting a swap of neighbours as one edit (optimal
// string alignment), for "did you mean" hints.
std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

// The closest of `candidates` to `word` if it is close enough to be a likely typo.
template <typename Range>
std::optional<std::string> closest(std::string_view word, const Range& candidates) {
  if (word.size() > 64) return std::nullopt;
  std::optional<std::string> best;
  // One edit for short words, two from six letters on; more would suggest unrelated names.
  if (word.size() < 3) return std::nullopt;
  std::size_t best_distance = (word.size() >= 6 ? 2 : 1) + 1;
  for (const auto& c : candidates) {
    const std::string_view candidate(c);
    const std::size_t d = editDistance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(candidate);
    }
  }
  return best;
}

bool isIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

void CollectingReader::record(ConfigError e) {
  if (errors_.size() + 1 >= kMaxConfigErrors) {
    ConfigError stop;
    stop.message = "too many errors; stopped reading here";
    stop.line = e.line;
    stop.text = label() + (e.line > 0 ? ":" + std::to_string(e.line) : "") + ": " + stop.message;
    errors_.push_back(std::move(stop));
    throw StopParsing{};
  }
  errors_.push_back(std::move(e));
}

YAML::Node CollectingReader::keyNode(const YAML::Node& map, std::string_view key) {
  if (map.IsMap()) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) return it->first;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

void CollectingReader::keys(const YAML::Node& node, const std::string& path,
                            std::initializer_list<std::string_view> allowed) {
  if (!node.IsMap()) fail(node, path, "expected a mapping (key: value pairs)");
  std::set<std::string, std::less<>> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      errorAt(it->first, path, "keys must be plain names");
      continue;
    }
    const std::string key = it->first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string what = "unknown key";
      if (const auto hint = closest(key, allowed)) {
        what += "; did you mean \"" + *hint + "\"?";
      } else if (allowed.size() <= 10) {
        what += " (expected one of";
        for (const std::string_view a : allowed) {
          what += (a == *allowed.begin() ? " " : ", ") + std::string(a);
        }
        what += ")";
      } else {
        what += " (see docs/CONFIG.md)";
      }
      errorAt(it->first, join(path, key), what);
    } else if (!seen.insert(key).second) {
      errorAt(it->first, join(path, key), "given twice");
    }
  }
}

void CollectingReader::list(const YAML::Node& node, const std::string& path, std::size_t max_items,
                            std::string_view what) const {
  if (!node.IsSequence()) fail(node, path, "expected a list of " + std::string(what));
  if (node.size() > max_items) {
    fail(node, path, "at most " + std::to_string(max_items) + " " + std::string(what));
  }
}

std::string CollectingReader::identifier(const YAML::Node& node, const std::string& path) const {
  const std::string s = name(node, path);
  if (!isIdentifier(s)) fail(node, path, "\"" + s + "\" is not a valid name; " + kIdentifierRule);
  return s;
}

char CollectingReader::dtmfKey(const YAML::Node& node, const std::string& path) const {
  if (node.IsNull()) {
    fail(node, path, "has no value; quote the key, as in \"#\" (an unquoted # starts a comment)");
  }
  const std::string s = scalar(node, path);
  if (s.size() != 1 || !flow::isDtmfKey(s[0])) {
    fail(node, path, "expected one DTMF key (0-9, *, #, A-D), got \"" + s + "\"");
  }
  return s[0];
}

std::optional<char> CollectingReader::optionalDtmfKey(const YAML::Node& node,
                                                      const std::string& path) const {
  if (node.IsScalar() && (node.Scalar() == "none" || node.Scalar() == "off")) return std::nullopt;
  return dtmfKey(node, path);
}

}  // namespace config_detail

namespace {

using config_detail::closest;
using config_detail::CollectingReader;

constexpr std::size_t kMaxQueues = 10'000;
constexpr std::size_t kMaxAgents = 100'000;
constexpr std::size_t kMaxEntryPoints = 100'000;
constexpr std::size_t kMaxMemberships = 1'000;
constexpr std::size_t kMaxSkills = 100;
constexpr std::size_t kMaxEscalationSteps = 100;
constexpr std::size_t kMaxTrustedSources = 10'000;
constexpr std::size_t kMaxAttributes = 100;
constexpr std::size_t kMaxHttpUsers = 1'000;
constexpr std::size_t kMaxCorsOrigins = 1'000;
constexpr std::size_t kMaxPrefixes = 1'000;
constexpr std::size_t kMaxInvitations = 1'000;
constexpr std::size_t kMaxSchedule = 100;      // as a flow hours node
constexpr std::size_t kMaxClosedDates = 1'000;  // as a flow hours node
constexpr std::size_t kMaxUrlPattern = 2'048;
constexpr std::size_t kMaxInvitationMessage = 500;
constexpr Millis kDay{24 * 3'600'000};

// Characters allowed in a SIP user part as Parley uses it (extensions, called numbers).
bool isSipUser(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
           c == '+' || c == '*' || c == '#';
  });
}
constexpr const char* kSipUserRule = "use digits, letters, '.', '_', '-', '+', '*' or '#'";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool hasSpaceOrControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) ||
           std::iscntrl(static_cast<unsigned char>(c));
  });
}

bool isHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// "HH:MM" of minutes since midnight (0..1440).
std::string clockText(int minutes) {
  const auto two = [](int v) { return std::string(v < 10 ? "0" : "") + std::to_string(v); };
  return two(minutes / 60) + ":" + two(minutes % 60);
}

// Why `origin` is not a CORS origin ("*" or scheme://host[:port], no path), or empty.
std::string corsOriginProblem(std::string_view origin) {
  if (origin == "*") return {};
  const std::size_t sep = origin.find("://");
  if (sep == std::string_view::npos) return "expected scheme://host[:port] or \"*\"";
  const std::string_view scheme = origin.substr(0, sep);
  if (scheme != "http" && scheme != "https") return "the scheme must be http or https";
  std::string_view rest = origin.substr(sep + 3);
  if (const std::size_t slash = rest.find_first_of("/?#"); slash != std::string_view::npos) {
    return rest.substr(slash) == "/" ? "no path: drop the trailing /"
                                     : "an origin has no path, query or fragment";
  }
  if (rest.find('@') != std::string_view::npos) return "an origin has no user or password";
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {  // [v6]
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return "missing ']' after the IPv6 address";
    host = rest.substr(1, close - 1);
    if (host.find(':') == std::string_view::npos || !config_detail::isIpLiteral(host)) {
      return "expected an IPv6 address in brackets";
    }
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "expected ':' and a port after ']'";
      port = after.substr(1);
      if (port.empty()) return "missing port after ':'";
    }
  } else {
    const std::size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return "missing port after ':'";
    }
    if (host.empty() || host.size() > 253) return "missing host";
    const bool host_ok = std::all_of(host.begin(), host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
    });
    if (!host_ok || host.front() == '.' || host.front() == '-' || host.back() == '-' ||
        host.find("..") != std::string_view::npos) {
      return "bad host name";
    }
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
      return "the port must be 1..65535";
    }
    const int value = std::stoi(std::string(port));
    if (value < 1 || value > 65535) return "the port must be 1..65535";
  }
  return {};
}

// web::validate() of a dial guard config that differs from the defaults only in what was just
// read, without the key it names (the caller knows the key and its line); empty if fine.
std::string dialGuardProblem(const web::DialGuardConfig& probe) {
  const std::string m = web::validate(probe);
  const std::size_t colon = m.find(": ");
  return colon == std::string::npos ? m : m.substr(colon + 2);
}

// The line where a second YAML document starts (a --- after content or after another ---, or
// anything but comments after a closing ...); 0 if there is none.
int secondDocumentLine(std::string_view text) {
  bool opened = false;   // a --- opened the first document
  bool content = false;  // the first document has content
  bool closed = false;   // a ... closed it
  int line = 0;
  while (!text.empty()) {
    ++line;
    const std::size_t end = std::min(text.find('\n'), text.size());
    const std::string_view l = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const std::size_t first = l.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || l[first] == '#') continue;  // blank or comment
    const bool marker = (l.starts_with("---") || l.starts_with("...")) &&
                        (l.size() == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r');
    if (closed) return line;
    if (marker && l.starts_with("...")) {
      closed = true;
    } else if (marker) {
      if (opened || content) return line;
      opened = true;
      const std::size_t rest = l.find_first_not_of(" \t\r", 3);
      content = rest != std::string_view::npos && l[rest] != '#';
    } else if (!(l[0] == '%' && !opened && !content)) {  // directives come before a document
      content = true;
    }
  }
  return 0;
}

class ConfigParser : public CollectingReader {
 public:
  using CollectingReader::CollectingReader;

  void parse(const YAML::Node& root, Config& config);

 private:
  // Calls read(value, path) for a section that may be absent or empty (then defaults stay).
  template <typename F>
  void section(const YAML::Node& map, const std::string& path, std::string_view key, F&& read) {
    field(
        map, path, key,
        [&](const YAML::Node& n, const std::string& p) {
          if (!n.IsNull()) read(n, p);
        },
        true);
  }

  std::string text(const YAML::Node& node, const std::string& path) const {
    std::string s = name(node, path);
    if (std::any_of(s.begin(), s.end(),
                    [](char c) { return std::iscntrl(static_cast<unsigned char>(c)) != 0; })) {
      fail(node, path, "must not contain control characters");
    }
    return s;
  }

  // A path or other word without spaces, e.g. a directory.
  std::string word(const YAML::Node& node, const std::string& path) const {
    std::string s = name(node, path);
    if (hasSpaceOrControl(s)) fail(node, path, "must not contain spaces or control characters");
    return s;
  }

  std::string sipUser(const YAML::Node& node, const std::string& path, std::string_view s) const {
    if (!isSipUser(s)) fail(node, path, "\"" + std::string(s) + "\" is not valid; " + kSipUserRule);
    return std::string(s);
  }

  // A duration of at least one second and whole seconds (SIP counts expiry in seconds).
  Millis wholeSeconds(const YAML::Node& node, const std::string& path) const {
    const Millis d = duration(node, path);
    if (d < Millis{1'000} || d.count() % 1'000 != 0) {
      fail(node, path, "must be whole seconds, at least 1s");
    }
    return d;
  }

  std::optional<ListenAddress> transport(const YAML::Node& node, const std::string& path,
                                         std::uint16_t default_port) const {
    if (node.IsNull()) return std::nullopt;
    if (node.IsScalar() && (node.Scalar() == "off" || node.Scalar() == "false")) {
      return std::nullopt;
    }
    return config_detail::listenAddress(*this, node, path, default_port);
  }

  std::size_t queueRef(const YAML::Node& node, const std::string& path) const {
    return queueNamed(name(node, path), node, path);
  }
  // The index of queue `s`; errors point at `node`.
  std::size_t queueNamed(const std::string& s, const YAML::Node& node,
                         const std::string& path) const {
    const auto it = queue_index_.find(s);
    if (it != queue_index_.end()) return it->second;
    if (!queues_readable_) return 0;  // `queues` itself is broken: that is the error to show
    std::string what = "unknown queue \"" + s + "\"";
    std::vector<std::string> names;
    for (const auto& [n, i] : queue_index_) names.push_back(n);
    if (const auto hint = closest(s, names)) what += "; did you mean \"" + *hint + "\"?";
    fail(node, path, what);
  }

  engine::ExitAction exitAction(const YAML::Node& node, const std::string& path, std::size_t self);
  void sip(const YAML::Node& node, const std::string& path, SipConfig& s);
  void http(const YAML::Node& node, const std::string& path, HttpConfig& h);
  HttpUser httpUser(const YAML::Node& node, const std::string& path);
  void store(const YAML::Node& node, const std::string& path, StoreConfig& s);
  void media(const YAML::Node& node, const std::string& path, MediaConfig& m);
  void routing(const YAML::Node& node, const std::string& path, engine::EngineConfig& e);
  void queues(const YAML::Node& list, Config& config);
  QueueEntry queue(const YAML::Node& node, const std::string& path, std::size_t index);
  void agents(const YAML::Node& list, Config& config);
  AgentEntry agent(const YAML::Node& node, const std::string& path);
  void entryPoints(const YAML::Node& list, Config& config);
  EntryPoint entryPoint(const YAML::Node& node, const std::string& path);
  void crossChecks(const YAML::Node& root, const Config& config);
  CallbackPolicy callbackPolicy(const YAML::Node& node, const std::string& path);
  void callbackHours(const YAML::Node& node, const std::string& path, CallbackPolicy& policy);
  void weekdays(const YAML::Node& node, const std::string& path, std::array<bool, 7>& out) const;
  int timeOfDay(const YAML::Node& node, const std::string& path) const;
  void callbacks(const YAML::Node& node, const std::string& path, CallbacksConfig& c);
  web::RateLimit rateLimit(const YAML::Node& node, const std::string& path,
                           web::RateLimit limit, bool per_source);
  void widget(const YAML::Node& node, const std::string& path, Config& config);
  web::Invitation invitation(const YAML::Node& node, const std::string& path,
                             const Config& config);
  void callbackChecks(const YAML::Node& root, const Config& config);

  std::map<std::string, std::size_t, std::less<>> queue_index_;  // queue name -> index
  std::set<std::string, std::less<>> flow_names_;
  bool queues_readable_ = true;
  bool flows_readable_ = true;
};

void ConfigParser::parse(const YAML::Node& root, Config& config) {
  if (!root.IsDefined() || root.IsNull()) return;  // an empty file: all defaults
  keys(root, "",
       {"sip", "http", "store", "media", "routing", "queues", "agents", "entry_points", "flows",
        "callbacks", "widget"});
  section(root, "", "sip",
          [&](const YAML::Node& n, const std::string& p) { sip(n, p, config.sip); });
  section(root, "", "http",
          [&](const YAML::Node& n, const std::string& p) { http(n, p, config.http); });
  section(root, "", "store",
          [&](const YAML::Node& n, const std::string& p) { store(n, p, config.store); });
  section(root, "", "media",
          [&](const YAML::Node& n, const std::string& p) { media(n, p, config.media); });
  section(root, "", "routing",
          [&](const YAML::Node& n, const std::string& p) { routing(n, p, config.routing); });
  section(root, "", "callbacks",
          [&](const YAML::Node& n, const std::string& p) { callbacks(n, p, config.callbacks); });

  // Flow names first, so entry points can be checked before the flows are read.
  if (const YAML::Node flows = get(root, "flows"); flows.IsDefined() && !flows.IsNull()) {
    if (flows.IsMap()) {
      for (auto it = flows.begin(); it != flows.end(); ++it) {
        if (it->first.IsScalar()) flow_names_.insert(it->first.Scalar());
      }
    } else {
      flows_readable_ = false;
    }
  }
  queues(get(root, "queues"), config);
  agents(get(root, "agents"), config);
  entryPoints(get(root, "entry_points"), config);
  section(root, "", "widget",
          [&](const YAML::Node& n, const std::string& p) { widget(n, p, config); });
  section(root, "", "flows", [&](const YAML::Node& n, const std::string&) {
    config_detail::readFlows(*this, n, config);
  });
  crossChecks(root, config);
  callbackChecks(root, config);
}

void ConfigParser::sip(const YAML::Node& node, const std::string& path, SipConfig& s) {
  keys(node, path,
       {"listen", "advertised_address", "realm", "registration", "auth_failure_limit",
        "trusted_sources", "outbound_trunk"});
  section(node, path, "listen", [&](const YAML::Node& n, const std::string& p) {
    keys(n, p, {"udp", "tcp"});
    field(
        n, p, "udp",
        [&](const YAML::Node& v, const std::string& vp) { s.udp = transport(v, vp, 5060); }, true);
    field(
        n, p, "tcp",
        [&](const YAML::Node& v, const std::string& vp) { s.tcp = transport(v, vp, 5060); }, true);
    if (!s.udp && !s.tcp) errorAt(n, p, "udp and tcp are both off; SIP needs at least one");
  });
  field(node, path, "advertised_address", [&](const YAML::Node& n, const std::string& p) {
    s.advertised_address = config_detail::ipAddress(*this, n, p);
  });
  field(node, path, "realm", [&](const YAML::Node& n, const std::string& p) {
    s.realm = text(n, p);
    if (s.realm.find_first_of("\"\\") != std::string::npos) {
      fail(n, p, "must not contain '\"' or '\\' (it is sent as a quoted string)");
    }
  });
  section(node, path, "registration", [&](const YAML::Node& n, const std::string& p) {
    keys(n, p, {"min_expires", "max_expires", "default_expires", "max_contacts"});
    field(n, p, "min_expires",
          [&](const YAML::Node& v, const std::string& vp) { s.min_expires = wholeSeconds(v, vp); });
    field(n, p, "max_expires",
          [&](const YAML::Node& v, const std::string& vp) { s.max_expires = wholeSeconds(v, vp); });
    field(n, p, "default_expires", [&](const YAML::Node& v, const std::string& vp) {
      s.default_expires = wholeSeconds(v, vp);
    });
    field(n, p, "max_contacts", [&](const YAML::Node& v, const std::string& vp) {
      s.max_contacts = static_cast<int>(integer(v, vp, 1, 100));
    });
    const auto shown = [](Millis d) { return sim::formatDuration(d); };
    if (s.min_expires > s.max_expires) {
      errorAt(n, join(p, "max_expires"),
              shown(s.max_expires) + " is less than min_expires (" + shown(s.min_expires) + ")");
    } else if (s.default_expires < s.min_expires || s.default_expires > s.max_expires) {
      errorAt(n, join(p, "default_expires"),
              shown(s.default_expires) + " is not between min_expires (" + shown(s.min_expires) +
                  ") and max_expires (" + shown(s.max_expires) + ")");
    }
  });
  section(node, path, "auth_failure_limit", [&](const YAML::Node& n, const std::string& p) {
    keys(n, p, {"max_failures", "window", "block_for"});
    field(n, p, "max_failures", [&](const YAML::Node& v, const std::string& vp) {
      s.auth_max_failures = static_cast<int>(integer(v, vp, 0, 1'000'000));
    });
    field(n, p, "window", [&](const YAML::Node& v, const std::string& vp) {
      s.auth_window = positiveDuration(v, vp);
    });
    field(n, p, "block_for", [&](const YAML::Node& v, const std::string& vp) {
      s.auth_block_for = positiveDuration(v, vp);
    });
  });
  field(
      node, path, "trusted_sources",
      [&](const YAML::Node& n, const std::string& p) {
        if (n.IsNull()) return;
        list(n, p, kMaxTrustedSources, "IP addresses or networks");
        for (std::size_t i = 0; i < n.size(); ++i) {
          attempt([&] { s.trusted_sources.push_back(config_detail::cidr(*this, n[i], at(p, i))); });
        }
      },
      true);
  section(node, path, "outbound_trunk", [&](const YAML::Node& n, const std::string& p) {
    keys(n, p, {"uri", "username", "password"});
    SipTrunk trunk;
    if (!has(n, "uri")) errorAt(n, join(p, "uri"), "missing (required)");
    field(n, p, "uri", [&](const YAML::Node& v, const std::string& vp) {
      trunk.uri = word(v, vp);
      const std::string l = lower(trunk.uri);
      const std::size_t scheme = l.starts_with("sip:") ? 4 : l.starts_with("sips:") ? 5 : 0;
      if (scheme == 0 || trunk.uri.size() == scheme) {
        fail(v, vp,
             "expected a sip: or sips: URI such as sip:trunk.example.com, got \"" + trunk.uri +
                 "\"");
      }
    });
    field(n, p, "username",
          [&](const YAML::Node& v, const std::string& vp) { trunk.username = text(v, vp); });
    field(n, p, "password",
          [&](const YAML::Node& v, const std::string& vp) { trunk.password = text(v, vp); });
    if (trunk.username.empty() != trunk.password.empty()) {
      errorAt(n, p, "give username and password together (or neither)");
    }
    s.outbound_trunk = std::move(trunk);
  });
  const bool wildcard = (s.udp && s.udp->isWildcard()) || (s.tcp && s.tcp->isWildcard());
  if (wildcard && s.advertised_address.empty()) {
    errorAt(get(node, "listen"), join(path, "listen"),
            "listening on a wildcard address needs sip.advertised_address (the address phones "
            "reach Parley at)");
  }
}

void ConfigParser::http(const YAML::Node& node, const std::string& path, HttpConfig& h) {
  keys(node, path, {"listen", "users", "session_idle_timeout", "cors_origins", "ui_dir"});
  field(node, path, "listen", [&](const YAML::Node& n, const std::string& p) {
    h.listen = config_detail::listenAddress(*this, n, p, 8080);
  });
  field(node, path, "session_idle_timeout", [&](const YAML::Node& n, const std::string& p) {
    h.session_idle_timeout = positiveDuration(n, p);
  });
  field(
      node, path, "users",
      [&](const YAML::Node& n, const std::string& p) {
        if (n.IsNull()) return;
        list(n, p, kMaxHttpUsers, "users ({name, password, role})");
        std::set<std::string, std::less<>> names;
        for (std::size_t i = 0; i < n.size(); ++i) {
          attempt([&] {
            HttpUser user = httpUser(n[i], at(p, i));
            if (!names.insert(user.name).second) {
              fail(get(n[i], "name"), join(at(p, i), "name"),
                   "\"" + user.name + "\" is given twice");
            }
            h.users.push_back(std::move(user));
          });
        }
      },
      true);
  field(
      node, path, "cors_origins",
      [&](const YAML::Node& n, const std::string& p) {
        if (n.IsNull()) return;
        list(n, p, kMaxCorsOrigins, "origins (\"https://shop.example.com\" or \"*\")");
        for (std::size_t i = 0; i < n.size(); ++i) {
          attempt([&] {
            const std::string ip = at(p, i);
            const std::string origin = lower(scalar(n[i], ip));
            if (const std::string bad = corsOriginProblem(origin); !bad.empty()) {
              fail(n[i], ip, "\"" + origin + "\": " + bad);
            }
            if (std::find(h.cors_origins.begin(), h.cors_origins.end(), origin) !=
                h.cors_origins.end()) {
              fail(n[i], ip, "\"" + origin + "\" is given twice");
            }
            h.cors_origins.push_back(origin);
          });
        }
      },
      true);
  field(node, path, "ui_dir",
        [&](const YAML::Node& n, const std::string& p) { h.ui_dir = text(n, p); });
}

HttpUser ConfigParser::httpUser(const YAML::Node& node, const std::string& path) {
  requireMap(node, path, {"name", "password", "role"});
  HttpUser user;
  const YAML::Node name = required(node, path, "name");
  user.name = text(name, join(path, "name"));
  if (user.name.empty() || user.name.size() > 64 || user.name.find(':') != std::string::npos ||
      hasSpaceOrControl(user.name)) {
    fail(name, join(path, "name"), "use 1..64 characters without spaces or ':'");
  }
  const YAML::Node password = required(node, path, "password");
  user.password = text(password, join(path, "password"));
  if (user.password.empty()) fail(password, join(path, "password"), "must not be empty");
  if (user.password.starts_with("sha256:") && !web::isSha256Password(user.password)) {
    fail(password, join(path, "password"), "expected sha256: and 64 hex digits");
  }
  const YAML::Node role = required(node, path, "role");
  const std::string role_text = scalar(role, join(path, "role"));
  const auto parsed = web::parseRole(role_text);
  if (!parsed) {
    fail(role, join(path, "role"),
         "unknown role \"" + role_text + "\" (expected agent, supervisor or admin)");
  }
  user.role = *parsed;
  return user;
}

void ConfigParser::store(const YAML::Node& node, const std::string& path, StoreConfig& s) {
  keys(node, path, {"sqlite", "postgres"});
  if (has(node, "sqlite") && has(node, "postgres")) {
    errorAt(node, path, "give sqlite or postgres, not both");
  }
  field(node, path, "sqlite", [&](const YAML::Node& n, const std::string& p) {
    s.kind = StoreConfig::Kind::Sqlite;
    s.sqlite_path = text(n, p);
  });
  field(node, path, "postgres", [&](const YAML::Node& n, const std::string& p) {
    s.kind = StoreConfig::Kind::Postgres;
    s.postgres = text(n, p);
  });
}

void ConfigParser::media(const YAML::Node& node, const std::string& path, MediaConfig& m) {
  keys(node, path,
       {"rtp_address", "advertised_address", "rtp_ports", "codecs", "rtp_timeout", "recordings_dir",
        "tts", "music_on_hold", "io"});
  field(node, path, "io", [&](const YAML::Node& n, const std::string& p) {
    const std::string io = lower(scalar(n, p));
    if (io == "auto") {
      m.io = MediaConfig::Io::Auto;
    } else if (io == "io_uring") {
      m.io = MediaConfig::Io::IoUring;
    } else if (io == "epoll") {
      m.io = MediaConfig::Io::Epoll;
    } else {
      fail(n, p, "unknown value \"" + io + "\" (expected auto, io_uring or epoll)");
    }
  });
  field(node, path, "rtp_address", [&](const YAML::Node& n, const std::string& p) {
    m.rtp_address = config_detail::ipAddress(*this, n, p);
  });
  field(node, path, "advertised_address", [&](const YAML::Node& n, const std::string& p) {
    m.advertised_address = config_detail::ipAddress(*this, n, p);
  });
  field(node, path, "rtp_ports", [&](const YAML::Node& n, const std::string& p) {
    keys(n, p, {"min", "max"});
    field(n, p, "min", [&](const YAML::Node& v, const std::string& vp) {
      m.rtp_port_min = static_cast<std::uint16_t>(integer(v, vp, 1024, 65535));
    });
    field(n, p, "max", [&](const YAML::Node& v, const std::string& vp) {
      m.rtp_port_max = static_cast<std::uint16_t>(integer(v, vp, 1024, 65535));
    });
    if (m.rtp_port_max <= m.rtp_port_min) {
      errorAt(n, join(p, "max"), "must be greater than min (a range of at least two ports)");
    }
  });
  field(node, path, "codecs", [&](const YAML::Node& n, const std::string& p) {
    list(n, p, 8, "codecs");
    if (n.size() == 0) fail(n, p, "needs at least one codec (pcmu, pcma)");
    m.codecs.clear();
    for (std::size_t i = 0; i < n.size(); ++i) {
      attempt([&] {
        const std::string c = lower(scalar(n[i], at(p, i)));
        Codec codec{};
        if (c == "pcmu") {
          codec = Codec::Pcmu;
        } else if (c == "pcma") {
          codec = Codec::Pcma;
        } else {
          fail(n[i], at(p, i), "unknown codec \"" + c + "\" (expected pcmu or pcma)");
        }
        if (std::find(m.codecs.begin(), m.codecs.end(), codec) != m.codecs.end()) {
          fail(n[i], at(p, i), "listed twice");
        }
        m.codecs.push_back(codec);
      });
    }
  });
  field(node, path, "rtp_timeout",
        [&](const YAML::Node& n, const std::string& p) { m.rtp_timeout = duration(n, p); });
  field(node, path, "recordings_dir",
        [&](const YAML::Node& n, const std::string& p) { m.recordings_dir = text(n, p); });
  section(node, path, "tts", [&](const YAML::Node& n, const std::string& p) {
    keys(n, p, {"voice", "cache_dir", "words_per_minute"});
    field(n, p, "voice", [&](const YAML::Node& v, const std::string& vp) {
      m.tts_voice = word(v, vp);
      if (m.tts_voice.front() == '-') fail(v, vp, "must not start with '-'");
    });
    field(n, p, "cache_dir",
          [&](const YAML::Node& v, const std::string& vp) { m.tts_cache_dir = text(v, vp); });
    field(n, p, "words_per_minute", [&](const YAML::Node& v, const std::string& vp) {
      m.tts_words_per_minute = static_cast<int>(integer(v, vp, 80, 450));
    });
  });
  field(node, path, "music_on_hold",
        [&](const YAML::Node& n, const std::string& p) { m.music_on_hold = text(n, p); });
  if (m.advertised_address.empty() && (m.rtp_address == "0.0.0.0" || m.rtp_address == "::")) {
    errorAt(get(node, "rtp_address"), join(path, "rtp_address"),
            "a wildcard address needs media.advertised_address (the address written into SDP)");
  }
}

void ConfigParser::routing(const YAML::Node& node, const std::string& path,
                           engine::EngineConfig& e) {
  keys(node, path, {"max_consecutive_misses", "seed"});
  field(node, path, "max_consecutive_misses", [&](const YAML::Node& n, const std::string& p) {
    e.max_consecutive_misses = static_cast<int>(integer(n, p, 0, 1000));
  });
  field(node, path, "seed",
        [&](const YAML::Node& n, const std::string& p) { e.seed = unsignedInteger(n, p); });
}

engine::ExitAction ConfigParser::exitAction(const YAML::Node& node, const std::string& path,
                                            std::size_t self) {
  engine::ExitAction action;
  std::size_t target = self;
  if (node.IsMap()) {
    requireMap(node, path, {"queue"});
    action.kind = engine::ExitAction::Kind::Queue;
    target = queueRef(required(node, path, "queue"), join(path, "queue"));
  } else {
    const std::string s = scalar(node, path);
    if (s == "hangup" || s == "hang-up") {
      action.kind = engine::ExitAction::Kind::HangUp;
    } else if (s == "voicemail") {
      action.kind = engine::ExitAction::Kind::Voicemail;
    } else if (s == "callback") {
      action.kind = engine::ExitAction::Kind::CallbackOffer;
    } else if (s.starts_with("queue:")) {
      action.kind = engine::ExitAction::Kind::Queue;
      std::string name = s.substr(6);
      name.erase(0, name.find_first_not_of(' '));
      if (name.empty()) fail(node, path, "missing the queue name after \"queue:\"");
      target = queueNamed(name, node, path);
    } else {
      fail(node, path,
           "unknown exit action \"" + s +
               "\" (expected hangup, voicemail, callback, queue:NAME or {queue: NAME})");
    }
  }
  if (action.kind == engine::ExitAction::Kind::Queue) {
    if (target == self) fail(node, path, "a queue cannot exit into itself");
    action.target = engine::QueueId{static_cast<std::uint32_t>(target)};
  }
  return action;
}

void ConfigParser::queues(const YAML::Node& node, Config& config) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!attempt([&] { list(node, "queues", kMaxQueues, "queues"); })) {
    queues_readable_ = false;
    return;
  }
  // Names first, so that exits, escalation and agents may name queues listed later.
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node n = get(node[i], "name");
    if (!n.IsScalar()) continue;  // reported when the queue is read
    const auto [it, added] = queue_index_.emplace(n.Scalar(), i);
    if (!added) {
      errorAt(n, join(at("queues", i), "name"),
              "duplicate queue name \"" + n.Scalar() + "\" (also queues[" +
                  std::to_string(it->second) + "])");
    }
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    QueueEntry entry;
    attempt([&] { entry = queue(node[i], at("queues", i), i); });
    config.queues.push_back(std::move(entry));
  }
}

QueueEntry ConfigParser::queue(const YAML::Node& node, const std::string& path, std::size_t index) {
  keys(node, path,
       {"name", "strategy", "sl_seconds", "short_abandon", "wrap_up", "offer_timeout",
        "retry_other_agent_for", "abandon_resume_window", "max_wait", "on_max_wait", "max_length",
        "on_max_length", "escalation", "music", "announce_every", "announce_position",
        "announce_wait", "callback_key", "record", "callbacks"});
  QueueEntry q;
  engine::QueueConfig& r = q.routing;
  if (!has(node, "name")) errorAt(node, join(path, "name"), "missing (required)");
  field(node, path, "name",
        [&](const YAML::Node& n, const std::string& p) { r.name = identifier(n, p); });
  field(node, path, "strategy", [&](const YAML::Node& n, const std::string& p) {
    const std::string s = scalar(n, p);
    if (!engine::parseStrategy(s, r.strategy)) {
      std::string what = "unknown strategy \"" + s + "\" (expected one of ";
      for (int i = 0; i <= static_cast<int>(engine::Strategy::SkillsBestMatch); ++i) {
        what += (i ? ", " : "") + std::string(engine::toString(static_cast<engine::Strategy>(i)));
      }
      fail(n, p, what + ")");
    }
  });
  field(node, path, "sl_seconds", [&](const YAML::Node& n, const std::string& p) {
    r.service_level_threshold = duration(n, p);
  });
  field(node, path, "short_abandon", [&](const YAML::Node& n, const std::string& p) {
    r.short_abandon_threshold = duration(n, p);
  });
  field(node, path, "wrap_up",
        [&](const YAML::Node& n, const std::string& p) { r.wrap_up = duration(n, p); });
  field(node, path, "offer_timeout", [&](const YAML::Node& n, const std::string& p) {
    r.offer_timeout = positiveDuration(n, p);
  });
  field(node, path, "retry_other_agent_for", [&](const YAML::Node& n, const std::string& p) {
    r.retry_other_agent_for = duration(n, p);
  });
  field(node, path, "abandon_resume_window", [&](const YAML::Node& n, const std::string& p) {
    r.abandon_resume_window = duration(n, p);
  });
  field(node, path, "max_wait",
        [&](const YAML::Node& n, const std::string& p) { r.max_wait = positiveDuration(n, p); });
  field(node, path, "on_max_wait", [&](const YAML::Node& n, const std::string& p) {
    r.on_max_wait = exitAction(n, p, index);
    if (!has(node, "max_wait")) warnAt(n, p, "has no effect without max_wait");
  });
  field(node, path, "max_length", [&](const YAML::Node& n, const std::string& p) {
    r.max_length = static_cast<std::size_t>(integer(n, p, 1, 1'000'000));
  });
  field(node, path, "on_max_length", [&](const YAML::Node& n, const std::string& p) {
    r.on_max_length = exitAction(n, p, index);
    if (!has(node, "max_length")) warnAt(n, p, "has no effect without max_length");
  });
  field(node, path, "escalation", [&](const YAML::Node& n, const std::string& p) {
    list(n, p, kMaxEscalationSteps, "escalation steps");
    for (std::size_t i = 0; i < n.size(); ++i) {
      const YAML::Node step_node = n[i];
      const std::string sp = at(p, i);
      attempt([&] {
        keys(step_node, sp, {"after", "relax_level_to", "add_queue"});
        engine::EscalationStep step;
        step.after = duration(required(step_node, sp, "after"), join(sp, "after"));
        if (!r.escalation.empty() && step.after < r.escalation.back().after) {
          fail(get(step_node, "after"), join(sp, "after"), "steps must be in order of `after`");
        }
        field(step_node, sp, "relax_level_to", [&](const YAML::Node& v, const std::string& vp) {
          step.relax_level_to = static_cast<int>(integer(v, vp, 1, 5));
        });
        field(step_node, sp, "add_queue", [&](const YAML::Node& v, const std::string& vp) {
          const std::size_t target = queueRef(v, vp);
          if (target == index) fail(v, vp, "a queue cannot add itself");
          step.add_queue = engine::QueueId{static_cast<std::uint32_t>(target)};
        });
        if (!has(step_node, "relax_level_to") && !has(step_node, "add_queue")) {
          fail(step_node, sp, "a step needs relax_level_to or add_queue");
        }
        r.escalation.push_back(step);
      });
    }
  });
  field(node, path, "music",
        [&](const YAML::Node& n, const std::string& p) { q.music = text(n, p); });
  field(node, path, "announce_every",
        [&](const YAML::Node& n, const std::string& p) { q.announce_every = duration(n, p); });
  field(node, path, "announce_position",
        [&](const YAML::Node& n, const std::string& p) { q.announce_position = boolean(n, p); });
  field(node, path, "announce_wait",
        [&](const YAML::Node& n, const std::string& p) { q.announce_wait = boolean(n, p); });
  field(
      node, path, "callback_key",
      [&](const YAML::Node& n, const std::string& p) { q.callback_key = optionalDtmfKey(n, p); },
      true);
  field(node, path, "record",
        [&](const YAML::Node& n, const std::string& p) { q.record = boolean(n, p); });
  // `callbacks:` with no value takes callbacks with every default.
  field(
      node, path, "callbacks",
      [&](const YAML::Node& n, const std::string& p) { q.callbacks = callbackPolicy(n, p); },
      true);
  return q;
}

CallbackPolicy ConfigParser::callbackPolicy(const YAML::Node& node, const std::string& path) {
  CallbackPolicy c;
  c.enabled = true;
  if (node.IsNull()) return c;
  keys(node, path,
       {"enabled", "order", "max_attempts", "retry_after", "customer_ring", "priority",
        "scheduled_priority", "hours", "slot_length", "slot_capacity", "horizon_days",
        "min_lead", "max_open"});
  field(node, path, "enabled",
        [&](const YAML::Node& n, const std::string& p) { c.enabled = boolean(n, p); });
  field(node, path, "order", [&](const YAML::Node& n, const std::string& p) {
    const std::string s = scalar(n, p);
    if (s == "agent-first") {
      c.customer_first = false;
    } else if (s == "customer-first") {
      c.customer_first = true;
    } else {
      fail(n, p, "unknown order \"" + s + "\" (expected agent-first or customer-first)");
    }
  });
  field(node, path, "max_attempts", [&](const YAML::Node& n, const std::string& p) {
    c.max_attempts = static_cast<int>(integer(n, p, 1, 10));
  });
  field(node, path, "retry_after", [&](const YAML::Node& n, const std::string& p) {
    c.retry_after = duration(n, p);
    if (c.retry_after < Millis{30'000} || c.retry_after > kDay) {
      fail(n, p, "must be 30s..24h, got " + sim::formatDuration(c.retry_after));
    }
  });
  field(node, path, "customer_ring", [&](const YAML::Node& n, const std::string& p) {
    c.customer_ring = duration(n, p);
    if (c.customer_ring < Millis{5'000} || c.customer_ring > Millis{120'000}) {
      fail(n, p, "must be 5s..120s, got " + sim::formatDuration(c.customer_ring));
    }
  });
  field(node, path, "priority", [&](const YAML::Node& n, const std::string& p) {
    c.priority = static_cast<int>(integer(n, p, -1'000'000, 1'000'000));
  });
  field(node, path, "scheduled_priority", [&](const YAML::Node& n, const std::string& p) {
    c.scheduled_priority = static_cast<int>(integer(n, p, -1'000'000, 1'000'000));
  });
  section(node, path, "hours",
          [&](const YAML::Node& n, const std::string& p) { callbackHours(n, p, c); });
  field(node, path, "slot_length", [&](const YAML::Node& n, const std::string& p) {
    c.slot_length = duration(n, p);
    if (c.slot_length < Millis{5 * 60'000} || c.slot_length > kDay ||
        kDay.count() % c.slot_length.count() != 0) {
      fail(n, p,
           "must be at least 5m and divide 24h (such as 5m, 10m, 15m, 30m, 1h), got " +
               sim::formatDuration(c.slot_length));
    }
  });
  field(node, path, "slot_capacity", [&](const YAML::Node& n, const std::string& p) {
    c.slot_capacity = static_cast<int>(integer(n, p, 0, 100'000));
  });
  field(node, path, "horizon_days", [&](const YAML::Node& n, const std::string& p) {
    c.horizon_days = static_cast<int>(integer(n, p, 1, 60));
  });
  field(node, path, "min_lead", [&](const YAML::Node& n, const std::string& p) {
    c.min_lead = duration(n, p);
    if (c.min_lead < Millis{0} || c.min_lead > 60 * kDay) {
      fail(n, p, "must be 0..60d, got " + sim::formatDuration(c.min_lead));
    }
  });
  field(node, path, "max_open", [&](const YAML::Node& n, const std::string& p) {
    c.max_open = static_cast<std::size_t>(integer(n, p, 1, 10'000'000));
  });
  if (c.slot_capacity > 0 && c.min_lead >= c.horizon_days * kDay) {
    errorAt(get(node, "min_lead"), join(path, "min_lead"),
            "is not less than horizon_days (" + std::to_string(c.horizon_days) +
                " days): no slot could ever be booked");
  }
  return c;
}

// The fields of a flow hours node (config_flows.cpp reads those inside its FlowReader, which
// this file cannot reach), with the same checks as flow::validateFlow() makes of them.
void ConfigParser::callbackHours(const YAML::Node& node, const std::string& path,
                                 CallbackPolicy& policy) {
  keys(node, path, {"schedule", "closed_dates"});
  if (!has(node, "schedule")) {
    errorAt(node, join(path, "schedule"),
            "missing: give opening ranges, or leave out hours to take callbacks at any time");
  }
  field(node, path, "schedule", [&](const YAML::Node& list_node, const std::string& p) {
    list(list_node, p, kMaxSchedule, "opening ranges {days, from, to}");
    if (list_node.size() == 0) fail(list_node, p, "needs at least one opening range");
    for (std::size_t i = 0; i < list_node.size(); ++i) {
      const std::string rp = at(p, i);
      attempt([&] {
        const YAML::Node item = list_node[i];
        keys(item, rp, {"days", "from", "to"});
        for (const std::string_view k : {"days", "from", "to"}) {
          if (!has(item, k)) errorAt(item, join(rp, k), "missing (required)");
        }
        flow::OpenRange range;
        bool from_ok = false;
        bool to_ok = false;
        field(item, rp, "days", [&](const YAML::Node& d, const std::string& dp) {
          if (d.IsSequence()) {
            list(d, dp, 7, "days");
            for (std::size_t k = 0; k < d.size(); ++k) {
              attempt([&] { weekdays(d[k], at(dp, k), range.days); });
            }
          } else {
            weekdays(d, dp, range.days);
          }
        });
        field(item, rp, "from", [&](const YAML::Node& v, const std::string& vp) {
          range.from_minute = timeOfDay(v, vp);
          if (range.from_minute >= 1440) fail(v, vp, "must be 00:00..23:59");
          from_ok = true;
        });
        field(item, rp, "to", [&](const YAML::Node& v, const std::string& vp) {
          range.to_minute = timeOfDay(v, vp);
          if (range.to_minute == 0) fail(v, vp, "must be 00:01..24:00");
          to_ok = true;
        });
        if (from_ok && to_ok && range.from_minute >= range.to_minute) {
          errorAt(get(item, "to"), join(rp, "to"),
                  "must be after from (split an overnight opening into two ranges)");
        }
        policy.schedule.push_back(range);
      });
    }
  });
  field(node, path, "closed_dates", [&](const YAML::Node& list_node, const std::string& p) {
    list(list_node, p, kMaxClosedDates, "dates");
    for (std::size_t i = 0; i < list_node.size(); ++i) {
      attempt([&] {
        const std::string s = scalar(list_node[i], at(p, i));
        const auto date = flow::parseDate(s);
        if (!date) fail(list_node[i], at(p, i), "expected a date YYYY-MM-DD, got \"" + s + "\"");
        policy.closed_dates.push_back(*date);
      });
    }
  });
}

// "mon", "monday", or a range "mon-fri" (wrapping: "sat-sun", "fri-mon"), as in flow hours.
void ConfigParser::weekdays(const YAML::Node& node, const std::string& path,
                            std::array<bool, 7>& out) const {
  const std::string s = scalar(node, path);
  const std::size_t dash = s.find('-');
  const auto first = flow::parseWeekday(s.substr(0, dash));
  const auto last = dash == std::string::npos ? first : flow::parseWeekday(s.substr(dash + 1));
  if (!first || !last) {
    fail(node, path, "expected a day (mon..sun) or a range such as mon-fri, got \"" + s + "\"");
  }
  for (auto d = static_cast<std::size_t>(*first);; d = (d + 1) % 7) {
    out[d] = true;
    if (d == static_cast<std::size_t>(*last)) break;
  }
}

int ConfigParser::timeOfDay(const YAML::Node& node, const std::string& path) const {
  const std::string s = scalar(node, path);
  const auto t = flow::parseTimeOfDay(s);
  if (!t) fail(node, path, "expected a time HH:MM (00:00..24:00), got \"" + s + "\"");
  return *t;
}

void ConfigParser::callbacks(const YAML::Node& node, const std::string& path,
                             CallbacksConfig& c) {
  keys(node, path,
       {"caller_id", "country_code", "national_prefix", "allowed_prefixes", "denied_prefixes",
        "rate_limit"});
  web::DialGuardConfig& g = c.dial_guard;
  const std::size_t errors_before = errors().size();
  field(node, path, "caller_id", [&](const YAML::Node& n, const std::string& p) {
    c.caller_id = sipUser(n, p, scalar(n, p));
  });
  // Each key is checked by web::validate() on its own, so an error points at its line.
  field(node, path, "country_code", [&](const YAML::Node& n, const std::string& p) {
    web::DialGuardConfig probe;
    probe.country_code = scalar(n, p);
    if (const std::string bad = dialGuardProblem(probe); !bad.empty()) fail(n, p, bad);
    g.country_code = probe.country_code;
  });
  // `national_prefix:` with no value (or "") means every number without "+" is national.
  field(
      node, path, "national_prefix",
      [&](const YAML::Node& n, const std::string& p) {
        web::DialGuardConfig probe;
        probe.national_prefix = n.IsNull() ? std::string() : scalar(n, p);
        if (const std::string bad = dialGuardProblem(probe); !bad.empty()) fail(n, p, bad);
        g.national_prefix = probe.national_prefix;
      },
      true);
  for (const std::string_view key : {"allowed_prefixes", "denied_prefixes"}) {
    std::vector<std::string>& out =
        key == "allowed_prefixes" ? g.allowed_prefixes : g.denied_prefixes;
    field(
        node, path, key,
        [&](const YAML::Node& n, const std::string& p) {
          if (n.IsNull()) return;
          list(n, p, kMaxPrefixes, "E.164 prefixes such as \"+44\"");
          for (std::size_t i = 0; i < n.size(); ++i) {
            attempt([&] {
              web::DialGuardConfig probe;
              probe.allowed_prefixes.push_back(scalar(n[i], at(p, i)));
              if (const std::string bad = dialGuardProblem(probe); !bad.empty()) {
                fail(n[i], at(p, i), bad);
              }
              out.push_back(probe.allowed_prefixes.front());
            });
          }
        },
        true);
  }
  section(node, path, "rate_limit", [&](const YAML::Node& n, const std::string& p) {
    keys(n, p, {"per_source", "per_number"});
    section(n, p, "per_source", [&](const YAML::Node& v, const std::string& vp) {
      g.per_source = rateLimit(v, vp, g.per_source, true);
    });
    section(n, p, "per_number", [&](const YAML::Node& v, const std::string& vp) {
      g.per_number = rateLimit(v, vp, g.per_number, false);
    });
  });
  // Anything the per-key checks above did not cover (a rule added to web::validate() later).
  if (const std::string bad = web::validate(g); !bad.empty() && errors().size() == errors_before) {
    errorAt(node, path, bad);
  }
}

// {max: N, window: DURATION}; N 0 turns the limit off.
web::RateLimit ConfigParser::rateLimit(const YAML::Node& node, const std::string& path,
                                       web::RateLimit limit, bool per_source) {
  keys(node, path, {"max", "window"});
  const auto check = [&](web::RateLimit candidate, const YAML::Node& at_node,
                         const std::string& at_path) {
    web::DialGuardConfig probe;
    (per_source ? probe.per_source : probe.per_number) = candidate;
    if (const std::string bad = dialGuardProblem(probe); !bad.empty()) {
      fail(at_node, at_path, bad);
    }
  };
  // Each key is checked with the other one valid, so the error names the key at fault.
  field(node, path, "max", [&](const YAML::Node& n, const std::string& p) {
    const int max = static_cast<int>(integer(n, p, 0, 1'000'000'000));
    check({max, std::chrono::seconds(1)}, n, p);
    limit.max_requests = max;
  });
  field(node, path, "window", [&](const YAML::Node& n, const std::string& p) {
    const auto window = std::chrono::duration_cast<std::chrono::seconds>(wholeSeconds(n, p));
    check({1, window}, n, p);
    limit.window = window;
  });
  return limit;
}

void ConfigParser::widget(const YAML::Node& node, const std::string& path, Config& config) {
  keys(node, path, {"invitations"});
  field(
      node, path, "invitations",
      [&](const YAML::Node& n, const std::string& p) {
        if (n.IsNull()) return;
        list(n, p, kMaxInvitations, "invitations {url, after, from, to, message, queue}");
        for (std::size_t i = 0; i < n.size(); ++i) {
          attempt([&] {
            config.widget.invitations.push_back(invitation(n[i], at(p, i), config));
          });
        }
      },
      true);
}

web::Invitation ConfigParser::invitation(const YAML::Node& node, const std::string& path,
                                         const Config& config) {
  keys(node, path, {"url", "after", "from", "to", "message", "queue"});
  web::Invitation inv;
  if (!has(node, "message")) errorAt(node, join(path, "message"), "missing (required)");
  field(node, path, "url", [&](const YAML::Node& n, const std::string& p) {
    inv.url = text(n, p);
    if (inv.url.size() > kMaxUrlPattern) {
      fail(n, p, "at most " + std::to_string(kMaxUrlPattern) + " characters");
    }
  });
  field(node, path, "after", [&](const YAML::Node& n, const std::string& p) {
    const Millis d = duration(n, p);
    if (d < Millis{0} || d > kDay || d.count() % 1'000 != 0) {
      fail(n, p, "must be whole seconds, 0..24h");
    }
    inv.after_s = static_cast<int>(d.count() / 1'000);
  });
  int from = 0;
  int to = 1440;
  field(node, path, "from", [&](const YAML::Node& n, const std::string& p) {
    from = timeOfDay(n, p);
    if (from >= 1440) fail(n, p, "must be 00:00..23:59");
    inv.from = clockText(from);
  });
  field(node, path, "to", [&](const YAML::Node& n, const std::string& p) {
    to = timeOfDay(n, p);
    // The widget reads equal bounds as an empty window; to < from wraps past midnight.
    if (to == from) fail(n, p, "equals from: the invitation would never show");
    inv.to = clockText(to);
  });
  field(node, path, "message", [&](const YAML::Node& n, const std::string& p) {
    inv.message = text(n, p);
    if (inv.message.size() > kMaxInvitationMessage) {
      fail(n, p, "at most " + std::to_string(kMaxInvitationMessage) + " characters");
    }
  });
  field(node, path, "queue", [&](const YAML::Node& n, const std::string& p) {
    const std::size_t q = queueRef(n, p);
    inv.queue = name(n, p);
    if (q < config.queues.size() && config.queues[q].routing.name == inv.queue &&
        !config.queues[q].takesCallbacks()) {
      fail(n, p,
           "queue \"" + inv.queue +
               "\" takes no callbacks (give it a callbacks block): an invitation offers one");
    }
  });
  return inv;
}

void ConfigParser::callbackChecks(const YAML::Node& root, const Config& config) {
  if (config.sip.outbound_trunk) return;
  const YAML::Node queue_nodes = get(root, "queues");
  for (std::size_t q = 0; q < config.queues.size(); ++q) {
    if (!config.queues[q].takesCallbacks()) continue;
    errorAt(keyNode(queue_nodes[q], "callbacks"), join(at("queues", q), "callbacks"),
            "needs sip.outbound_trunk: callbacks dial customers through the outbound trunk");
  }
}

void ConfigParser::agents(const YAML::Node& node, Config& config) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!attempt([&] { list(node, "agents", kMaxAgents, "agents"); })) return;
  std::map<std::string, std::size_t, std::less<>> extensions;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string path = at("agents", i);
    AgentEntry entry;
    // A broken agent is kept (with what could be read) so indices match the file's.
    attempt([&] { entry = agent(node[i], path); });
    if (!entry.extension.empty()) {
      const auto [it, added] = extensions.emplace(entry.extension, i);
      if (!added) {
        errorAt(get(node[i], "extension"), join(path, "extension"),
                "duplicate extension \"" + entry.extension + "\" (also agents[" +
                    std::to_string(it->second) + "])");
      }
    }
    config.agents.push_back(std::move(entry));
  }
}

AgentEntry ConfigParser::agent(const YAML::Node& node, const std::string& path) {
  keys(node, path,
       {"extension", "name", "password", "ha1", "skills", "queues", "capacity",
        "available_on_register"});
  AgentEntry a;
  if (!has(node, "extension")) errorAt(node, join(path, "extension"), "missing (required)");
  field(node, path, "extension", [&](const YAML::Node& n, const std::string& p) {
    a.extension = sipUser(n, p, scalar(n, p));
  });
  field(node, path, "name",
        [&](const YAML::Node& n, const std::string& p) { a.display_name = text(n, p); });
  if (a.display_name.empty()) a.display_name = a.extension;
  field(node, path, "password",
        [&](const YAML::Node& n, const std::string& p) { a.password = text(n, p); });
  field(node, path, "ha1", [&](const YAML::Node& n, const std::string& p) {
    const std::string h = scalar(n, p);
    if (h.size() != 32 || !isHex(h)) {
      fail(n, p, "expected 32 hex digits: md5(\"<extension>:<realm>:<password>\")");
    }
    a.ha1 = lower(h);
  });
  if (has(node, "password") && has(node, "ha1")) {
    errorAt(get(node, "ha1"), join(path, "ha1"), "give password or ha1, not both");
  } else if (!has(node, "password") && !has(node, "ha1")) {
    errorAt(node, join(path, "password"), "missing: an agent needs a password or an ha1");
  }
  field(node, path, "skills", [&](const YAML::Node& n, const std::string& p) {
    if (!n.IsMap()) fail(n, p, "expected a mapping of skill name to level, e.g. {english: 3}");
    if (n.size() > kMaxSkills) fail(n, p, "at most " + std::to_string(kMaxSkills) + " skills");
    std::set<std::string, std::less<>> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      attempt([&] {
        const std::string skill = identifier(it->first, p);
        const std::string sp = join(p, skill);
        if (!seen.insert(skill).second) fail(it->first, sp, "given twice");
        a.skills.push_back({skill, static_cast<int>(integer(it->second, sp, 1, 5))});
      });
    }
  });
  field(node, path, "queues", [&](const YAML::Node& n, const std::string& p) {
    list(n, p, kMaxMemberships, "queue names or {queue, penalty}");
    std::set<std::size_t> seen;
    for (std::size_t i = 0; i < n.size(); ++i) {
      const YAML::Node m = n[i];
      const std::string mp = at(p, i);
      attempt([&] {
        engine::Membership membership;
        std::size_t queue = 0;
        if (m.IsMap()) {
          requireMap(m, mp, {"queue", "penalty"});
          queue = queueRef(required(m, mp, "queue"), join(mp, "queue"));
          if (const YAML::Node pen = get(m, "penalty"); pen.IsDefined()) {
            membership.penalty = static_cast<int>(integer(pen, join(mp, "penalty"), 0, 1000));
          }
        } else {
          queue = queueRef(m, mp);
        }
        if (!seen.insert(queue).second) fail(m, mp, "queue listed twice");
        membership.queue = engine::QueueId{static_cast<std::uint32_t>(queue)};
        a.queues.push_back(membership);
      });
    }
  });
  field(node, path, "capacity",
        [&](const YAML::Node& n, const std::string& p) { a.capacity = capacity(n, p); });
  field(node, path, "available_on_register", [&](const YAML::Node& n, const std::string& p) {
    a.available_on_register = boolean(n, p);
  });
  return a;
}

void ConfigParser::entryPoints(const YAML::Node& node, Config& config) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!attempt([&] { list(node, "entry_points", kMaxEntryPoints, "entry points"); })) return;
  std::map<std::pair<std::string, std::string>, std::size_t> seen;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string path = at("entry_points", i);
    EntryPoint entry;
    if (!attempt([&] { entry = entryPoint(node[i], path); })) continue;
    if (entry.user.empty()) continue;  // reported
    const auto [it, added] = seen.emplace(std::pair(entry.user, entry.host), i);
    if (!added) {
      errorAt(get(node[i], "called"), join(path, "called"),
              "\"" + entry.called + "\" is already an entry point (entry_points[" +
                  std::to_string(it->second) + "])");
    }
    config.entry_points.push_back(std::move(entry));
  }
}

EntryPoint ConfigParser::entryPoint(const YAML::Node& node, const std::string& path) {
  keys(node, path, {"called", "flow", "set"});
  EntryPoint e;
  if (!has(node, "called")) errorAt(node, join(path, "called"), "missing (required)");
  field(node, path, "called", [&](const YAML::Node& n, const std::string& p) {
    const std::string s = scalar(n, p);
    const std::string l = lower(s);
    const std::size_t scheme = l.starts_with("sip:") ? 4 : l.starts_with("sips:") ? 5 : 0;
    if (scheme == 0) {
      e.user = sipUser(n, p, s);
    } else {
      // sip:user@host[:port][;params][?headers]
      std::string_view rest = std::string_view(s).substr(scheme);
      rest = rest.substr(0, rest.find_first_of(";?"));
      const std::size_t atsign = rest.find('@');
      if (atsign == std::string_view::npos || atsign == 0 || atsign + 1 == rest.size()) {
        fail(n, p,
             "expected a number such as \"100\" or a URI such as sip:100@127.0.0.1, got \"" + s +
                 "\"");
      }
      e.user = sipUser(n, p, rest.substr(0, atsign));
      std::string_view host = rest.substr(atsign + 1);
      if (host.front() == '[') {
        host = host.substr(
            0, host.find(']') == std::string_view::npos ? host.size() : host.find(']') + 1);
      } else {
        host = host.substr(0, host.find(':'));
      }
      if (host.empty() || hasSpaceOrControl(host)) fail(n, p, "bad host in \"" + s + "\"");
      e.host = lower(host);
    }
    e.called = s;
  });
  if (!has(node, "flow")) errorAt(node, join(path, "flow"), "missing (required)");
  field(node, path, "flow", [&](const YAML::Node& n, const std::string& p) {
    e.flow = name(n, p);
    if (flows_readable_ && !flow_names_.contains(e.flow)) {
      std::string what = "unknown flow \"" + e.flow + "\"";
      if (const auto hint = closest(e.flow, flow_names_))
        what += "; did you mean \"" + *hint + "\"?";
      fail(n, p, what);
    }
  });
  field(node, path, "set", [&](const YAML::Node& n, const std::string& p) {
    if (!n.IsMap()) fail(n, p, "expected a mapping of attribute to value, e.g. {campaign: spring}");
    if (n.size() > kMaxAttributes) {
      fail(n, p, "at most " + std::to_string(kMaxAttributes) + " attributes");
    }
    std::set<std::string, std::less<>> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      attempt([&] {
        const std::string attribute = identifier(it->first, p);
        const std::string ap = join(p, attribute);
        if (!seen.insert(attribute).second) fail(it->first, ap, "given twice");
        e.attributes.push_back({attribute, scalar(it->second, ap)});
      });
    }
  });
  return e;
}

void ConfigParser::crossChecks(const YAML::Node& root, const Config& config) {
  // A called number that is also an extension would make calls to that agent ambiguous.
  std::map<std::string_view, std::size_t> extensions;  // extension -> agent index
  for (std::size_t a = 0; a < config.agents.size(); ++a) {
    extensions.emplace(config.agents[a].extension, a);
  }
  const YAML::Node entry_nodes = get(root, "entry_points");
  for (const EntryPoint& e : config.entry_points) {
    const auto agent = extensions.find(e.user);
    if (agent == extensions.end()) continue;
    // Entry points that failed to parse are skipped, so find this one's node by its text.
    YAML::Node where = entry_nodes;
    std::string path = "entry_points";
    for (std::size_t k = 0; entry_nodes.IsSequence() && k < entry_nodes.size(); ++k) {
      const YAML::Node c = get(entry_nodes[k], "called");
      if (c.IsScalar() && c.Scalar() == e.called) {
        where.reset(c);  // rebind; `where = c` would overwrite the document's node
        path = join(at("entry_points", k), "called");
        break;
      }
    }
    errorAt(where, path,
            "\"" + e.user + "\" is also the extension of an agent (agents[" +
                std::to_string(agent->second) + "])");
  }
  // Likely mistakes that still leave a working server.
  std::vector<bool> staffed(config.queues.size(), false);
  for (const AgentEntry& a : config.agents) {
    for (const engine::Membership& m : a.queues) {
      if (engine::index(m.queue) < staffed.size()) staffed[engine::index(m.queue)] = true;
    }
  }
  const YAML::Node queue_nodes = get(root, "queues");
  for (std::size_t q = 0; q < config.queues.size(); ++q) {
    if (staffed[q] || config.queues[q].routing.name.empty()) continue;
    warnAt(get(queue_nodes[q], "name"), join(at("queues", q), "name"),
           "no agent is a member of queue \"" + config.queues[q].routing.name + "\"");
  }
  std::set<std::string_view> started;
  for (const EntryPoint& e : config.entry_points) started.insert(e.flow);
  const YAML::Node flow_nodes = get(root, "flows");
  for (const flow::Flow& f : config.flows) {
    if (!started.contains(f.name)) {
      warnAt(get(flow_nodes, f.name), join("flows", f.name), "no entry point starts this flow");
    }
  }
}

}  // namespace

std::string_view toString(Codec c) {
  return c == Codec::Pcmu ? "pcmu" : "pcma";
}

const QueueEntry* Config::findQueue(std::string_view name) const {
  for (const QueueEntry& q : queues) {
    if (q.routing.name == name) return &q;
  }
  return nullptr;
}

const AgentEntry* Config::findAgent(std::string_view extension) const {
  for (const AgentEntry& a : agents) {
    if (a.extension == extension) return &a;
  }
  return nullptr;
}

const flow::Flow* Config::findFlow(std::string_view name) const {
  for (const flow::Flow& f : flows) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const EntryPoint* Config::findEntryPoint(std::string_view user, std::string_view host) const {
  std::string h = lower(host);
  if (!h.empty() && h.front() == '[') {
    h = h.substr(0, h.find(']') == std::string::npos ? h.size() : h.find(']') + 1);
  } else {
    h = h.substr(0, h.find(':'));
  }
  const EntryPoint* any_host = nullptr;
  for (const EntryPoint& e : entry_points) {
    if (e.user != user) continue;
    if (e.host == h) return &e;
    if (e.host.empty() && any_host == nullptr) any_host = &e;
  }
  return any_host;
}

ConfigParse parseConfig(std::string_view yaml_text, std::string_view label) {
  ConfigParse out;
  ConfigParser parser(label);
  if (yaml_text.size() > kMaxConfigBytes) {
    out.errors.push_back(
        parser.error(YAML::Node(), "",
                     "file too large (at most " + std::to_string(kMaxConfigBytes >> 20) + " MiB)"));
    return out;
  }
  Config config;
  try {
    // YAML::LoadAll would find a second document, but yaml-cpp 0.7 loops without end (and
    // without bound on memory) on some inputs, such as a lone ",": look for the marker instead.
    if (const int line = secondDocumentLine(yaml_text); line > 0) {
      ConfigError e;
      e.line = line;
      e.message = "only one YAML document is allowed (remove the second ---)";
      e.text = std::string(label) + ":" + std::to_string(line) + ": " + e.message;
      parser.record(std::move(e));
    }
    parser.parse(YAML::Load(std::string(yaml_text)), config);
  } catch (const config_detail::StopParsing&) {
    // The last error says so.
  } catch (const sim::YamlError& e) {
    parser.errors().push_back(e);
  } catch (const YAML::Exception& e) {
    parser.errors().push_back(sim::yamlExceptionError(label, e));
  } catch (const std::exception& e) {
    parser.errors().push_back(parser.error(YAML::Node(), "", e.what()));
  }
  out.errors = std::move(parser.errors());
  // With errors, warnings are mostly their echoes (a flow no entry point starts because the
  // entry point's flow name is misspelt): show them once the errors are fixed.
  if (out.errors.empty()) {
    out.warnings = std::move(parser.warnings());
    out.config = std::move(config);
  }
  return out;
}

EngineIds addToEngine(const Config& config, engine::Engine& engine) {
  EngineIds ids;
  const auto base = static_cast<std::uint32_t>(engine.queueCount());
  // Queue ids are dense indices handed out in order (engine/types.h), so the queue at index i of
  // the config becomes base + i even before it is added; exits may point forward.
  const auto id = [base](engine::QueueId index) {
    return engine::QueueId{base + engine::index(index)};
  };
  for (const QueueEntry& q : config.queues) {
    engine::QueueConfig routing = q.routing;
    if (routing.on_max_wait.kind == engine::ExitAction::Kind::Queue) {
      routing.on_max_wait.target = id(routing.on_max_wait.target);
    }
    if (routing.on_max_length.kind == engine::ExitAction::Kind::Queue) {
      routing.on_max_length.target = id(routing.on_max_length.target);
    }
    for (engine::EscalationStep& step : routing.escalation) {
      if (step.add_queue) step.add_queue = id(*step.add_queue);
    }
    const engine::QueueId added = engine.addQueue(std::move(routing));
    assert(engine::index(added) == base + ids.queues.size());  // dense ids, see above
    ids.queues.push_back(added);
  }
  for (const AgentEntry& a : config.agents) {
    engine::AgentConfig agent;
    agent.name = a.extension;
    agent.capacity = a.capacity;
    for (const NamedSkill& s : a.skills)
      agent.skills.push_back({engine.internSkill(s.name), s.level});
    for (const engine::Membership& m : a.queues) {
      agent.queues.push_back({ids.queues[engine::index(m.queue)], m.penalty});
    }
    ids.agents.push_back(engine.addAgent(std::move(agent)));
  }
  for (const flow::Flow& f : config.flows) {
    for (const auto& [name, node] : f.nodes) {
      if (const auto* q = std::get_if<flow::QueueNode>(&node)) {
        for (const flow::SkillNeed& need : q->skills) engine.internSkill(need.skill);
      }
    }
  }
  return ids;
}

}  // namespace parley::app
