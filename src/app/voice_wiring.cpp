#include "app/voice_wiring.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "engine/stats.h"
#include "media/media_thread.h"

namespace parley::app {

namespace voice_detail {

media::MediaEngineConfig toMediaConfig(const MediaConfig& m) {
  media::MediaEngineConfig c;
  c.rtp_address = m.rtp_address;
  c.advertised_address = m.advertised_address;
  c.rtp_port_min = m.rtp_port_min;
  c.rtp_port_max = m.rtp_port_max;
  c.codecs.clear();
  for (Codec codec : m.codecs) {
    c.codecs.push_back(codec == Codec::Pcmu ? media::Codec::Pcmu : media::Codec::Pcma);
  }
  c.rtp_timeout = m.rtp_timeout;
  c.io = m.io == MediaConfig::Io::IoUring ? media::MediaIo::IoUring
         : m.io == MediaConfig::Io::Epoll ? media::MediaIo::Epoll
                                          : media::MediaIo::Auto;
  return c;
}

// Local wall time (the machine's time zone, like the hours nodes) of `t`; nullopt if the C
// library cannot convert it.
std::optional<flow::LocalDateTime> localOf(std::time_t t) {
  std::tm tm{};
  if (localtime_r(&t, &tm) == nullptr) return std::nullopt;
  return flow::LocalDateTime{flow::Date{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday},
                             tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec};
}

flow::LocalDateTime localAt(store::EpochMillis t) {
  return localOf(static_cast<std::time_t>(t / 1000)).value_or(flow::LocalDateTime{});
}

std::optional<flow::LocalDateTime> localNow() { return localOf(std::time(nullptr)); }

// The media engine on its own thread (MediaThread). Stream creation and answers wait for the
// media thread (the SDP is needed at once); everything else is posted and runs in order.
class ThreadedMedia final : public MediaPort {
 public:
  explicit ThreadedMedia(media::MediaThread& thread) : thread_(thread) {}

  media::MediaEngine::Negotiated acceptOffer(std::string_view offer) override {
    return negotiate([offer = std::string(offer)](media::MediaEngine& e) {
      return e.acceptOffer(offer);
    });
  }
  media::MediaEngine::Negotiated createOffer() override {
    return negotiate([](media::MediaEngine& e) { return e.createOffer(); });
  }
  // Not through negotiate(): a late result must not close the call's existing stream.
  media::MediaEngine::Negotiated renegotiate(media::StreamId s, std::string_view offer) override {
    auto n = await([s, offer = std::string(offer)](media::MediaEngine& e) {
      return e.renegotiate(s, offer);
    });
    if (!n) return {0, {}, kLate, media::MediaEngine::Failure::NoPort};
    return std::move(*n);
  }
  bool applyAnswer(media::StreamId s, std::string_view answer, std::string* error) override {
    auto r = await([s, answer = std::string(answer)](media::MediaEngine& e) {
      std::string why;
      const bool ok = e.applyAnswer(s, answer, &why);
      return std::pair{ok, std::move(why)};
    });
    if (error != nullptr) *error = r ? r->second : kLate;
    return r && r->first;
  }
  void play(media::StreamId s, std::vector<media::ClipPtr> clips,
            media::PlaybackToken t) override {
    thread_.post([s, clips = std::move(clips), t](media::MediaEngine& e) mutable {
      e.play(s, std::move(clips), t);
    });
  }
  void loop(media::StreamId s, media::ClipPtr clip) override {
    thread_.post([s, clip = std::move(clip)](media::MediaEngine& e) mutable {
      e.loop(s, std::move(clip));
    });
  }
  void stopPlayback(media::StreamId s) override {
    thread_.post([s](media::MediaEngine& e) { e.stopPlayback(s); });
  }
  void sendDigit(media::StreamId s, char key) override {
    thread_.post([s, key](media::MediaEngine& e) {
      if (!e.sendDigit(s, key)) spdlog::debug("media: stream {}: key {} not sent", s, key);
    });
  }
  // Posted, so it reports success; a failure is logged on the media thread.
  bool bridge(media::StreamId a, media::StreamId b,
              std::optional<media::RecordingSpec> rec) override {
    thread_.post([a, b, rec = std::move(rec)](media::MediaEngine& e) mutable {
      if (!e.bridge(a, b, std::move(rec))) spdlog::warn("media: bridge {}<->{} failed", a, b);
    });
    return true;
  }
  void close(media::StreamId s) override {
    thread_.post([s](media::MediaEngine& e) { e.close(s); });
  }

