#include "sip/auth_failure_limiter.h"

#include <gtest/gtest.h>

namespace parley::sip {
namespace {

using std::chrono::seconds;

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);

TEST(AuthFailureLimiter, LocksOutAfterMaxFailuresWithinTheWindow) {
  AuthFailureLimiter l({.max_failures = 3, .window = seconds(60), .lockout = seconds(300)});
  EXPECT_FALSE(l.recordFailure("10.0.0.1", kT0));
  EXPECT_FALSE(l.recordFailure("10.0.0.1", kT0 + seconds(10)));
  EXPECT_FALSE(l.blocked("10.0.0.1", kT0 + seconds(10)));
  const auto until = l.recordFailure("10.0.0.1", kT0 + seconds(20));
  ASSERT_TRUE(until);
  EXPECT_EQ(*until, kT0 + seconds(320));
  EXPECT_TRUE(l.blocked("10.0.0.1", kT0 + seconds(20)));
  EXPECT_TRUE(l.blocked("10.0.0.1", kT0 + seconds(319)));
  EXPECT_FALSE(l.blocked("10.0.0.1", kT0 + seconds(320)));
  EXPECT_FALSE(l.blocked("10.0.0.2", kT0 + seconds(20)));  // other sources are unaffected
}

TEST(AuthFailureLimiter, FailuresSpreadBeyondTheWindowDoNotLockOut) {
  AuthFailureLimiter l({.max_failures = 3, .window = seconds(60), .lockout = seconds(300)});
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(l.recordFailure("10.0.0.1", kT0 + seconds(40 * i))) << i;
  }
}

TEST(AuthFailureLimiter, ZeroDisables) {
  AuthFailureLimiter l({.max_failures = 0});
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(l.recordFailure("10.0.0.1", kT0));
  EXPECT_FALSE(l.blocked("10.0.0.1", kT0));
}

TEST(AuthFailureLimiter, MemoryIsBounded) {
  AuthFailureLimiter l(
      {.max_failures = 2, .window = seconds(60), .lockout = seconds(300), .max_tracked = 100});
  for (int i = 0; i < 1000; ++i) {
    l.recordFailure("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256),
                    kT0 + std::chrono::milliseconds(i));
  }
  EXPECT_LE(l.tracked(), 100u);
  l.prune(kT0 + seconds(3600));
  EXPECT_EQ(l.tracked(), 0u);
}

}  // namespace
}  // namespace parley::sip
