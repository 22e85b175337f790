// sip::LoopTimer and LoopTimerQueue (loop_timer.h), and toString(LegEnd) (calls.h).
#include "sip/loop_timer.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>

#include <spdlog/spdlog.h>

#include "sip/calls.h"
#include "sip/libre.h"

namespace parley::sip {

std::string_view toString(LegEnd e) {
  switch (e) {
    case LegEnd::Cancelled:
      return "cancelled";
    case LegEnd::Bye:
      return "bye";
    case LegEnd::LocalHangup:
      return "local-hangup";
    case LegEnd::Failed:
      return "failed";
  }
  return "unknown";
}

namespace {
// libstdc++'s steady_clock reads CLOCK_MONOTONIC, the clock the timerfd runs on.
using Clock = std::chrono::steady_clock;
}  // namespace

struct LoopTimer::Impl {
  std::function<void()> fn;
  LoopTimerQueue::Impl* queue = nullptr;  // set while pending
  std::multimap<Clock::time_point, Impl*>::iterator at;
};

struct LoopTimerQueue::Impl {
  int fd = -1;
  std::string error;
  std::multimap<Clock::time_point, LoopTimer::Impl*> due;
  Clock::time_point armed = Clock::time_point::max();  // what the timerfd is set to

  static thread_local Impl* current;

  void add(LoopTimer::Impl* t, Clock::time_point when) {
    t->at = due.emplace(when, t);
    t->queue = this;
    if (when < armed) arm(when);
  }

  // The timerfd stays armed: an early wake finds nothing due and re-arms for the next.
  void remove(LoopTimer::Impl* t) {
    due.erase(t->at);
    t->queue = nullptr;
  }

  void arm(Clock::time_point when) {
    armed = when;
    const std::int64_t ns =
        std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      when.time_since_epoch())
                                      .count());  // 0 would disarm it
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
      spdlog::error("sip: timerfd_settime: {}", std::strerror(errno));
    }
  }

  static void onReadable(int /*flags*/, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    std::uint64_t expirations = 0;
    (void)!read(self->fd, &expirations, sizeof expirations);
    self->armed = Clock::time_point::max();
    // Timers started by a callback are due at their own start time or later, after `now`
    // unless the clock stood still: the batch ends.
    const Clock::time_point now = Clock::now();
    while (!self->due.empty() && self->due.begin()->first <= now) {
      LoopTimer::Impl* t = self->due.begin()->second;
      self->remove(t);
      // Moved out first: the callback may restart or destroy the timer.
      std::function<void()> fn = std::move(t->fn);
      t->fn = nullptr;
      if (fn) fn();
    }
    if (!self->due.empty()) self->arm(self->due.begin()->first);
  }
};

thread_local LoopTimerQueue::Impl* LoopTimerQueue::Impl::current = nullptr;

LoopTimerQueue::LoopTimerQueue() : impl_(std::make_unique<Impl>()) {
  impl_->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (impl_->fd < 0) {
    impl_->error = std::string("timerfd_create: ") + std::strerror(errno);
    return;
  }
  if (const int err = fd_listen(impl_->fd, FD_READ, &Impl::onReadable, impl_.get())) {
    impl_->error = std::string("fd_listen(timerfd): ") + std::strerror(err);
    ::close(impl_->fd);
    impl_->fd = -1;
    return;
  }
  Impl::current = impl_.get();
}

LoopTimerQueue::~LoopTimerQueue() {
  for (auto& [when, t] : impl_->due) t->queue = nullptr;
  impl_->due.clear();
  if (impl_->fd >= 0) {
    fd_close(impl_->fd);
    ::close(impl_->fd);
  }
  if (Impl::current == impl_.get()) Impl::current = nullptr;
}

const std::string& LoopTimerQueue::error() const { return impl_->error; }

LoopTimer::LoopTimer() : impl_(std::make_unique<Impl>()) {}

LoopTimer::~LoopTimer() { cancel(); }

void LoopTimer::start(std::chrono::milliseconds delay, std::function<void()> fn) {
  cancel();
  LoopTimerQueue::Impl* queue = LoopTimerQueue::Impl::current;
  if (queue == nullptr) {
    spdlog::critical("sip: LoopTimer started on a thread without a LoopTimerQueue");
    std::abort();
  }
  impl_->fn = std::move(fn);
  queue->add(impl_.get(), Clock::now() + std::max(delay, std::chrono::milliseconds(0)));
}

void LoopTimer::cancel() {
  if (impl_->queue != nullptr) impl_->queue->remove(impl_.get());
  impl_->fn = nullptr;
}

bool LoopTimer::pending() const { return impl_->queue != nullptr; }

}  // namespace parley::sip
