// One-shot timers with std::function callbacks for a libre loop thread.
//
// A LoopTimer is a libre timer (struct tmr) underneath, so it lives in the thread's ordered
// timer map (libre_timers.h): starting or cancelling one costs O(log n) however many SIP
// transactions are pending.
//
// Thread rule: a LoopTimer is started, cancelled and fired on one thread, the thread that
// runs the libre loop (re_main) it belongs to. Destroying or re-starting it cancels the
// pending callback. A LoopTimer may outlive its loop thread: it is then simply not pending.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace parley::sip {

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
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::sip
