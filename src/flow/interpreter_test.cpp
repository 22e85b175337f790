#include "flow/interpreter.h"

#include <gtest/gtest.h>

#include <string>

namespace parley::flow {
namespace {

using engine::atMillis;

Prompt say(std::string text) {
  return Prompt{Prompt::Kind::Tts, std::move(text)};
}
Prompt file(std::string path) {
  return Prompt{Prompt::Kind::File, std::move(path)};
}

template <typename T>
const T* first(const std::vector<Action>& actions) {
  for (const auto& a : actions) {
    if (const auto* p = std::get_if<T>(&a)) return p;
  }
  return nullptr;
}

template <typename T>
std::size_t count(const std::vector<Action>& actions) {
  std::size_t n = 0;
  for (const auto& a : actions) n += std::holds_alternative<T>(a) ? 1 : 0;
  return n;
}

// Drives one FlowRun with a hand-moved clock.
class Call {
 public:
  explicit Call(Flow flow, CallContext ctx = {})
      : flow_(std::make_shared<const Flow>(std::move(flow))), run_(flow_, std::move(ctx)) {
    const auto issues = validateFlow(*flow_);
    EXPECT_FALSE(hasErrors(issues)) << issues.front().node << "." << issues.front().field;
  }

  std::vector<Action> start() {
    std::vector<Action> out;
    run_.start(now_, out);
    return out;
  }
  std::vector<Action> send(const Event& e) { return run_.onEvent(e, now_); }
  std::vector<Action> digit(char key) { return send(ev::Digit{key}); }
  // Reports the current playback as finished.
  std::vector<Action> promptDone() { return send(ev::PromptFinished{}); }
  std::vector<Action> advance(std::int64_t ms) {
    now_ += engine::Millis{ms};
    return send(ev::Tick{});
  }
  // Moves the clock to the next deadline and ticks.
  std::vector<Action> fireDeadline() {
    const auto d = run_.nextDeadline();
    EXPECT_TRUE(d.has_value());
    if (d) now_ = *d;
    return send(ev::Tick{});
  }

  FlowRun& run() { return run_; }
  engine::TimePoint now() const { return now_; }