 private:
  static constexpr std::chrono::milliseconds kWait{2'000};
  static constexpr const char* kLate = "media thread did not answer in time";

  // Runs `f` on the media thread and waits (at most kWait) for what it returns; nullopt if it
  // did not run in time (it may still run later: the result lives in shared state).
  template <typename F>
  auto await(F f) -> std::optional<std::invoke_result_t<F&, media::MediaEngine&>> {
    using R = std::invoke_result_t<F&, media::MediaEngine&>;
    auto result = std::make_shared<std::optional<R>>();
    const bool ran = thread_.call(
        [result, f = std::move(f)](media::MediaEngine& e) mutable { result->emplace(f(e)); }, kWait);
    if (!ran) return std::nullopt;
    return std::move(*result);
  }

  // Runs `make` on the media thread and waits. If the wait times out, a stream made later is
  // closed there and then, so nothing is left behind.
  template <typename Make>
  media::MediaEngine::Negotiated negotiate(Make make) {
    struct Shared {
      std::mutex mutex;
      bool abandoned = false;
      bool done = false;
      media::MediaEngine::Negotiated result;
    };
    auto shared = std::make_shared<Shared>();
    const bool ran = thread_.call(
        [shared, make = std::move(make)](media::MediaEngine& e) {
          media::MediaEngine::Negotiated n = make(e);
          std::lock_guard lock(shared->mutex);
          if (shared->abandoned) {
            if (n.stream != 0) e.close(n.stream);
            return;
          }
          shared->result = std::move(n);
          shared->done = true;
        },
        kWait);
    std::lock_guard lock(shared->mutex);
    if (!ran || !shared->done) {
      shared->abandoned = true;
      return {0, {}, kLate, media::MediaEngine::Failure::NoPort};
    }
    return std::move(shared->result);
  }

  media::MediaThread& thread_;
};

}  // namespace voice_detail

using namespace voice_detail;

// What the SIP loop thread owns: created by attach(), destroyed by detach(), both on that thread.
struct LoopSide;

struct VoiceService::Shared {
  const Config* config = nullptr;
  std::optional<VoiceSetup> setup;  // moved into the controller by attach()
  media::TtsService* tts = nullptr;
  store::InteractionStore* store = nullptr;
  store::CallbackStore* callbacks = nullptr;
  std::vector<store::Callback> open_callbacks;  // handed to the controller by attach()
  std::vector<Cidr> trusted;

  std::atomic<sip::SipServer*> sip{nullptr};
  std::atomic<EngineLoop*> engine{nullptr};
  std::unique_ptr<engine::Statistics> stats;  // engine thread only
  std::unique_ptr<LoopSide> loop;             // SIP loop thread only
  std::unique_ptr<media::MediaThread> media;  // started and stopped by attach()/detach()
  // *media while status() may ask it: set by attach() once it runs, cleared by detach() before
  // it stops. status() posts under the lock, so the thread outlives every post.
  std::mutex status_mutex;
  media::MediaThread* status_media = nullptr;  // guarded by status_mutex
  PromptFiles files;                          // handed to the loop side by attach()

