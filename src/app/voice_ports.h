// The narrow interfaces the voice controller (voice_controller.h) drives: media streams, the
// routing engine on its own thread, prompt audio, and a timer. The live server implements them
// with media::MediaEngine, EngineLoop, media::TtsService and sip::LoopTimer (voice_wiring.*);
// the controller's tests implement them in memory.
//
// Thread rule: every port is called on the voice loop thread (the SIP loop), and every answer
// that comes back asynchronously (prompt clips, queue information) is delivered on that thread,
// never from inside the call that asked for it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/events.h"
#include "engine/types.h"
#include "flow/flow.h"
#include "flow/interpreter.h"
#include "media/media_engine.h"

namespace parley::app {

// The media engine's operations the controller uses (media::MediaEngine has the contracts).
class MediaPort {
 public:
  virtual ~MediaPort() = default;
  virtual media::MediaEngine::Negotiated acceptOffer(std::string_view remote_offer) = 0;
  virtual media::MediaEngine::Negotiated createOffer() = 0;
  virtual media::MediaEngine::Negotiated renegotiate(media::StreamId stream,
                                                     std::string_view remote_offer) = 0;
  virtual bool applyAnswer(media::StreamId stream, std::string_view remote_answer,
                           std::string* error) = 0;
  virtual void play(media::StreamId stream, std::vector<media::ClipPtr> clips,
                    media::PlaybackToken token) = 0;
  virtual void loop(media::StreamId stream, media::ClipPtr clip) = 0;
  virtual void stopPlayback(media::StreamId stream) = 0;
  // A key to the stream's phone as an RFC 4733 event (MediaEngine::sendDigit); posted.
  virtual void sendDigit(media::StreamId stream, char key) = 0;
  virtual bool bridge(media::StreamId a, media::StreamId b,
                      std::optional<media::RecordingSpec> recording) = 0;
  virtual void close(media::StreamId stream) = 0;
};

// Where a queued caller stands: 1-based position and the expected wait, if the statistics can
// estimate it yet.
struct QueueInfo {
  engine::ContactId contact{};
  std::size_t position = 0;
  std::optional<engine::Millis> expected_wait;
};

// The routing engine, which lives on another thread.
class RoutingPort {
 public:
  virtual ~RoutingPort() = default;
  virtual void post(engine::Event event) = 0;
  // Asks where `contacts` stand; the answer (only for contacts still waiting) arrives later
  // through VoiceController::onQueueInfo.
  virtual void requestQueueInfo(std::vector<engine::ContactId> contacts) = 0;
};

// Prompt audio: WAV files and text-to-speech.
class PromptPort {
 public:
  virtual ~PromptPort() = default;
  using Done = std::function<void(std::vector<media::ClipPtr>)>;
  // Resolves `prompts` (substitutions already applied) into clips and calls `done` later on the
  // voice loop. A prompt that cannot be had (missing file, TTS failure) is left out and logged,
  // so `done` always comes, perhaps with fewer clips.
  virtual void fetch(const flow::Prompts& prompts, Done done) = 0;
  // Music on hold for a WAV path (loaded and cached); empty path or a file that cannot be read:
  // the generated hold tone. Never null.
  virtual media::ClipPtr music(const std::string& file) = 0;
};

// Clocks and the one wake-up timer of the controller.
struct VoiceClock {
  // Engine time (the EngineLoop's clock, so flow and engine times compare).
  std::function<engine::TimePoint()> now;
  // Wall clock, milliseconds since the Unix epoch (for records).
  std::function<std::int64_t()> wall_ms;
  // The caller's local time for business-hours nodes; nullopt: hours nodes take `closed`.
  std::function<std::optional<flow::LocalDateTime>()> local_time;
  // Arranges one call to VoiceController::onTimer() at `at` (replacing any earlier request);
  // nullopt cancels it.
  std::function<void(std::optional<engine::TimePoint> at)> wake_at;
};

}  // namespace parley::app
