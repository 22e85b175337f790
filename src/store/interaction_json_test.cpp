#include "store/interaction_json.h"

#include <gtest/gtest.h>

#include "store/test_support.h"

namespace parley::store {
namespace {

using nlohmann::json;

TEST(InteractionJson, EveryFieldRoundTrips) {
  const Interaction in = testing::fullInteraction("call-1-1764000000000", 1'764'000'000'000);
  const auto back = fromJson(json::parse(toJson(in).dump()));
  ASSERT_TRUE(back.interaction) << back.error;
  EXPECT_EQ(*back.interaction, in);
}

TEST(InteractionJson, DefaultRecordRoundTrips) {
  const Interaction in;
  const auto back = fromJson(toJson(in));
  ASSERT_TRUE(back.interaction) << back.error;
  EXPECT_EQ(*back.interaction, in);
}

TEST(InteractionJson, TimesAreMillisAndIsoStrings) {
  Interaction in = testing::fullInteraction("x", 1'795'473'208'123);
  in.answered.reset();
  const json j = toJson(in);
  EXPECT_EQ(j["arrived"], 1'795'473'208'123);
  EXPECT_EQ(j["arrived_at"], "2026-11-23T22:33:28.123Z");
  EXPECT_TRUE(j["answered"].is_null());
  EXPECT_TRUE(j["answered_at"].is_null());
  EXPECT_EQ(j["offers"][0]["offered"], 1'795'473'208'123 + 2200);
  EXPECT_EQ(j["offers"][0]["offered_at"], "2026-11-23T22:33:30.323Z");
  EXPECT_EQ(j["digits"][1]["key"], "#");
  EXPECT_EQ(j["digits"][1]["pressed_at"], "2026-11-23T22:33:30.623Z");
  EXPECT_EQ(j["ivr_path"][1]["entered"], 1'795'473'208'123 + 2000);
  EXPECT_EQ(j["attributes"]["campaign"], "spring");
}

TEST(InteractionJson, IsoTimeHandlesEpochAndBefore) {
  EXPECT_EQ(isoTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(isoTime(-1), "1969-12-31T23:59:59.999Z");
}

TEST(InteractionJson, WrongTypesAreErrorsNamingTheField) {
  EXPECT_EQ(fromJson(json::array()).error, "not a JSON object");
  EXPECT_EQ(fromJson(json{{"arrived", "yesterday"}}).error, "arrived: not an integer");
  json j = toJson(testing::fullInteraction("x", 1000));
  j["offers"][1]["sip_code"] = "200";
  EXPECT_EQ(fromJson(j).error, "offers[1].sip_code: not an integer");
  j = toJson(testing::fullInteraction("x", 1000));
  j["digits"][0]["key"] = "12";
  EXPECT_EQ(fromJson(j).error, "digits[0].key: more than one character");
  j = toJson(testing::fullInteraction("x", 1000));
  j["attributes"]["campaign"] = 7;
  EXPECT_EQ(fromJson(j).error, "attributes.campaign: not a string");
}

TEST(InteractionJson, MissingAndUnknownFieldsAreFine) {
  const auto r = fromJson(json{{"id", "a"}, {"future_field", {1, 2}}});
  ASSERT_TRUE(r.interaction) << r.error;
  EXPECT_EQ(r.interaction->id, "a");
  EXPECT_EQ(r.interaction->channel, "voice");
  EXPECT_FALSE(r.interaction->answered);
}

}  // namespace
}  // namespace parley::store