  engine::TimePoint now() const {
    EngineLoop* e = engine.load();
    return e != nullptr ? e->toEngineTime(std::chrono::steady_clock::now()) : engine::TimePoint{};
  }
  void toLoop(std::function<void()> task) {
    if (sip::SipServer* s = sip.load()) s->post(std::move(task));
  }
  VoiceController* controller();
};

namespace voice_detail {

class EngineRouting final : public RoutingPort {
 public:
  explicit EngineRouting(VoiceService::Shared* shared) : shared_(shared) {}
  void post(engine::Event event) override {
    if (EngineLoop* e = shared_->engine.load()) e->post(std::move(event));
  }
  void requestQueueInfo(std::vector<engine::ContactId> contacts) override {
    EngineLoop* e = shared_->engine.load();
    if (e == nullptr) return;
    VoiceService::Shared* shared = shared_;
    e->postTask([shared, contacts = std::move(contacts)](const engine::Engine& engine) {
      const engine::TimePoint now = shared->now();
      std::vector<QueueInfo> info;
      for (engine::ContactId c : contacts) {
        const std::optional<std::size_t> position = engine.position(c);
        const std::optional<engine::ContactView> view = engine.contact(c);
        if (!position || !view) continue;
        QueueInfo i{c, *position, std::nullopt};
        if (shared->stats) {
          const double s = shared->stats->ewtSeconds(view->queue, *position, now);
          if (std::isfinite(s)) i.expected_wait = engine::Millis{std::llround(s * 1000.0)};
        }
        info.push_back(i);
      }
      shared->toLoop([shared, info = std::move(info)] {
        if (VoiceController* v = shared->controller()) v->onQueueInfo(info);
      });
    });
  }

 private:
  VoiceService::Shared* shared_;
};

// Prompts from WAV files (loaded once, cached) and espeak-ng (through the TtsService).
class LoopPrompts final : public PromptPort {
 public:
  LoopPrompts(VoiceService::Shared* shared, PromptFiles files)
      : shared_(shared), files_(std::move(files)) {}

  void fetch(const flow::Prompts& prompts, Done done) override {
    struct Pending {
      std::vector<media::ClipPtr> clips;
      std::size_t remaining = 0;
      Done done;
    };
    auto pending = std::make_shared<Pending>();
    pending->clips.resize(prompts.size());
    pending->remaining = prompts.size();
    pending->done = std::move(done);
    auto finish = [](const std::shared_ptr<Pending>& p) {
      std::vector<media::ClipPtr> clips;
      for (auto& c : p->clips) {
        if (c) clips.push_back(std::move(c));
      }
      p->done(std::move(clips));
    };
    VoiceService::Shared* shared = shared_;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      const flow::Prompt& p = prompts[i];
      if (p.kind == flow::Prompt::Kind::File) {
        pending->clips[i] = file(p.value);
        --pending->remaining;
      } else if (shared_->tts == nullptr) {
        spdlog::warn("prompt \"{}\": no text-to-speech, skipped", p.value);
        --pending->remaining;
      } else if (media::ClipPtr c = shared_->tts->cached(p.value)) {
        pending->clips[i] = std::move(c);
        --pending->remaining;
      } else {
        shared_->tts->render(p.value, [shared, pending, i, finish](media::ClipPtr clip,
                                                                   const std::string& error) {
          if (!clip) spdlog::warn("text-to-speech failed: {}", error);
          shared->toLoop([pending, i, clip = std::move(clip), finish] {
            pending->clips[i] = clip;
            if (--pending->remaining == 0) finish(pending);
          });
        });
      }
    }
    if (pending->remaining == 0) shared_->toLoop([pending, finish] { finish(pending); });
  }

  media::ClipPtr music(const std::string& path) override {
    if (!path.empty()) {
      if (media::ClipPtr c = file(path)) return c;
    }
    if (!hold_tone_) hold_tone_ = std::make_shared<const media::Clip>(media::holdTone());
    return hold_tone_;
  }

 private:
  media::ClipPtr file(const std::string& path) {
    const auto it = files_.find(path);
    if (it != files_.end()) return it->second;
    std::string error;
    std::optional<media::Clip> clip =
        media::loadWav(path, &error);
    media::ClipPtr ptr;
    if (clip) {
      ptr = std::make_shared<const media::Clip>(std::move(*clip));
    } else {
      spdlog::warn("prompt file: {}", error);
    }
    files_.emplace(path, ptr);  // a failure is remembered too: logged once
    return ptr;
  }

