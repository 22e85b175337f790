#include "app/sip_wiring.h"

#include <gtest/gtest.h>

namespace parley::app {
namespace {

using namespace std::chrono_literals;

Config parse(std::string_view yaml) {
  ConfigParse parsed = parseConfig(yaml, "test.yaml");
  EXPECT_TRUE(parsed) << (parsed.errors.empty() ? "" : parsed.errors.front().text);
  return parsed ? *parsed.config : Config{};
}

constexpr std::string_view kConfig = R"(
sip:
  listen: {udp: 127.0.0.1:5070, tcp: off}
  realm: example
  registration: {min_expires: 30, max_expires: 600, default_expires: 300, max_contacts: 3}
  auth_failure_limit: {max_failures: 7, window: 1500ms, block_for: 2m}
queues:
  - name: sales
agents:
  - extension: "1001"
    password: secret1
    queues: [sales]
    available_on_register: true
  - extension: "1002"
    ha1: 0123456789abcdef0123456789abcdef
    queues: [sales]
)";

TEST(SipWiring, ServerConfigCarriesListenRealmLimitsAndUsers) {
  const Config config = parse(kConfig);
  const sip::SipServerConfig s = toSipServerConfig(config);
  EXPECT_EQ(s.udp_listen, std::vector<std::string>{"127.0.0.1:5070"});
  EXPECT_TRUE(s.tcp_listen.empty());
  EXPECT_EQ(s.registrar.realm, "example");
  EXPECT_EQ(s.registrar.min_expires, 30s);
  EXPECT_EQ(s.registrar.max_expires, 600s);
  EXPECT_EQ(s.registrar.default_expires, 300s);
  EXPECT_EQ(s.registrar.max_contacts_per_aor, 3u);
  EXPECT_EQ(s.registrar.rate_limit.max_failures, 7);
  EXPECT_EQ(s.registrar.rate_limit.window, 2s);  // rounded up to whole seconds
  EXPECT_EQ(s.registrar.rate_limit.lockout, 120s);
  ASSERT_EQ(s.registrar.users.size(), 2u);
  EXPECT_EQ(s.registrar.users[0].name, "1001");
  EXPECT_EQ(s.registrar.users[0].password, "secret1");
  EXPECT_EQ(s.registrar.users[1].ha1, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(sip::validate(s.registrar), std::nullopt);
}

TEST(SipWiring, DefaultConfigGivesAValidRegistrar) {
  // The config's defaults must pass the registrar's own checks.
  const sip::SipServerConfig s = toSipServerConfig(parse(""));
  EXPECT_EQ(sip::validate(s.registrar), std::nullopt);
  EXPECT_EQ(s.udp_listen, std::vector<std::string>{"127.0.0.1:5060"});
  EXPECT_EQ(s.tcp_listen, std::vector<std::string>{"127.0.0.1:5060"});
}

TEST(PhonePresence, RegisteringLogsInOnlyAgentsThatAskForIt) {
  const Config config = parse(kConfig);
  engine::Engine e;
  const EngineIds ids = addToEngine(config, e);
  const PhonePresence presence(config, ids);

  const auto login = presence.eventFor({"1001", true});
  ASSERT_TRUE(login);
  const auto* l = std::get_if<engine::ev::AgentLogin>(&*login);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->agent, *e.findAgent("1001"));
  EXPECT_TRUE(l->ready);

  const auto logout = presence.eventFor({"1001", false});
  ASSERT_TRUE(logout);
  EXPECT_TRUE(std::holds_alternative<engine::ev::AgentLogout>(*logout));

  EXPECT_FALSE(presence.eventFor({"1002", true}));  // no available_on_register
  EXPECT_FALSE(presence.eventFor({"9999", true}));  // not an agent
}

}  // namespace
}  // namespace parley::app
