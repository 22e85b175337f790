#include "web/dial_guard.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace parley::web {
namespace {

using namespace std::chrono_literals;
using Time = DialGuard::Clock::time_point;

std::string normalised(const DialGuard& guard, std::string_view input) {
  const NumberCheck check = guard.checkNumber(input);
  EXPECT_TRUE(check.ok()) << input << ": " << check.error;
  return check.number;
}

std::string refusal(const DialGuard& guard, std::string_view input) {
  const NumberCheck check = guard.checkNumber(input);
  EXPECT_FALSE(check.ok()) << input << " accepted as " << check.number;
  EXPECT_TRUE(check.number.empty());
  return check.error;
}

TEST(DialGuardNumbers, E164WithSeparatorsIsNormalised) {
  const DialGuard guard({});
  EXPECT_EQ(normalised(guard, "+441234567890"), "+441234567890");
  EXPECT_EQ(normalised(guard, "+44 1234 567-890"), "+441234567890");
  EXPECT_EQ(normalised(guard, " +1 (212) 555.0100 "), "+12125550100");
  EXPECT_EQ(normalised(guard, "+44 (0)7911 123456"), "+447911123456");
  EXPECT_EQ(normalised(guard, "0044 7911 123456"), "+447911123456");
  EXPECT_EQ(normalised(guard, "+49301234"), "+49301234");                // 8 digits
  EXPECT_EQ(normalised(guard, "+123456789012345"), "+123456789012345");  // 15 digits
}

TEST(DialGuardNumbers, MalformedNumbersAreRefusedSayingWhy) {
  const DialGuard guard({});
  EXPECT_EQ(refusal(guard, ""), "number: missing (expected e.g. \"+441234567890\")");
  EXPECT_EQ(refusal(guard, " - "), "number: missing (expected e.g. \"+441234567890\")");
  EXPECT_EQ(refusal(guard, "+4930123"),
            "number: expected 8 to 15 digits with the country code, got 7");
  EXPECT_EQ(refusal(guard, "+1234567890123456"),
            "number: expected 8 to 15 digits with the country code, got 16");
  EXPECT_EQ(refusal(guard, "+0441234567890"), "number: a country code cannot start with 0");
  const std::string bad_chars =
      "number: only digits, a leading \"+\", spaces, dashes, dots and parentheses are allowed";
  EXPECT_EQ(refusal(guard, "+44123456789x"), bad_chars);
  EXPECT_EQ(refusal(guard, "+44+1234567890"), bad_chars);
  EXPECT_EQ(refusal(guard, "44+1234567890"), bad_chars);
  EXPECT_EQ(refusal(guard, "sip:+441234567890@evil"), bad_chars);
  EXPECT_EQ(refusal(guard, std::string("+4412345\0"
                                       "67890",
                                       14)),
            bad_chars);
  EXPECT_EQ(refusal(guard, "+44123456789;"), bad_chars);
  EXPECT_EQ(refusal(guard, std::string(65, '1')), "number: too long (at most 64 characters)");
  EXPECT_EQ(refusal(guard, "07911 123456"),
            "number: expected international format: \"+\", the country code and the number");
}

TEST(DialGuardNumbers, NationalNumbersNeedACountryCode) {
  const DialGuard guard({.country_code = "44", .national_prefix = "0"});
  EXPECT_EQ(normalised(guard, "07911 123456"), "+447911123456");
  EXPECT_EQ(normalised(guard, "(020) 7946-0018"), "+442079460018");
  EXPECT_EQ(normalised(guard, "+33 1 23 45 67 89"), "+33123456789");
  EXPECT_EQ(refusal(guard, "7911 123456"),
            "number: a national number starts with 0 (or write \"+\" and the country code)");
  EXPECT_EQ(refusal(guard, "0123"), "number: expected 8 to 15 digits with the country code, got 5");

  const DialGuard nanp({.country_code = "1", .national_prefix = ""});
  EXPECT_EQ(normalised(nanp, "(212) 555-0100"), "+12125550100");
}

TEST(DialGuardNumbers, DeniedPrefixesWinOverAllowedOnes) {
  const DialGuard guard({.country_code = "44",
                         .allowed_prefixes = {"+44", "+1"},
                         .denied_prefixes = {"+449", "+1900"}});
  EXPECT_EQ(normalised(guard, "+1 212 555 0100"), "+12125550100");
  EXPECT_EQ(normalised(guard, "07911 123456"), "+447911123456");
  EXPECT_EQ(refusal(guard, "09011 123456"), "number: numbers starting with +449 are not called");
  EXPECT_EQ(refusal(guard, "+1 900 555 0100"),
            "number: numbers starting with +1900 are not called");
  EXPECT_EQ(refusal(guard, "+33 1 23 45 67 89"),
            "number: only numbers starting with +44 or +1 are called");
  const DialGuard three({.allowed_prefixes = {"+44", "+1", "+33"}});
  EXPECT_EQ(refusal(three, "+49 30 1234567"),
            "number: only numbers starting with +44, +1 or +33 are called");
}

TEST(DialGuardConfigCheck, DefaultsAreValidAndMistakesAreNamed) {
  EXPECT_EQ(validate({}), "");
  const DialGuardConfig defaults;
  EXPECT_EQ(defaults.per_source.max_requests, 5);
  EXPECT_EQ(defaults.per_source.window, 10min);
  EXPECT_EQ(defaults.per_number.max_requests, 3);
  EXPECT_EQ(defaults.per_number.window, 1h);
  EXPECT_TRUE(defaults.allowed_prefixes.empty() && defaults.denied_prefixes.empty());
  EXPECT_EQ(validate({.country_code = "044"}),
            "country_code: expected 1 to 3 digits not starting with 0 (\"44\"), got \"044\"");
  EXPECT_EQ(validate({.national_prefix = "O"}),
            "national_prefix: expected up to 4 digits (\"0\"), got \"O\"");
  EXPECT_EQ(validate({.allowed_prefixes = {"+44", "44"}}),
            "allowed_prefixes[1]: expected \"+\" and 1 to 15 digits, got \"44\"");
  EXPECT_EQ(validate({.denied_prefixes = {"+"}}),
            "denied_prefixes[0]: expected \"+\" and 1 to 15 digits, got \"+\"");
  EXPECT_EQ(validate({.per_source = {5, 0s}}), "per_source.window: expected 1 s to 7 days");
  EXPECT_EQ(validate({.per_number = {-1, 10s}}), "per_number.max_requests: expected 0..100000");
  EXPECT_EQ(validate({.per_source = {0, 0s}}), "");  // no limit needs no window
}

TEST(DialGuardLimits, PerSourceLimitRefusesWithRetryAfterUntilTheOldestExpires) {
  DialGuard guard({.per_source = {2, 60s}, .per_number = {0, 0s}});
  const Time t0{};
  EXPECT_TRUE(guard.admit("10.0.0.1", "+441", t0).allowed);
  EXPECT_TRUE(guard.admit("10.0.0.1", "+442", t0 + 10s).allowed);
  const Admission refused = guard.admit("10.0.0.1", "+443", t0 + 20s);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_s, 40);
  EXPECT_EQ(refused.error, "too many callback requests from this address; try again in 40 s");
  EXPECT_TRUE(guard.admit("10.0.0.2", "+443", t0 + 20s).allowed);              // another address
  EXPECT_EQ(guard.admit("10.0.0.1", "+443", t0 + 59'500ms).retry_after_s, 1);  // rounded up
  EXPECT_TRUE(guard.admit("10.0.0.1", "+443", t0 + 60s).allowed);  // the first one slid out
  EXPECT_FALSE(guard.admit("10.0.0.1", "+443", t0 + 61s).allowed);
  EXPECT_TRUE(guard.admit("10.0.0.1", "+443", t0 + 70s).allowed);  // the second slid out
}

TEST(DialGuardLimits, PerNumberLimitHoldsAcrossAddressesAndRefusalsDoNotCount) {
  DialGuard guard({.per_source = {0, 0s}, .per_number = {3, 1h}});
  const Time t0{};
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(guard.admit("10.0.0." + std::to_string(i), "+441234567890", t0 + i * 1s).allowed);
  }
  for (int i = 0; i < 10; ++i) {
    const Admission refused = guard.admit("10.0.1." + std::to_string(i), "+441234567890", t0 + 5s);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after_s, 3595);
    EXPECT_EQ(refused.error, "too many callback requests for this number; try again in 3595 s");
  }
  EXPECT_TRUE(guard.admit("10.0.0.9", "+449999999999", t0 + 5s).allowed);
  EXPECT_TRUE(guard.admit("10.0.0.9", "+441234567890", t0 + 1h).allowed);
}

