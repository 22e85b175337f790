// sip::LoopTimer (loop_timer.h), and toString(LegEnd) (calls.h).
#include "sip/loop_timer.h"

#include <algorithm>
#include <cstdint>

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

struct LoopTimer::Impl {
  tmr timer{};
  std::function<void()> fn;

  static void fire(void* arg) {
    auto* self = static_cast<Impl*>(arg);
    // Moved out first: the callback may restart or destroy the timer.
    std::function<void()> f = std::move(self->fn);
    self->fn = nullptr;
    if (f) f();
  }
};

LoopTimer::LoopTimer() : impl_(std::make_unique<Impl>()) { tmr_init(&impl_->timer); }

LoopTimer::~LoopTimer() { cancel(); }

void LoopTimer::start(std::chrono::milliseconds delay, std::function<void()> fn) {
  impl_->fn = std::move(fn);
  tmr_start(&impl_->timer, static_cast<std::uint64_t>(std::max<std::int64_t>(0, delay.count())),
            &Impl::fire, impl_.get());
}

void LoopTimer::cancel() {
  tmr_cancel(&impl_->timer);
  impl_->fn = nullptr;
}

bool LoopTimer::pending() const { return tmr_isrunning(&impl_->timer); }

}  // namespace parley::sip
