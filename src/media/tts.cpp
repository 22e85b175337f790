// TtsService (declared in prompts.h): espeak-ng on one worker thread, with a memory LRU cache
// and a disk cache of 8 kHz WAV files.
#include <espeak-ng/speak_lib.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <future>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "media/prompts.h"
#include "media/resample.h"

namespace parley::media {
namespace {

constexpr std::size_t kMaxQueuedRequests = 1000;  // beyond this, render() answers "busy"

// espeak-ng keeps its state in globals. Every use of it in the process, by any TtsService's
// worker, holds this mutex; the library is initialised once and the voice and rate are set
// again only when a different service last changed them.
struct EspeakState {
  std::mutex mutex;
  int sample_rate = 0;  // 0: not initialised yet; < 0: initialisation failed
  std::string voice;    // currently selected
  int words_per_minute = 0;
};
EspeakState& espeak() {
  static EspeakState state;
  return state;
}

struct SynthBuffer {
  std::vector<short> samples;
  std::size_t limit = 0;
  bool overflow = false;
};

int collect(short* wav, int count, espeak_EVENT* events) {
  auto* buffer = events ? static_cast<SynthBuffer*>(events->user_data) : nullptr;
  if (!buffer || !wav || count <= 0) return 0;
  if (buffer->samples.size() + static_cast<std::size_t>(count) > buffer->limit) {
    buffer->overflow = true;
    return 1;  // abort synthesis
  }
  buffer->samples.insert(buffer->samples.end(), wav, wav + count);
  return 0;
}

// Holding espeak().mutex: initialises the library once and selects voice and rate.
std::string selectVoiceLocked(const TtsConfig& config) {
  EspeakState& state = espeak();
  if (state.sample_rate == 0) {
    state.sample_rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, 0);
    if (state.sample_rate > 0) espeak_SetSynthCallback(&collect);
  }
  if (state.sample_rate <= 0) {
    state.sample_rate = -1;
    return "espeak-ng failed to initialise (is espeak-ng-data installed?)";
  }
  if (state.voice != config.voice) {
    state.voice.clear();
    if (espeak_SetVoiceByName(config.voice.c_str()) != EE_OK) {
      return "espeak-ng has no voice '" + config.voice + "' (see `espeak-ng --voices`)";
    }
    state.voice = config.voice;
    state.words_per_minute = 0;  // a new voice resets the rate
  }
  if (state.words_per_minute != config.words_per_minute) {
    if (espeak_SetParameter(espeakRATE, config.words_per_minute, 0) != EE_OK) {
      return "espeak-ng refused rate " + std::to_string(config.words_per_minute);
    }
    state.words_per_minute = config.words_per_minute;
  }
  return {};
}

std::string cacheKey(const TtsConfig& config, const std::string& text) {
  // FNV-1a, 64 bit: stable across builds and platforms, unlike std::hash.
  std::uint64_t hash = 0xcbf29ce484222325ull;
  auto mix = [&hash](const std::string& s) {
    for (unsigned char c : s) {
      hash ^= c;
      hash *= 0x100000001b3ull;
    }
  };
  mix(config.voice);
  mix("\n" + std::to_string(config.words_per_minute) + "\n");
  mix(text);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

}  // namespace

struct TtsService::Impl {
  struct Request {
    std::string text;
    Done done;
  };

  explicit Impl(TtsConfig c) : config(std::move(c)) {}

  const TtsConfig config;
  std::thread worker;
  std::thread::id worker_id;  // set by start() before any request can be queued

  mutable std::mutex mutex;
  std::condition_variable wake;
  std::deque<Request> queue;  // guarded by mutex
  bool stopping = false;      // guarded by mutex
  // Memory cache, most recently used first; guarded by mutex.
  mutable std::list<std::pair<std::string, ClipPtr>> lru;
  mutable std::unordered_map<std::string, std::list<std::pair<std::string, ClipPtr>>::iterator>
      index;
  std::size_t disk_files = 0;  // worker only (and start() before the worker): WAVs in cache_dir

