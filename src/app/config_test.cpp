// Server config parsing: the demo, defaults, errors that name file, line and key, cross
// references, credentials, callbacks and the widget, and the translation into engine queues and
// agents.
#include "app/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

namespace parley::app {
namespace {

using engine::Millis;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

ConfigParse parse(const std::string& text) {
  return parseConfig(text, "test.yaml");
}

// All error lines of a parse, for failure messages.
std::string dump(const ConfigParse& p) {
  std::string out;
  for (const ConfigError& e : p.errors) out += "  error: " + e.text + "\n";
  for (const ConfigError& w : p.warnings) out += "  warning: " + w.text + "\n";
  return out;
}

// The one error of `text`, which must fail with exactly one.
ConfigError onlyError(const std::string& text) {
  const ConfigParse p = parse(text);
  EXPECT_FALSE(p) << "parsed:\n" << text;
  EXPECT_EQ(p.errors.size(), 1u) << dump(p);
  return p.errors.empty() ? ConfigError{} : p.errors.front();
}

bool hasError(const ConfigParse& p, int line, const std::string& path) {
  for (const ConfigError& e : p.errors) {
    if (e.line == line && e.path == path) return true;
  }
  return false;
}

// A valid base the tests append to: two queues, one agent, one flow.
constexpr const char* kBase = R"(queues:
  - name: sales
  - name: support
agents:
  - extension: "1001"
    password: secret
    queues: [sales, support]
entry_points:
  - called: "100"
    flow: main
flows:
  main:
    start: q
    nodes:
      q:
        queue: {name: sales}
)";

TEST(Config, DemoParsesIntoTheIssueDemo) {
  const ConfigParse p = parseConfig(readFile("examples/demo.yaml"), "examples/demo.yaml");
  ASSERT_TRUE(p) << dump(p);
  EXPECT_TRUE(p.warnings.empty()) << dump(p);
  const Config& c = *p.config;

  ASSERT_TRUE(c.sip.udp && c.sip.tcp);
  EXPECT_EQ(c.sip.udp->toString(), "127.0.0.1:5060");
  EXPECT_EQ(c.sip.tcp->toString(), "127.0.0.1:5060");
  EXPECT_EQ(c.http.listen.toString(), "127.0.0.1:8080");
  EXPECT_EQ(c.store.kind, StoreConfig::Kind::Sqlite);

  ASSERT_EQ(c.queues.size(), 2u);
  EXPECT_EQ(c.queues[0].routing.name, "sales");
  EXPECT_EQ(c.queues[0].routing.strategy, engine::Strategy::LongestIdle);
  EXPECT_EQ(c.queues[1].routing.name, "support");
  EXPECT_EQ(c.queues[1].routing.strategy, engine::Strategy::RingAll);

  ASSERT_EQ(c.agents.size(), 4u);
  for (const std::string ext : {"1001", "1002", "1003", "1004"}) {
    const AgentEntry* a = c.findAgent(ext);
    ASSERT_NE(a, nullptr) << ext;
    EXPECT_EQ(a->password, "demo" + ext);
    EXPECT_TRUE(a->ha1.empty());
    EXPECT_TRUE(a->available_on_register);
    ASSERT_EQ(a->queues.size(), 1u);
    const std::string queue = c.queues[engine::index(a->queues[0].queue)].routing.name;
    EXPECT_EQ(queue, ext <= "1002" ? "sales" : "support") << ext;
  }

  const EntryPoint* entry = c.findEntryPoint("100", "127.0.0.1");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->flow, "main");
  EXPECT_EQ(c.findEntryPoint("100", "192.0.2.1"), nullptr);  // the URI names the host

  const flow::Flow* main = c.findFlow("main");
  ASSERT_NE(main, nullptr);
  const auto& menu = std::get<flow::MenuNode>(main->nodes.at(main->start));
  ASSERT_EQ(menu.prompt.size(), 1u);
  EXPECT_EQ(menu.prompt[0].kind, flow::Prompt::Kind::Tts);
  EXPECT_NE(menu.prompt[0].value.find("Press 1 for sales, 2 for support"), std::string::npos);
  EXPECT_EQ(std::get<flow::QueueNode>(main->nodes.at(menu.options.at('1'))).queue, "sales");
  EXPECT_EQ(std::get<flow::QueueNode>(main->nodes.at(menu.options.at('2'))).queue, "support");
}

TEST(Config, EmptyFileIsAllDefaultsOnLoopback) {
  for (const std::string text : {"", "# nothing\n", "sip:\nhttp:\nmedia:\n"}) {
    const ConfigParse p = parse(text);
    ASSERT_TRUE(p) << dump(p);
    const Config& c = *p.config;
    ASSERT_TRUE(c.sip.udp && c.sip.tcp);
    EXPECT_EQ(c.sip.udp->toString(), "127.0.0.1:5060");
    EXPECT_EQ(c.sip.tcp->toString(), "127.0.0.1:5060");
    EXPECT_EQ(c.http.listen.toString(), "127.0.0.1:8080");
    EXPECT_EQ(c.media.rtp_address, "127.0.0.1");
    EXPECT_TRUE(c.sip.trusted_sources.empty());
    EXPECT_EQ(c.store.kind, StoreConfig::Kind::Sqlite);
    EXPECT_EQ(c.store.sqlite_path, "./parley.db");
    EXPECT_TRUE(c.queues.empty() && c.agents.empty() && c.flows.empty());
  }
}

TEST(Config, ErrorNamesFileLineAndKeyPath) {
  const ConfigError e = onlyError(R"(queues:
  - name: sales
  - name: support
    strategy: fastest
)");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.path, "queues[1].strategy");
  EXPECT_EQ(e.text,
            "test.yaml:4: queues[1].strategy: unknown strategy \"fastest\" (expected one of "
            "longest-idle, ring-all, round-robin, fewest-contacts, least-talk-time, top-down, "
            "random, skills-best-match)");
}

TEST(Config, UnknownKeysAreErrorsWithAHint) {
  ConfigError e = onlyError("queus:\n  - name: sales\n");
  EXPECT_EQ(e.text, "test.yaml:1: queus: unknown key; did you mean \"queues\"?");
  e = onlyError("sip:\n  listen:\n    udp: 127.0.0.1:5060\n    tls: 127.0.0.1:5061\n");
  EXPECT_EQ(e.text, "test.yaml:4: sip.listen.tls: unknown key (expected one of udp, tcp)");
  e = onlyError("queues:\n  - name: sales\n    stratgy: ring-all\n");
  EXPECT_EQ(e.text, "test.yaml:3: queues[0].stratgy: unknown key; did you mean \"strategy\"?");
  e = onlyError(std::string(kBase) +
                "      extra:\n        play: {prompts: hi, next: q, loud: 1}\n");
  EXPECT_EQ(e.path, "flows.main.nodes.extra.play.loud");
  EXPECT_EQ(e.line, 18);
  e = onlyError("http:\n  listen: 127.0.0.1:8080\n  listen: 127.0.0.1:8081\n");
  EXPECT_EQ(e.text, "test.yaml:3: http.listen: given twice");
}