  VoiceService::Shared* shared_;
  PromptFiles files_;  // preloaded at start; a file first named later is loaded on first use
  media::ClipPtr hold_tone_;
};

}  // namespace voice_detail

// Agent-available to INVITE-sent times, in microseconds (a bounded sample for percentiles).
class LatencySamples {
 public:
  void add(std::chrono::steady_clock::duration d) {
    if (samples_.size() < kMax) {
      samples_.push_back(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    }
  }
  std::string summary() {
    if (samples_.empty()) return "no samples";
    std::sort(samples_.begin(), samples_.end());
    const auto at = [&](double q) {
      return samples_[std::min(samples_.size() - 1,
                               static_cast<std::size_t>(q * static_cast<double>(samples_.size())))];
    };
    return fmt::format("n={} p50={} us p99={} us max={} us", samples_.size(), at(0.50),
                       at(0.99), samples_.back());
  }

 private:
  static constexpr std::size_t kMax = 1'000'000;
  std::vector<std::int64_t> samples_;
};

// Events after which an agent can be free for a waiting contact: the start of the
// "agent available -> INVITE" latency.
bool freesAnAgent(const engine::Event& e) {
  return std::holds_alternative<engine::ev::ContactCompleted>(e) ||
         std::holds_alternative<engine::ev::WrapUpDone>(e) ||
         std::holds_alternative<engine::ev::AgentLogin>(e) ||
         std::holds_alternative<engine::ev::AgentReady>(e) ||
         std::holds_alternative<engine::ev::Tick>(e);
}

struct LoopSide {
  LatencySamples offer_latency;
  std::unique_ptr<ThreadedMedia> media_port;
  std::unique_ptr<EngineRouting> routing;
  std::unique_ptr<LoopPrompts> prompts;
  sip::LoopTimer timer;
  std::unique_ptr<VoiceController> controller;
};

VoiceController* VoiceService::Shared::controller() {
  return loop != nullptr ? loop->controller.get() : nullptr;
}

VoiceService::VoiceService(const Config& config, VoiceSetup setup,
                           media::TtsService* tts, store::InteractionStore* store,
                           PromptFiles files)
    : shared_(std::make_shared<Shared>()) {
  shared_->files = std::move(files);
  shared_->config = &config;
  shared_->setup = std::move(setup);
  shared_->tts = tts;
  shared_->store = store;
  shared_->trusted = config.sip.trusted_sources;
}

VoiceService::~VoiceService() { detach(); }

EngineLoop::ActionSink VoiceService::engineSink() {
  std::shared_ptr<Shared> shared = shared_;
  return [shared](const engine::Action& action, const engine::Engine& engine) {
    const engine::TimePoint now = shared->now();
    if (!shared->stats) shared->stats = std::make_unique<engine::Statistics>(engine, now);
    shared->stats->apply(action, now);
    if (std::holds_alternative<engine::act::AgentStateChanged>(action) ||
        std::holds_alternative<engine::act::WrapUpEnded>(action)) {
      return;  // nothing for calls
    }
    std::optional<std::chrono::steady_clock::time_point> freed_at;
    if (std::holds_alternative<engine::act::OfferCreated>(action)) {
      EngineLoop* loop = shared->engine.load();
      if (loop != nullptr && loop->currentEvent() != nullptr &&
          freesAnAgent(*loop->currentEvent())) {
        freed_at = loop->currentEventPostedAt();
      }
    }
    shared->toLoop([shared, action, freed_at] {
      VoiceController* v = shared->controller();
      if (v == nullptr) return;
      const std::uint64_t legs = v->counters().agent_legs;
      v->onEngineAction(action);
      if (freed_at && v->counters().agent_legs > legs) {
        shared->loop->offer_latency.add(std::chrono::steady_clock::now() - *freed_at);
      }
    });
  };
}

sip::SipServerHooks VoiceService::sipHooks(sip::SipServerHooks hooks) {
  Shared* s = shared_.get();  // outlives the SIP server (detach() comes before its stop)
  hooks.is_trusted_source = [s](std::string_view ip) {
    for (const Cidr& c : s->trusted) {
      if (c.contains(ip)) return true;
    }
    return false;
  };
  hooks.calls.on_invite = [s](const sip::InboundCall& call) {
    if (VoiceController* v = s->controller()) {
      v->onInvite(call);
    } else if (sip::SipServer* server = s->sip.load()) {
      server->calls().reject(call.leg, 503, "Service Unavailable");
    }
  };
  hooks.calls.on_progress = [s](sip::LegId leg, int code) {
    if (VoiceController* v = s->controller()) v->onProgress(leg, code);
  };
  hooks.calls.on_answered = [s](sip::LegId leg, const std::string& sdp) {
    if (VoiceController* v = s->controller()) v->onAnswered(leg, sdp);
  };
  hooks.calls.on_established = [s](sip::LegId leg) {
    if (VoiceController* v = s->controller()) v->onEstablished(leg);
  };
  hooks.calls.on_sdp_answer = [s](sip::LegId leg, const std::string& sdp) {
    if (VoiceController* v = s->controller()) v->onSdpAnswer(leg, sdp);
  };
  hooks.calls.on_reoffer = [s](sip::LegId leg, const std::string& sdp) -> std::string {
    VoiceController* v = s->controller();
    return v != nullptr ? v->onReoffer(leg, sdp) : std::string();
  };
  hooks.calls.on_ended = [s](sip::LegId leg, const sip::LegEnded& ended) {
    if (VoiceController* v = s->controller()) v->onLegEnded(leg, ended);
  };
  hooks.calls.on_info_dtmf = [s](sip::LegId leg, char key) {
    if (VoiceController* v = s->controller()) v->onInfoDtmf(leg, key);
  };
  return hooks;
}

void VoiceService::useCallbackStore(store::CallbackStore* store,
                                    std::vector<store::Callback> open) {
  shared_->callbacks = store;
  shared_->open_callbacks = std::move(open);
}

namespace voice_detail {

// web::CallbackDesk over the controller on the SIP loop: each call is posted there and waited
// for (bounded); the expected wait comes from the engine thread's statistics.
class LoopCallbackDesk final : public web::CallbackDesk {
 public:
  LoopCallbackDesk(std::shared_ptr<VoiceService::Shared> shared, std::chrono::milliseconds timeout)
      : shared_(std::move(shared)), timeout_(timeout) {}

