// Random event streams against a flow that uses every node type, with fixed seeds: whatever the
// caller and the network do, the run keeps its contracts.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "flow/interpreter.h"

namespace parley::flow {
namespace {

Prompt say(std::string text) {
  return Prompt{Prompt::Kind::Tts, std::move(text)};
}

Flow everyNodeFlow() {
  Flow f;
  f.name = "everything";
  f.start = "welcome";
  f.nodes["welcome"] = PlayNode{.prompts = {say("Welcome")}, .barge_in = true, .next = "tag"};
  f.nodes["tag"] = SetNode{.assignments = {{"campaign", "${called}"}}, .next = "hours"};
  OpenRange always{.from_minute = 0, .to_minute = 1440};
  always.days.fill(true);
  f.nodes["hours"] = HoursNode{.schedule = {always}, .open = "menu", .closed = "bye"};
  f.nodes["menu"] = MenuNode{
      .prompt = {say("menu")},
      .options = {{'1', "sales"}, {'2', "account"}, {'3', "out"}, {'0', "menu"}, {'9', "bye"}},
      .timeout = Millis{3'000},
      .retries = 2,
      .invalid_prompt = {say("invalid")},
      .on_failure = "bye"};
  f.nodes["account"] = CollectNode{.prompt = {say("account")},
                                   .attribute = "account",
                                   .min_digits = 2,
                                   .max_digits = 4,
                                   .timeout = Millis{4'000},
                                   .inter_digit_timeout = Millis{1'000},
                                   .retries = 1,
                                   .timeout_prompt = {say("timeout")},
                                   .next = "sales",
                                   .on_failure = "menu"};
  f.nodes["sales"] = QueueNode{.queue = "sales",
                               .announce_every = Millis{5'000},
                               .callback_key = '*',
                               .on_callback = "menu",
                               .on_exit = "out"};
  f.nodes["out"] = TransferNode{.uri = "sip:${account}@example.net", .on_failure = "bye"};
  f.nodes["bye"] = HangupNode{};
  return f;
}

// The driver's side of the contract, checked action by action.
struct DriverModel {
  std::optional<PlaybackId> playing;
  bool moh = false;
  bool ended = false;
  std::string failure;

  void check(bool ok, const std::string& what) {
    if (!ok && failure.empty()) failure = what;
  }

  void apply(const Action& a) {
    check(!ended, "action after Ended");
    if (const auto* p = std::get_if<act::Play>(&a)) {
      check(!playing, "Play while another playback is live");
      check(!moh, "Play over music on hold");
      playing = p->id;
    } else if (const auto* an = std::get_if<act::Announce>(&a)) {
      check(!playing, "Announce while another playback is live");
      check(!moh, "Announce over music on hold");
      playing = an->id;
    } else if (const auto* s = std::get_if<act::StopPlayback>(&a)) {
      check(playing == s->id, "StopPlayback for a playback that is not live");
      playing.reset();
    } else if (std::holds_alternative<act::StartMusicOnHold>(a)) {
      check(!moh && !playing, "StartMusicOnHold while music or a prompt plays");
      moh = true;
    } else if (std::holds_alternative<act::StopMusicOnHold>(a)) {
      check(moh, "StopMusicOnHold without music");
      moh = false;
    } else if (const auto* e = std::get_if<act::Ended>(&a)) {
      if (e->reason != EndReason::CallerHungUp) {
        check(!playing && !moh, "Ended with media still playing");
      }
      ended = true;
    }
  }
};

TEST(FlowRunProperty, RandomEventsKeepTheContracts) {
  const auto flow = std::make_shared<const Flow>(everyNodeFlow());
  ASSERT_FALSE(hasErrors(validateFlow(*flow)));
  std::map<EndReason, int> ends;
  for (std::uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&rng](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
    FlowRun run(flow, CallContext{.called = "100",
                                  .caller = "200",
                                  .local_time = LocalDateTime{{2025, 6, 2}, 3600}});
    DriverModel driver;
    engine::TimePoint now = engine::atMillis(0);
    std::vector<Action> out;
    run.start(now, out);
    for (const auto& a : out) driver.apply(a);
    for (int step = 0; step < 400 && !run.ended(); ++step) {
      out.clear();
      Event e = ev::Tick{};
      switch (pick(12)) {
        case 0:
        case 1:
          e = ev::PromptFinished{driver.playing};
          if (driver.playing) driver.playing.reset();
          break;
        case 2:
        case 3:
        case 4:
          e = ev::Digit{"0123456789*#ABx"[pick(15)]};
          break;
        case 5:
          if (const auto d = run.nextDeadline()) now = std::max(now, *d);
          break;
        case 6:
          now += Millis{pick(3'000)};
          break;
        case 7:
          e = ev::QueueUpdate{
              static_cast<std::size_t>(1 + pick(5)),
              pick(2) ? std::optional<Millis>(Millis{pick(300'000)}) : std::nullopt};
          break;
        case 8:
          e = pick(2) ? Event{ev::ContactOffered{}} : Event{ev::ContactRequeued{}};
          break;
        case 9:
          e = pick(3) == 0   ? Event{ev::TransferFailed{"busy"}}
              : pick(2) == 0 ? Event{ev::TransferCompleted{}}
                             : Event{ev::QueueExited{}};
          break;
        case 10:
          e = ev::PromptFinished{static_cast<PlaybackId>(pick(50))};  // maybe stale
          if (driver.playing && std::get<ev::PromptFinished>(e).id == driver.playing) {
            driver.playing.reset();
          }
          break;
        default:
          e = pick(20) == 0   ? Event{ev::ContactAnswered{}}
              : pick(30) == 0 ? Event{ev::CallerHungUp{}}
                              : Event{ev::Tick{}};
          break;
      }
      run.handle(e, now, out);
      for (const auto& a : out) driver.apply(a);
      ASSERT_TRUE(driver.failure.empty())
          << "seed " << seed << " step " << step << ": " << driver.failure;
      // No timer livelock: a Tick at a deadline leaves no deadline at or before it.
      if (const auto d = run.nextDeadline(); d && *d <= now) {
        out.clear();
        run.handle(ev::Tick{}, now, out);
        for (const auto& a : out) driver.apply(a);
        const auto after = run.nextDeadline();
        ASSERT_TRUE(!after || *after > now) << "seed " << seed << ": deadline stuck";
      }
      ASSERT_EQ(run.ended(), driver.ended) << "seed " << seed;
    }
    if (run.record().end) ++ends[*run.record().end];
    EXPECT_EQ(run.record().end.has_value(), run.ended());
    EXPECT_LE(run.record().path.size(), kMaxRecordEntries);
  }
  // The streams reach every kind of end but Error (the flow is valid).
  for (EndReason r :
       {EndReason::Answered, EndReason::HungUp, EndReason::CallerHungUp, EndReason::Transferred}) {
    EXPECT_GT(ends[r], 5) << toString(r);
  }
  EXPECT_EQ(ends[EndReason::Error], 0);
}

}  // namespace
}  // namespace parley::flow
