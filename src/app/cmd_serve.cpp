// `parley serve FILE`: the server. Reads and validates the config exactly as check-config does
// (errors: printed, exit 2), starts text-to-speech and renders the flows' fixed prompts, opens
// the interaction store, builds the routing engine on its own thread (EngineLoop), starts the
// SIP server (registrar with digest auth, INVITE dialogs) with the voice side on its loop
// (media engine and VoiceController: IVR flows, queues, agents' phones ringing, bridging),
// prints where to point a softphone, and runs until SIGINT or SIGTERM. Then it hangs up every
// call (their records are saved), stops SIP and the engine, writes the store out and exits 0.
// Anything that cannot start (address in use, RTP ports, TTS voice, store) exits 1.
//
// Threads: main (waits for the signal), the SIP loop (SipServer: SIP, media, voice controller),
// the engine loop (EngineLoop), the TTS worker and the store's writer. The SIP loop reaches the
// engine only by EngineLoop::post(), the engine the SIP loop only by SipServer::post().
#include <pthread.h>
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <spdlog/spdlog.h>

#include "app/commands.h"
#include "app/config_file.h"
#include "app/engine_loop.h"
#include "app/http_users.h"
#include "app/sip_wiring.h"
#include "app/voice_wiring.h"
#include "media/prompts.h"
#include "store/sqlite_callback_store.h"
#include "store/sqlite_interaction_store.h"
#include "web/api.h"
#include "web/http_server.h"