  web::CallbackAnswer request(const web::CallbackAsk& ask) override {
    CallbackRequest req;
    req.queue = ask.queue;
    req.number = ask.number;
    req.at = ask.at;
    req.context = ask.context;
    req.source = ask.source;
    req.source_address = ask.client_address;
    web::CallbackAnswer answer;
    const std::optional<CallbackReply> reply =
        onLoop<CallbackReply>([req](VoiceController& v) { return v.requestCallback(req); });
    if (!reply) {
      answer.message = "the callback service did not answer";
      return answer;
    }
    answer.id = reply->id;
    answer.scheduled_for = reply->scheduled_for;
    answer.message = reply->message;
    using S = web::CallbackAnswer::Status;
    if (!reply->stored) {
      answer.status = S::Unavailable;
      return answer;
    }
    switch (reply->status) {
      case BookStatus::Created: answer.status = S::Created; break;
      case BookStatus::Updated: answer.status = S::Updated; break;
      case BookStatus::UnknownQueue: answer.status = S::UnknownQueue; break;
      case BookStatus::Disabled:
      case BookStatus::Closed: answer.status = S::Closed; break;
      case BookStatus::NoSlot: answer.status = S::NoSlot; break;
      case BookStatus::Invalid: answer.status = S::Invalid; break;
      case BookStatus::Full: answer.status = S::Unavailable; break;
    }
    return answer;
  }

