// LoopTimer on a real SIP loop thread: order, cancel, restart, callbacks that destroy
// timers, timers outliving their thread, many timers.
#include "sip/loop_timer.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <vector>

#include "sip/sip_server.h"

namespace parley::sip {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kWait = 10s;

std::unique_ptr<SipServer> startServer() {
  SipServerConfig c;
  c.udp_listen = {"127.0.0.1:0"};
  c.tcp_listen = {};
  c.registrar.realm = "parley";
  SipServerStart r = SipServer::start(std::move(c), SipServerHooks{});
  EXPECT_TRUE(r.server) << r.error;
  return std::move(r.server);
}

// Runs f on the loop thread and waits for it (bounded).
template <typename F>
void onLoop(SipServer& server, F f) {
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  ASSERT_TRUE(server.post([f = std::move(f), done]() mutable {
    f();
    done->set_value();
  }));
  ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
}

// What the loop thread recorded, read from the test thread.
class Log {
 public:
  void add(int v) {
    std::lock_guard lock(mutex_);
    values_.push_back(v);
    cv_.notify_all();
  }
  std::vector<int> waitFor(std::size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, kWait, [&] { return values_.size() >= n; });
    return values_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<int> values_;
};

TEST(LoopTimer, FiresInDeadlineOrderAndCancelledOrRestartedTimersFireOnce) {
  auto server = startServer();
  ASSERT_TRUE(server);
  Log log;
  std::vector<std::unique_ptr<LoopTimer>> timers;
  onLoop(*server, [&] {
    for (int i = 0; i < 6; ++i) timers.push_back(std::make_unique<LoopTimer>());
    timers[0]->start(60ms, [&] { log.add(0); });
    timers[1]->start(20ms, [&] { log.add(1); });
    timers[2]->start(40ms, [&] { log.add(2); });
    timers[3]->start(0ms, [&] { log.add(3); });
    timers[4]->start(10ms, [&] { log.add(4); });
    timers[4]->cancel();  // never fires
    timers[5]->start(5ms, [&] { log.add(50); });
    timers[5]->start(30ms, [&] { log.add(5); });  // replaces the 5 ms start
    EXPECT_TRUE(timers[0]->pending());
    EXPECT_FALSE(timers[4]->pending());
  });
  EXPECT_EQ(log.waitFor(5), (std::vector<int>{3, 1, 5, 2, 0}));
  // Nothing more arrives: the cancelled and the replaced start stay silent.
  onLoop(*server, [&] {
    timers[1]->start(80ms, [&] { log.add(9); });
    for (const auto& t : timers) EXPECT_EQ(t->pending(), t == timers[1]);
  });
  EXPECT_EQ(log.waitFor(6), (std::vector<int>{3, 1, 5, 2, 0, 9}));
  onLoop(*server, [&] { timers.clear(); });
}

TEST(LoopTimer, ACallbackMayRestartItselfAndDestroyADueSibling) {
  auto server = startServer();
  ASSERT_TRUE(server);
  Log log;
  auto first = std::make_unique<LoopTimer>();
  auto second = std::make_unique<LoopTimer>();
  int rounds = 0;
  onLoop(*server, [&] {
    // Both due at once; whichever fires first destroys the other, which then never fires.
    first->start(5ms, [&] {
      log.add(1);
      second.reset();
      first->start(5ms, [&] { log.add(++rounds == 1 ? 2 : -1); });  // restart from inside
    });
    second->start(5ms, [&] {
      log.add(10);
      first.reset();
    });
  });
  const std::vector<int> seen = log.waitFor(2);
  // One of them ran; if it was `first`, its restart ran too.
  ASSERT_FALSE(seen.empty());
  if (seen.front() == 1) {
    EXPECT_EQ(seen, (std::vector<int>{1, 2}));
  } else {
    EXPECT_EQ(seen, (std::vector<int>{10}));
  }
  onLoop(*server, [&] {
    first.reset();
    second.reset();
  });
}

TEST(LoopTimer, ATimerOutlivingItsLoopIsNoLongerPending) {
  auto server = startServer();
  ASSERT_TRUE(server);
  auto timer = std::make_shared<LoopTimer>();
  bool fired = false;
  onLoop(*server, [&] { timer->start(1h, [&fired] { fired = true; }); });
  onLoop(*server, [&] { EXPECT_TRUE(timer->pending()); });
  server->stop();
  server.reset();
  EXPECT_FALSE(timer->pending());
  timer.reset();  // its thread's timer map is gone: must not touch freed memory (ASan)
  EXPECT_FALSE(fired);
}

TEST(LoopTimer, ThousandsOfTimersAllFireInOrderOfTheirDeadlines) {
  auto server = startServer();
  ASSERT_TRUE(server);
  constexpr int kTimers = 5000;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> delay_ms(0, 200);
  std::vector<std::unique_ptr<LoopTimer>> timers;
  std::vector<Clock::time_point> deadlines(kTimers);
  std::vector<Clock::time_point> fired_at;
  std::vector<int> order;
  Log done;
  onLoop(*server, [&] {
    for (int i = 0; i < kTimers; ++i) {
      timers.push_back(std::make_unique<LoopTimer>());
      const auto d = std::chrono::milliseconds(delay_ms(rng));
      deadlines[static_cast<std::size_t>(i)] = Clock::now() + d;
      timers.back()->start(d, [&, i] {
        fired_at.push_back(Clock::now());
        order.push_back(i);
        if (order.size() == kTimers) done.add(0);
      });
    }
  });
  ASSERT_EQ(done.waitFor(1).size(), 1U);
  onLoop(*server, [&] {
    ASSERT_EQ(order.size(), static_cast<std::size_t>(kTimers));
    for (std::size_t k = 0; k < order.size(); ++k) {
      const auto i = static_cast<std::size_t>(order[k]);
      // libre counts time in whole milliseconds (tmr_jiffies truncates): a timer started
      // late in one millisecond may fire up to 1 ms before now + delay.
      EXPECT_GE(fired_at[k] + 1ms, deadlines[i]) << "timer " << i << " fired early";
      if (k > 0) {
        EXPECT_LE(deadlines[static_cast<std::size_t>(order[k - 1])], deadlines[i] + 1ms)
            << "out of order at " << k;
      }
    }
    timers.clear();
  });
}

}  // namespace
}  // namespace parley::sip
