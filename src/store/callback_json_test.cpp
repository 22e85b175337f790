#include "store/callback_json.h"

#include <gtest/gtest.h>

#include "store/callback_test_support.h"

namespace parley::store {
namespace {

using nlohmann::json;

TEST(CallbackJson, EveryFieldRoundTrips) {
  const Callback cb = testing::fullCallback("cb-1-1764000000000", 1'764'000'000'000);
  const auto back = callbackFromJson(json::parse(toJson(cb).dump()));
  ASSERT_TRUE(back.callback) << back.error;
  EXPECT_EQ(*back.callback, cb);
}

TEST(CallbackJson, DefaultRecordRoundTrips) {
  const Callback cb;
  const auto back = callbackFromJson(toJson(cb));
  ASSERT_TRUE(back.callback) << back.error;
  EXPECT_EQ(*back.callback, cb);
  EXPECT_FALSE(back.callback->scheduled_for);
}

TEST(CallbackJson, TimesAreMillisAndIsoStrings) {
  Callback cb = testing::fullCallback("x", 1'795'473'208'123);
  const json j = toJson(cb);
  EXPECT_EQ(j["requested_at"], 1'795'473'208'123);
  EXPECT_EQ(j["requested_at_iso"], "2026-11-23T22:33:28.123Z");
  EXPECT_EQ(j["scheduled_for"], 1'795'473'208'123 + 3'600'000);
  EXPECT_EQ(j["scheduled_for_iso"], "2026-11-23T23:33:28.123Z");
  EXPECT_EQ(j["attempt_log"][0]["started_iso"], "2026-11-23T22:33:28.133Z");
  EXPECT_EQ(j["context"]["campaign"], "spring");
  cb.scheduled_for.reset();
  const json unset = toJson(cb);
  EXPECT_TRUE(unset["scheduled_for"].is_null());
  EXPECT_TRUE(unset["scheduled_for_iso"].is_null());
}

TEST(CallbackJson, MissingFieldsKeepDefaultsAndUnknownOnesAreIgnored) {
  const auto back = callbackFromJson(json{{"id", "cb-1"}, {"future_field", {1, 2}}});
  ASSERT_TRUE(back.callback) << back.error;
  EXPECT_EQ(back.callback->id, "cb-1");
  EXPECT_EQ(back.callback->state, "waiting");
  EXPECT_TRUE(back.callback->attempt_log.empty());
}

TEST(CallbackJson, WrongTypesAreErrorsNamingTheField) {
  const json good = toJson(testing::fullCallback("x", 1000));
  const auto broken = [&](const json::json_pointer& where, json value) {
    json j = good;
    j[where] = std::move(value);
    return callbackFromJson(j);
  };
  EXPECT_EQ(broken("/queue"_json_pointer, 7).error, "queue: not a string");
  EXPECT_EQ(broken("/due_at"_json_pointer, "soon").error, "due_at: not an integer");
  EXPECT_EQ(broken("/scheduled_for"_json_pointer, 1.5).error, "scheduled_for: not an integer");
  EXPECT_EQ(broken("/priority"_json_pointer, 1e12).error, "priority: not an integer");
  EXPECT_EQ(broken("/attempts"_json_pointer, 5'000'000'000).error, "attempts: out of range");
  EXPECT_EQ(broken("/context"_json_pointer, json::array()).error, "context: not an object");
  EXPECT_EQ(broken("/context/campaign"_json_pointer, 3).error, "context.campaign: not a string");
  EXPECT_EQ(broken("/attempt_log"_json_pointer, "x").error, "attempt_log: not an array");
  EXPECT_EQ(broken("/attempt_log/1"_json_pointer, 2).error, "attempt_log[1]: not an object");
  EXPECT_EQ(broken("/attempt_log/1/sip_code"_json_pointer, "486").error,
            "attempt_log[1].sip_code: not an integer");
  for (const json& not_object : {json(nullptr), json(3), json("x"), json::array()}) {
    const auto r = callbackFromJson(not_object);
    EXPECT_FALSE(r.callback);
    EXPECT_EQ(r.error, "not a JSON object");
  }
}

}  // namespace
}  // namespace parley::store
