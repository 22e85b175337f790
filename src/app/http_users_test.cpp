#include "app/http_users.h"

#include <gtest/gtest.h>

#include "sip/digest.h"

namespace parley::app {
namespace {

TEST(HttpUsers, ConfigUsersAndAgentsCanLogIn) {
  const ConfigParse p = parseConfig(R"(sip: {realm: parley}
http:
  users:
    - {name: admin, password: demoadmin, role: admin}
    - {name: boss, password: "sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b", role: supervisor}
    - {name: "1003", password: override, role: supervisor}
queues:
  - name: sales
agents:
  - {extension: "1001", password: demo1001, queues: [sales]}
  - {extension: "1002", ha1: 0123456789abcdef0123456789abcdef, queues: [sales]}
  - {extension: "1003", password: demo1003, queues: [sales]}
)",
                                    "test.yaml");
  ASSERT_TRUE(p) << (p.errors.empty() ? "" : p.errors[0].text);
  web::UserDirectory users;
  {
    Config config = *p.config;
    // Give agent 1002 the HA1 of "pw1002" in realm parley.
    config.agents[1].ha1 = sip::toHex(sip::computeHa1("1002", "parley", "pw1002"));
    users = makeUserDirectory(config);
  }  // the directory keeps its own copy

  EXPECT_EQ(users("admin", "demoadmin"), web::Role::Admin);
  EXPECT_EQ(users("admin", "demoadmin "), std::nullopt);
  EXPECT_EQ(users("boss", "secret"), web::Role::Supervisor);
  EXPECT_EQ(users("1001", "demo1001"), web::Role::Agent);
  EXPECT_EQ(users("1001", "demo1002"), std::nullopt);
  EXPECT_EQ(users("1002", "pw1002"), web::Role::Agent);
  EXPECT_EQ(users("1002", "pw1001"), std::nullopt);
  EXPECT_EQ(users("1003", "demo1003"), std::nullopt);  // http.users wins
  EXPECT_EQ(users("1003", "override"), web::Role::Supervisor);
  EXPECT_EQ(users("nobody", "demoadmin"), std::nullopt);
  EXPECT_EQ(users("", ""), std::nullopt);
}

}  // namespace
}  // namespace parley::app
