// Parley's ordered timers in place of libre 1.1's list (libre_timers.h), on a bare libre
// loop thread: libre's own calls reach them, order (deadline, then start order), cancel and
// restart from handlers, tens of thousands pending, and the loop's wait for the next one.
#include "sip/libre_timers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "sip/libre.h"

namespace parley::sip {
namespace {

// Runs `body` on a fresh libre thread, then re_main until `body` or a handler calls re_cancel
// (bounded by a 10 s guard timer).
void onLibreThread(const std::function<void()>& body) {
  std::thread t([&] {
    ASSERT_EQ(re_thread_init(), 0);
    tmr guard{};
    tmr_start(&guard, 10'000, [](void*) {
      ADD_FAILURE() << "the loop did not finish within 10 s";
      re_cancel();
    }, nullptr);
    body();
    (void)re_main(nullptr);
    tmr_cancel(&guard);
    re_thread_close();
  });
  t.join();
}

struct Fired {
  std::vector<int>* order;
  int id;
  std::function<void()> then;
};

void record(void* arg) {
  auto* f = static_cast<Fired*>(arg);
  f->order->push_back(f->id);
  if (f->then) f->then();
}

TEST(LibreTimers, LibresOwnCallsReachParleysTimers) {
  ASSERT_EQ(re_thread_init(), 0);
  EXPECT_TRUE(libreTimersInterposed());
  EXPECT_EQ(libreTimersPending(), 0U);
  re_thread_close();
}

TEST(LibreTimers, FireByDeadlineThenStartOrderAndHonourCancelAndRestart) {
  std::vector<int> order;
  std::vector<Fired> f(8);
  std::vector<tmr> timers(8);
  onLibreThread([&] {
    for (int i = 0; i < 8; ++i) f[i] = Fired{&order, i, nullptr};
    tmr_start(&timers[0], 60, record, &f[0]);
    tmr_start(&timers[1], 20, record, &f[1]);
    tmr_start(&timers[2], 20, record, &f[2]);  // same deadline as 1, started after it
    tmr_start(&timers[3], 0, record, &f[3]);
    tmr_start(&timers[4], 10, record, &f[4]);
    tmr_cancel(&timers[4]);  // libre's tmr_cancel: never fires
    tmr_start(&timers[5], 5, record, &f[5]);
    tmr_start(&timers[5], 40, record, &f[5]);  // replaces the 5 ms start
    // 6 restarts itself once from its handler; 7 is cancelled by 1's handler.
    tmr_start(&timers[6], 30, record, &f[6]);
    f[6].then = [&] {
      f[6].then = nullptr;
      f[6].id = 66;
      tmr_start(&timers[6], 0, record, &f[6]);
    };
    tmr_start(&timers[7], 50, record, &f[7]);
    f[1].then = [&] { tmr_cancel(&timers[7]); };
    f[0].then = [] { re_cancel(); };
    EXPECT_EQ(libreTimersPending(), 7U + 1U);  // 4 was cancelled; the guard
    EXPECT_TRUE(tmr_isrunning(&timers[0]));
    EXPECT_FALSE(tmr_isrunning(&timers[4]));
    EXPECT_GT(tmr_get_expire(&timers[0]), 40U);
  });
  EXPECT_EQ(order, (std::vector<int>{3, 1, 2, 6, 66, 5, 0}));
}

constexpr int kTimers = 20'000;

TEST(LibreTimers, TensOfThousandsPendingFireInDeadlineOrderAndTheLoopWaitsForTheNext) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> delay_ms(1, 300);
  std::vector<tmr> timers(kTimers);
  std::vector<std::uint64_t> due(kTimers);
  std::vector<std::uint64_t> fired_at;
  std::vector<int> order;
  struct Ctx {
    std::vector<int>* order;
    std::vector<std::uint64_t>* fired_at;
    int id;
  };
  std::vector<Ctx> ctx(kTimers);
  std::uint64_t next_timeout = 0;
  std::size_t pending_after = 1;
  onLibreThread([&] {
    for (int i = 0; i < kTimers; ++i) {
      ctx[i] = Ctx{&order, &fired_at, i};
      tmr_start(&timers[i], static_cast<std::uint64_t>(delay_ms(rng)), [](void* arg) {
        auto* c = static_cast<Ctx*>(arg);
        c->order->push_back(c->id);
        c->fired_at->push_back(tmr_jiffies());
        if (c->order->size() == kTimers) re_cancel();
      }, &ctx[i]);
      due[i] = timers[i].jfs;  // tmr_jiffies() at the start + the delay
    }
    // 20,000 timers due within 300 ms, the guard in 10 s: the loop's next wake is close.
    next_timeout = tmr_next_timeout(nullptr);
  });
  EXPECT_GE(next_timeout, 1U);
  EXPECT_LE(next_timeout, 300U);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kTimers));
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto i = static_cast<std::size_t>(order[k]);
    EXPECT_GE(fired_at[k], due[i]) << "timer " << i << " fired early";
    if (k > 0) {
      EXPECT_LE(due[static_cast<std::size_t>(order[k - 1])], due[i]) << "out of order at " << k;
    }
  }
  std::thread([&] { pending_after = libreTimersPending(); }).join();  // maps are per thread
  EXPECT_EQ(pending_after, 0U);
}

TEST(LibreTimers, ATimerLeftPendingWhenItsThreadEndsIsNotRunningAfterwards) {
  tmr left{};
  std::thread t([&] {
    ASSERT_EQ(re_thread_init(), 0);
    tmr_start(&left, 60'000, [](void*) {}, nullptr);
    re_thread_close();
  });
  t.join();
  EXPECT_FALSE(tmr_isrunning(&left));
  tmr_cancel(&left);  // the thread's map is gone: must not touch it (ASan)
}

}  // namespace
}  // namespace parley::sip
