// EngineLoop: the one thread that owns the live server's routing engine. Other threads (the
// SIP loop, later HTTP and media) never touch the engine; they post() events, which the loop
// applies in the order they were posted, and the loop sends ev::Tick when the engine's next
// deadline comes. Each action the engine returns is logged (agent state changes at info, the
// rest at debug) and handed to the ActionSink.
//
// Engine time is the loop's own: milliseconds of std::chrono::steady_clock since the loop was
// constructed (engine time 0).
//
// Thread rules:
//  - post(), call() and stop() may be called from any thread (call() not from the loop thread
//    itself: it would wait for itself).
//  - The engine, the ActionSink and functions given to call() run only on the loop thread.
//    The sink must not block and must not call call() or stop(); it may post().
//  - start() once, from the thread that constructed the loop; the destructor stops and joins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>

#include "engine/actions.h"
#include "engine/engine.h"
#include "engine/events.h"

namespace parley::app {

class EngineLoop {
 public:
  using SteadyClock = std::chrono::steady_clock;
  // Called on the loop thread with each action, right after the event that produced it was
  // applied; `engine` is the state after that event (for names and views).
  using ActionSink = std::function<void(const engine::Action&, const engine::Engine&)>;

  // Takes the engine, already configured (queues, agents, skills: see addToEngine()).
  explicit EngineLoop(engine::Engine engine, ActionSink sink = {});
  ~EngineLoop();  // stop()
  EngineLoop(const EngineLoop&) = delete;
  EngineLoop& operator=(const EngineLoop&) = delete;

  // Starts the loop thread. Call at most once.
  void start();

  // Queues `event` for the engine. False (and the event is dropped) once stop() was called.
  bool post(engine::Event event);

  // Runs `fn` on the loop thread between events and waits for it; the way to read engine state
  // (views, statistics) from another thread. False if the loop is stopping or did not run `fn`
  // within `timeout` (then `fn` may still run later, so it must not capture locals by reference
  // unless the caller can wait: prefer capturing shared state by value).
  bool call(std::function<void(const engine::Engine&)> fn, std::chrono::milliseconds timeout);

  // Runs `fn` on the loop thread between events, without waiting for it (the way for another
  // event loop to ask the engine something: `fn` posts the answer back to that loop). False
  // (and `fn` is dropped) once stop() was called.
  bool postTask(std::function<void(const engine::Engine&)> fn);

  // Stops the loop and joins its thread. Events still queued are dropped. Idempotent.
  void stop();

  // For the sink only (loop thread): the event whose actions are being handed out, and when it
  // was posted (for a timer's Tick: when the timer was due). Measures decision latency.
  const engine::Event* currentEvent() const { return current_event_; }
  SteadyClock::time_point currentEventPostedAt() const { return current_posted_at_; }

  // Engine time of a steady-clock instant, and back (for tests and the drivers' logs).
  engine::TimePoint toEngineTime(SteadyClock::time_point t) const;
  SteadyClock::time_point toSteady(engine::TimePoint t) const;

 private:
  using Task = std::function<void(const engine::Engine&)>;
  struct Posted {
    engine::Event event;
    SteadyClock::time_point at;
  };
  using Item = std::variant<Posted, Task>;

  void run();
  void apply(const engine::Event& event, SteadyClock::time_point posted_at);

  const SteadyClock::time_point epoch_;  // engine time 0
  engine::Engine engine_;                // touched only on the loop thread once started
  ActionSink sink_;
  std::vector<engine::Action> actions_;  // loop thread: reused output buffer
  const engine::Event* current_event_ = nullptr;  // loop thread, during apply()
  SteadyClock::time_point current_posted_at_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  std::mutex join_mutex_;   // serialises joining thread_ between concurrent stop() calls
  std::thread thread_;
};

// The log line for one action, naming agents and queues ("agent 1001: logged-out -> available").
std::string describe(const engine::Action& action, const engine::Engine& engine);

}  // namespace parley::app
