#include "flow/flow.h"

#include <gtest/gtest.h>

namespace parley::flow {
namespace {

Flow smallFlow() {
  Flow f;
  f.name = "main";
  f.start = "welcome";
  f.nodes["welcome"] = PlayNode{.prompts = {{Prompt::Kind::Tts, "Welcome"}}, .next = "menu"};
  f.nodes["menu"] = MenuNode{.prompt = {{Prompt::Kind::File, "menu.wav"}},
                             .options = {{'1', "sales"}, {'2', "bye"}}};
  f.nodes["sales"] = QueueNode{.queue = "sales"};
  f.nodes["bye"] = HangupNode{};
  return f;
}

bool hasIssue(const std::vector<FlowIssue>& issues, std::string_view node, std::string_view field) {
  for (const auto& i : issues) {
    if (i.node == node && i.field == field) return true;
  }
  return false;
}

TEST(ValidateFlow, AcceptsAWellFormedFlow) {
  const auto issues = validateFlow(smallFlow());
  EXPECT_TRUE(issues.empty()) << issues.front().node << "." << issues.front().field << ": "
                              << issues.front().message;
}

TEST(ValidateFlow, ReportsDanglingReferencesWithNodeAndField) {
  Flow f = smallFlow();
  std::get<MenuNode>(f.nodes["menu"]).options['3'] = "nowhere";
  std::get<PlayNode>(f.nodes["welcome"]).next = "missing";
  f.nodes["sales"] = QueueNode{.queue = "sales", .callback_key = '*', .on_callback = "gone"};
  const auto issues = validateFlow(f);
  EXPECT_TRUE(hasErrors(issues));
  EXPECT_TRUE(hasIssue(issues, "menu", "options.3"));
  EXPECT_TRUE(hasIssue(issues, "welcome", "next"));
  EXPECT_TRUE(hasIssue(issues, "sales", "on_callback"));
}

TEST(ValidateFlow, ReportsMissingStartAndFields) {
  Flow f = smallFlow();
  f.start = "nope";
  f.nodes["ask"] = CollectNode{.min_digits = 5, .max_digits = 3, .terminator = '5'};
  f.nodes["go"] = TransferNode{.uri = "tel:123"};
  f.nodes["when"] = HoursNode{.schedule = {OpenRange{.from_minute = 600, .to_minute = 540}}};
  const auto issues = validateFlow(f);
  EXPECT_TRUE(hasIssue(issues, "", "start"));
  EXPECT_TRUE(hasIssue(issues, "ask", "attribute"));
  EXPECT_TRUE(hasIssue(issues, "ask", "min_digits"));
  EXPECT_TRUE(hasIssue(issues, "ask", "terminator"));
  EXPECT_TRUE(hasIssue(issues, "ask", "next"));
  EXPECT_TRUE(hasIssue(issues, "go", "uri"));
  EXPECT_TRUE(hasIssue(issues, "when", "schedule[0].days"));
  EXPECT_TRUE(hasIssue(issues, "when", "schedule[0].to"));
  EXPECT_TRUE(hasIssue(issues, "when", "open"));
}

TEST(ValidateFlow, WarnsAboutUnreachableNodesWithoutFailing) {
  Flow f = smallFlow();
  f.nodes["orphan"] = HangupNode{};
  const auto issues = validateFlow(f);
  EXPECT_FALSE(hasErrors(issues));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].severity, FlowIssue::Severity::Warning);
  EXPECT_EQ(issues[0].node, "orphan");
}

TEST(ValidateFlow, RejectsBadKeysAndLevels) {
  Flow f = smallFlow();
  std::get<MenuNode>(f.nodes["menu"]).options['x'] = "bye";
  f.nodes["sales"] = QueueNode{.queue = "", .skills = {{"english", 7}, {"english", 2}}};
  const auto issues = validateFlow(f);
  EXPECT_TRUE(hasIssue(issues, "menu", "options.x"));
  EXPECT_TRUE(hasIssue(issues, "sales", "name"));
  EXPECT_TRUE(hasIssue(issues, "sales", "skills.english"));
}

TEST(FlowParsing, WeekdaysDatesAndTimes) {
  EXPECT_EQ(parseWeekday("Mon"), Weekday::Mon);
  EXPECT_EQ(parseWeekday("sunday"), Weekday::Sun);
  EXPECT_FALSE(parseWeekday("funday"));
  EXPECT_EQ(parseDate("2024-02-29"), (Date{2024, 2, 29}));
  EXPECT_FALSE(parseDate("2023-02-29"));
  EXPECT_FALSE(parseDate("2023-2-28"));
  EXPECT_EQ(parseTimeOfDay("08:30"), 510);
  EXPECT_EQ(parseTimeOfDay("24:00"), 1440);
  EXPECT_FALSE(parseTimeOfDay("24:01"));
  EXPECT_FALSE(parseTimeOfDay("8:30"));
  EXPECT_FALSE(parseTimeOfDay("12:60"));
}

TEST(FlowParsing, DtmfKeys) {
  for (char c : std::string_view("0123456789*#ABCD")) EXPECT_TRUE(isDtmfKey(c)) << c;
  for (char c : std::string_view("aEx ")) EXPECT_FALSE(isDtmfKey(c)) << c;
}

}  // namespace
}  // namespace parley::flow
