// One-shot timers for a libre loop thread, kept out of libre's timer list.
//
// libre 1.1 keeps each thread's timers in one sorted linked list and inserts by walking it.
// Over UDP every SIP transaction keeps a 32 s timer (64*T1), so at 200 calls/s the list
// holds tens of thousands of entries and each shorter timer walked most of them (perf: the
// largest cost of the SIP thread). Our own timers (offer timeouts, the flow clock, the leg
// reaper) live instead in a LoopTimerQueue: an ordered map woken by one timerfd that libre's
// loop polls like any socket, so starting or cancelling one costs O(log n) and no walk.
//
// Thread rule: a LoopTimerQueue is created and destroyed on a thread that runs re_main,
// after re_thread_init(), and makes itself that thread's queue. LoopTimers are started,
// cancelled and fired on that thread. A LoopTimer may outlive the queue (it is then
// simply not pending); starting one on a thread without a queue is a programming error and
// aborts.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace parley::sip {

class LoopTimerQueue;

// A one-shot timer. Destroying or re-starting it cancels the pending callback.
class LoopTimer {
 public:
  LoopTimer();
  ~LoopTimer();
  LoopTimer(const LoopTimer&) = delete;
  LoopTimer& operator=(const LoopTimer&) = delete;
  void start(std::chrono::milliseconds delay, std::function<void()> fn);
  void cancel();
  bool pending() const;

 private:
  friend class LoopTimerQueue;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class LoopTimerQueue {
 public:
  // Opens the timerfd and registers it with this thread's libre loop; error() says why not.
  LoopTimerQueue();
  ~LoopTimerQueue();
  LoopTimerQueue(const LoopTimerQueue&) = delete;
  LoopTimerQueue& operator=(const LoopTimerQueue&) = delete;

  const std::string& error() const;

 private:
  friend class LoopTimer;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::sip
