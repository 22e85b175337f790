#include "app/engine_loop.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace parley::app {
namespace {

using namespace std::chrono_literals;
using engine::AgentState;

constexpr auto kWait = 5s;  // bound for anything that should take milliseconds

// Collects the loop's actions (on the loop thread) and lets the test thread wait for one.
class Recorder {
 public:
  void add(const engine::Action& action, engine::TimePoint at) {
    {
      std::lock_guard lock(mutex_);
      seen_.push_back({action, at});
    }
    cv_.notify_all();
  }
  // The first recorded action satisfying `match`, waiting up to kWait for it.
  std::optional<std::pair<engine::Action, engine::TimePoint>> waitFor(
      const std::function<bool(const engine::Action&)>& match) {
    std::unique_lock lock(mutex_);
    std::optional<std::pair<engine::Action, engine::TimePoint>> found;
    cv_.wait_for(lock, kWait, [&] {
      for (const auto& s : seen_) {
        if (match(s.first)) {
          found = s;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<engine::Action, engine::TimePoint>> seen_;
};

bool becameAvailable(const engine::Action& a, engine::AgentId agent) {
  const auto* c = std::get_if<engine::act::AgentStateChanged>(&a);
  return c && c->agent == agent && c->to == AgentState::Available;
}

struct Fixture {
  explicit Fixture(engine::Millis offer_timeout = 20s) {
    engine::Engine e;
    engine::QueueConfig q;
    q.name = "sales";
    q.offer_timeout = offer_timeout;
    queue = e.addQueue(q);
    agent = e.addAgent(engine::AgentConfig{.name = "1001", .queues = {{queue}}});
    // The sink reads `loop` only on the loop thread, after start().
    loop = std::make_unique<EngineLoop>(
        std::move(e), [this](const engine::Action& a, const engine::Engine&) {
          recorder.add(a, loop->toEngineTime(EngineLoop::SteadyClock::now()));
        });
    loop->start();
  }
  Recorder recorder;
  engine::QueueId queue{};
  engine::AgentId agent{};
  std::unique_ptr<EngineLoop> loop;
};

TEST(EngineLoop, EventPostedFromAnotherThreadReachesTheEngine) {
  Fixture f;
  std::thread sender([&] { EXPECT_TRUE(f.loop->post(engine::ev::AgentLogin{f.agent, true})); });
  sender.join();
  ASSERT_TRUE(f.recorder.waitFor([&](const auto& a) { return becameAvailable(a, f.agent); }));

  AgentState state = AgentState::LoggedOut;
  ASSERT_TRUE(f.loop->call([&](const engine::Engine& e) { state = e.agentState(f.agent); }, kWait));
  EXPECT_EQ(state, AgentState::Available);
}

TEST(EngineLoop, EventsFromOneThreadApplyInOrder) {
  Fixture f;
  std::thread sender([&] {
    for (int i = 0; i < 100; ++i) {
      f.loop->post(engine::ev::AgentLogin{f.agent, true});
      f.loop->post(engine::ev::AgentLogout{f.agent});
    }
    f.loop->post(engine::ev::AgentLogin{f.agent, false});  // last word: logged in, not ready
  });
  sender.join();
  AgentState state = AgentState::Available;
  ASSERT_TRUE(f.loop->call([&](const engine::Engine& e) { state = e.agentState(f.agent); }, kWait));
  EXPECT_EQ(state, AgentState::NotReady);
}

TEST(EngineLoop, TickFiresAtTheEnginesDeadline) {
  Fixture f(50ms);  // an unanswered offer times out after 50 ms
  f.loop->post(engine::ev::AgentLogin{f.agent, true});
  engine::ContactSpec contact;
  contact.id = engine::ContactId{7};
  contact.queue = f.queue;
  f.loop->post(engine::ev::ContactArrived{contact});

  const auto offered = f.recorder.waitFor(
      [](const auto& a) { return std::holds_alternative<engine::act::OfferCreated>(a); });
  ASSERT_TRUE(offered);
  const auto expires_at = std::get<engine::act::OfferCreated>(offered->first).expires_at;

  const auto withdrawn = f.recorder.waitFor([](const auto& a) {
    const auto* w = std::get_if<engine::act::OfferWithdrawn>(&a);
    return w && w->reason == engine::WithdrawReason::Timeout;
  });
  ASSERT_TRUE(withdrawn) << "no Tick reached the engine";
  EXPECT_GE(withdrawn->second, expires_at);  // not before the deadline
}

TEST(EngineLoop, StopIsIdempotentAndRefusesLaterWork) {
  Fixture f;
  f.loop->stop();
  f.loop->stop();
  EXPECT_FALSE(f.loop->post(engine::ev::AgentLogin{f.agent, true}));
  EXPECT_FALSE(f.loop->call([](const engine::Engine&) {}, 10ms));
}

TEST(EngineLoop, DescribeNamesAgentsAndStates) {
  engine::Engine e;
  const engine::QueueId q = e.addQueue(engine::QueueConfig{.name = "sales"});
  const engine::AgentId a = e.addAgent(engine::AgentConfig{.name = "1001", .queues = {{q}}});
  std::vector<engine::Action> out;
  e.handle(engine::ev::AgentLogin{a, true}, engine::atMillis(0), out);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(describe(out.front(), e).rfind("agent 1001: ", 0), 0u) << describe(out.front(), e);
}

}  // namespace
}  // namespace parley::app