TEST(Config, WrongTypesAreErrors) {
  EXPECT_EQ(onlyError("http:\n  listen: 127.0.0.1:http\n").text,
            "test.yaml:2: http.listen: port must be 0..65535, got \"http\"");
  EXPECT_EQ(onlyError("http:\n  listen: localhost:8080\n").message,
            "expected an IP address and port (such as 127.0.0.1:5060 or \"[::1]:5060\"), got "
            "\"localhost:8080\"");
  EXPECT_EQ(onlyError("http:\n  listen: [::1]\n").message,
            "expected \"host:port\"; quote IPv6 addresses: \"[::1]:5060\"");
  EXPECT_EQ(onlyError("sip:\n  registration:\n    max_contacts: [3]\n").text,
            "test.yaml:3: sip.registration.max_contacts: expected a single value");
  EXPECT_EQ(onlyError("sip:\n  registration:\n    min_expires: soon\n").path,
            "sip.registration.min_expires");
  EXPECT_EQ(onlyError("sip:\n  registration:\n    min_expires: 1500ms\n").message,
            "must be whole seconds, at least 1s");
  EXPECT_EQ(onlyError("sip:\n  registration:\n    min_expires: 2h\n").text,
            "test.yaml:3: sip.registration.max_expires: 1h is less than min_expires (2h)");
  EXPECT_EQ(onlyError("queues:\n  - name: sales\n    record: maybe\n").text,
            "test.yaml:3: queues[0].record: expected true or false, got \"maybe\"");
  EXPECT_EQ(onlyError("queues: sales\n").text, "test.yaml:1: queues: expected a list of queues");
  EXPECT_EQ(onlyError("media:\n  codecs: [pcmu, opus]\n").text,
            "test.yaml:2: media.codecs[1]: unknown codec \"opus\" (expected pcmu or pcma)");
  EXPECT_EQ(onlyError("media:\n  io: uring\n").text,
            "test.yaml:2: media.io: unknown value \"uring\" (expected auto, io_uring or epoll)");
  EXPECT_EQ(onlyError("media:\n  recordings_dir:\n").text,
            "test.yaml:2: media.recordings_dir: has no value");
  EXPECT_EQ(onlyError("media:\n  tts: {words_per_minute: 900}\n").path,
            "media.tts.words_per_minute");
  EXPECT_EQ(onlyError("- a\n- b\n").text,
            "test.yaml:1: (top level): expected a mapping (key: "
            "value pairs)");
}

TEST(Config, MediaIoChoosesHowRtpSocketsAreServed) {
  EXPECT_EQ(parse("").config->media.io, MediaConfig::Io::Auto);
  EXPECT_EQ(parse("media: {io: epoll}\n").config->media.io, MediaConfig::Io::Epoll);
  EXPECT_EQ(parse("media: {io: IO_URING}\n").config->media.io, MediaConfig::Io::IoUring);
  EXPECT_EQ(parse("media: {io: auto}\n").config->media.io, MediaConfig::Io::Auto);
}

TEST(Config, SpeakingRateOfTextToSpeech) {
  EXPECT_EQ(parse("").config->media.tts_words_per_minute, 160);
  const ConfigParse p = parse("media:\n  tts: {voice: en-gb, words_per_minute: 140}\n");
  ASSERT_TRUE(p) << dump(p);
  EXPECT_EQ(p.config->media.tts_words_per_minute, 140);
  EXPECT_EQ(p.config->media.tts_voice, "en-gb");
}

TEST(Config, SeveralErrorsAreAllReportedInOrder) {
  const ConfigParse p = parse(R"(sip:
  realm: "a\"b"
http:
  listen: 127.0.0.1:99999
queues:
  - name: sales
    wrap_up: ages
    max_length: 0
)");
  ASSERT_FALSE(p);
  ASSERT_EQ(p.errors.size(), 4u) << dump(p);
  EXPECT_TRUE(hasError(p, 2, "sip.realm")) << dump(p);
  EXPECT_TRUE(hasError(p, 4, "http.listen")) << dump(p);
  EXPECT_TRUE(hasError(p, 7, "queues[0].wrap_up")) << dump(p);
  EXPECT_TRUE(hasError(p, 8, "queues[0].max_length")) << dump(p);
}

TEST(Config, InvalidYamlIsOneErrorWithALine) {
  const ConfigParse p = parse("queues:\n  - name: sales\n  - {name: [support\n");
  ASSERT_FALSE(p);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_GT(p.errors[0].line, 0);
  EXPECT_EQ(p.errors[0].text.rfind("test.yaml:", 0), 0u);
  EXPECT_NE(p.errors[0].text.find("invalid YAML"), std::string::npos);
  EXPECT_EQ(onlyError("http: {}\n---\nhttp: {}\n").text,
            "test.yaml:2: only one YAML document is allowed (remove the second ---)");
  EXPECT_TRUE(parse("%YAML 1.2\n---\n# c\nhttp: {}\n...\n# end\n"));
  EXPECT_EQ(onlyError("http: {}\n...\nsip: {}\n").line, 3);
}

TEST(Config, ErrorCountIsBounded) {
  std::string text = "queues:\n";
  for (int i = 0; i < 500; ++i) text += "  - {name: q" + std::to_string(i) + ", wrap_up: x}\n";
  const ConfigParse p = parse(text);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.errors.size(), kMaxConfigErrors);
  EXPECT_NE(p.errors.back().text.find("too many errors"), std::string::npos);
}

