#include "media/media_thread.h"

#include <sys/resource.h>

#include <algorithm>
#include <future>

#include <spdlog/spdlog.h>

#include "media/rtp_libre.h"

namespace parley::media {
namespace {

constexpr int kWakeTasks = 1;
constexpr int kStop = 2;
// libre allocates its poll table up front; two sockets per bridged call.
constexpr rlim_t kMaxDescriptors = 65536;

std::once_flag g_libre_once;

int descriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  const rlim_t cur = limit.rlim_cur == RLIM_INFINITY ? kMaxDescriptors : limit.rlim_cur;
  return static_cast<int>(std::min(cur, kMaxDescriptors));
}

}  // namespace

struct MediaThread::Loop {
  static void onQueue(int id, void* /*data*/, void* arg) {
    auto* self = static_cast<MediaThread*>(arg);
    self->drain();
    if (id == kStop) re_cancel();
  }
};

MediaThread::Started MediaThread::start(MediaEngineConfig config, MediaEvents events) {
  std::call_once(g_libre_once, [] { (void)libre_init(); });
  std::unique_ptr<MediaThread> t(new MediaThread());
  std::promise<std::string> result;
  std::future<std::string> done = result.get_future();
  t->thread_ = std::thread([raw = t.get(), config = std::move(config), events = std::move(events),
                            &result]() mutable {
    raw->run(std::move(config), std::move(events),
             [&result](std::string error) { result.set_value(std::move(error)); });
  });
  std::string error = done.get();
  if (!error.empty()) {
    t->thread_.join();
    return {nullptr, std::move(error)};
  }
  return {std::move(t), {}};
}

void MediaThread::run(MediaEngineConfig config, MediaEvents events,
                      std::function<void(std::string)> started) {
  if (const int err = re_thread_init()) {
    started("re_thread_init failed (" + std::to_string(err) + ")");
    return;
  }
  if (const int err = fd_setsize(descriptorLimit())) {
    re_thread_close();
    started("fd_setsize failed (" + std::to_string(err) + ")");
    return;
  }
  mqueue* queue = nullptr;
  if (const int err = mqueue_alloc(&queue, &Loop::onQueue, this)) {
    re_thread_close();
    started("mqueue_alloc failed (" + std::to_string(err) + ")");
    return;
  }
  MediaEngine::Created created = MediaEngine::create(std::move(config), std::move(events));
  if (!created.engine) {
    mem_deref(queue);
    re_thread_close();
    started(std::move(created.error));
    return;
  }
  engine_ = std::move(created.engine);
  {
    std::lock_guard lock(mutex_);
    mqueue_ = queue;
    accepting_ = true;
  }
  started({});
  (void)re_main(nullptr);
  {
    std::lock_guard lock(mutex_);
    accepting_ = false;
    mqueue_ = nullptr;
  }
  drain();  // anything posted between the stop message and accepting_ going false
  engine_.reset();
  mem_deref(queue);
  re_thread_close();
}

void MediaThread::drain() {
  std::deque<Task> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(tasks_);
  }
  for (Task& task : batch) task(*engine_);
}

bool MediaThread::post(Task task) {
  std::lock_guard lock(mutex_);
  if (!accepting_) return false;
  tasks_.push_back(std::move(task));
  if (tasks_.size() == 1) (void)mqueue_push(static_cast<mqueue*>(mqueue_), kWakeTasks, nullptr);
  return true;
}

bool MediaThread::call(Task task, std::chrono::milliseconds timeout) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  if (!post([task = std::move(task), done](MediaEngine& engine) {
        task(engine);
        done->set_value();
      })) {
    return false;
  }
  return finished.wait_for(timeout) == std::future_status::ready;
}

void MediaThread::stop() {
  {
    std::lock_guard lock(mutex_);
    if (accepting_) (void)mqueue_push(static_cast<mqueue*>(mqueue_), kStop, nullptr);
  }
  std::lock_guard join_lock(join_mutex_);
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

MediaThread::~MediaThread() { stop(); }

}  // namespace parley::media
