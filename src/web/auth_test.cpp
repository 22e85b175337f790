#include "web/auth.h"

#include <gtest/gtest.h>

#include <set>

namespace parley::web {
namespace {

using std::chrono::seconds;

TEST(Roles, AreOrderedAndNamed) {
  EXPECT_LT(Role::Agent, Role::Supervisor);
  EXPECT_LT(Role::Supervisor, Role::Admin);
  for (const Role r : {Role::Agent, Role::Supervisor, Role::Admin}) {
    EXPECT_EQ(parseRole(toString(r)), r);
  }
  EXPECT_FALSE(parseRole("root"));
}

TEST(CheckPassword, PlainAndSha256) {
  EXPECT_TRUE(checkPassword("demoadmin", "demoadmin"));
  EXPECT_FALSE(checkPassword("demoadmin", "demoadmi"));
  EXPECT_FALSE(checkPassword("demoadmin", "demoadminx"));
  EXPECT_FALSE(checkPassword("", "x"));
  const std::string hashed = sha256Password("secret");
  EXPECT_EQ(hashed, "sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
  EXPECT_TRUE(isSha256Password(hashed));
  EXPECT_TRUE(checkPassword(hashed, "secret"));
  EXPECT_FALSE(checkPassword(hashed, "Secret"));
  EXPECT_FALSE(checkPassword(hashed, hashed));
  // Upper-case hex is the same digest.
  std::string upper = hashed;
  for (std::size_t i = 7; i < upper.size(); ++i)
    upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_TRUE(checkPassword(upper, "secret"));
  EXPECT_FALSE(isSha256Password("sha256:abc"));
}

TEST(RandomToken, Is128BitsOfHexAndDiffers) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string t = randomToken();
    EXPECT_EQ(t.size(), 32u);
    EXPECT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(SessionTable, ExpiresAfterIdleTimeoutAndRefreshesOnUse) {
  SessionTable sessions(seconds(60));
  const Clock::time_point t0{};
  const std::string token = sessions.create({"ann", Role::Supervisor}, t0);
  ASSERT_TRUE(sessions.find(token, t0 + seconds(59)));
  ASSERT_TRUE(sessions.find(token, t0 + seconds(118)));  // refreshed at 59
  EXPECT_EQ(sessions.find(token, t0 + seconds(118))->user, "ann");
  EXPECT_FALSE(sessions.find(token, t0 + seconds(178)));
  EXPECT_FALSE(sessions.find("nonsense", t0));
  const std::string other = sessions.create({"bob", Role::Agent}, t0);
  sessions.remove(other);
  EXPECT_FALSE(sessions.find(other, t0));
}

TEST(SessionTable, EvictsLeastRecentlyUsedBeyondTheBound) {
  SessionTable sessions(seconds(60), 2);
  const Clock::time_point t0{};
  const std::string a = sessions.create({"a", Role::Agent}, t0);
  const std::string b = sessions.create({"b", Role::Agent}, t0 + seconds(1));
  ASSERT_TRUE(sessions.find(a, t0 + seconds(2)));
  const std::string c = sessions.create({"c", Role::Agent}, t0 + seconds(3));
  EXPECT_EQ(sessions.size(), 2u);
  EXPECT_TRUE(sessions.find(a, t0 + seconds(3)));
  EXPECT_FALSE(sessions.find(b, t0 + seconds(3)));
  EXPECT_TRUE(sessions.find(c, t0 + seconds(3)));
}

TEST(LoginLimiter, BlocksAnAddressAfterTooManyFailuresWithinTheWindow) {
  LoginLimiter limiter(3, seconds(60));
  const Clock::time_point t0{};
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.allowed("10.0.0.1", t0 + seconds(i)));
    limiter.failed("10.0.0.1", t0 + seconds(i));
  }
  EXPECT_FALSE(limiter.allowed("10.0.0.1", t0 + seconds(10)));
  EXPECT_EQ(limiter.retryAfterSeconds("10.0.0.1", t0 + seconds(10)), 50);
  EXPECT_TRUE(limiter.allowed("10.0.0.2", t0 + seconds(10)));
  EXPECT_TRUE(limiter.allowed("10.0.0.1", t0 + seconds(60)));
}

TEST(LoginLimiter, ZeroMeansNoLimit) {
  LoginLimiter limiter(0, seconds(60));
  for (int i = 0; i < 100; ++i) limiter.failed("a", Clock::time_point{});
  EXPECT_TRUE(limiter.allowed("a", Clock::time_point{}));
}

}  // namespace
}  // namespace parley::web