  // Deletes the least recently used cache files (by modification time, which a disk hit renews)
  // down to disk_cache_entries, and temporary files a crashed writer left over an hour ago.
  void pruneDisk() {
    std::error_code ec;
    const auto now = std::filesystem::file_time_type::clock::now();
    std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> wavs;
    for (auto it = std::filesystem::directory_iterator(config.cache_dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      const auto when = it->last_write_time(ec);
      if (ec) continue;
      if (name.find(".wav.tmp.") != std::string::npos) {
        if (now - when > std::chrono::hours(1)) std::filesystem::remove(it->path(), ec);
      } else if (it->path().extension() == ".wav") {
        wavs.emplace_back(when, it->path());
      }
    }
    disk_files = wavs.size();
    if (wavs.size() <= config.disk_cache_entries) return;
    std::sort(wavs.begin(), wavs.end());
    for (std::size_t i = 0; i < wavs.size() - config.disk_cache_entries; ++i) {
      if (std::filesystem::remove(wavs[i].second, ec)) --disk_files;
    }
  }

  ClipPtr lookup(const std::string& text) const {
    std::lock_guard lock(mutex);
    auto it = index.find(text);
    if (it == index.end()) return nullptr;
    lru.splice(lru.begin(), lru, it->second);
    return it->second->second;
  }

  void remember(const std::string& text, ClipPtr clip) {
    if (config.memory_cache_entries == 0) return;
    std::lock_guard lock(mutex);
    if (auto it = index.find(text); it != index.end()) {
      it->second->second = std::move(clip);
      lru.splice(lru.begin(), lru, it->second);
      return;
    }
    lru.emplace_front(text, std::move(clip));
    index[text] = lru.begin();
    while (lru.size() > config.memory_cache_entries) {
      index.erase(lru.back().first);
      lru.pop_back();
    }
  }

  // Worker thread only: from memory, disk or espeak-ng.
  ClipPtr produce(const std::string& text, std::string* error) {
    if (text.size() > kMaxTtsChars) {
      *error = "text over " + std::to_string(kMaxTtsChars) + " characters";
      return nullptr;
    }
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
      *error = "nothing to say (empty text)";
      return nullptr;
    }
    if (ClipPtr hit = lookup(text)) return hit;

    const std::filesystem::path file =
        std::filesystem::path(config.cache_dir) / (cacheKey(config, text) + ".wav");
    std::error_code ec;
    const bool use_disk = config.disk_cache_entries > 0;
    if (use_disk && std::filesystem::exists(file, ec)) {
      std::string why;
      if (auto clip = loadWav(file.string(), &why)) {
        std::filesystem::last_write_time(file, std::filesystem::file_time_type::clock::now(), ec);
        auto shared = std::make_shared<const Clip>(std::move(*clip));
        remember(text, shared);
        return shared;
      }
      spdlog::warn("tts: ignoring unreadable cache file: {}", why);
    }

    SynthBuffer buffer;
    std::string why;
    {
      std::lock_guard lock(espeak().mutex);
      why = selectVoiceLocked(config);
      if (why.empty()) {
        buffer.limit = static_cast<std::size_t>(espeak().sample_rate) * kMaxClipSeconds;
        const espeak_ERROR rc = espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0,
                                             espeakCHARS_UTF8, nullptr, &buffer);
        if (rc != EE_OK) why = "espeak-ng synthesis failed (" + std::to_string(rc) + ")";
      }
    }
    if (why.empty() && buffer.overflow) why = "speech longer than the clip limit";
    if (why.empty() && buffer.samples.empty()) why = "espeak-ng produced no audio";
    if (!why.empty()) {
      *error = why;
      return nullptr;
    }
    std::vector<float> mono(buffer.samples.size());
    for (std::size_t i = 0; i < mono.size(); ++i) mono[i] = buffer.samples[i] / 32768.0f;
    Clip clip;
    clip.samples = resampleTo8k(mono, espeak().sample_rate, &why);
    if (clip.samples.empty()) {
      *error = why.empty() ? "resampling produced no audio" : why;
      return nullptr;
    }
    if (use_disk) keepOnDisk(file, clip);
    auto shared = std::make_shared<const Clip>(std::move(clip));
    remember(text, shared);
    return shared;
  }

  // Worker thread only. Writes atomically, so a crash or a concurrent reader never sees half a
  // file; a failure only costs a later render.
  void keepOnDisk(const std::filesystem::path& file, const Clip& clip) {
    std::string why;
    std::error_code ec;
    const bool existed = std::filesystem::exists(file, ec);
    static std::atomic<std::uint64_t> temp_counter{0};  // unique among this process's services
    const std::filesystem::path temp = file.string() + ".tmp." + std::to_string(::getpid()) + "." +
                                       std::to_string(temp_counter.fetch_add(1));
    if (!saveWav(temp.string(), clip, &why)) {
      spdlog::warn("tts: cannot write cache file: {}", why);
      std::filesystem::remove(temp, ec);
    } else {
      std::filesystem::rename(temp, file, ec);
      if (ec) {
        spdlog::warn("tts: cannot rename cache file {}: {}", temp.string(), ec.message());
        std::filesystem::remove(temp, ec);
        return;
      }
      if (!existed) ++disk_files;
      const std::size_t cap = config.disk_cache_entries;
      if (disk_files > cap + std::max<std::size_t>(1, cap / 10)) pruneDisk();
    }
  }

