#include "app/engine_loop.h"

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <spdlog/spdlog.h>

namespace parley::app {
namespace {

std::string agentName(const engine::Engine& e, engine::AgentId a) {
  if (engine::index(a) >= e.agentCount()) return "#" + std::to_string(engine::index(a));
  return e.agentConfig(a).name;
}

std::string queueName(const engine::Engine& e, engine::QueueId q) {
  if (engine::index(q) >= e.queueCount()) return "#" + std::to_string(engine::index(q));
  return e.queueConfig(q).name;
}

std::string contactName(engine::ContactId c) {
  return "contact " + std::to_string(engine::index(c));
}

}  // namespace

std::string describe(const engine::Action& action, const engine::Engine& e) {
  return std::visit(
      [&](const auto& a) -> std::string {
        using T = std::decay_t<decltype(a)>;
        namespace act = engine::act;
        if constexpr (std::is_same_v<T, act::AgentStateChanged>) {
          std::string s = "agent " + agentName(e, a.agent) + ": " + std::string(toString(a.from)) +
                          " -> " + std::string(toString(a.to));
          if (!a.reason.empty()) s += " (" + a.reason + ")";
          return s;
        } else if constexpr (std::is_same_v<T, act::ContactQueued>) {
          return contactName(a.contact) + " queued in " + queueName(e, a.tag.queue) +
                 " at position " + std::to_string(a.position);
        } else if constexpr (std::is_same_v<T, act::OfferCreated>) {
          return contactName(a.contact) + " offered to agent " + agentName(e, a.agent);
        } else if constexpr (std::is_same_v<T, act::OfferWithdrawn>) {
          return contactName(a.contact) + " withdrawn from agent " + agentName(e, a.agent) + " (" +
                 std::string(toString(a.reason)) + ")";
        } else if constexpr (std::is_same_v<T, act::ContactAnswered>) {
          return contactName(a.contact) + " answered by agent " + agentName(e, a.agent) +
                 " after " + std::to_string(a.waited.count()) + " ms";
        } else if constexpr (std::is_same_v<T, act::ContactRequeued>) {
          return contactName(a.contact) + " waiting again in " + queueName(e, a.tag.queue);
        } else if constexpr (std::is_same_v<T, act::ContactMoved>) {
          return contactName(a.contact) + " moved from " + queueName(e, a.from.queue) + " to " +
                 queueName(e, a.to);
        } else if constexpr (std::is_same_v<T, act::ContactEnded>) {
          return contactName(a.contact) + " ended: " + std::string(toString(a.outcome));
        } else {
          static_assert(std::is_same_v<T, act::WrapUpEnded>);
          return "agent " + agentName(e, a.agent) + ": wrap-up of " + contactName(a.contact) +
                 " ended";
        }
      },
      action);
}

EngineLoop::EngineLoop(engine::Engine engine, ActionSink sink)
    : epoch_(SteadyClock::now()), engine_(std::move(engine)), sink_(std::move(sink)) {}

EngineLoop::~EngineLoop() {
  stop();
}

void EngineLoop::start() {
  thread_ = std::thread([this] { run(); });
}

bool EngineLoop::post(engine::Event event) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    queue_.emplace_back(Posted{std::move(event), SteadyClock::now()});
  }
  wake_.notify_one();
  return true;
}

bool EngineLoop::call(std::function<void(const engine::Engine&)> fn,
                      std::chrono::milliseconds timeout) {
  // Shared with the task, which may outlive this call when it times out.
  struct Done {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
  };
  auto done = std::make_shared<Done>();
  Task task = [fn = std::move(fn), done](const engine::Engine& e) {
    fn(e);
    {
      std::lock_guard lock(done->mutex);
      done->done = true;
    }
    done->cv.notify_all();
  };
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    queue_.emplace_back(std::move(task));
  }
  wake_.notify_one();
  std::unique_lock lock(done->mutex);
  return done->cv.wait_for(lock, timeout, [&] { return done->done; });
}

bool EngineLoop::postTask(std::function<void(const engine::Engine&)> fn) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    queue_.emplace_back(Task(std::move(fn)));
  }
  wake_.notify_one();
  return true;
}

void EngineLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  std::lock_guard join_lock(join_mutex_);
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

engine::TimePoint EngineLoop::toEngineTime(SteadyClock::time_point t) const {
  return engine::TimePoint{std::chrono::duration_cast<engine::Millis>(t - epoch_)};
}

EngineLoop::SteadyClock::time_point EngineLoop::toSteady(engine::TimePoint t) const {
  return epoch_ + t.time_since_epoch();
}

void EngineLoop::apply(const engine::Event& event, SteadyClock::time_point posted_at) {
  current_event_ = &event;
  current_posted_at_ = posted_at;
  actions_.clear();
  engine_.handle(event, toEngineTime(SteadyClock::now()), actions_);
  for (const engine::Action& action : actions_) {
    if (std::holds_alternative<engine::act::AgentStateChanged>(action)) {
      spdlog::info("{}", describe(action, engine_));
    } else if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("{}", describe(action, engine_));
    }
    if (sink_) sink_(action, engine_);
  }
  current_event_ = nullptr;
}

void EngineLoop::run() {
  std::deque<Item> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      for (;;) {
        if (stopping_) return;
        if (!queue_.empty()) break;
        const std::optional<engine::TimePoint> deadline = engine_.nextDeadline();
        if (!deadline) {
          wake_.wait(lock);
        } else if (toEngineTime(SteadyClock::now()) >= *deadline) {
          break;  // a timer is due
        } else {
          // Deadlines are whole milliseconds, so waking at or after toSteady(deadline) makes
          // the test above true: no spinning on rounding.
          wake_.wait_until(lock, toSteady(*deadline));
        }
      }
      batch.swap(queue_);
    }
    for (Item& item : batch) {
      if (auto* posted = std::get_if<Posted>(&item)) {
        apply(posted->event, posted->at);
      } else {
        std::get<Task>(item)(engine_);
      }
    }
    batch.clear();
    const std::optional<engine::TimePoint> deadline = engine_.nextDeadline();
    if (deadline && toEngineTime(SteadyClock::now()) >= *deadline) {
      apply(engine::ev::Tick{}, toSteady(*deadline));
    }
  }
}

}  // namespace parley::app
