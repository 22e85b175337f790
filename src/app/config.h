// The server configuration: one YAML file with the SIP, HTTP, store and media settings, the
// routing queues (with their callback rules) and agents, the entry points, the IVR flows, the
// numbers callbacks may dial and the web widget's invitations. docs/CONFIG.md is the
// reference for every key; examples/demo.yaml is the demo.
//
// parseConfig() reads YAML text (the caller reads the file, so parsing does no I/O), checks
// types, ranges, unknown keys and cross references, and returns either a Config or every error
// it found, each naming the file, line and key path. addToEngine() turns the routing part into
// engine queues and agents, so the server, the tests and any tool share one translation.
//
// Thread rule: pure values and pure functions; a Config may be read from any thread once built.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/callback_book.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/types.h"
#include "flow/flow.h"
#include "sim/yaml_reader.h"
#include "web/api.h"
#include "web/dial_guard.h"
#include "web/role.h"

namespace parley::app {

using engine::Millis;

// An IP literal and a port to bind: "127.0.0.1:5060", "[::1]:5060". Port 0 asks the OS for a
// free port (for tests).
struct ListenAddress {
  std::string host;  // IPv4 dotted quad or IPv6 text, without brackets
  std::uint16_t port = 0;
  bool isWildcard() const;       // 0.0.0.0 or ::
  std::string toString() const;  // "127.0.0.1:5060", "[::1]:5060"
  friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

// An IPv4 or IPv6 network, "10.0.0.0/8", "2001:db8::/32"; a bare address is a /32 or /128.
struct Cidr {
  std::string text;  // as written in the config
  bool ipv6 = false;
  std::array<std::uint8_t, 16> address{};  // network address (host bits zero); IPv4 in 0..3
  int prefix_length = 0;
  // True if `ip` (an IPv4 or IPv6 literal) lies inside this network. An IPv4-mapped IPv6
  // address (::ffff:192.0.2.1) matches IPv4 networks. False for anything unparsable.
  bool contains(std::string_view ip) const;
};
// Parses "a.b.c.d[/n]" or "x:y::z[/n]"; nullopt if malformed or host bits are set.
std::optional<Cidr> parseCidr(std::string_view text);

// Where outbound calls (callbacks) go.
struct SipTrunk {
  std::string uri;       // "sip:provider.example.com;transport=udp"
  std::string username;  // empty: no authentication
  std::string password;  // set iff username is
};

struct SipConfig {
  // Either may be absent (transport off), not both.
  std::optional<ListenAddress> udp = ListenAddress{"127.0.0.1", 5060};
  std::optional<ListenAddress> tcp = ListenAddress{"127.0.0.1", 5060};
  // Address written into Via/Contact/Record-Route; empty: the listen address. Required when a
  // listen address is a wildcard (0.0.0.0 or ::).
  std::string advertised_address;
  std::string realm = "parley";  // digest realm; an agent's ha1 must be computed with it
  // REGISTER expiry (whole seconds): shorter requests get 423 Interval Too Brief with this
  // minimum; longer ones are cut to the maximum; a REGISTER without Expires gets the default.
  Millis min_expires{60'000};
  Millis max_expires{3'600'000};
  Millis default_expires{3'600'000};
  int max_contacts = 10;  // per address of record (several phones for one agent)
  // Digest failures: after `max_failures` failed attempts from one source address within
  // `window`, that source's REGISTERs and INVITEs are refused (403) for `block_for`. 0 failures:
  // no limit.
  int auth_max_failures = 5;
  Millis auth_window{60'000};
  Millis auth_block_for{300'000};
  // Sources that may send INVITEs without digest auth (SIP trunks). Empty: everyone authenticates.
  std::vector<Cidr> trusted_sources;
  std::optional<SipTrunk> outbound_trunk;
};

// A user of the HTTP API (besides the agents, who log in with extension and SIP password).
struct HttpUser {
  std::string name;      // login name; no ':' (HTTP Basic splits there), no control characters
  std::string password;  // plain text, or "sha256:<64 hex digits>" (see web::checkPassword)
  web::Role role = web::Role::Supervisor;
};

struct HttpConfig {
  ListenAddress listen{"127.0.0.1", 8080};
  std::vector<HttpUser> users;               // names unique
  Millis session_idle_timeout{30 * 60'000};  // a browser session ends after this long unused
  // Origins whose pages may call the public routes (widget, callbacks): "*" or
  // "scheme://host[:port]" in lower case, no path, no repeats. The server's own origin is
  // always allowed (web::Api).
  std::vector<std::string> cors_origins;
  std::string ui_dir = "ui/dist";  // widget.js and widget/*, loaded at start-up
};

struct StoreConfig {
  enum class Kind : std::uint8_t { Sqlite, Postgres };
  Kind kind = Kind::Sqlite;
  std::string sqlite_path = "./parley.db";  // Kind::Sqlite
  std::string postgres;                     // Kind::Postgres: libpq connection string or URI
};

enum class Codec : std::uint8_t { Pcmu, Pcma };
std::string_view toString(Codec c);  // "pcmu", "pcma"

struct MediaConfig {
  std::string rtp_address = "127.0.0.1";  // IP literal RTP sockets bind to
  std::string advertised_address;         // written into SDP; empty: rtp_address
  std::uint16_t rtp_port_min = 16384;     // RTP ports are taken from [min, max]
  std::uint16_t rtp_port_max = 32767;
  std::vector<Codec> codecs{Codec::Pcmu, Codec::Pcma};  // in order of preference, no repeats
  Millis rtp_timeout{60'000};  // no RTP received for this long ends the call; 0: never
  std::string recordings_dir = "./recordings";
  std::string tts_voice = "en-us";  // espeak-ng voice
  std::string tts_cache_dir = "./cache/tts";
  int tts_words_per_minute = 160;  // espeak-ng speaking rate, 80..450
  std::string music_on_hold;  // WAV path; empty: a generated tone pattern
  // How RTP sockets are served: auto (io_uring, else epoll), io_uring (or fail), epoll.
  enum class Io : std::uint8_t { Auto, IoUring, Epoll };
  Io io = Io::Auto;
};

// A routing queue plus the voice-only options of callers waiting in it.
struct QueueEntry {
  // Exit targets (ExitAction::target) and EscalationStep::add_queue hold indices into
  // Config::queues, not engine ids; addToEngine() translates them.
  engine::QueueConfig routing;
  // Defaults for every flow queue node that names this queue (a node's own setting wins); the
  // parsed flows already have them filled in.
  std::string music;         // WAV path; empty: MediaConfig::music_on_hold
  Millis announce_every{0};  // 0: no announcements
  bool announce_position = true;
  bool announce_wait = true;
  std::optional<char> callback_key;
  bool record = false;  // record answered calls (caller and agent on separate channels)
  // Set iff the queue has a `callbacks:` block; `enabled` is false only for `enabled: false`.
  // A queue with enabled callbacks implies Config::sip.outbound_trunk is set.
  std::optional<CallbackPolicy> callbacks;
  bool takesCallbacks() const { return callbacks && callbacks->enabled; }
};

struct NamedSkill {
  std::string name;
  int level = 1;  // 1..5
};

struct AgentEntry {
  std::string extension;     // SIP user and digest username, e.g. "1001"; the engine's agent name
  std::string display_name;  // for people; defaults to the extension
  // Exactly one is set: the digest password, or HA1 = md5("<extension>:<realm>:<password>") as
  // 32 lowercase hex digits.
  std::string password;
  std::string ha1;
  std::vector<NamedSkill> skills;
  // Memberships; Membership::queue holds an index into Config::queues (see addToEngine()).
  std::vector<engine::Membership> queues;
  engine::Capacity capacity = engine::Capacity::exclusive();
  // The agent logs in and becomes ready when one of its phones registers (the demo behaviour).
  bool available_on_register = false;
};

// A called number or URI that starts a flow.
struct EntryPoint {
  std::string called;  // as written: "100" or "sip:100@127.0.0.1"
  std::string user;    // user part to match, e.g. "100"
  std::string host;    // lower case, without port; empty: any host
  std::string flow;    // name of a flow in Config::flows
  // Contact attributes set before the flow starts, in order (e.g. campaign by called number).
  std::vector<flow::Assignment> attributes;
};

// Settings shared by every queue's callbacks (config: top-level `callbacks`).
struct CallbacksConfig {
  std::string caller_id = "parley";  // From user on calls to customers (a SIP user)
  // Which numbers may be called back and how often (POST /api/callbacks); passed
  // web::validate().
  web::DialGuardConfig dial_guard;
};

// The embeddable widget (config: top-level `widget`).
struct WidgetConfig {
  // Proactive invitations for GET /api/widget/config, in file order. Each `queue` is empty or
  // names a queue that takes callbacks; `from`/`to` are empty or "HH:MM".
  std::vector<web::Invitation> invitations;
};

struct Config {
  SipConfig sip;
  HttpConfig http;
  StoreConfig store;
  MediaConfig media;
  engine::EngineConfig routing;  // max_consecutive_misses, seed
  std::vector<QueueEntry> queues;
  std::vector<AgentEntry> agents;
  std::vector<EntryPoint> entry_points;
  // Each passed flow::validateFlow(); queue nodes name queues in `queues` and carry their
  // queue's voice defaults.
  std::vector<flow::Flow> flows;
  CallbacksConfig callbacks;
  WidgetConfig widget;

  const QueueEntry* findQueue(std::string_view name) const;
  const AgentEntry* findAgent(std::string_view extension) const;
  const flow::Flow* findFlow(std::string_view name) const;
  // The entry point for a request URI's user and host: one whose user and host both match
  // (host compared case-insensitively, without port) wins over one that gives no host.
  const EntryPoint* findEntryPoint(std::string_view user, std::string_view host) const;
};

// One problem: line (0 if unknown), key path ("queues[1].strategy"), message, and `text`,
// the printable "<file>:<line>: <key path>: <message>".
using ConfigError = sim::YamlError;

struct ConfigParse {
  std::optional<Config> config;  // set iff `errors` is empty
  std::vector<ConfigError> errors;
  // Suspicious but usable (a flow node nobody reaches, a skill no agent has). Only given when
  // there are no errors (most warnings would then echo an error).
  std::vector<ConfigError> warnings;
  explicit operator bool() const { return config.has_value(); }
};

// Parses and validates a configuration from YAML text. `label` names the source in messages
// (normally the file path). Never throws and never crashes on bad input: malformed YAML, unknown
// keys, wrong types, bad values and dangling references all come back in `errors` (at most
// kMaxConfigErrors of them, the last saying that reading stopped there). An empty document is
// the all-defaults config. Text over kMaxConfigBytes is refused.
[[nodiscard]] ConfigParse parseConfig(std::string_view yaml_text, std::string_view label);
constexpr std::size_t kMaxConfigErrors = 50;
constexpr std::size_t kMaxConfigBytes = 16u << 20;

// Engine ids of what addToEngine() added, parallel to Config::queues and Config::agents.
struct EngineIds {
  std::vector<engine::QueueId> queues;
  std::vector<engine::AgentId> agents;
};

// Adds every queue and agent of `config` to `engine` (agents logged out) and interns every
// skill the agents have and the flows ask for. `config` must come from parseConfig() and
// `engine` must not have queues or agents with the same names yet.
EngineIds addToEngine(const Config& config, engine::Engine& engine);

}  // namespace parley::app