  std::optional<web::QueueAvailability> availability(std::string_view queue) override {
    const std::string name(queue);
    const std::optional<std::optional<CallbackAvailability>> book =
        onLoop<std::optional<CallbackAvailability>>(
            [name](VoiceController& v) { return v.callbackAvailability(name); });
    if (!book || !*book) return std::nullopt;
    web::QueueAvailability a;
    a.queue = name;
    a.open = (*book)->open;
    a.callback_now = (*book)->open;
    a.callback_later = !(*book)->slots.empty();
    for (const SlotInfo& s : (*book)->slots) a.slots.push_back(web::Slot{s.start, s.end, s.free});
    // Waiting contacts and the expected wait of one more, from the engine thread.
    if (EngineLoop* e = shared_->engine.load()) {
      auto out = std::make_shared<std::pair<int, std::optional<int>>>(0, std::nullopt);
      std::shared_ptr<VoiceService::Shared> shared = shared_;
      const bool ran = e->call(
          [shared, name, out](const engine::Engine& engine) {
            const std::optional<engine::QueueId> q = engine.findQueue(name);
            if (!q) return;
            const std::size_t waiting = engine.waitingCount(*q);
            out->first = static_cast<int>(waiting);
            if (shared->stats) {
              const double s = shared->stats->ewtSeconds(*q, waiting + 1, shared->now());
              if (std::isfinite(s)) out->second = static_cast<int>(std::lround(s));
            }
          },
          timeout_);
      if (ran) {
        a.waiting = out->first;
        a.estimated_wait_s = out->second;
      }
    }
    return a;
  }

  bool cancel(const std::string& id) override {
    return onLoop<bool>([id](VoiceController& v) { return v.cancelCallback(id); }).value_or(false);
  }

 private:
  // Runs `fn` on the SIP loop with the controller and waits for its result; nullopt if the
  // loop or the controller is gone or did not answer in time.
  template <typename T>
  std::optional<T> onLoop(std::function<T(VoiceController&)> fn) {
    sip::SipServer* server = shared_->sip.load();
    if (server == nullptr) return std::nullopt;
    auto promise = std::make_shared<std::promise<std::optional<T>>>();
    std::future<std::optional<T>> result = promise->get_future();
    std::shared_ptr<VoiceService::Shared> shared = shared_;
    const bool posted = server->post([shared, promise, fn = std::move(fn)] {
      VoiceController* v = shared->controller();
      promise->set_value(v != nullptr ? std::optional<T>(fn(*v)) : std::nullopt);
    });
    if (!posted || result.wait_for(timeout_) != std::future_status::ready) return std::nullopt;
    return result.get();
  }

