// Prompt audio: WAV files and text-to-speech (espeak-ng), turned into 8 kHz mono clips.
//
// loadWav(), holdTone() and sine() are plain functions. TtsService renders text on its own
// worker thread (espeak-ng is a process-global, not thread-safe library: only that thread
// touches it) and keeps each rendering in a memory cache and as a WAV file in a disk cache
// directory, keyed by voice and text, so a restart does not render the same sentence again.
//
// Thread rule: loadWav/holdTone/sine are pure (loadWav reads the file). TtsService's functions
// may be called from any thread; callbacks run on the worker thread, so a caller on an event
// loop posts the result to its own loop.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "media/media_engine.h"

namespace parley::media {

// Reads a WAV file (PCM 16-bit, or G.711 A-law/u-law; mono, or stereo mixed down; any sample
// rate, resampled to 8 kHz) into a clip. nullopt with `error` naming the file and the problem
// (missing, not RIFF/WAVE, unsupported format, over kMaxClipSeconds).
std::optional<Clip> loadWav(const std::string& path, std::string* error);
constexpr int kMaxClipSeconds = 600;

// Writes `clip` as an 8 kHz 16-bit mono WAV file (for the TTS disk cache and tests). False with
// `error` on I/O failure.
bool saveWav(const std::string& path, const Clip& clip, std::string* error);

// A music-on-hold pattern for when no music file is configured: `seconds` of a soft two-tone
// phrase and silence, at about -20 dBFS.
Clip holdTone(int seconds = 4);
// A pure sine of `hz` for `millis` ms at `amplitude` (0..32767), for prompts in tests.
Clip sine(double hz, int millis, int amplitude = 8000);

struct TtsConfig {
  std::string voice = "en-us";             // espeak-ng voice name
  std::string cache_dir = "./cache/tts";   // created if missing
  int words_per_minute = 160;
  std::size_t memory_cache_entries = 512;  // least recently used go first
  // Files kept in cache_dir (text with ${...} substitutions makes new ones without end): once
  // 10% over, the least recently used are deleted. 0: no disk cache.
  std::size_t disk_cache_entries = 10000;
};

class TtsService {
 public:
  struct Started {
    std::unique_ptr<TtsService> service;  // null on failure
    std::string error;                    // espeak-ng missing voice data, cache dir unusable
  };
  static Started start(TtsConfig config);
  ~TtsService();  // stops the worker; pending requests get their callback with null
  TtsService(const TtsService&) = delete;
  TtsService& operator=(const TtsService&) = delete;

  using Done = std::function<void(ClipPtr clip, const std::string& error)>;
  // Renders `text` (from memory, disk or espeak-ng) and calls `done` on the worker thread with
  // the clip, or with null and a reason. Text over kMaxTtsChars is refused. Requests are served
  // in order; when 1000 are already waiting, `done` is called at once, on the calling thread,
  // with null and "busy". Requests still queued when the service is destroyed, and requests
  // made while it is being destroyed, get "stopped".
  void render(std::string text, Done done);
  // A rendering already in the memory cache, without waiting; null if not there.
  ClipPtr cached(const std::string& text) const;
  // Blocks until `text` is rendered (for warming the cache at start). Null on failure. Called
  // from inside a Done callback, it renders right there instead of queueing.
  ClipPtr renderNow(const std::string& text, std::string* error);

  struct Impl;

 private:
  explicit TtsService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};
constexpr std::size_t kMaxTtsChars = 2000;

}  // namespace parley::media