TEST(DialGuardLimits, ARefusalByOneLimitCountsAgainstNeither) {
  DialGuard guard({.per_source = {1, 60s}, .per_number = {1, 60s}});
  const Time t0{};
  EXPECT_TRUE(guard.admit("a", "+1", t0).allowed);
  EXPECT_FALSE(guard.admit("a", "+2", t0).allowed);  // source limit; +2 not counted
  EXPECT_TRUE(guard.admit("b", "+2", t0).allowed);
  EXPECT_FALSE(guard.admit("c", "+1", t0).allowed);  // number limit; c not counted
  EXPECT_TRUE(guard.admit("c", "+3", t0).allowed);
}

TEST(DialGuardLimits, TrackedKeysAreBoundedByForgettingTheLeastRecent) {
  DialGuard guard({.per_source = {1, 1h}, .per_number = {1, 1h}, .max_tracked_keys = 3});
  const Time t0{};
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(guard.admit("s" + std::to_string(i), "+" + std::to_string(i), t0).allowed);
  }
  EXPECT_EQ(guard.trackedSources(), 3u);
  EXPECT_EQ(guard.trackedNumbers(), 3u);
  EXPECT_FALSE(guard.admit("s99", "+new", t0).allowed);  // still remembered
  EXPECT_TRUE(guard.admit("s0", "+0", t0).allowed);      // forgotten long ago
}

TEST(DialGuardLimits, ZeroMaxRequestsMeansNoLimitAndNothingTracked) {
  DialGuard guard({.per_source = {0, 0s}, .per_number = {0, 0s}});
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(guard.admit("a", "+1", Time{}).allowed);
  EXPECT_EQ(guard.trackedSources(), 0u);
  EXPECT_EQ(guard.trackedNumbers(), 0u);
}

TEST(DialGuardLimits, ConcurrentRequestsForOneNumberAdmitExactlyTheLimit) {
  DialGuard guard({.per_source = {0, 0s}, .per_number = {3, 1h}});
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string source = std::to_string(t) + "-" + std::to_string(i);
        if (guard.admit(source, "+441234567890", Time{}).allowed) ++admitted;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(admitted.load(), 3);
}

}  // namespace
}  // namespace parley::web