TEST(Config, GarbageNeverThrowsOrCrashes) {
  std::mt19937 rng(7);  // fixed seed
  const std::string alphabet = "abc:-[]{}\n  #*&!|>'\"0123456789.,?%@`\t\\";
  const std::string demo = readFile("examples/demo.yaml");
  for (int round = 0; round < 300; ++round) {
    std::string text;
    if (round % 2 == 0) {
      for (int i = 0; i < 200; ++i) text += alphabet[rng() % alphabet.size()];
    } else {  // the demo with a few bytes changed
      text = demo;
      for (int i = 0; i < 5; ++i) text[rng() % text.size()] = alphabet[rng() % alphabet.size()];
    }
    const ConfigParse p = parse(text);
    EXPECT_EQ(p.config.has_value(), p.errors.empty());
  }
  EXPECT_FALSE(parse(std::string(100'000, '[')));  // deep nesting
  (void)parse(",");  // yaml-cpp's LoadAll never returns on this one (yaml-cpp's Load: null)
  EXPECT_FALSE(parse(std::string("a: \0b\n", 6)));
  EXPECT_FALSE(parse(std::string(kMaxConfigBytes + 1, ' ')));
  // Aliases share nodes: referring to the same queue twice is a duplicate, not a crash.
  EXPECT_FALSE(parse("queues:\n  - &q {name: sales}\n  - *q\n"));
}

TEST(Config, CrossReferencesMustResolve) {
  // Agent in an unknown queue, with a hint.
  ConfigError e = onlyError(R"(queues:
  - name: sales
agents:
  - extension: "1001"
    password: x
    queues: [sales, {queue: sale, penalty: 1}]
)");
  EXPECT_EQ(e.text,
            "test.yaml:6: agents[0].queues[1].queue: unknown queue \"sale\"; did you mean "
            "\"sales\"?");
  // Exit and escalation targets; a queue may name one listed later.
  const ConfigParse ok = parse(R"(queues:
  - name: sales
    max_wait: 5m
    on_max_wait: queue:overflow
    max_length: 10
    on_max_length: {queue: overflow}
    escalation:
      - {after: 1m, relax_level_to: 2}
      - {after: 2m, add_queue: overflow}
  - name: overflow
)");
  ASSERT_TRUE(ok) << dump(ok);
  EXPECT_EQ(ok.config->queues[0].routing.on_max_wait.kind, engine::ExitAction::Kind::Queue);
  EXPECT_EQ(ok.config->queues[0].routing.on_max_wait.target, engine::QueueId{1});
  EXPECT_EQ(ok.config->queues[0].routing.escalation[1].add_queue, engine::QueueId{1});
  EXPECT_EQ(onlyError("queues:\n  - {name: a, max_wait: 1m, on_max_wait: \"queue:b\"}\n").text,
            "test.yaml:2: queues[0].on_max_wait: unknown queue \"b\"");
  EXPECT_EQ(
      onlyError("queues:\n  - name: a\n    escalation:\n      - {after: 1m, add_queue: a}\n").text,
      "test.yaml:4: queues[0].escalation[0].add_queue: a queue cannot add itself");
  EXPECT_EQ(onlyError("queues:\n  - {name: a, max_length: 3, on_max_length: drop}\n").message,
            "unknown exit action \"drop\" (expected hangup, voicemail, callback, queue:NAME or "
            "{queue: NAME})");
  // Entry point naming an unknown flow.
  std::string text = kBase;
  text.replace(text.find("flow: main"), 10, "flow: mian");
  e = onlyError(text);
  EXPECT_EQ(e.text,
            "test.yaml:10: entry_points[0].flow: unknown flow \"mian\"; did you mean "
            "\"main\"?");
  // Flow queue node naming an unknown queue.
  text = kBase;
  text.replace(text.find("{name: sales}"), 13, "{name: billing}");
  e = onlyError(text);
  EXPECT_EQ(e.text, "test.yaml:16: flows.main.nodes.q.queue.name: unknown queue \"billing\"");
}

TEST(Config, FlowReferencesAreCheckedWithLines) {
  const ConfigParse p = parse(std::string(kBase) + R"(      menu:
        menu:
          prompt: {say: "Press 1"}
          options: {"1": q, "2": nowhere}
)");
  ASSERT_FALSE(p);
  ASSERT_EQ(p.errors.size(), 1u) << dump(p);
  EXPECT_EQ(p.errors[0].text,
            "test.yaml:20: flows.main.nodes.menu.menu.options.2: names node 'nowhere', which "
            "does not exist");
  // The menu is not reachable from start: a warning.
  const ConfigParse unreachable = parse(std::string(kBase) + "      spare: hangup\n");
  ASSERT_TRUE(unreachable) << dump(unreachable);
  ASSERT_EQ(unreachable.warnings.size(), 1u) << dump(unreachable);
  EXPECT_EQ(unreachable.warnings[0].path, "flows.main.nodes.spare.hangup");
  EXPECT_EQ(unreachable.warnings[0].line, 17);
  // Node type typo.
  EXPECT_EQ(
      onlyError(std::string(kBase) + "      x:\n        hangpu: {}\n").text,
      "test.yaml:18: flows.main.nodes.x.hangpu: unknown node type \"hangpu\" (expected one "
      "of play, menu, collect, set, hours, queue, transfer, callback, schedule_callback, hangup)");
  // The automatic callback offer needs the key it asks for.
  EXPECT_EQ(onlyError(std::string(kBase) +
                      "      x:\n        queue: {name: sales, offer_callback_over: 2m}\n")
                .text,
            "test.yaml:18: flows.main.nodes.x.queue.offer_callback_over: needs callback_key (the "
            "key the offer asks for)");
  // An unquoted # starts a comment.
  const ConfigError e = onlyError(std::string(kBase) +
                                  "      c:\n        collect:\n          attribute: acct\n"
                                  "          next: q\n          terminator: #\n");
  EXPECT_EQ(e.path, "flows.main.nodes.c.collect.terminator");
  EXPECT_EQ(e.message, "has no value; quote the key, as in \"#\" (an unquoted # starts a comment)");
}

TEST(Config, DuplicatesAreErrors) {
  EXPECT_EQ(onlyError("queues:\n  - name: a\n  - name: a\n").text,
            "test.yaml:3: queues[1].name: duplicate queue name \"a\" (also queues[0])");
  ConfigError e = onlyError(R"(agents:
  - {extension: "1001", password: a}
  - {extension: "1001", password: b}
)");
  EXPECT_EQ(e.text,
            "test.yaml:3: agents[1].extension: duplicate extension \"1001\" (also agents[0])");
  e = onlyError(std::string(kBase) + "  other:\n    start: x\n    nodes: {x: hangup}\n" +
                "  other:\n    start: x\n    nodes: {x: hangup}\n");
  EXPECT_EQ(e.path, "flows.other");
  e = onlyError(R"(entry_points:
  - {called: "100", flow: main}
  - {called: "100", flow: main}
flows:
  main: {start: x, nodes: {x: hangup}}
)");
  EXPECT_EQ(e.text,
            "test.yaml:3: entry_points[1].called: \"100\" is already an entry point "
            "(entry_points[0])");
  e = onlyError(R"(agents:
  - {extension: "100", password: a}
entry_points:
  - {called: "sip:100@127.0.0.1", flow: main}
flows:
  main: {start: x, nodes: {x: hangup}}
)");
  EXPECT_EQ(e.text,
            "test.yaml:4: entry_points[0].called: \"100\" is also the extension of an agent "
            "(agents[0])");
}

TEST(Config, PasswordOrHa1ButNotBoth) {
  const ConfigParse ok = parse(R"(agents:
  - {extension: "1001", password: demo1001}
  - {extension: "1002", ha1: 0123456789ABCDEF0123456789abcdef}
)");
  ASSERT_TRUE(ok) << dump(ok);
  EXPECT_EQ(ok.config->agents[0].password, "demo1001");
  EXPECT_TRUE(ok.config->agents[0].ha1.empty());
  EXPECT_TRUE(ok.config->agents[1].password.empty());
  EXPECT_EQ(ok.config->agents[1].ha1, "0123456789abcdef0123456789abcdef");  // lower case
  EXPECT_EQ(ok.config->agents[1].display_name, "1002");

  EXPECT_EQ(onlyError("agents:\n  - extension: \"1001\"\n    password: x\n    ha1: "
                      "0123456789abcdef0123456789abcdef\n")
                .text,
            "test.yaml:4: agents[0].ha1: give password or ha1, not both");
  EXPECT_EQ(onlyError("agents:\n  - extension: \"1001\"\n").text,
            "test.yaml:2: agents[0].password: missing: an agent needs a password or an ha1");
  EXPECT_EQ(onlyError("agents:\n  - {extension: \"1001\", ha1: abc}\n").text,
            "test.yaml:2: agents[0].ha1: expected 32 hex digits: "
            "md5(\"<extension>:<realm>:<password>\")");
  EXPECT_EQ(onlyError("agents:\n  - {extension: \"10 01\", password: x}\n").path,
            "agents[0].extension");
}

TEST(Config, AddressesAndNetworks) {
  const ConfigParse p = parse(R"(sip:
  listen:
    udp: "[::1]:5070"
    tcp: off
  trusted_sources: [192.0.2.0/24, 10.1.2.3, "2001:db8::/32"]
  outbound_trunk: {uri: "sip:trunk.example.com;transport=tcp", username: u, password: p}
http:
  listen: 127.0.0.1:0
media:
  rtp_address: 0.0.0.0
  advertised_address: 192.0.2.10
)");
  ASSERT_TRUE(p) << dump(p);
  const Config& c = *p.config;
  ASSERT_TRUE(c.sip.udp);
  EXPECT_EQ(c.sip.udp->host, "::1");
  EXPECT_EQ(c.sip.udp->port, 5070);
  EXPECT_EQ(c.sip.udp->toString(), "[::1]:5070");
  EXPECT_FALSE(c.sip.tcp);
  EXPECT_EQ(c.http.listen.port, 0);
  ASSERT_EQ(c.sip.trusted_sources.size(), 3u);
  EXPECT_TRUE(c.sip.trusted_sources[0].contains("192.0.2.77"));
  EXPECT_TRUE(c.sip.trusted_sources[0].contains("::ffff:192.0.2.77"));
  EXPECT_FALSE(c.sip.trusted_sources[0].contains("192.0.3.1"));
  EXPECT_TRUE(c.sip.trusted_sources[1].contains("10.1.2.3"));
  EXPECT_FALSE(c.sip.trusted_sources[1].contains("10.1.2.4"));
  EXPECT_TRUE(c.sip.trusted_sources[2].contains("2001:db8:1::5"));
  EXPECT_FALSE(c.sip.trusted_sources[2].contains("2001:db9::5"));
  EXPECT_FALSE(c.sip.trusted_sources[2].contains("not an address"));
  ASSERT_TRUE(c.sip.outbound_trunk);
  EXPECT_EQ(c.sip.outbound_trunk->username, "u");

  EXPECT_EQ(onlyError("sip:\n  trusted_sources: [10.0.0.1/8]\n").message,
            "\"10.0.0.1/8\" has host bits set; did you mean 10.0.0.0/8?");
  EXPECT_EQ(onlyError("sip:\n  listen: {udp: 0.0.0.0:5060}\n").path, "sip.listen");
  EXPECT_EQ(onlyError("sip:\n  listen: {udp: off, tcp: off}\n").message,
            "udp and tcp are both off; SIP needs at least one");
  EXPECT_EQ(onlyError("sip:\n  outbound_trunk: {uri: \"sip:t\", username: u}\n").message,
            "give username and password together (or neither)");
  EXPECT_EQ(onlyError("media:\n  rtp_ports: {min: 20000, max: 10000}\n").path,
            "media.rtp_ports.max");
}

TEST(Config, FlowQueueNodesTakeTheirQueueDefaults) {
  const ConfigParse p = parse(R"(media:
  music_on_hold: sounds/default.wav
queues:
  - {name: sales, music: sounds/sales.wav, announce_every: 45s, announce_wait: false}
  - {name: support, callback_key: "*"}
agents:
  - {extension: "1001", password: x, queues: [sales, support], skills: {english: 3}}
flows:
  main:
    start: s
    nodes:
      s: {queue: {name: sales, announce_every: 1m, skills: {english: 2}}}
      t: {queue: {name: support, on_callback: bye}}
      u: {queue: {name: support, callback_key: none}}
      bye: hangup
)");
  ASSERT_TRUE(p) << dump(p);
  const flow::Flow& f = p.config->flows.at(0);
  const auto& s = std::get<flow::QueueNode>(f.nodes.at("s"));
  EXPECT_EQ(s.music, "sounds/sales.wav");
  EXPECT_EQ(s.announce_every, Millis{60'000});  // the node's own value wins
  EXPECT_FALSE(s.announce_wait);
  EXPECT_FALSE(s.callback_key);
  const auto& t = std::get<flow::QueueNode>(f.nodes.at("t"));
  EXPECT_EQ(t.music, "sounds/default.wav");  // from media.music_on_hold
  EXPECT_EQ(t.callback_key, '*');
  EXPECT_FALSE(std::get<flow::QueueNode>(f.nodes.at("u")).callback_key);

  // An inherited callback key needs somewhere to go.
  const ConfigError e = onlyError(R"(queues:
  - {name: support, callback_key: "*"}
flows:
  main: {start: q, nodes: {q: {queue: {name: support}}}}
)");
  EXPECT_EQ(e.path, "flows.main.nodes.q.queue.on_callback");
  EXPECT_EQ(e.line, 4);
}

TEST(Config, WarningsForLikelyMistakes) {
  const ConfigParse p = parse(R"(queues:
  - name: sales
  - name: empty
agents:
  - {extension: "1001", password: x, queues: [sales], skills: {english: 1}}
flows:
  main: {start: q, nodes: {q: {queue: {name: sales, skills: {english: 3}}}}}
)");
  ASSERT_TRUE(p) << dump(p);
  ASSERT_EQ(p.warnings.size(), 3u) << dump(p);
  EXPECT_TRUE(std::any_of(p.warnings.begin(), p.warnings.end(), [](const ConfigError& w) {
    return w.path == "queues[1].name" && w.line == 3;
  })) << dump(p);
  EXPECT_TRUE(std::any_of(p.warnings.begin(), p.warnings.end(), [](const ConfigError& w) {
    return w.path == "flows.main.nodes.q.queue.skills.english";
  })) << dump(p);
  EXPECT_TRUE(std::any_of(p.warnings.begin(), p.warnings.end(), [](const ConfigError& w) {
    return w.path == "flows.main" && w.message == "no entry point starts this flow";
  })) << dump(p);
}

TEST(Config, EntryPointsMatchNumberOrUriAndSetAttributes) {
  const ConfigParse p = parse(R"(entry_points:
  - {called: "200", flow: main, set: {campaign: fluggerbot, line: "${called}"}}
  - {called: "sip:200@Example.COM:5060;transport=udp", flow: main}
flows:
  main: {start: x, nodes: {x: hangup}}
)");
  ASSERT_TRUE(p) << dump(p);
  const Config& c = *p.config;
  EXPECT_EQ(c.entry_points[1].host, "example.com");
  EXPECT_EQ(c.findEntryPoint("200", "example.com:5060"), &c.entry_points[1]);
  EXPECT_EQ(c.findEntryPoint("200", "127.0.0.1"), &c.entry_points[0]);
  EXPECT_EQ(c.findEntryPoint("300", "127.0.0.1"), nullptr);
  ASSERT_EQ(c.entry_points[0].attributes.size(), 2u);
  EXPECT_EQ(c.entry_points[0].attributes[0].attribute, "campaign");
  EXPECT_EQ(c.entry_points[0].attributes[0].value, "fluggerbot");
  EXPECT_EQ(c.entry_points[0].attributes[1].value, "${called}");
}

TEST(Config, HttpUsersWithRolesAndHashedPasswords) {
  const ConfigParse p = parse(R"(http:
  session_idle_timeout: 10m
  users:
    - {name: admin, password: demoadmin, role: admin}
    - name: sup
      password: "sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
      role: supervisor
)");
  ASSERT_TRUE(p) << dump(p);
  const HttpConfig& h = p.config->http;
  EXPECT_EQ(h.session_idle_timeout, Millis{600'000});
  ASSERT_EQ(h.users.size(), 2u);
  EXPECT_EQ(h.users[0].name, "admin");
  EXPECT_EQ(h.users[0].password, "demoadmin");
  EXPECT_EQ(h.users[0].role, web::Role::Admin);
  EXPECT_EQ(h.users[1].role, web::Role::Supervisor);
  EXPECT_TRUE(parse("http:\n  users: []\n"));
  EXPECT_TRUE(parse("http:\n  users:\n"));
}

TEST(Config, HttpUserErrorsNameLineAndKey) {
  EXPECT_EQ(onlyError("http:\n  users:\n    - {name: a, password: x, role: root}\n").text,
            "test.yaml:3: http.users[0].role: unknown role \"root\" (expected agent, supervisor or "
            "admin)");
  EXPECT_EQ(onlyError("http:\n  users:\n    - {name: a, role: admin}\n").text,
            "test.yaml:3: http.users[0].password: missing (required)");
  EXPECT_EQ(onlyError("http:\n  users:\n    - {name: \"a:b\", password: x, role: admin}\n").text,
            "test.yaml:3: http.users[0].name: use 1..64 characters without spaces or ':'");
  EXPECT_EQ(
      onlyError("http:\n  users:\n    - {name: a, password: \"sha256:abc\", role: admin}\n").text,
      "test.yaml:3: http.users[0].password: expected sha256: and 64 hex digits");
  EXPECT_EQ(onlyError("http:\n  users:\n    - {name: a, password: x, role: admin}\n"
                      "    - {name: a, password: y, role: agent}\n")
                .text,
            "test.yaml:4: http.users[1].name: \"a\" is given twice");
  EXPECT_EQ(onlyError("http:\n  users:\n    - {name: a, password: x, role: admin, pin: 1}\n").path,
            "http.users[0].pin");
  EXPECT_EQ(onlyError("http:\n  users: admin\n").path, "http.users");
  EXPECT_EQ(onlyError("http:\n  session_idle_timeout: 0s\n").path, "http.session_idle_timeout");
}

TEST(Config, DemoHasAnAdminAndASupervisor) {
  const ConfigParse p = parseConfig(readFile("examples/demo.yaml"), "examples/demo.yaml");
  ASSERT_TRUE(p) << dump(p);
  const auto& users = p.config->http.users;
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].name, "admin");
  EXPECT_EQ(users[0].password, "demoadmin");
  EXPECT_EQ(users[0].role, web::Role::Admin);
  EXPECT_EQ(users[1].name, "supervisor");
  EXPECT_EQ(users[1].password, "demosupervisor");
  EXPECT_EQ(users[1].role, web::Role::Supervisor);
}

TEST(Config, AddToEngineBuildsQueuesAndAgents) {
  const ConfigParse p = parse(R"(queues:
  - {name: sales, strategy: longest-idle, max_wait: 2m, on_max_wait: "queue:overflow"}
  - {name: overflow, strategy: ring-all, wrap_up: 10s}
agents:
  - extension: "1001"
    password: x
    queues: [sales, {queue: overflow, penalty: 2}]
    skills: {english: 3}
    capacity: {voice_or_chats: 3}
  - {extension: "1002", password: y, queues: [overflow]}
)");
  ASSERT_TRUE(p) << dump(p);
  engine::Engine engine;
  const EngineIds ids = addToEngine(*p.config, engine);
  ASSERT_EQ(ids.queues.size(), 2u);
  ASSERT_EQ(ids.agents.size(), 2u);
  EXPECT_EQ(engine.findQueue("sales"), ids.queues[0]);
  EXPECT_EQ(engine.queueConfig(ids.queues[0]).on_max_wait.target, ids.queues[1]);
  EXPECT_EQ(engine.queueConfig(ids.queues[1]).strategy, engine::Strategy::RingAll);
  EXPECT_EQ(engine.queueConfig(ids.queues[1]).wrap_up, Millis{10'000});
  EXPECT_EQ(engine.findAgent("1001"), ids.agents[0]);
  const engine::AgentConfig& a = engine.agentConfig(ids.agents[0]);
  ASSERT_EQ(a.queues.size(), 2u);
  EXPECT_EQ(a.queues[1].queue, ids.queues[1]);
  EXPECT_EQ(a.queues[1].penalty, 2);
  ASSERT_EQ(a.skills.size(), 1u);
  EXPECT_EQ(engine.skillName(a.skills[0].skill), "english");
  EXPECT_EQ(a.capacity.total, 3);
  EXPECT_EQ(engine.members(ids.queues[1]).size(), 2u);
  EXPECT_EQ(engine.agentState(ids.agents[1]), engine::AgentState::LoggedOut);
}

// --- callbacks and the widget (issue 5) --------------------------------------------------------

// The 1-based line of the first line of `text` containing `needle` (0 if none).
int lineOf(const std::string& text, const std::string& needle) {
  const std::size_t at = text.find(needle);
  if (at == std::string::npos) return 0;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

// A config with an outbound trunk and queue `sales` whose callbacks block is `block` (lines
// indented by six spaces), then `tail`.
std::string withCallbacks(const std::string& block, const std::string& tail = "") {
  return "sip:\n  outbound_trunk: {uri: \"sip:127.0.0.1:5070\"}\nqueues:\n  - name: sales\n"
         "    callbacks:\n" +
         block + "  - name: support\n" + tail;
}

// `text` must fail with exactly one error, at the line holding `needle` and at key `path`.
void expectErrorAt(const std::string& text, const std::string& needle, const std::string& path) {
  const ConfigError e = onlyError(text);
  EXPECT_EQ(e.path, path) << e.text << "\nin:\n" << text;
  EXPECT_EQ(e.line, lineOf(text, needle)) << e.text << "\nin:\n" << text;
  EXPECT_TRUE(e.text.starts_with("test.yaml:" + std::to_string(e.line) + ": " + path + ": "))
      << e.text;
}

TEST(ConfigCallbacks, EveryQueueKeyParses) {
  const ConfigParse p = parse(withCallbacks(R"(      order: customer-first
      max_attempts: 5
      retry_after: 10m
      customer_ring: 45s
      priority: 2
      scheduled_priority: 7
      hours:
        schedule:
          - {days: mon-fri, from: "08:00", to: "20:00"}
          - {days: [sat], from: "09:00", to: "13:00"}
        closed_dates: ["2026-12-25"]
      slot_length: 30m
      slot_capacity: 4
      horizon_days: 14
      min_lead: 1h
      max_open: 500
)"));
  ASSERT_TRUE(p) << dump(p);
  const QueueEntry& q = p.config->queues[0];
  ASSERT_TRUE(q.callbacks.has_value());
  const CallbackPolicy& c = *q.callbacks;
  EXPECT_TRUE(c.enabled);
  EXPECT_TRUE(q.takesCallbacks());
  EXPECT_TRUE(c.customer_first);
  EXPECT_EQ(c.max_attempts, 5);
  EXPECT_EQ(c.retry_after, Millis{600'000});
  EXPECT_EQ(c.customer_ring, Millis{45'000});
  EXPECT_EQ(c.priority, 2);
  EXPECT_EQ(c.scheduled_priority, 7);
  ASSERT_EQ(c.schedule.size(), 2u);
  EXPECT_EQ(c.schedule[0].days, (std::array<bool, 7>{true, true, true, true, true, false, false}));
  EXPECT_EQ(c.schedule[0].from_minute, 8 * 60);
  EXPECT_EQ(c.schedule[0].to_minute, 20 * 60);
  EXPECT_EQ(c.schedule[1].days,
            (std::array<bool, 7>{false, false, false, false, false, true, false}));
  EXPECT_EQ(c.schedule[1].to_minute, 13 * 60);
  ASSERT_EQ(c.closed_dates.size(), 1u);
  EXPECT_EQ(c.closed_dates[0].month, 12);
  EXPECT_EQ(c.closed_dates[0].day, 25);
  EXPECT_EQ(c.slot_length, Millis{1'800'000});
  EXPECT_EQ(c.slot_capacity, 4);
  EXPECT_EQ(c.horizon_days, 14);
  EXPECT_EQ(c.min_lead, Millis{3'600'000});
  EXPECT_EQ(c.max_open, 500u);
  EXPECT_FALSE(p.config->queues[1].callbacks.has_value());
  EXPECT_FALSE(p.config->queues[1].takesCallbacks());
}

TEST(ConfigCallbacks, AnEmptyBlockTakesCallbacksWithTheDefaults) {
  for (const std::string block : {"      {}\n", "", "      order: agent-first\n"}) {
    const ConfigParse p = parse(withCallbacks(block));
    ASSERT_TRUE(p) << dump(p);
    ASSERT_TRUE(p.config->queues[0].callbacks.has_value());
    const CallbackPolicy& c = *p.config->queues[0].callbacks;
    CallbackPolicy defaults;
    EXPECT_TRUE(c.enabled);
    EXPECT_FALSE(c.customer_first);
    EXPECT_EQ(c.max_attempts, 3);
    EXPECT_EQ(c.retry_after, Millis{300'000});
    EXPECT_EQ(c.customer_ring, Millis{30'000});
    EXPECT_EQ(c.priority, 0);
    EXPECT_EQ(c.scheduled_priority, 5);
    EXPECT_TRUE(c.schedule.empty());  // always open
    EXPECT_TRUE(c.closed_dates.empty());
    EXPECT_EQ(c.slot_length, Millis{900'000});
    EXPECT_EQ(c.slot_capacity, 0);  // no booking
    EXPECT_EQ(c.horizon_days, 7);
    EXPECT_EQ(c.min_lead, Millis{900'000});
    EXPECT_EQ(c.max_open, 10'000u);
    EXPECT_EQ(c.max_open, defaults.max_open);
  }
}

TEST(ConfigCallbacks, EnabledFalseKeepsThePolicyButTakesNoCallbacks) {
  // Off: no outbound trunk needed.
  const ConfigParse p =
      parse("queues:\n  - name: sales\n    callbacks: {enabled: false, max_attempts: 2}\n");
  ASSERT_TRUE(p) << dump(p);
  ASSERT_TRUE(p.config->queues[0].callbacks.has_value());
  EXPECT_FALSE(p.config->queues[0].callbacks->enabled);
  EXPECT_EQ(p.config->queues[0].callbacks->max_attempts, 2);
  EXPECT_FALSE(p.config->queues[0].takesCallbacks());
}

TEST(ConfigCallbacks, BadQueueValuesNameLineAndKey) {
  struct Case {
    std::string block;  // one or more lines of the callbacks block
    std::string needle;
    std::string key;  // under queues[0].callbacks
  };
  const std::vector<Case> cases = {
      {"      order: sideways\n", "sideways", "order"},
      {"      max_attempts: 0\n", "max_attempts", "max_attempts"},
      {"      max_attempts: 11\n", "max_attempts", "max_attempts"},
      {"      retry_after: 29s\n", "retry_after", "retry_after"},
      {"      retry_after: soon\n", "retry_after", "retry_after"},
      {"      customer_ring: 4s\n", "customer_ring", "customer_ring"},
      {"      customer_ring: 121s\n", "customer_ring", "customer_ring"},
      {"      priority: high\n", "priority", "priority"},
      {"      scheduled_priority: 1.5\n", "scheduled_priority", "scheduled_priority"},
      {"      slot_length: 7m\n", "slot_length", "slot_length"},  // 1440 / 7 is not whole
      {"      slot_length: 4m\n", "slot_length", "slot_length"},
      {"      slot_length: 25h\n", "slot_length", "slot_length"},
      {"      slot_capacity: -1\n", "slot_capacity", "slot_capacity"},
      {"      horizon_days: 0\n", "horizon_days", "horizon_days"},
      {"      horizon_days: 61\n", "horizon_days", "horizon_days"},
      {"      min_lead: later\n", "min_lead", "min_lead"},
      {"      slot_capacity: 1\n      horizon_days: 1\n      min_lead: 1d\n", "min_lead",
       "min_lead"},
      {"      max_open: 0\n", "max_open", "max_open"},
      {"      enabled: maybe\n", "enabled", "enabled"},
      {"      retry_afte: 5m\n", "retry_afte", "retry_afte"},
      {"      hours:\n        closed_dates: [\"2026-12-25\"]\n", "closed_dates", "hours.schedule"},
      {"      hours: {schedule: []}\n", "hours:", "hours.schedule"},
      {"      hours:\n        schedule:\n          - {days: funday, from: \"08:00\", to: "
       "\"17:00\"}\n",
       "funday", "hours.schedule[0].days"},
      {"      hours:\n        schedule:\n          - {days: mon, from: \"18:00\", to: "
       "\"08:00\"}\n",
       "18:00", "hours.schedule[0].to"},
      {"      hours:\n        schedule:\n          - {days: mon, from: \"8am\", to: \"17:00\"}\n",
       "8am", "hours.schedule[0].from"},
      {"      hours:\n        schedule:\n          - {days: mon, to: \"17:00\"}\n", "days: mon",
       "hours.schedule[0].from"},
      {"      hours:\n        schedule:\n          - {days: mon, from: \"08:00\", to: "
       "\"17:00\"}\n        closed_dates: [\"2026-02-30\"]\n",
       "2026-02-30", "hours.closed_dates[0]"},
      {"      hours:\n        schedule: []\n        open: yes\n", "open:", "hours.open"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.block);
    const std::string text = withCallbacks(c.block);
    if (c.block.find("schedule: []\n        open") != std::string::npos) {
      // Two mistakes: both reported, the unknown key among them.
      const ConfigParse p = parse(text);
      EXPECT_TRUE(hasError(p, lineOf(text, c.needle), "queues[0].callbacks." + c.key)) << dump(p);
      continue;
    }
    expectErrorAt(text, c.needle, "queues[0].callbacks." + c.key);
  }
  EXPECT_EQ(onlyError(withCallbacks("      order: sideways\n")).message,
            "unknown order \"sideways\" (expected agent-first or customer-first)");
  EXPECT_EQ(onlyError(withCallbacks("      slot_length: 7m\n")).message,
            "must be at least 5m and divide 24h (such as 5m, 10m, 15m, 30m, 1h), got 7m");
}

TEST(ConfigCallbacks, QueueCallbacksNeedTheOutboundTrunk) {
  const std::string text = R"(queues:
  - name: sales
  - name: support
    callbacks:
      max_attempts: 2
)";
  const ConfigError e = onlyError(text);
  EXPECT_EQ(e.text,
            "test.yaml:4: queues[1].callbacks: needs sip.outbound_trunk: callbacks dial customers "
            "through the outbound trunk");
  // With the trunk it is fine.
  EXPECT_TRUE(parse("sip:\n  outbound_trunk: {uri: \"sip:trunk.example.com\"}\n" + text));
}

TEST(ConfigCallbacks, TopLevelBlockParsesIntoTheDialGuard) {
  const ConfigParse p = parse(R"(callbacks:
  caller_id: "+442071234567"
  country_code: "44"
  national_prefix: "0"
  allowed_prefixes: ["+44", "+353"]
  denied_prefixes: ["+449", "+4470"]
  rate_limit:
    per_source: {max: 10, window: 30m}
    per_number: {max: 0, window: 1h}
)");
  ASSERT_TRUE(p) << dump(p);
  const CallbacksConfig& c = p.config->callbacks;
  EXPECT_EQ(c.caller_id, "+442071234567");
  EXPECT_EQ(c.dial_guard.country_code, "44");
  EXPECT_EQ(c.dial_guard.national_prefix, "0");
  EXPECT_EQ(c.dial_guard.allowed_prefixes, (std::vector<std::string>{"+44", "+353"}));
  EXPECT_EQ(c.dial_guard.denied_prefixes, (std::vector<std::string>{"+449", "+4470"}));
  EXPECT_EQ(c.dial_guard.per_source.max_requests, 10);
  EXPECT_EQ(c.dial_guard.per_source.window, std::chrono::minutes(30));
  EXPECT_EQ(c.dial_guard.per_number.max_requests, 0);  // no limit
  EXPECT_EQ(c.dial_guard.per_number.window, std::chrono::hours(1));
  EXPECT_TRUE(web::validate(c.dial_guard).empty());

  // An empty national prefix: every number without "+" is national.
  const ConfigParse empty_prefix = parse("callbacks:\n  country_code: \"1\"\n  national_prefix:\n");
  ASSERT_TRUE(empty_prefix) << dump(empty_prefix);
  EXPECT_EQ(empty_prefix.config->callbacks.dial_guard.national_prefix, "");
  // Only one limit given: the other keeps its default.
  const ConfigParse one = parse("callbacks:\n  rate_limit:\n    per_number: {max: 1}\n");
  ASSERT_TRUE(one) << dump(one);
  EXPECT_EQ(one.config->callbacks.dial_guard.per_number.max_requests, 1);
  EXPECT_EQ(one.config->callbacks.dial_guard.per_number.window, std::chrono::hours(1));
  EXPECT_EQ(one.config->callbacks.dial_guard.per_source.max_requests, 5);
}

TEST(ConfigCallbacks, TopLevelDefaults) {
  const ConfigParse p = parse("");
  ASSERT_TRUE(p) << dump(p);
  const CallbacksConfig& c = p.config->callbacks;
  const web::DialGuardConfig defaults;
  EXPECT_EQ(c.caller_id, "parley");
  EXPECT_EQ(c.dial_guard.country_code, "");
  EXPECT_EQ(c.dial_guard.national_prefix, "0");
  EXPECT_TRUE(c.dial_guard.allowed_prefixes.empty());
  EXPECT_TRUE(c.dial_guard.denied_prefixes.empty());
  EXPECT_EQ(c.dial_guard.per_source.max_requests, 5);
  EXPECT_EQ(c.dial_guard.per_source.window, std::chrono::minutes(10));
  EXPECT_EQ(c.dial_guard.per_number.max_requests, 3);
  EXPECT_EQ(c.dial_guard.per_number.window, std::chrono::hours(1));
  EXPECT_EQ(c.dial_guard.max_tracked_keys, defaults.max_tracked_keys);
  EXPECT_TRUE(parse("callbacks:\n").config->callbacks.caller_id == "parley");
}

TEST(ConfigCallbacks, BadTopLevelValuesNameLineAndKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"callbacks:\n  caller_id: \"a b\"\n", "callbacks.caller_id"},
      {"callbacks:\n  country_code: \"044\"\n", "callbacks.country_code"},
      {"callbacks:\n  country_code: \"4444\"\n", "callbacks.country_code"},
      {"callbacks:\n  national_prefix: \"x\"\n", "callbacks.national_prefix"},
      {"callbacks:\n  allowed_prefixes: [\"+44\",\n    \"44\"]\n", "callbacks.allowed_prefixes[1]"},
      {"callbacks:\n  denied_prefixes: [\"+\"]\n", "callbacks.denied_prefixes[0]"},
      {"callbacks:\n  denied_prefixes: \"+44\"\n", "callbacks.denied_prefixes"},
      {"callbacks:\n  rate_limit:\n    per_source: {max: 200000}\n",
       "callbacks.rate_limit.per_source.max"},
      {"callbacks:\n  rate_limit:\n    per_number: {max: -1}\n",
       "callbacks.rate_limit.per_number.max"},
      {"callbacks:\n  rate_limit:\n    per_number: {window: 8d}\n",
       "callbacks.rate_limit.per_number.window"},
      {"callbacks:\n  rate_limit:\n    per_number: {window: 1500ms}\n",
       "callbacks.rate_limit.per_number.window"},
      {"callbacks:\n  rate_limit:\n    per_caller: {max: 1}\n", "callbacks.rate_limit.per_caller"},
      {"callbacks:\n  dial_guard: {}\n", "callbacks.dial_guard"},
  };
  for (const auto& [text, path] : cases) {
    SCOPED_TRACE(text);
    const ConfigError e = onlyError(text);
    EXPECT_EQ(e.path, path) << e.text;
    EXPECT_EQ(e.line, std::count(text.begin(), text.end(), '\n')) << e.text;  // the last line
  }
  EXPECT_EQ(onlyError("callbacks:\n  allowed_prefixes: [\"44\"]\n").text,
            "test.yaml:2: callbacks.allowed_prefixes[0]: expected \"+\" and 1 to 15 digits, got "
            "\"44\"");
  EXPECT_EQ(onlyError("callbacks:\n  country_code: \"044\"\n").message,
            "expected 1 to 3 digits not starting with 0 (\"44\"), got \"044\"");
  EXPECT_EQ(onlyError("callbacks:\n  rate_limit:\n    per_number: {window: 8d}\n").message,
            "expected 1 s to 7 days");
}

TEST(ConfigHttp, CorsOriginsAndUiDir) {
  const ConfigParse defaults = parse("");
  ASSERT_TRUE(defaults);
  EXPECT_TRUE(defaults.config->http.cors_origins.empty());
  EXPECT_EQ(defaults.config->http.ui_dir, "ui/dist");

  const ConfigParse p = parse(R"(http:
  cors_origins:
    - https://shop.example.com
    - "HTTP://Localhost:3000"
    - "http://[::1]:8081"
    - "*"
  ui_dir: /srv/parley/ui
)");
  ASSERT_TRUE(p) << dump(p);
  EXPECT_EQ(p.config->http.cors_origins,
            (std::vector<std::string>{"https://shop.example.com", "http://localhost:3000",
                                      "http://[::1]:8081", "*"}));
  EXPECT_EQ(p.config->http.ui_dir, "/srv/parley/ui");
}

TEST(ConfigHttp, BadCorsOriginsNameLineAndIndex) {
  for (const std::string origin :
       {"https://shop.example.com/", "https://shop.example.com/checkout", "shop.example.com",
        "ftp://shop.example.com", "https://", "https://shop.example.com:0",
        "https://shop.example.com:99999", "https://shop.example.com:", "https://user@shop.com",
        "https://shop example.com", "https://[::1", "https://*.example.com"}) {
    SCOPED_TRACE(origin);
    const std::string text =
        "http:\n  cors_origins:\n    - https://ok.example.com\n    - \"" + origin + "\"\n";
    const ConfigError e = onlyError(text);
    EXPECT_EQ(e.path, "http.cors_origins[1]") << e.text;
    EXPECT_EQ(e.line, 4) << e.text;
  }
  EXPECT_EQ(onlyError("http:\n  cors_origins: [\"https://shop.example.com/\"]\n").text,
            "test.yaml:2: http.cors_origins[0]: \"https://shop.example.com/\": no path: drop the "
            "trailing /");
  EXPECT_EQ(onlyError("http:\n  cors_origins: [\"https://a.com\", \"https://A.com\"]\n").message,
            "\"https://a.com\" is given twice");
  EXPECT_EQ(onlyError("http:\n  cors_origins: https://a.com\n").path, "http.cors_origins");
  EXPECT_EQ(onlyError("http:\n  ui_dir:\n").path, "http.ui_dir");
}

TEST(ConfigWidget, InvitationsParse) {
  const ConfigParse p = parse(withCallbacks("      {}\n", R"(widget:
  invitations:
    - url: "*mortgage*"
      after: 30s
      from: "20:00"
      to: "24:00"
      message: Need help with your mortgage?
      queue: sales
    - {message: "Hello", after: 2m, from: "22:00", to: "06:00"}
)"));
  ASSERT_TRUE(p) << dump(p);
  const auto& inv = p.config->widget.invitations;
  ASSERT_EQ(inv.size(), 2u);
  EXPECT_EQ(inv[0].url, "*mortgage*");
  EXPECT_EQ(inv[0].after_s, 30);
  EXPECT_EQ(inv[0].from, "20:00");
  EXPECT_EQ(inv[0].to, "24:00");
  EXPECT_EQ(inv[0].message, "Need help with your mortgage?");
  EXPECT_EQ(inv[0].queue, "sales");
  // Defaults: every page, at once, all day, every queue; a window may wrap past midnight.
  EXPECT_EQ(inv[1].url, "");
  EXPECT_EQ(inv[1].after_s, 120);
  EXPECT_EQ(inv[1].from, "22:00");
  EXPECT_EQ(inv[1].to, "06:00");
  EXPECT_EQ(inv[1].queue, "");
  EXPECT_TRUE(parse("").config->widget.invitations.empty());
  EXPECT_TRUE(parse("widget:\n  invitations: []\n"));
}

TEST(ConfigWidget, BadInvitationsNameLineAndKey) {
  const std::string head = "widget:\n  invitations:\n    - message: hi\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"      queue: support\n", "widget.invitations[0].queue"},  // no callbacks block
      {"      queue: sale\n", "widget.invitations[0].queue"},
      {"      after: 1500ms\n", "widget.invitations[0].after"},
      {"      after: 2d\n", "widget.invitations[0].after"},
      {"      from: \"8pm\"\n", "widget.invitations[0].from"},
      {"      from: \"24:00\"\n", "widget.invitations[0].from"},
      {"      from: \"20:00\"\n      to: \"20:00\"\n", "widget.invitations[0].to"},
      {"      colour: red\n", "widget.invitations[0].colour"},
  };
  for (const auto& [lines, path] : cases) {
    SCOPED_TRACE(lines);
    const std::string text = withCallbacks("      {}\n", head + lines);
    const ConfigError e = onlyError(text);
    EXPECT_EQ(e.path, path) << e.text;
    EXPECT_EQ(e.line, std::count(text.begin(), text.end(), '\n')) << e.text;  // the last line
  }
  EXPECT_EQ(onlyError(withCallbacks("      {}\n", head + "      queue: support\n")).message,
            "queue \"support\" takes no callbacks (give it a callbacks block): an invitation "
            "offers one");
  EXPECT_EQ(onlyError(withCallbacks("      {}\n", head + "      queue: sale\n")).message,
            "unknown queue \"sale\"; did you mean \"sales\"?");
  const std::string no_message =
      withCallbacks("      {}\n", "widget:\n  invitations:\n    - {url: x}\n");
  expectErrorAt(no_message, "{url: x}", "widget.invitations[0].message");
  EXPECT_EQ(onlyError("widget:\n  invite: []\n").path, "widget.invite");
  // A queue that has callbacks switched off offers none either.
  EXPECT_EQ(onlyError("queues:\n  - {name: sales, callbacks: {enabled: false}}\n" + head +
                      "      queue: sales\n")
                .path,
            "widget.invitations[0].queue");
}

TEST(ConfigCallbacks, DemoHasSalesCallbacksTheTrunkAndAnInvitation) {
  const ConfigParse p = parseConfig(readFile("examples/demo.yaml"), "examples/demo.yaml");
  ASSERT_TRUE(p) << dump(p);
  const Config& c = *p.config;
  ASSERT_TRUE(c.sip.outbound_trunk.has_value());
  EXPECT_EQ(c.sip.outbound_trunk->uri, "sip:127.0.0.1:5070");
  const QueueEntry* sales = c.findQueue("sales");
  ASSERT_NE(sales, nullptr);
  ASSERT_TRUE(sales->takesCallbacks());
  EXPECT_FALSE(sales->callbacks->customer_first);
  EXPECT_EQ(sales->callbacks->slot_length, Millis{900'000});
  EXPECT_EQ(sales->callbacks->slot_capacity, 4);
  ASSERT_EQ(sales->callbacks->schedule.size(), 2u);
  EXPECT_EQ(sales->callbacks->schedule[1].from_minute, 9 * 60);
  EXPECT_EQ(c.callbacks.dial_guard.country_code, "44");
  ASSERT_EQ(c.widget.invitations.size(), 1u);
  EXPECT_EQ(c.widget.invitations[0].url, "*mortgage*");
  EXPECT_EQ(c.widget.invitations[0].after_s, 30);
  EXPECT_EQ(c.widget.invitations[0].from, "20:00");
  EXPECT_EQ(c.widget.invitations[0].to, "22:00");
  EXPECT_EQ(c.widget.invitations[0].queue, "sales");
}

}  // namespace
}  // namespace parley::app