  void run() {
    for (;;) {
      Request request;
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [this] { return stopping || !queue.empty(); });
        if (stopping) break;
        request = std::move(queue.front());
        queue.pop_front();
      }
      std::string error;
      ClipPtr clip = produce(request.text, &error);
      deliver(request.done, std::move(clip), error);
    }
    std::deque<Request> left;
    {
      std::lock_guard lock(mutex);
      left.swap(queue);
    }
    for (auto& request : left) deliver(request.done, nullptr, "stopped");
  }

  static void deliver(const Done& done, ClipPtr clip, const std::string& error) {
    if (!done) return;
    try {
      done(std::move(clip), error);
    } catch (const std::exception& e) {
      spdlog::error("tts: a render callback threw: {}", e.what());
    } catch (...) {
      spdlog::error("tts: a render callback threw");
    }
  }
};

TtsService::TtsService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TtsService::Started TtsService::start(TtsConfig config) {
  Started started;
  if (config.words_per_minute < espeakRATE_MINIMUM || config.words_per_minute > espeakRATE_MAXIMUM) {
    started.error = "tts: words_per_minute must be between " + std::to_string(espeakRATE_MINIMUM) +
                    " and " + std::to_string(espeakRATE_MAXIMUM);
    return started;
  }
  if (config.voice.empty()) {
    started.error = "tts: voice is empty";
    return started;
  }
  std::error_code ec;
  std::filesystem::create_directories(config.cache_dir, ec);
  if (ec || !std::filesystem::is_directory(config.cache_dir, ec)) {
    started.error = "tts: cache directory " + config.cache_dir + " unusable: " +
                    (ec ? ec.message() : std::string("not a directory"));
    return started;
  }
  if (::access(config.cache_dir.c_str(), W_OK | X_OK) != 0) {
    started.error = "tts: cache directory " + config.cache_dir + " is not writable";
    return started;
  }
  auto impl = std::make_unique<Impl>(std::move(config));
  if (impl->config.disk_cache_entries > 0) impl->pruneDisk();
  Impl* raw = impl.get();
  // The worker checks the voice first, so a bad config fails here rather than at the first call.
  std::promise<std::string> ready;
  auto checked = ready.get_future();
  impl->worker = std::thread([raw, &ready] {
    std::string why;
    {
      std::lock_guard lock(espeak().mutex);
      why = selectVoiceLocked(raw->config);
    }
    const bool ok = why.empty();
    ready.set_value(std::move(why));  // `ready` is gone after this
    if (ok) raw->run();
  });
  impl->worker_id = impl->worker.get_id();
  if (std::string why = checked.get(); !why.empty()) {
    impl->worker.join();
    started.error = "tts: " + why;
    return started;
  }
  started.service.reset(new TtsService(std::move(impl)));
  return started;
}

TtsService::~TtsService() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->worker.join();
}

void TtsService::render(std::string text, Done done) {
  bool stopping = false;
  {
    std::lock_guard lock(impl_->mutex);
    stopping = impl_->stopping;
    if (!stopping && impl_->queue.size() < kMaxQueuedRequests) {
      impl_->queue.push_back({std::move(text), std::move(done)});
      impl_->wake.notify_one();
      return;
    }
  }
  Impl::deliver(done, nullptr, stopping ? "stopped" : "busy");
}

ClipPtr TtsService::cached(const std::string& text) const { return impl_->lookup(text); }

ClipPtr TtsService::renderNow(const std::string& text, std::string* error) {
  std::string why;
  ClipPtr clip;
  if (std::this_thread::get_id() == impl_->worker_id) {
    clip = impl_->produce(text, &why);  // from inside a Done callback: waiting would deadlock
  } else {
    std::promise<std::pair<ClipPtr, std::string>> result;
    auto future = result.get_future();
    render(text, [&result](ClipPtr c, const std::string& e) { result.set_value({std::move(c), e}); });
    std::tie(clip, why) = future.get();
  }
  if (!clip && error) *error = why;
  return clip;
}

}  // namespace parley::media