namespace parley::app {
namespace {

constexpr int kBadInput = 2;
constexpr int kStartFailed = 1;

struct ServeOptions {
  std::string path;
  std::string log_level = "info";
};

std::string softphoneHint(const Config& config) {
  std::ostringstream out;
  int shown = 0;
  for (const AgentEntry& agent : config.agents) {
    if (shown == 4) {
      out << ", ...";
      break;
    }
    out << (shown ? ", " : "") << agent.extension << " / "
        << (agent.password.empty() ? "(the password behind its ha1)" : agent.password);
    ++shown;
  }
  return out.str();
}

void printBanner(const Config& config, const std::string& path, const sip::SipServer& sip,
                 const web::HttpServer& http) {
  std::ostringstream out;
  out << "Parley is running with " << path << ".\n";
  out << "  SIP:";
  bool first = true;
  for (const sip::ListenAddress& l : sip.listening()) {
    out << (first ? " " : ", ") << l.transport << ' '
        << (l.host.find(':') != std::string::npos ? "[" + l.host + "]" : l.host) << ':' << l.port;
    first = false;
  }
  out << " (realm " << config.sip.realm << ")\n";
  if (config.agents.empty()) {
    out << "  No agents configured: add some under `agents:` to register phones.\n";
  } else {
    out << "  Register a softphone as user / password: " << softphoneHint(config) << '\n';
    out << "  Agents with available_on_register become available when their phone registers.\n";
  }
  if (!config.entry_points.empty()) {
    out << "  Call";
    for (std::size_t i = 0; i < config.entry_points.size() && i < 3; ++i) {
      out << (i ? ", " : " ") << config.entry_points[i].called;
    }
    out << " from any softphone (flow " << config.entry_points[0].flow << ").\n";
  }
  const std::string host = config.http.listen.host.find(':') != std::string::npos
                               ? "[" + config.http.listen.host + "]"
                               : config.http.listen.host;
  out << "  HTTP API: http://" << host << ':' << http.port()
      << "/api/interactions (log in with a user from http.users";
  if (!config.http.users.empty()) {
    out << ", e.g. " << config.http.users[0].name;
  }
  out << ")\n";
  out << "  Stop with Ctrl-C.\n";
  std::cout << out.str() << std::flush;
}

int serve(const ServeOptions& options) {
  std::optional<Config> config = loadConfigFile(options.path, "serve", std::cerr);
  if (!config) return kBadInput;
  const auto level = spdlog::level::from_str(options.log_level);
  spdlog::set_level(level);
  spdlog::flush_on(level);  // so a log file shows each line as it happens

  // Block the stop signals in this thread before any other starts, so every thread inherits
  // the mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  media::TtsConfig tts_config;
  tts_config.voice = config->media.tts_voice;
  tts_config.cache_dir = config->media.tts_cache_dir;
  tts_config.words_per_minute = config->media.tts_words_per_minute;
  media::TtsService::Started tts = media::TtsService::start(tts_config);
  if (!tts.service) {
    std::cerr << "parley serve: text-to-speech did not start: " << tts.error << '\n';
    return kStartFailed;
  }
  PromptFiles prompt_files = warmPrompts(*config, tts.service.get());

  if (config->store.kind != StoreConfig::Kind::Sqlite) {
    std::cerr << "parley serve: store: only sqlite is supported so far\n";
    return kStartFailed;
  }
  store::SqliteOpen opened = store::SqliteInteractionStore::open(config->store.sqlite_path);
  if (!opened.store) {
    std::cerr << "parley serve: store did not open: " << opened.error << '\n';
    return kStartFailed;
  }
  store::InteractionStore& records = *opened.store;
  store::SqliteCallbackOpen callbacks_opened =
      store::SqliteCallbackStore::open(config->store.sqlite_path);
  if (!callbacks_opened.store) {
    std::cerr << "parley serve: callback store did not open: " << callbacks_opened.error << '\n';
    return kStartFailed;
  }
  store::CallbackStore& callbacks = *callbacks_opened.store;
  store::StoreResult<std::vector<store::Callback>> open_callbacks = callbacks.open();
  if (!open_callbacks) {
    std::cerr << "parley serve: callbacks could not be read: " << open_callbacks.error() << '\n';
    return kStartFailed;
  }

  if (!config->media.recordings_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(config->media.recordings_dir, ec);
    if (ec) {
      std::cerr << "parley serve: media.recordings_dir " << config->media.recordings_dir << ": "
                << ec.message() << '\n';
      return kStartFailed;
    }
  }

  engine::Engine engine(config->routing);
  const EngineIds ids = addToEngine(*config, engine);
  VoiceService voice(*config, VoiceSetup::from(*config, ids, engine),
                     tts.service.get(), &records, std::move(prompt_files));
  voice.useCallbackStore(&callbacks, std::move(open_callbacks.value()));
  const std::unique_ptr<web::CallbackDesk> desk = voice.callbackDesk(std::chrono::seconds(2));
  EngineLoop loop(std::move(engine), voice.engineSink());
  voice.bindEngine(loop);
  loop.start();

  // Shared with the SIP loop's hook; immutable once built.
  auto presence = std::make_shared<const PhonePresence>(*config, ids);
  sip::SipServerHooks hooks;
  hooks.on_availability = [presence, &loop](const sip::AvailabilityEvent& e) {
    if (std::optional<engine::Event> event = presence->eventFor(e)) loop.post(std::move(*event));
  };
  sip::SipServerStart started =
      sip::SipServer::start(toSipServerConfig(*config), voice.sipHooks(std::move(hooks)));
  if (!started.server) {
    std::cerr << "parley serve: SIP server did not start: " << started.error << '\n';
    loop.stop();
    return kStartFailed;
  }
  web::ApiConfig api_config;
  api_config.session_idle_timeout =
      std::chrono::duration_cast<std::chrono::seconds>(config->http.session_idle_timeout);
  web::ApiServices services;
  services.callbacks = desk.get();
  services.callback_store = &callbacks;
  services.dial_guard = config->callbacks.dial_guard;
  services.cors_origins = config->http.cors_origins;
  services.invitations = config->widget.invitations;
  services.assets = web::StaticAssets::load(config->http.ui_dir);
  // `voice` outlives the HTTP server (stopped before voice.detach()).
  services.status = [&voice] { return voice.status(std::chrono::seconds(1)); };
  web::Api api(api_config, makeUserDirectory(*config), records, std::move(services));
  web::HttpServerConfig http_config;
  http_config.address = config->http.listen.host;
  http_config.port = config->http.listen.port;
  web::HttpServerStart http = web::HttpServer::start(
      http_config,
      [&api](const web::Request& r, const std::string& ip) { return api.handle(r, ip); });
  if (!http.server) {
    std::cerr << "parley serve: HTTP server did not start: " << http.error << '\n';
    started.server->stop();
    loop.stop();
    return kStartFailed;
  }

  std::string voice_error;
  if (!voice.attach(*started.server, loop, &voice_error)) {
    std::cerr << "parley serve: " << voice_error << '\n';
    http.server->stop();
    voice.detach();
    started.server->stop();
    loop.stop();
    return kStartFailed;
  }
  printBanner(*config, options.path, *started.server, *http.server);

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  spdlog::info("signal {}: stopping", signal_number);
  http.server->stop();
  voice.detach();          // hangs up every call; their records go to the store
  started.server->stop();  // no more hooks after this, so the loop can go
  loop.stop();
  records.close();         // writes out whatever is queued
  spdlog::info("stopped");
  return 0;
}

}  // namespace

void addServeCommand(CLI::App& app) {
  // Shared with the callback, which CLI11 keeps alive as long as `app`.
  auto options = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the contact-centre server from a config file");
  cmd->add_option("file", options->path, "Config file (format: docs/CONFIG.md)")->required();
  cmd->add_option("--log-level", options->log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  cmd->callback([options] { setExitCode(serve(*options)); });
}

}  // namespace parley::app