 private:
  std::shared_ptr<const Flow> flow_;
  FlowRun run_;
  engine::TimePoint now_ = atMillis(1'000'000);
};

// welcome (play) -> menu: 1 sales queue, 2 support queue, 9 goodbye; failure -> sorry.
Flow menuFlow() {
  Flow f;
  f.name = "main";
  f.start = "welcome";
  f.nodes["welcome"] = PlayNode{.prompts = {file("welcome.wav")}, .next = "menu"};
  f.nodes["menu"] = MenuNode{.prompt = {say("Press 1 for sales, 2 for support.")},
                             .options = {{'1', "sales"}, {'2', "support"}, {'9', "bye"}},
                             .timeout = Millis{5'000},
                             .retries = 2,
                             .invalid_prompt = {say("Sorry, that is not an option.")},
                             .timeout_prompt = {say("We did not hear you.")},
                             .on_failure = "sorry"};
  f.nodes["sales"] = QueueNode{.queue = "sales"};
  f.nodes["support"] = QueueNode{.queue = "support"};
  f.nodes["bye"] = HangupNode{};
  f.nodes["sorry"] = PlayNode{.prompts = {say("Goodbye.")}, .next = "bye"};
  return f;
}

const act::Play& onlyPlay(const std::vector<Action>& actions) {
  const auto* p = first<act::Play>(actions);
  EXPECT_NE(p, nullptr);
  static const act::Play kNone{};
  return p ? *p : kNone;
}

// Plays the welcome and reaches the menu prompt's end.
void toMenuWait(Call& call) {
  call.start();
  call.promptDone();                 // welcome
  const auto a = call.promptDone();  // menu prompt
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(call.run().currentNode(), "menu");
}

TEST(Menu, CorrectKeyGoesToItsNode) {
  Call call(menuFlow());
  const auto started = call.start();
  EXPECT_EQ(onlyPlay(started).prompts, (Prompts{file("welcome.wav")}));
  EXPECT_FALSE(onlyPlay(started).barge_in);
  const auto menu = call.promptDone();
  EXPECT_EQ(onlyPlay(menu).prompts[0].value, "Press 1 for sales, 2 for support.");
  EXPECT_TRUE(onlyPlay(menu).barge_in);
  call.promptDone();
  EXPECT_EQ(call.run().nextDeadline(), call.now() + Millis{5'000});
  EXPECT_TRUE(call.advance(1'200).empty());
  const auto key = call.digit('2');
  const auto* enq = first<act::Enqueue>(key);
  ASSERT_NE(enq, nullptr);
  EXPECT_EQ(enq->queue, "support");
  EXPECT_EQ(call.run().currentNode(), "support");
}

TEST(Menu, InvalidKeyPlaysInvalidPromptAndRetries) {
  Call call(menuFlow());
  toMenuWait(call);
  const auto bad = call.digit('7');
  EXPECT_EQ(onlyPlay(bad).prompts[0].value, "Sorry, that is not an option.");
  EXPECT_FALSE(call.run().nextDeadline());  // no timer while the error prompt plays
  const auto again = call.promptDone();
  EXPECT_EQ(onlyPlay(again).prompts[0].value, "Press 1 for sales, 2 for support.");
  call.promptDone();
  const auto good = call.digit('1');
  ASSERT_NE(first<act::Enqueue>(good), nullptr);
  EXPECT_EQ(first<act::Enqueue>(good)->queue, "sales");
}

TEST(Menu, TimeoutPlaysTimeoutPromptAndRetries) {
  Call call(menuFlow());
  toMenuWait(call);
  EXPECT_TRUE(call.advance(4'999).empty());
  const auto timed_out = call.advance(1);
  EXPECT_EQ(onlyPlay(timed_out).prompts[0].value, "We did not hear you.");
  const auto again = call.promptDone();
  EXPECT_EQ(onlyPlay(again).prompts[0].value, "Press 1 for sales, 2 for support.");
}

TEST(Menu, MaxRetriesGoesToFailureNode) {
  Call call(menuFlow());
  toMenuWait(call);
  // Attempt 1: invalid; 2: timeout; 3: invalid -> 1 + 2 retries used up.
  call.digit('5');
  call.promptDone();  // invalid prompt
  call.promptDone();  // menu prompt
  call.fireDeadline();
  call.promptDone();  // timeout prompt
  call.promptDone();  // menu prompt
  const auto last = call.digit('#');
  EXPECT_EQ(onlyPlay(last).prompts[0].value, "Sorry, that is not an option.");
  const auto failure = call.promptDone();
  EXPECT_EQ(call.run().currentNode(), "sorry");
  EXPECT_EQ(onlyPlay(failure).prompts[0].value, "Goodbye.");
  const auto bye = call.promptDone();
  ASSERT_NE(first<act::Hangup>(bye), nullptr);
  ASSERT_NE(first<act::Ended>(bye), nullptr);
  EXPECT_EQ(first<act::Ended>(bye)->reason, EndReason::HungUp);
  EXPECT_TRUE(call.run().ended());
  const auto& path = call.run().record().path;
  ASSERT_EQ(path.size(), 4u);
  EXPECT_EQ(path[1].node, "menu");
  EXPECT_EQ(path[1].result, "invalid");
}

TEST(Menu, FailureWithoutOnFailureHangsUp) {
  Flow f = menuFlow();
  auto& m = std::get<MenuNode>(f.nodes["menu"]);
  m.on_failure.clear();
  m.retries = 0;
  m.timeout_prompt.clear();
  f.nodes.erase("sorry");
  Call call(std::move(f));
  toMenuWait(call);
  const auto a = call.fireDeadline();
  ASSERT_NE(first<act::Ended>(a), nullptr);
  EXPECT_NE(first<act::Hangup>(a), nullptr);
}

TEST(BargeIn, KeyDuringMenuPromptStopsItAndChooses) {
  Call call(menuFlow());
  call.start();
  const auto menu = call.promptDone();
  const PlaybackId id = onlyPlay(menu).id;
  const auto a = call.digit('1');
  ASSERT_FALSE(a.empty());
  const auto* stop = std::get_if<act::StopPlayback>(&a.front());
  ASSERT_NE(stop, nullptr);
  EXPECT_EQ(stop->id, id);
  EXPECT_NE(first<act::Enqueue>(a), nullptr);
  // The driver's late PromptFinished for the stopped prompt changes nothing.
  EXPECT_TRUE(call.send(ev::PromptFinished{id}).empty());
}

TEST(BargeIn, BargeInPlayNodeSkipsToMenuWithTheKeyAsTypeAhead) {
  Flow f = menuFlow();
  std::get<PlayNode>(f.nodes["welcome"]).barge_in = true;
  Call call(std::move(f));
  call.start();
  const auto a = call.digit('2');
  EXPECT_NE(first<act::StopPlayback>(a), nullptr);
  EXPECT_EQ(count<act::Play>(a), 0u);  // the menu prompt is skipped: its key is in
  ASSERT_NE(first<act::Enqueue>(a), nullptr);
  EXPECT_EQ(first<act::Enqueue>(a)->queue, "support");
}

TEST(TypeAhead, KeyDuringNonInterruptiblePromptIsKeptForTheMenu) {
  Call call(menuFlow());
  call.start();
  EXPECT_TRUE(call.digit('1').empty());  // welcome cannot be interrupted
  const auto a = call.promptDone();
  EXPECT_EQ(count<act::Play>(a), 0u);
  ASSERT_NE(first<act::Enqueue>(a), nullptr);
  EXPECT_EQ(first<act::Enqueue>(a)->queue, "sales");
}

TEST(TypeAhead, NonInterruptibleMenuPromptTakesTheKeyWhenItEnds) {
  Flow f = menuFlow();
  std::get<MenuNode>(f.nodes["menu"]).barge_in = false;
  Call call(std::move(f));
  call.start();
  call.promptDone();
  EXPECT_TRUE(call.digit('9').empty());
  const auto a = call.promptDone();
  EXPECT_NE(first<act::Hangup>(a), nullptr);
}

TEST(TypeAhead, KeysAfterAnInvalidKeyAreDiscarded) {
  Call call(menuFlow());
  call.start();
  call.digit('7');  // buffered during welcome
  call.digit('1');
  const auto a = call.promptDone();  // menu takes 7: invalid, 1 is discarded
  EXPECT_EQ(onlyPlay(a).prompts[0].value, "Sorry, that is not an option.");
  const auto again = call.promptDone();
  EXPECT_EQ(onlyPlay(again).prompts[0].value, "Press 1 for sales, 2 for support.");
}

TEST(TypeAhead, BufferIsBounded) {
  Call call(menuFlow());
  call.start();
  for (int i = 0; i < 100; ++i) call.digit('8');
  const auto& digits = call.run().record().digits;
  ASSERT_EQ(digits.size(), 100u);
  EXPECT_FALSE(digits[kMaxTypeAhead - 1].ignored);
  EXPECT_TRUE(digits[kMaxTypeAhead].ignored);
}

// collect account -> thanks (play with substitution) -> done.
Flow collectFlow() {
  Flow f;
  f.name = "collect";
  f.start = "ask";
  f.nodes["ask"] = CollectNode{.prompt = {say("Enter your account number, then hash.")},
                               .attribute = "account",
                               .min_digits = 4,
                               .max_digits = 6,
                               .terminator = '#',
                               .timeout = Millis{5'000},
                               .inter_digit_timeout = Millis{2'000},
                               .retries = 1,
                               .invalid_prompt = {say("That number is not valid.")},
                               .next = "thanks",
                               .on_failure = "bye"};
  f.nodes["thanks"] = PlayNode{.prompts = {say("You entered ${account}.")}, .next = "bye"};
  f.nodes["bye"] = HangupNode{};
  return f;
}

const act::SetAttribute* setOf(const std::vector<Action>& a) {
  return first<act::SetAttribute>(a);
}

TEST(Collect, TerminatorEndsEntry) {
  Call call(collectFlow());
  call.start();
  call.digit('1');  // barge-in: stops the prompt
  call.digit('2');
  call.digit('3');
  call.digit('4');
  const auto a = call.digit('#');
  ASSERT_NE(setOf(a), nullptr);
  EXPECT_EQ(setOf(a)->name, "account");
  EXPECT_EQ(setOf(a)->value, "1234");
  EXPECT_EQ(onlyPlay(a).prompts[0].value, "You entered 1234.");
  EXPECT_EQ(call.run().attributes().at("account"), "1234");
}

TEST(Collect, MaxDigitsEndsEntryWithoutTerminator) {
  Call call(collectFlow());
  call.start();
  call.promptDone();
  for (char c : std::string("98765")) EXPECT_EQ(setOf(call.digit(c)), nullptr);
  const auto a = call.digit('4');
  ASSERT_NE(setOf(a), nullptr);
  EXPECT_EQ(setOf(a)->value, "987654");
}

TEST(Collect, InterDigitTimeoutEndsEntry) {
  Call call(collectFlow());
  call.start();
  call.promptDone();
  EXPECT_EQ(call.run().nextDeadline(), call.now() + Millis{5'000});
  call.advance(3'000);
  for (char c : std::string("55555")) call.digit(c);
  EXPECT_EQ(call.run().nextDeadline(), call.now() + Millis{2'000});
  EXPECT_TRUE(call.advance(1'999).empty());
  const auto a = call.advance(1);
  ASSERT_NE(setOf(a), nullptr);
  EXPECT_EQ(setOf(a)->value, "55555");
}

TEST(Collect, TooFewDigitsIsInvalidThenFailureAfterRetries) {
  Call call(collectFlow());
  call.start();
  call.digit('1');
  const auto a = call.digit('#');
  EXPECT_EQ(onlyPlay(a).prompts[0].value, "That number is not valid.");
  const auto again = call.promptDone();
  EXPECT_EQ(onlyPlay(again).prompts[0].value, "Enter your account number, then hash.");
  call.promptDone();
  call.digit('1');
  call.fireDeadline();  // inter-digit timeout with 1 digit: invalid, retries used up
  const auto b = call.promptDone();
  EXPECT_NE(first<act::Hangup>(b), nullptr);
  EXPECT_EQ(call.run().record().path.front().result, "invalid");
  EXPECT_FALSE(call.run().attributes().contains("account"));
}

TEST(Collect, StarIsAnInvalidAttempt) {
  Call call(collectFlow());
  call.start();
  const auto a = call.digit('*');
  EXPECT_EQ(onlyPlay(a).prompts[0].value, "That number is not valid.");
}

TEST(Set, SubstitutesCalledCallerAndAttributes) {
  Flow f;
  f.name = "tag";
  f.start = "tag";
  f.nodes["tag"] = SetNode{.assignments = {{"campaign", "fluggerbot"},
                                           {"line", "${called}"},
                                           {"who", "${caller}/${campaign}/${nope}"},
                                           {"raw", "${unterminated"}},
                           .next = "q"};
  f.nodes["q"] = QueueNode{.queue = "sales", .priority = 5, .skills = {{"english", 3}}};
  Call call(
      std::move(f),
      CallContext{.called = "100", .caller = "555123", .attributes = {{"entry_point", "main"}}});
  const auto a = call.start();
  ASSERT_EQ(count<act::SetAttribute>(a), 4u);
  const auto* enq = first<act::Enqueue>(a);
  ASSERT_NE(enq, nullptr);
  EXPECT_EQ(enq->priority, 5);
  ASSERT_EQ(enq->skills.size(), 1u);
  EXPECT_EQ(enq->skills[0].skill, "english");
  EXPECT_EQ(enq->skills[0].min_level, 3);
  EXPECT_EQ(enq->attributes.at("campaign"), "fluggerbot");
  EXPECT_EQ(enq->attributes.at("line"), "100");
  EXPECT_EQ(enq->attributes.at("who"), "555123/fluggerbot/");
  EXPECT_EQ(enq->attributes.at("raw"), "${unterminated");
  EXPECT_EQ(enq->attributes.at("entry_point"), "main");
  EXPECT_EQ(call.run().record().queue, "sales");
}

TEST(Substitute, EdgeCases) {
  const Attributes attrs{{"a", "x"}};
  EXPECT_EQ(substitute("", "c", "d", attrs), "");
  EXPECT_EQ(substitute("${a}${a}", "", "", attrs), "xx");
  EXPECT_EQ(substitute("$a ${} ${a", "", "", attrs), "$a  ${a");
  EXPECT_EQ(substitute("${called}-${caller}", "100", "200", attrs), "100-200");
}

// --- business hours -------------------------------------------------------------------------

Flow hoursFlow() {
  Flow f;
  f.name = "hours";
  f.start = "check";
  OpenRange weekdays{.from_minute = 8 * 60, .to_minute = 17 * 60 + 30};
  for (int d = 0; d < 5; ++d) weekdays.days[static_cast<std::size_t>(d)] = true;
  OpenRange saturday{.from_minute = 10 * 60, .to_minute = 24 * 60};
  saturday.days[static_cast<std::size_t>(Weekday::Sat)] = true;
  f.nodes["check"] = HoursNode{.schedule = {weekdays, saturday},
                               .closed_dates = {Date{2025, 12, 25}},
                               .open = "open",
                               .closed = "closed"};
  f.nodes["open"] = HangupNode{};
  f.nodes["closed"] = HangupNode{};
  return f;
}

struct HoursCase {
  Date date;
  int hh, mm, ss;
  bool open;
};

class BusinessHours : public testing::TestWithParam<HoursCase> {};

TEST_P(BusinessHours, OpenOrClosedAtBoundaries) {
  const HoursCase c = GetParam();
  Call call(hoursFlow(),
            CallContext{.local_time = LocalDateTime{c.date, c.hh * 3600 + c.mm * 60 + c.ss}});
  call.start();
  EXPECT_EQ(call.run().record().path.back().node, c.open ? "open" : "closed");
}

// 2025-06-02 is a Monday, 2025-06-07 a Saturday, 2025-06-08 a Sunday, 2025-12-25 a Thursday.
INSTANTIATE_TEST_SUITE_P(Schedule, BusinessHours,
                         testing::Values(HoursCase{{2025, 6, 2}, 7, 59, 59, false},
                                         HoursCase{{2025, 6, 2}, 8, 0, 0, true},
                                         HoursCase{{2025, 6, 2}, 17, 29, 59, true},
                                         HoursCase{{2025, 6, 2}, 17, 30, 0, false},
                                         HoursCase{{2025, 6, 7}, 9, 59, 59, false},
                                         HoursCase{{2025, 6, 7}, 23, 59, 59, true},
                                         HoursCase{{2025, 6, 8}, 12, 0, 0, false},
                                         HoursCase{{2025, 12, 25}, 12, 0, 0, false},
                                         HoursCase{{2025, 12, 26}, 12, 0, 0, true}));

TEST(BusinessHoursClock, LocalTimeAdvancesWithTheCall) {
  Flow f = hoursFlow();
  f.start = "wait";
  f.nodes["wait"] = PlayNode{.prompts = {say("Please hold.")}, .next = "check"};
  // Friday 17:29:50; the prompt takes 15 s, so the check happens at 17:30:05: closed.
  Call call(std::move(f),
            CallContext{.local_time = LocalDateTime{{2025, 6, 6}, 17 * 3600 + 29 * 60 + 50}});
  call.start();
  call.advance(15'000);
  call.promptDone();
  EXPECT_EQ(call.run().record().path.back().node, "closed");
}

TEST(BusinessHoursClock, NoLocalTimeTakesClosed) {
  Call call(hoursFlow());
  call.start();
  EXPECT_EQ(call.run().record().path.back().node, "closed");
}

TEST(Calendar, WeekdaysAndAdvance) {
  EXPECT_EQ(weekdayOf({1970, 1, 1}), Weekday::Thu);
  EXPECT_EQ(weekdayOf({2024, 2, 29}), Weekday::Thu);
  EXPECT_EQ(weekdayOf({2000, 1, 1}), Weekday::Sat);
  const LocalDateTime t = advanceBy({{2024, 12, 31}, 86'399}, Millis{1'500});
  EXPECT_EQ(t.date, (Date{2025, 1, 1}));
  EXPECT_EQ(t.second_of_day, 0);
  EXPECT_EQ(advanceBy({{2024, 2, 28}, 3600}, Millis{86'400'000}).date, (Date{2024, 2, 29}));
}

// --- queue ----------------------------------------------------------------------------------

Flow queueFlow() {
  Flow f;
  f.name = "q";
  f.start = "wait";
  f.nodes["wait"] = QueueNode{.queue = "sales",
                              .priority = 2,
                              .skills = {{"english", 2}, {"billing", 1}},
                              .music = "moh.wav",
                              .announce_every = Millis{30'000},
                              .callback_key = '*',
                              .on_callback = "offer_callback",
                              .on_exit = "full"};
  f.nodes["offer_callback"] = PlayNode{.prompts = {say("We will call you back.")}, .next = "bye"};
  f.nodes["full"] = PlayNode{.prompts = {say("All agents are busy.")}, .next = "bye"};
  f.nodes["bye"] = HangupNode{};
  return f;
}

TEST(Queue, EnqueuesWithPrioritySkillsAndAttributesAndStartsMusic) {
  Call call(queueFlow(), CallContext{.attributes = {{"campaign", "spring"}}});
  const auto a = call.start();
  const auto* enq = first<act::Enqueue>(a);
  ASSERT_NE(enq, nullptr);
  EXPECT_EQ(enq->queue, "sales");
  EXPECT_EQ(enq->priority, 2);
  ASSERT_EQ(enq->skills.size(), 2u);
  EXPECT_EQ(enq->skills[1].skill, "billing");
  EXPECT_EQ(enq->attributes.at("campaign"), "spring");
  ASSERT_NE(first<act::StartMusicOnHold>(a), nullptr);
  EXPECT_EQ(first<act::StartMusicOnHold>(a)->file, "moh.wav");
  EXPECT_FALSE(call.run().nextDeadline());  // no announcement before the position is known
}

TEST(Queue, AnnouncesPositionAndWaitPeriodically) {
  Call call(queueFlow());
  call.start();
  const auto first_update = call.send(ev::QueueUpdate{3, Millis{125'000}});
  ASSERT_EQ(first_update.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<act::StopMusicOnHold>(first_update[0]));
  const auto* ann = std::get_if<act::Announce>(&first_update[1]);
  ASSERT_NE(ann, nullptr);
  EXPECT_EQ(ann->position, 3u);
  ASSERT_EQ(ann->prompts.size(), 1u);
  EXPECT_EQ(ann->prompts[0].value,
            "You are number 3 in line. Your expected wait is about 2 minutes.");
  const auto back = call.send(ev::PromptFinished{ann->id});
  ASSERT_NE(first<act::StartMusicOnHold>(back), nullptr);
  // Updates between announcements are remembered, not spoken.
  EXPECT_TRUE(call.send(ev::QueueUpdate{2, Millis{40'000}}).empty());
  EXPECT_EQ(call.run().nextDeadline(), call.now() + Millis{30'000});
  EXPECT_TRUE(call.advance(29'999).empty());
  const auto second = call.advance(1);
  ASSERT_NE(first<act::Announce>(second), nullptr);
  EXPECT_EQ(first<act::Announce>(second)->prompts[0].value,
            "You are number 2 in line. Your expected wait is less than a minute.");
}

TEST(Queue, NoAnnouncementWhileAnAgentIsRinging) {
  Call call(queueFlow());
  call.start();
  call.send(ev::ContactOffered{});
  EXPECT_TRUE(call.send(ev::QueueUpdate{1, std::nullopt}).empty());
  EXPECT_FALSE(call.run().nextDeadline());
  const auto a = call.send(ev::ContactRequeued{});
  ASSERT_NE(first<act::Announce>(a), nullptr);
  EXPECT_EQ(first<act::Announce>(a)->prompts[0].value, "You are next in line.");
}

TEST(Queue, AnswerEndsTheFlowAndStopsWhatPlays) {
  Call call(queueFlow());
  call.start();
  const auto ann = call.send(ev::QueueUpdate{4, std::nullopt});
  const PlaybackId id = first<act::Announce>(ann)->id;
  const auto a = call.send(ev::ContactAnswered{});
  ASSERT_NE(first<act::StopPlayback>(a), nullptr);
  EXPECT_EQ(first<act::StopPlayback>(a)->id, id);
  EXPECT_EQ(first<act::Hangup>(a), nullptr);
  ASSERT_NE(first<act::Ended>(a), nullptr);
  EXPECT_EQ(first<act::Ended>(a)->reason, EndReason::Answered);
  EXPECT_EQ(call.run().record().path.back().result, "answered");
  EXPECT_TRUE(call.send(ev::Digit{'*'}).empty());  // over: nothing more
}

TEST(Queue, CallbackKeyLeavesTheQueueForItsNode) {
  Call call(queueFlow());
  call.start();
  EXPECT_TRUE(call.digit('5').empty());  // other keys are ignored in the queue
  const auto a = call.digit('*');
  ASSERT_GE(a.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<act::LeaveQueue>(a[0]));
  EXPECT_TRUE(std::holds_alternative<act::StopMusicOnHold>(a[1]));
  EXPECT_EQ(onlyPlay(a).prompts[0].value, "We will call you back.");
  EXPECT_EQ(call.run().currentNode(), "offer_callback");
  const auto& digits = call.run().record().digits;
  ASSERT_EQ(digits.size(), 2u);
  EXPECT_TRUE(digits[0].ignored);
  EXPECT_FALSE(digits[1].ignored);
  EXPECT_EQ(digits[1].node, "wait");
}

TEST(Queue, EngineExitGoesToOnExit) {
  Call call(queueFlow());
  call.start();
  const auto a = call.send(ev::QueueExited{});
  EXPECT_EQ(first<act::LeaveQueue>(a), nullptr);
  EXPECT_NE(first<act::StopMusicOnHold>(a), nullptr);
  EXPECT_EQ(onlyPlay(a).prompts[0].value, "All agents are busy.");
}

TEST(Queue, CallerHangingUpEndsWithoutActions) {
  Call call(queueFlow());
  call.start();
  const auto a = call.send(ev::CallerHungUp{});
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(std::get<act::Ended>(a[0]).reason, EndReason::CallerHungUp);
}

TEST(AnnouncementText, Wording) {
  EXPECT_EQ(announcementText(3, Millis{120'000}, true, true),
            "You are number 3 in line. Your expected wait is about 2 minutes.");
  EXPECT_EQ(announcementText(1, Millis{89'000}, true, true),
            "You are next in line. Your expected wait is about 1 minute.");
  EXPECT_EQ(announcementText(7, Millis{90'000}, false, true),
            "Your expected wait is about 2 minutes.");
  EXPECT_EQ(announcementText(7, std::nullopt, false, true), "");
  EXPECT_EQ(announcementText(0, std::nullopt, true, true), "");
}

// --- transfer, hangup, defences ---------------------------------------------------------------

TEST(Transfer, EmitsTransferAndEndsWhenItSucceeds) {
  Flow f;
  f.name = "t";
  f.start = "out";
  f.nodes["out"] = TransferNode{.uri = "sip:${account}@pbx.example", .on_failure = "bye"};
  f.nodes["bye"] = HangupNode{};
  Call call(std::move(f), CallContext{.attributes = {{"account", "42"}}});
  const auto a = call.start();
  ASSERT_NE(first<act::Transfer>(a), nullptr);
  EXPECT_EQ(first<act::Transfer>(a)->uri, "sip:42@pbx.example");
  EXPECT_FALSE(call.run().ended());
  const auto done = call.send(ev::TransferCompleted{});
  EXPECT_EQ(first<act::Ended>(done)->reason, EndReason::Transferred);
}

TEST(Transfer, FailureGoesToOnFailure) {
  Flow f;
  f.name = "t";
  f.start = "out";
  f.nodes["out"] = TransferNode{.uri = "sip:desk@pbx.example", .on_failure = "bye"};
  f.nodes["bye"] = HangupNode{};
  Call call(std::move(f));
  call.start();
  const auto a = call.send(ev::TransferFailed{"486 Busy Here"});
  EXPECT_NE(first<act::Hangup>(a), nullptr);
  EXPECT_EQ(call.run().record().path.front().result, "transfer failed: 486 Busy Here");
}

// --- callback -----------------------------------------------------------------------------

Flow callbackFlow() {
  Flow f;
  f.name = "cb";
  f.start = "q";
  f.nodes["q"] = QueueNode{.queue = "sales", .callback_key = '*', .on_callback = "book"};
  f.nodes["book"] = CallbackNode{.next = "thanks", .on_failure = "sorry"};
  f.nodes["thanks"] = PlayNode{.prompts = {say("We will call ${callback_id}.")}, .next = "bye"};
  f.nodes["sorry"] = PlayNode{.prompts = {say("Sorry: ${callback_error}.")}, .next = "bye"};
  f.nodes["bye"] = HangupNode{};
  return f;
}

TEST(Callback, KeyThenNodeAsksForACallbackInTheQueueTheCallerLeft) {
  Call call(callbackFlow(), CallContext{.caller = "0701234567"});
  call.start();
  const auto a = call.digit('*');
  EXPECT_NE(first<act::LeaveQueue>(a), nullptr);
  const auto* req = first<act::RequestCallback>(a);
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->queue, "sales");
  EXPECT_EQ(req->number, "0701234567");
  EXPECT_FALSE(call.run().ended());
  EXPECT_EQ(first<act::Play>(call.digit('1')), nullptr) << "keys wait while booking";
  const auto taken = call.send(ev::CallbackResult{true, "cb-1-5", ""});
  ASSERT_NE(first<act::Play>(taken), nullptr);
  EXPECT_EQ(first<act::Play>(taken)->prompts[0].value, "We will call cb-1-5.");
  EXPECT_EQ(call.run().record().attributes.at("callback_id"), "cb-1-5");
}

TEST(Callback, RefusalGoesToOnFailureWithTheReason) {
  Call call(callbackFlow(), CallContext{.caller = "0701234567"});
  call.start();
  call.digit('*');
  const auto refused = call.send(ev::CallbackResult{false, "", "closed"});
  ASSERT_NE(first<act::Play>(refused), nullptr);
  EXPECT_EQ(first<act::Play>(refused)->prompts[0].value, "Sorry: closed.");
  // A stale second answer changes nothing.
  EXPECT_TRUE(call.send(ev::CallbackResult{true, "x", ""}).empty());
}

TEST(Callback, NodeWithoutNextIsAFlowError) {
  Flow f = callbackFlow();
  f.nodes["book"] = CallbackNode{.number = "", .next = ""};
  const auto issues = validateFlow(f);
  EXPECT_TRUE(hasErrors(issues));
}

TEST(Callback, OfferedOnceWhenTheExpectedWaitPassesTheThreshold) {
  Flow f = callbackFlow();
  auto& q = std::get<QueueNode>(f.nodes["q"]);
  q.offer_callback_over = engine::Millis{60'000};
  Call call(std::move(f), CallContext{.caller = "0701234567"});
  call.start();
  EXPECT_EQ(first<act::Play>(call.send(ev::QueueUpdate{3, engine::Millis{30'000}})), nullptr);
  const auto offer = call.send(ev::QueueUpdate{3, engine::Millis{120'000}});
  EXPECT_NE(first<act::StopMusicOnHold>(offer), nullptr);
  const auto* play = first<act::Play>(offer);
  ASSERT_NE(play, nullptr);
  EXPECT_EQ(play->prompts[0].value,
            "To keep your place in line and have us call you back, press star.");
  EXPECT_NE(first<act::StartMusicOnHold>(call.promptDone()), nullptr);
  EXPECT_EQ(first<act::Play>(call.send(ev::QueueUpdate{2, engine::Millis{180'000}})), nullptr)
      << "offered once per queue visit";
  // The key still works, as when pressed unprompted.
  EXPECT_NE(first<act::RequestCallback>(call.digit('*')), nullptr);
}

TEST(Callback, OfferNeedsTheCallbackKey) {
  Flow f = callbackFlow();
  auto& q = std::get<QueueNode>(f.nodes["q"]);
  q.offer_callback_over = engine::Millis{60'000};
  q.callback_key.reset();
  q.on_callback.clear();
  f.nodes.erase("book");
  f.nodes.erase("thanks");
  f.nodes.erase("sorry");
  EXPECT_TRUE(hasErrors(validateFlow(f)));
}

Flow scheduleFlow() {
  Flow f;
  f.name = "sched";
  f.start = "q";
  f.nodes["q"] = QueueNode{.queue = "sales", .callback_key = '*', .on_callback = "pick"};
  f.nodes["pick"] = ScheduleCallbackNode{.prompt = {say("When shall we call?")},
                                         .timeout = engine::Millis{4'000},
                                         .retries = 1,
                                         .next = "thanks",
                                         .on_failure = "sorry"};
  f.nodes["thanks"] = PlayNode{.prompts = {say("We will call ${callback_time}.")}, .next = "bye"};
  f.nodes["sorry"] = PlayNode{.prompts = {say("Sorry: ${callback_error}.")}, .next = "bye"};
  f.nodes["bye"] = HangupNode{};
  return f;
}

const ev::SlotsOffered kTwoSlots{{{1000, "today at 3 PM"}, {2000, "tomorrow at 9 AM"}}};

TEST(ScheduleCallback, ReadsTheFreeTimesAndBooksTheOnePicked) {
  Call call(scheduleFlow(), CallContext{.caller = "0701234567"});
  call.start();
  const auto a = call.digit('*');
  const auto* ask = first<act::OfferSlots>(a);
  ASSERT_NE(ask, nullptr);
  EXPECT_EQ(ask->queue, "sales");
  EXPECT_EQ(ask->count, 3);
  const auto offered = call.send(kTwoSlots);
  const auto* play = first<act::Play>(offered);
  ASSERT_NE(play, nullptr);
  ASSERT_EQ(play->prompts.size(), 2u);
  EXPECT_EQ(play->prompts[0].value, "When shall we call?");
  EXPECT_EQ(play->prompts[1].value, "For today at 3 PM, press 1. For tomorrow at 9 AM, press 2.");
  EXPECT_TRUE(play->barge_in);
  const auto picked = call.digit('2');  // barges in
  EXPECT_NE(first<act::StopPlayback>(picked), nullptr);
  const auto* req = first<act::RequestCallback>(picked);
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->at, std::optional<std::int64_t>(2000));
  EXPECT_EQ(req->number, "0701234567");
  const auto done = call.send(ev::CallbackResult{true, "cb-7-1", ""});
  ASSERT_NE(first<act::Play>(done), nullptr);
  EXPECT_EQ(first<act::Play>(done)->prompts[0].value, "We will call tomorrow at 9 AM.");
  EXPECT_EQ(call.run().record().attributes.at("callback_id"), "cb-7-1");
}

TEST(ScheduleCallback, WrongKeyAndSilenceRetryThenFail) {
  Call call(scheduleFlow(), CallContext{.caller = "0701234567"});
  call.start();
  call.digit('*');
  call.send(kTwoSlots);
  const auto again = call.digit('7');  // not offered: the times again
  ASSERT_NE(first<act::Play>(again), nullptr);
  EXPECT_EQ(first<act::RequestCallback>(again), nullptr);
  call.promptDone();
  const auto failed = call.fireDeadline();  // retries: 1, so the second miss fails
  ASSERT_NE(first<act::Play>(failed), nullptr);
  EXPECT_EQ(first<act::Play>(failed)->prompts[0].value, "Sorry: no choice.");
}

TEST(ScheduleCallback, NoFreeTimeGoesToOnFailure) {
  Call call(scheduleFlow(), CallContext{.caller = "0701234567"});
  call.start();
  call.digit('*');
  const auto none = call.send(ev::SlotsOffered{});
  ASSERT_NE(first<act::Play>(none), nullptr);
  EXPECT_EQ(first<act::Play>(none)->prompts[0].value, "Sorry: no free time.");
}

TEST(ScheduleCallback, BadFieldsAreFlowErrors) {
  Flow f = scheduleFlow();
  f.nodes["pick"] = ScheduleCallbackNode{.slots = 10, .next = "thanks"};
  EXPECT_TRUE(hasErrors(validateFlow(f)));
}

TEST(Substitute, DigitsSpellsAValueForSpeech) {
  const Attributes attrs{{"n", "+44 (20) 7946-0018"}, {"empty", ""}};
  EXPECT_EQ(substitute("on ${n:digits}.", "", "", attrs), "on plus 4 4 2 0 7 9 4 6 0 0 1 8.");
  EXPECT_EQ(substitute("${caller:digits}", "", "555", attrs), "5 5 5");
  EXPECT_EQ(substitute("[${empty:digits}]", "", "", attrs), "[]");
  EXPECT_EQ(substitute("${:digits}", "", "", attrs), "");
}

TEST(Hangup, EndsOnceWithHangupThenEnded) {
  Flow f;
  f.name = "h";
  f.start = "bye";
  f.nodes["bye"] = HangupNode{};
  Call call(std::move(f));
  const auto a = call.start();
  ASSERT_EQ(a.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<act::Hangup>(a[0]));
  EXPECT_EQ(std::get<act::Ended>(a[1]).reason, EndReason::HungUp);
  EXPECT_TRUE(call.run().ended());
  EXPECT_TRUE(call.start().empty());
  EXPECT_TRUE(call.send(ev::CallerHungUp{}).empty());
}

TEST(Defences, RunawayLoopIsCutAndHangsUp) {
  Flow f;
  f.name = "loop";
  f.start = "a";
  f.nodes["a"] = SetNode{.assignments = {{"x", "1"}}, .next = "b"};
  f.nodes["b"] = SetNode{.assignments = {{"y", "2"}}, .next = "a"};
  Call call(std::move(f));
  const auto a = call.start();
  EXPECT_EQ(count<act::SetAttribute>(a), kMaxStepsPerEvent);
  ASSERT_NE(first<act::Hangup>(a), nullptr);
  const auto* end = first<act::Ended>(a);
  ASSERT_NE(end, nullptr);
  EXPECT_EQ(end->reason, EndReason::Error);
  EXPECT_NE(end->detail.find("loop"), std::string::npos);
  EXPECT_EQ(call.run().record().error, end->detail);
}

TEST(Defences, UnknownNodeEndsCleanly) {
  Flow f;
  f.name = "broken";
  f.start = "a";
  f.nodes["a"] = PlayNode{.prompts = {say("hi")}, .next = "missing"};
  ASSERT_TRUE(hasErrors(validateFlow(f)));
  FlowRun run(std::make_shared<const Flow>(std::move(f)), {});
  std::vector<Action> out;
  run.start(atMillis(0), out);
  const auto a = run.onEvent(ev::PromptFinished{}, atMillis(10));
  ASSERT_NE(first<act::Ended>(a), nullptr);
  EXPECT_EQ(first<act::Ended>(a)->reason, EndReason::Error);
  EXPECT_NE(first<act::Ended>(a)->detail.find("missing"), std::string::npos);
  EXPECT_NE(first<act::Hangup>(a), nullptr);
}

TEST(Defences, NullFlowAndEventsBeforeStartAreHarmless) {
  FlowRun none(nullptr, {});
  EXPECT_TRUE(none.onEvent(ev::Digit{'1'}, atMillis(0)).empty());
  std::vector<Action> out;
  none.start(atMillis(0), out);
  ASSERT_NE(first<act::Ended>(out), nullptr);
  EXPECT_EQ(first<act::Ended>(out)->reason, EndReason::Error);
}

TEST(Defences, OddKeysAndStaleEventsAreIgnored) {
  Call call(menuFlow());
  toMenuWait(call);
  EXPECT_TRUE(call.digit('x').empty());
  EXPECT_TRUE(call.digit('\0').empty());
  EXPECT_TRUE(call.send(ev::PromptFinished{12345}).empty());
  EXPECT_TRUE(call.send(ev::ContactAnswered{}).empty());
  EXPECT_TRUE(call.send(ev::QueueUpdate{1, std::nullopt}).empty());
  EXPECT_TRUE(call.send(ev::TransferCompleted{}).empty());
  const auto a = call.digit('b');  // lower-case A-D are taken as upper case; B is no option
  EXPECT_EQ(onlyPlay(a).prompts[0].value, "Sorry, that is not an option.");
}

TEST(Defences, ZeroTimeoutsAndEmptyPromptsCannotSpin) {
  Flow f;
  f.name = "broken";
  f.start = "p";
  f.nodes["p"] = PlayNode{.next = "m"};
  f.nodes["m"] = MenuNode{.options = {{'1', "m"}}, .timeout = Millis{0}, .retries = 1'000'000};
  FlowRun run(std::make_shared<const Flow>(std::move(f)), {});
  std::vector<Action> out;
  run.start(atMillis(0), out);
  EXPECT_TRUE(out.empty());  // the empty play is skipped; the menu waits
  EXPECT_EQ(run.currentNode(), "m");
  EXPECT_EQ(run.nextDeadline(), atMillis(0) + kMinTimeout);
}

TEST(Record, KeepsThePathWithTimesResultsAndDigits) {
  Call call(menuFlow());
  call.start();
  call.advance(4'000);
  call.promptDone();  // welcome
  call.advance(2'000);
  call.digit('2');  // barge into the menu prompt
  const RunRecord& r = call.run().record();
  ASSERT_EQ(r.path.size(), 3u);
  EXPECT_EQ(r.path[0].node, "welcome");
  EXPECT_EQ(r.path[0].type, "play");
  EXPECT_EQ(r.path[0].result, "played");
  EXPECT_EQ(r.path[1].node, "menu");
  EXPECT_EQ(r.path[1].result, "2");
  EXPECT_EQ(r.path[1].entered, r.started + Millis{4'000});
  EXPECT_EQ(r.path[2].node, "support");
  EXPECT_EQ(r.path[2].entered, r.started + Millis{6'000});
  ASSERT_EQ(r.digits.size(), 1u);
  EXPECT_EQ(r.digits[0].key, '2');
  EXPECT_EQ(r.digits[0].node, "menu");
  EXPECT_EQ(r.digits[0].at, r.started + Millis{6'000});
  EXPECT_EQ(r.queue, "support");
}

TEST(Record, MenuLoopBackIsBoundedInTheRecord) {
  Flow f;
  f.name = "m";
  f.start = "m";
  f.nodes["m"] = MenuNode{.options = {{'1', "m"}}};
  Call call(std::move(f));
  call.start();
  for (std::size_t i = 0; i < kMaxRecordEntries + 10; ++i) call.digit('1');
  EXPECT_EQ(call.run().record().path.size(), kMaxRecordEntries);
  EXPECT_EQ(call.run().record().digits.size(), kMaxRecordEntries);
  EXPECT_EQ(call.run().record().dropped, 21u);  // 11 path steps + 10 digits
  EXPECT_FALSE(call.run().ended());
}

}  // namespace
}  // namespace parley::flow
