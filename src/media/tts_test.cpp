#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "media/prompts.h"

namespace parley::media {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

double rms(const Clip& clip) {
  double sum = 0;
  for (auto s : clip.samples) sum += static_cast<double>(s) * s;
  return clip.samples.empty() ? 0 : std::sqrt(sum / static_cast<double>(clip.samples.size()));
}

// Counts callbacks and lets the test wait for a number of them with a bounded timeout.
class Latch {
 public:
  void hit(bool ok) {
    std::lock_guard lock(mutex_);
    ++count_;
    if (ok) ++ok_;
    changed_.notify_all();
  }
  bool waitFor(int n, std::chrono::seconds timeout = 30s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return count_ >= n; });
  }
  int ok() const {
    std::lock_guard lock(mutex_);
    return ok_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
  int ok_ = 0;
};

class Tts : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("parley_tts_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  TtsConfig config() const {
    TtsConfig c;
    c.cache_dir = (dir_ / "cache").string();
    return c;
  }
  std::unique_ptr<TtsService> start() {
    auto started = TtsService::start(config());
    EXPECT_TRUE(started.service) << started.error;
    return std::move(started.service);
  }
  std::vector<fs::path> cacheFiles() const {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir_ / "cache")) files.push_back(entry.path());
    return files;
  }
  fs::path dir_;
};

TEST_F(Tts, RendersSpeechOfPlausibleLengthAndLoudness) {
  auto tts = start();
  ASSERT_TRUE(tts);
  std::string error;
  ClipPtr clip = tts->renderNow("Press 1 for sales", &error);
  ASSERT_TRUE(clip) << error;
  const double seconds = static_cast<double>(clip->samples.size()) / kSampleRate;
  EXPECT_GT(seconds, 0.5);
  EXPECT_LT(seconds, 5.0);
  EXPECT_GT(rms(*clip), 300.0);
}

TEST_F(Tts, SecondRenderComesFromMemoryCache) {
  auto tts = start();
  ASSERT_TRUE(tts);
  EXPECT_EQ(tts->cached("Welcome"), nullptr);
  std::string error;
  ClipPtr first = tts->renderNow("Welcome", &error);
  ASSERT_TRUE(first) << error;
  EXPECT_EQ(tts->cached("Welcome"), first);
  EXPECT_EQ(tts->renderNow("Welcome", &error), first);
}

TEST_F(Tts, NewServiceReadsDiskCacheInsteadOfSpeaking) {
  {
    auto tts = start();
    ASSERT_TRUE(tts);
    std::string error;
    ASSERT_TRUE(tts->renderNow("Please hold", &error)) << error;
  }
  auto files = cacheFiles();
  ASSERT_EQ(files.size(), 1u);  // and no temporary file left behind
  EXPECT_EQ(files[0].extension(), ".wav");
  EXPECT_EQ(files[0].stem().string().size(), 16u);
  // Replace the rendering with a tone: if the next service serves the tone, it read the disk.
  const Clip tone = sine(1000, 300);
  std::string error;
  ASSERT_TRUE(saveWav(files[0].string(), tone, &error)) << error;
  auto tts = start();
  ASSERT_TRUE(tts);
  ClipPtr clip = tts->renderNow("Please hold", &error);
  ASSERT_TRUE(clip) << error;
  EXPECT_EQ(clip->samples, tone.samples);
}

TEST_F(Tts, ConcurrentRendersFromSeveralThreadsAllComplete) {
  auto tts = start();
  ASSERT_TRUE(tts);
  Latch latch;
  const std::vector<std::string> texts{"one", "two", "three", "four"};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        tts->render(texts[static_cast<std::size_t>((t + i) % 4)],
                    [&](ClipPtr clip, const std::string&) { latch.hit(clip != nullptr); });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(latch.waitFor(20));
  EXPECT_EQ(latch.ok(), 20);
  EXPECT_EQ(cacheFiles().size(), 4u);
}

TEST_F(Tts, UnknownVoiceFailsAtStart) {
  TtsConfig c = config();
  c.voice = "xx-no-such-voice";
  auto started = TtsService::start(c);
  EXPECT_FALSE(started.service);
  EXPECT_NE(started.error.find("no voice 'xx-no-such-voice'"), std::string::npos) << started.error;
  // The library is left usable for a service with a good voice.
  auto tts = start();
  ASSERT_TRUE(tts);
  std::string error;
  EXPECT_TRUE(tts->renderNow("yes", &error)) << error;
}