  std::shared_ptr<VoiceService::Shared> shared_;
  std::chrono::milliseconds timeout_;
};

}  // namespace voice_detail

std::unique_ptr<web::CallbackDesk> VoiceService::callbackDesk(std::chrono::milliseconds timeout) {
  return std::make_unique<voice_detail::LoopCallbackDesk>(shared_, timeout);
}

void VoiceService::bindEngine(EngineLoop& engine) { shared_->engine.store(&engine); }

bool VoiceService::attach(sip::SipServer& sip, EngineLoop& engine, std::string* error) {
  shared_->engine.store(&engine);
  shared_->sip.store(&sip);
  std::shared_ptr<Shared> shared = shared_;
  auto result = std::make_shared<std::promise<std::string>>();
  std::future<std::string> done = result->get_future();
  {
    // Media events arrive on the media thread; the controller lives on the SIP loop.
    Shared* s = shared.get();
    media::MediaEvents events;
    events.on_dtmf = [s](media::StreamId stream, char key, media::DtmfSource source) {
      s->toLoop([s, stream, key, source] {
        if (VoiceController* v = s->controller()) v->onDtmf(stream, key, source);
      });
    };
    events.on_playback_done = [s](media::StreamId stream, media::PlaybackToken token) {
      s->toLoop([s, stream, token] {
        if (VoiceController* v = s->controller()) v->onPlaybackDone(stream, token);
      });
    };
    events.on_timeout = [s](media::StreamId stream) {
      s->toLoop([s, stream] {
        if (VoiceController* v = s->controller()) v->onMediaTimeout(stream);
      });
    };
    media::MediaThread::Started media =
        media::MediaThread::start(toMediaConfig(s->config->media), std::move(events));
    if (!media.thread) {
      if (error != nullptr) *error = "media: " + media.error;
      return false;
    }
    shared_->media = std::move(media.thread);
    std::lock_guard lock(shared_->status_mutex);
    shared_->status_media = shared_->media.get();
  }
  const bool posted = sip.post([shared, result] {
    auto side = std::make_unique<LoopSide>();
    Shared* s = shared.get();
    side->media_port = std::make_unique<ThreadedMedia>(*s->media);
    side->routing = std::make_unique<EngineRouting>(s);
    side->prompts = std::make_unique<LoopPrompts>(s, std::move(s->files));
    sip::SipServer* server = s->sip.load();
    SipPort port;
    port.calls = &server->calls();
    port.contacts_of = [server](const std::string& extension) {
      std::vector<std::string> out;
      for (const sip::Binding& b : server->bindingsOf(extension)) out.push_back(b.contact);
      return out;
    };
    VoiceClock clock;
    clock.now = [s] { return s->now(); };
    clock.wall_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
    clock.local_time = [] { return localNow(); };
    LoopSide* raw = side.get();
    clock.wake_at = [s, raw](std::optional<engine::TimePoint> at) {
      if (!at) {
        raw->timer.cancel();
        return;
      }
      const auto delay = std::max(engine::Millis{0}, *at - s->now());
      raw->timer.start(delay, [s] {
        if (VoiceController* v = s->controller()) v->onTimer();
      });
    };
    store::InteractionStore* store = s->store;
    auto save = [store](store::Interaction record) {
      if (store == nullptr) return;
      const std::string id = record.id;
      if (!store->save(std::move(record))) spdlog::error("record {}: not stored", id);
    };
    CallbackPorts callback_ports;
    if (store::CallbackStore* cbs = s->callbacks) {
      callback_ports.persist = [cbs](const store::Callback& c, std::string* why) {
        store::StoreResult<bool> r = cbs->put(c);
        if (!r.ok() && why != nullptr) *why = r.error();
        return r.ok();
      };
    }
    callback_ports.local_of = [](store::EpochMillis t) { return localAt(t); };
    side->controller = std::make_unique<VoiceController>(
        std::move(*s->setup), port, *side->media_port, *side->routing, *side->prompts,
        std::move(clock), std::move(save), std::move(callback_ports));
    side->controller->restoreCallbacks(std::move(s->open_callbacks));
    s->loop = std::move(side);
    result->set_value("");
  });
  if (!posted || done.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    if (error != nullptr) *error = "the SIP loop did not start the voice side";
    return false;
  }
  const std::string failure = done.get();
  if (!failure.empty()) {
    if (error != nullptr) *error = failure;
    return false;
  }
  return true;
}

void VoiceService::detach() {
  sip::SipServer* server = shared_->sip.load();
  if (server == nullptr) return;
  std::shared_ptr<Shared> shared = shared_;
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  const bool posted = server->post([shared, done] {
    if (shared->loop) {
      if (shared->loop->controller) shared->loop->controller->shutdown();
      shared->loop->timer.cancel();
      spdlog::info("agent available -> INVITE sent: {}", shared->loop->offer_latency.summary());
      shared->loop->controller.reset();
      shared->loop.reset();
    }
    done->set_value();
  });
  if (posted) finished.wait_for(std::chrono::seconds(10));
  shared_->sip.store(nullptr);
  {
    std::lock_guard lock(shared_->status_mutex);
    shared_->status_media = nullptr;
  }
  if (shared_->media) {
    // After the controller's last closes (posted before this): the counters, then the end.
    shared_->media->call(
        [](media::MediaEngine& e) {
          const media::MediaStats m = e.stats();
          spdlog::info("media: {} RTP packets received, {} sent, {} relayed, {} dropped",
                       m.packets_received, m.packets_sent, m.packets_relayed, m.packets_dropped);
        },
        std::chrono::seconds(5));
    shared_->media->stop();
    shared_->media.reset();
  }
}

namespace {

// The answer of `answer` if it comes by `deadline`; nullopt if it does not, or if its task was
// dropped unrun (a broken promise).
template <typename T>
std::optional<T> answerBy(std::future<T>& answer, std::chrono::steady_clock::time_point deadline) {
  if (!answer.valid() || answer.wait_until(deadline) != std::future_status::ready) {
    return std::nullopt;
  }
  try {
    return answer.get();
  } catch (const std::future_error&) {
    return std::nullopt;
  }
}

}  // namespace

web::ServerStatus VoiceService::status(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Both questions go out first; the tasks hold their promises, so a late answer is harmless.
  std::future<media::MediaStats> media_answer;
  {
    std::lock_guard lock(shared_->status_mutex);
    if (shared_->status_media != nullptr) {
      auto promise = std::make_shared<std::promise<media::MediaStats>>();
      std::future<media::MediaStats> future = promise->get_future();
      if (shared_->status_media->post(
              [promise](media::MediaEngine& e) { promise->set_value(e.stats()); })) {
        media_answer = std::move(future);
      }
    }
  }
  std::future<std::optional<web::CallCounters>> calls_answer;
  if (sip::SipServer* server = shared_->sip.load()) {
    auto promise = std::make_shared<std::promise<std::optional<web::CallCounters>>>();
    std::future<std::optional<web::CallCounters>> future = promise->get_future();
    std::shared_ptr<Shared> shared = shared_;
    if (server->post([shared, promise] {
          const VoiceController* v = shared->controller();
          if (v == nullptr) {
            promise->set_value(std::nullopt);
            return;
          }
          const VoiceCounters& c = v->counters();
          promise->set_value(web::CallCounters{.active = v->callCount(),
                                               .started = c.calls_started,
                                               .rejected = c.calls_rejected,
                                               .ended = c.calls_ended,
                                               .agent_legs = c.agent_legs});
        })) {
      calls_answer = std::move(future);
    }
  }

  const bool media_asked = media_answer.valid();
  const bool calls_asked = calls_answer.valid();
  web::ServerStatus out;
  if (const std::optional<media::MediaStats> m = answerBy(media_answer, deadline)) {
    out.media = web::MediaCounters{.streams_open = m->streams_open,
                                   .packets_received = m->packets_received,
                                   .packets_sent = m->packets_sent,
                                   .packets_relayed = m->packets_relayed,
                                   .packets_dropped = m->packets_dropped,
                                   .io_uring = m->io_uring};
  } else if (media_asked) {
    spdlog::debug("status: the media thread did not answer within {} ms", timeout.count());
  }
  if (const auto c = answerBy(calls_answer, deadline)) {
    out.calls = *c;
  } else if (calls_asked) {
    spdlog::debug("status: the SIP loop did not answer within {} ms", timeout.count());
  }
  return out;
}

PromptFiles warmPrompts(const Config& config, media::TtsService* tts) {
  PromptFiles files;
  std::size_t rendered = 0;
  const auto load = [&](const std::string& path) {
    if (path.empty() || files.count(path) != 0) return;
    std::string error;
    std::optional<media::Clip> clip = media::loadWav(path, &error);
    if (!clip) {
      spdlog::warn("prompt file: {}", error);
      return;  // not cached: a fixed file is tried again on first use
    }
    files.emplace(path, std::make_shared<const media::Clip>(std::move(*clip)));
  };
  const auto warm = [&](const flow::Prompts& prompts) {
    for (const flow::Prompt& p : prompts) {
      if (p.value.find("${") != std::string::npos) continue;  // differs per call
      if (p.kind == flow::Prompt::Kind::File) {
        load(p.value);
      } else if (tts != nullptr) {
        std::string error;
        if (tts->renderNow(p.value, &error)) {
          ++rendered;
        } else {
          spdlog::warn("prompt \"{}\": {}", p.value, error);
        }
      }
    }
  };
  load(config.media.music_on_hold);
  for (const QueueEntry& q : config.queues) load(q.music);
  for (const flow::Flow& f : config.flows) {
    for (const auto& [name, node] : f.nodes) {
      if (const auto* n = std::get_if<flow::PlayNode>(&node)) warm(n->prompts);
      if (const auto* n = std::get_if<flow::MenuNode>(&node)) {
        warm(n->prompt);
        warm(n->invalid_prompt);
        warm(n->timeout_prompt);
      }
      if (const auto* n = std::get_if<flow::CollectNode>(&node)) warm(n->prompt);
      if (const auto* n = std::get_if<flow::QueueNode>(&node)) load(n->music);
    }
  }
  spdlog::info("prompts ready: {} spoken, {} files", rendered, files.size());
  return files;
}

}  // namespace parley::app
