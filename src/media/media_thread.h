// MediaThread: a MediaEngine on a libre event loop of its own, so relaying RTP and pacing
// prompts do not share a thread (nor libre's per-thread timer list) with SIP signalling.
//
// Thread rule: post(), call() and stop() may be called from any thread but the media thread
// itself; tasks run on the media thread in the order they were posted, each with the engine.
// MediaEvents handlers run on the media thread: forward them to your own loop.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "media/media_engine.h"

namespace parley::media {

class MediaThread {
 public:
  struct Started {
    std::unique_ptr<MediaThread> thread;  // null on failure
    std::string error;
  };
  // Starts the thread and creates the engine on it; returns once it serves or has failed.
  static Started start(MediaEngineConfig config, MediaEvents events);
  ~MediaThread();  // stop()
  MediaThread(const MediaThread&) = delete;
  MediaThread& operator=(const MediaThread&) = delete;

  using Task = std::function<void(MediaEngine&)>;
  // Runs `task` on the media thread. False (task dropped) once stopping.
  bool post(Task task);
  // Runs `task` on the media thread and waits for it. False if it did not run within `timeout`
  // (then it may still run later: capture shared state by value).
  bool call(Task task, std::chrono::milliseconds timeout);
  // Runs every task already posted, destroys the engine (finishing recordings) and joins the
  // thread. Idempotent.
  void stop();

  struct Loop;

 private:
  MediaThread() = default;
  void run(MediaEngineConfig config, MediaEvents events, std::function<void(std::string)> started);
  void drain();

  std::mutex join_mutex_;
  std::thread thread_;
  std::mutex mutex_;
  std::deque<Task> tasks_;   // guarded by mutex_
  bool accepting_ = false;   // guarded by mutex_
  void* mqueue_ = nullptr;   // guarded by mutex_: libre's struct mqueue*
  std::unique_ptr<MediaEngine> engine_;  // media thread only
};

}  // namespace parley::media