TEST_F(Tts, BadTextIsRefusedWithAReason) {
  auto tts = start();
  ASSERT_TRUE(tts);
  std::string error;
  EXPECT_FALSE(tts->renderNow(std::string(kMaxTtsChars + 1, 'a'), &error));
  EXPECT_NE(error.find("over 2000 characters"), std::string::npos) << error;
  EXPECT_FALSE(tts->renderNow("   ", &error));
  EXPECT_NE(error.find("empty"), std::string::npos) << error;
}

TEST_F(Tts, FullQueueAnswersBusyAndDestructionAnswersStopped) {
  auto tts = start();
  ASSERT_TRUE(tts);
  std::mutex gate_mutex;
  std::condition_variable gate_changed;
  bool worker_blocked = false;
  bool release = false;
  // Hold the worker inside a callback so the queue fills.
  tts->render("hold", [&](ClipPtr, const std::string&) {
    std::unique_lock lock(gate_mutex);
    worker_blocked = true;
    gate_changed.notify_all();
    gate_changed.wait_for(lock, 30s, [&] { return release; });
  });
  {
    std::unique_lock lock(gate_mutex);
    ASSERT_TRUE(gate_changed.wait_for(lock, 30s, [&] { return worker_blocked; }));
  }
  std::mutex results_mutex;
  int stopped = 0;
  int busy = 0;
  int other = 0;
  for (int i = 0; i < 1001; ++i) {
    tts->render("queued", [&](ClipPtr clip, const std::string& error) {
      std::lock_guard lock(results_mutex);
      if (!clip && error == "busy") ++busy;
      else if (!clip && error == "stopped") ++stopped;
      else ++other;
    });
  }
  {
    std::lock_guard lock(results_mutex);
    EXPECT_EQ(busy, 1);  // the 1001st, answered at once
  }
  // Release the worker only once destruction has begun (a request then answers "stopped"),
  // or it could render the whole queue first. The destructor waits for the blocked worker, so
  // the service is still there to ask.
  TtsService* raw = tts.get();
  std::thread destroy([&] { tts.reset(); });
  bool destroying = false;
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (!destroying && std::chrono::steady_clock::now() < give_up) {
    raw->render("probe", [&](ClipPtr, const std::string& error) { destroying = error == "stopped"; });
    if (!destroying) std::this_thread::yield();
  }
  EXPECT_TRUE(destroying);
  {
    std::lock_guard lock(gate_mutex);
    release = true;
    gate_changed.notify_all();
  }
  destroy.join();
  std::lock_guard lock(results_mutex);
  EXPECT_EQ(busy + stopped + other, 1001);  // every callback ran exactly once
  EXPECT_GE(stopped, 1);
}

TEST_F(Tts, DiskCacheStaysNearItsLimit) {
  TtsConfig c = config();
  c.disk_cache_entries = 2;
  auto started = TtsService::start(c);
  ASSERT_TRUE(started.service) << started.error;
  std::string error;
  for (const char* text : {"a", "b", "c", "d", "e", "f"}) {
    ASSERT_TRUE(started.service->renderNow(text, &error)) << error;
    EXPECT_LE(cacheFiles().size(), 3u);  // pruned back to 2 once over 2 + 10% (at least 1)
  }
}

TEST_F(Tts, StartPrunesLeastRecentlyUsedFilesAndStaleTemporaries) {
  const fs::path cache = dir_ / "cache";
  fs::create_directories(cache);
  const auto now = fs::file_time_type::clock::now();
  std::string error;
  int age_hours = 4;
  for (const char* name : {"old.wav", "older.wav.tmp.1.0", "middle.wav", "new.wav", "fresh.wav.tmp.1.1"}) {
    ASSERT_TRUE(saveWav((cache / name).string(), sine(400, 20), &error)) << error;
    fs::last_write_time(cache / name, now - std::chrono::hours(age_hours--));
  }
  TtsConfig c = config();
  c.disk_cache_entries = 1;
  auto started = TtsService::start(c);
  ASSERT_TRUE(started.service) << started.error;
  std::vector<std::string> left;
  for (const auto& file : cacheFiles()) left.push_back(file.filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"fresh.wav.tmp.1.1", "new.wav"}));
}

TEST_F(Tts, UnusableCacheDirectoryFailsAtStart) {
  fs::create_directories(dir_);
  { std::ofstream(dir_ / "file") << "x"; }
  TtsConfig c = config();
  c.cache_dir = (dir_ / "file").string();
  auto started = TtsService::start(c);
  EXPECT_FALSE(started.service);
  EXPECT_NE(started.error.find("unusable"), std::string::npos) << started.error;
}

}  // namespace
}  // namespace parley::media
