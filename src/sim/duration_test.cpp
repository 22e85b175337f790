// Durations as written in scenario files.
#include "sim/duration.h"

#include <gtest/gtest.h>

namespace parley::sim {
namespace {

using engine::Millis;

TEST(ParseDuration, BareNumberIsSeconds) {
  EXPECT_EQ(parseDuration("90"), Millis{90'000});
  EXPECT_EQ(parseDuration("0"), Millis{0});
  EXPECT_EQ(parseDuration("1.5"), Millis{1'500});
}

TEST(ParseDuration, UnitsAndCompounds) {
  EXPECT_EQ(parseDuration("250ms"), Millis{250});
  EXPECT_EQ(parseDuration("30s"), Millis{30'000});
  EXPECT_EQ(parseDuration("15m"), Millis{900'000});
  EXPECT_EQ(parseDuration("8h"), Millis{28'800'000});
  EXPECT_EQ(parseDuration("1d"), Millis{86'400'000});
  EXPECT_EQ(parseDuration("1h30m"), Millis{5'400'000});
  EXPECT_EQ(parseDuration("1h 30m 15s"), Millis{5'415'000});
  EXPECT_EQ(parseDuration("1.5h"), Millis{5'400'000});
  EXPECT_EQ(parseDuration(" 20s "), Millis{20'000});
}

TEST(ParseDuration, ClockForm) {
  EXPECT_EQ(parseDuration("08:30"), Millis{30'600'000});
  EXPECT_EQ(parseDuration("00:00:15"), Millis{15'000});
  EXPECT_EQ(parseDuration("25:00"), Millis{90'000'000});
}

TEST(ParseDuration, RejectsGarbage) {
  EXPECT_FALSE(parseDuration(""));
  EXPECT_FALSE(parseDuration("-5"));
  EXPECT_FALSE(parseDuration("5x"));
  EXPECT_FALSE(parseDuration("h"));
  EXPECT_FALSE(parseDuration("1h30"));
  EXPECT_FALSE(parseDuration("08:75"));
  EXPECT_FALSE(parseDuration("1:2:3:4"));
  EXPECT_FALSE(parseDuration("ten seconds"));
}

TEST(FormatDuration, ShortForms) {
  EXPECT_EQ(formatDuration(Millis{0}), "0s");
  EXPECT_EQ(formatDuration(Millis{250}), "250ms");
  EXPECT_EQ(formatDuration(Millis{45'000}), "45s");
  EXPECT_EQ(formatDuration(Millis{5'400'000}), "1h30m");
  EXPECT_EQ(formatDuration(Millis{90'500}), "1m30.5s");
}

TEST(FormatClock, HoursGoOnPastOneDay) {
  EXPECT_EQ(formatClock(Millis{30'600'000}), "08:30");
  EXPECT_EQ(formatClock(Millis{15'000}), "00:00:15");
  EXPECT_EQ(formatClock(Millis{90'000'000}), "25:00");
  EXPECT_EQ(parseDuration(formatClock(Millis{90'000'000})), Millis{90'000'000});
}

}  // namespace
}  // namespace parley::sim
