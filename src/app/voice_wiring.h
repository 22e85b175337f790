// The live server's voice side: the ports of voice_ports.h implemented with media::MediaEngine,
// EngineLoop, media::TtsService and sip::LoopTimer, and the VoiceController built on them.
//
// How it is put together (cmd_serve.cpp does this):
//   1. VoiceService service(config, setup, tts, store, warmPrompts(config, tts));
//   2. EngineLoop loop(engine, service.engineSink());  // engine thread half
//      service.bindEngine(loop); loop.start();
//   3. SipServer::start(..., service.sipHooks(base_hooks));
//   4. service.attach(*sip_server, loop) creates the media engine and the controller on the SIP
//      loop thread and waits for that; calls arriving before it get 503.
//   5. service.detach() (before stopping SIP) hangs up every call and saves the records.
//
// Thread rule: engineSink()'s function runs on the engine thread; the hooks and everything the
// controller does run on the SIP loop thread; attach()/detach() are called from the main thread;
// status() may be called from any thread.
// The engine thread reaches the SIP loop only through SipServer::post(), and back through
// EngineLoop::post()/postTask().
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>

#include "app/config.h"
#include "app/engine_loop.h"
#include "app/voice_controller.h"
#include "media/prompts.h"
#include "sip/sip_server.h"
#include "store/callback.h"
#include "store/interaction_store.h"
#include "web/callback_desk.h"
#include "web/server_status.h"

namespace parley::app {

// WAV prompts and music loaded at start, by path as written in the config.
using PromptFiles = std::unordered_map<std::string, media::ClipPtr>;

class VoiceService {
 public:
  // `tts` may be null (spoken prompts are then skipped, with a warning per prompt); `store` may
  // be null (records are only logged). Both must outlive the service. Relative WAV paths are
  // relative to the working directory, like every path in the config.
  VoiceService(const Config& config, VoiceSetup setup,
               media::TtsService* tts, store::InteractionStore* store, PromptFiles files = {});
  ~VoiceService();
  VoiceService(const VoiceService&) = delete;
  VoiceService& operator=(const VoiceService&) = delete;

  // Where callbacks are kept (must outlive the service) and the open ones it held at start-up;
  // call before attach(). Without it callbacks are refused (the store is what makes a promise).
  void useCallbackStore(store::CallbackStore* store, std::vector<store::Callback> open);
  // The HTTP API's way to the callbacks: each call runs on the SIP loop (and, for the expected
  // wait, the engine thread) and waits at most `timeout`. Lives as long as the service.
  std::unique_ptr<web::CallbackDesk> callbackDesk(std::chrono::milliseconds timeout);

  // The engine loop whose clock and queue the service uses; call before `engine` starts.
  void bindEngine(EngineLoop& engine);
  // For EngineLoop: keeps the queue statistics (for expected waits) and forwards every action
  // to the controller on the SIP loop.
  EngineLoop::ActionSink engineSink();
  // `base` with the call hooks and the trusted-source check filled in.
  sip::SipServerHooks sipHooks(sip::SipServerHooks base);

  // Builds the media engine and the controller on `sip`'s loop thread. False with `error` if
  // the media engine cannot start (address, ports). Both must outlive the service (or detach()).
  bool attach(sip::SipServer& sip, EngineLoop& engine, std::string* error);
  // Hangs up every call (records saved) and tears down the media engine, on the loop thread;
  // waits for it. Idempotent.
  void detach();

  // For GET /api/status: the media engine's counters (asked on the media thread) and the
  // controller's calls (asked on the SIP loop), both asked at once and waited for together for
  // at most `timeout`. A part is nullopt before attach(), once detach() has begun, or if its
  // thread did not answer in time. Any thread but the SIP loop and the media thread.
  web::ServerStatus status(std::chrono::milliseconds timeout);

  struct Shared;  // state shared between the threads; defined in voice_wiring.cpp

 private:
  std::shared_ptr<Shared> shared_;
};

// Loads every WAV the config names (prompts and music on hold, so the SIP loop never reads
// a file while calls are up) and renders the flows' fixed spoken prompts, so the first caller
// does not wait for espeak-ng. Problems are logged, not fatal (a missing file is skipped, and
// missing music falls back to the generated hold tone).
PromptFiles warmPrompts(const Config& config, media::TtsService* tts);

}  // namespace parley::app
