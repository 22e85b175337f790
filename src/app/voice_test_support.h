// Test support for the voice controller: in-memory SIP, media and prompt ports, the real
// routing engine pumped by hand, and a fixture that builds a controller from config text.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "app/config.h"
#include "app/voice_controller.h"

namespace parley::app::testing {

using engine::Millis;

struct FakeCalls : sip::Calls {
  struct Dial {
    sip::LegId leg;
    sip::DialRequest request;
  };
  std::map<sip::LegId, std::string> answers;  // inbound leg -> our SDP
  std::map<sip::LegId, int> rejects;
  std::vector<sip::LegId> hangups;
  std::vector<Dial> dials;
  sip::LegId next = 1000;

  void progress(sip::LegId, const std::string&) override {}
  bool answer(sip::LegId leg, const std::string& sdp) override {
    answers[leg] = sdp;
    return true;
  }
  void reject(sip::LegId leg, int code, const std::string&) override { rejects[leg] = code; }
  void hangup(sip::LegId leg) override { hangups.push_back(leg); }
  sip::LegId dial(const sip::DialRequest& r) override {
    dials.push_back({++next, r});
    return next;
  }
  std::size_t legCount() const override { return 0; }
  bool hungUp(sip::LegId leg) const {
    return std::find(hangups.begin(), hangups.end(), leg) != hangups.end();
  }
};

struct FakeMedia : MediaPort {
  media::StreamId next = 0;
  std::set<media::StreamId> open;
  std::vector<std::pair<media::StreamId, media::StreamId>> bridges;
  std::vector<std::optional<media::RecordingSpec>> recordings;
  std::map<media::StreamId, media::PlaybackToken> playing;
  std::set<media::StreamId> looping;
  std::set<media::StreamId> bridged;  // relaying; any playback call on a stream ends that

  media::MediaEngine::Negotiated acceptOffer(std::string_view offer) override {
    if (offer.find("m=audio") == std::string_view::npos) return {0, "", "no audio"};
    open.insert(++next);
    return {next, "answer-" + std::to_string(next), ""};
  }
  media::MediaEngine::Negotiated createOffer() override {
    open.insert(++next);
    return {next, "offer-" + std::to_string(next), ""};
  }
  std::vector<std::pair<media::StreamId, std::string>> reoffers;
  media::MediaEngine::Negotiated renegotiate(media::StreamId s, std::string_view offer) override {
    if (offer.find("m=audio") == std::string_view::npos || open.count(s) == 0) {
      return {0, "", "no audio", media::MediaEngine::Failure::NoCommonCodec};
    }
    reoffers.emplace_back(s, std::string(offer));
    return {s, "reanswer-" + std::to_string(s), ""};
  }
  bool applyAnswer(media::StreamId s, std::string_view answer, std::string* error) override {
    if (answer.find("m=audio") == std::string_view::npos) {
      if (error) *error = "no audio";
      return false;
    }
    return open.count(s) != 0;
  }
  void play(media::StreamId s, std::vector<media::ClipPtr>, media::PlaybackToken t) override {
    bridged.erase(s);
    playing[s] = t;
    looping.erase(s);
  }
  void loop(media::StreamId s, media::ClipPtr) override {
    bridged.erase(s);
    looping.insert(s);
    playing.erase(s);
  }
  std::vector<std::pair<media::StreamId, char>> digits_sent;
  void sendDigit(media::StreamId s, char key) override { digits_sent.emplace_back(s, key); }
  void stopPlayback(media::StreamId s) override {
    bridged.erase(s);
    playing.erase(s);
    looping.erase(s);
  }
  bool bridge(media::StreamId a, media::StreamId b,
              std::optional<media::RecordingSpec> rec) override {
    bridges.emplace_back(a, b);
    bridged.insert(a);
    bridged.insert(b);
    playing.erase(a);
    playing.erase(b);
    looping.erase(a);
    looping.erase(b);
    recordings.push_back(rec);
    return true;
  }
  void close(media::StreamId s) override { open.erase(s); }
};

// Prompt fetches complete when the test says so (they are asynchronous in the server).
struct FakePrompts : PromptPort {
  std::deque<Done> pending;
  std::vector<std::string> texts;
  void fetch(const flow::Prompts& prompts, Done done) override {
    for (const auto& p : prompts) texts.push_back(p.value);
    pending.push_back(std::move(done));
  }
  media::ClipPtr music(const std::string&) override { return std::make_shared<media::Clip>(); }
};

// The real engine, with events applied when the test pumps (as the engine thread would).
struct EngineRouting : RoutingPort {
  engine::Engine engine;
  std::deque<engine::Event> posted;
  std::vector<engine::Event> history;
  std::vector<std::vector<engine::ContactId>> info_requests;
  void post(engine::Event e) override {
    history.push_back(e);
    posted.push_back(std::move(e));
  }
  void requestQueueInfo(std::vector<engine::ContactId> contacts) override {
    info_requests.push_back(std::move(contacts));
  }
};

inline constexpr const char* kOffer = "v=0\r\nm=audio 4000 RTP/AVP 0\r\n";
inline constexpr const char* kAnswer = "v=0\r\nm=audio 5000 RTP/AVP 0\r\n";

class VoiceTestBase : public ::testing::Test {
 protected:
  // `adjust` may change the setup before the controller is built (e.g. callback policies).
  explicit VoiceTestBase(const char* config_text,
                         const std::function<void(VoiceSetup&)>& adjust = {}) {
    ConfigParse parsed = parseConfig(config_text, "test.yaml");
    for (const auto& e : parsed.errors) ADD_FAILURE() << e.text;
    config_ = std::move(*parsed.config);
    ids_ = addToEngine(config_, routing_.engine);
    VoiceSetup setup = VoiceSetup::from(config_, ids_, routing_.engine);
    setup.recordings_dir = "/rec";
    if (adjust) adjust(setup);
    SipPort sip{&calls_, [this](const std::string& ext) { return phones_[ext]; }};
    VoiceClock clock;
    clock.now = [this] { return now_; };
    clock.wall_ms = [this] { return 1'700'000'000'000 + now_.time_since_epoch().count(); };
    clock.wake_at = [this](std::optional<engine::TimePoint> at) { wake_ = at; };
    CallbackPorts callbacks;
    callbacks.persist = [this](const store::Callback& c, std::string* error) {
      if (store_fails_) {
        if (error != nullptr) *error = "disk full";
        return false;
      }
      stored_[c.id] = c;
      writes_.push_back(c);
      return true;
    };
    callbacks.local_of = [](store::EpochMillis t) {
      // UTC, enough for tests: the date does not matter, the time of day does.
      flow::LocalDateTime lt;
      lt.date = flow::Date{2026, 11, 23};  // a Monday
      lt.second_of_day = static_cast<int>((t / 1000) % 86'400);
      return lt;
    };
    voice_ = std::make_unique<VoiceController>(
        std::move(setup), sip, media_, routing_, prompts_, clock,
        [this](store::Interaction r) { records_.push_back(std::move(r)); }, callbacks);
  }

  engine::AgentId agent(const std::string& ext) { return *routing_.engine.findAgent(ext); }
  void login(const std::string& ext) {
    phones_[ext].push_back("sip:" + ext + "@127.0.0.1:50" + ext.substr(2));
    routing_.post(engine::ev::AgentLogin{agent(ext), true});
    pump();
  }
  // Applies posted engine events and hands the actions to the controller, until quiet.
  void pump() {
    for (int guard = 0; guard < 100 && !routing_.posted.empty(); ++guard) {
      engine::Event e = std::move(routing_.posted.front());
      routing_.posted.pop_front();
      for (const engine::Action& a : routing_.engine.onEvent(e, now_)) voice_->onEngineAction(a);
      // Like EngineLoop: timers that are due fire before anything else is looked at.
      if (auto due = routing_.engine.nextDeadline(); due && *due <= now_) {
        for (const engine::Action& a : routing_.engine.onEvent(engine::ev::Tick{}, now_)) {
          voice_->onEngineAction(a);
        }
      }
      EXPECT_EQ(routing_.engine.checkInvariants(now_), "");
    }
  }
  void prompts() {
    while (!prompts_.pending.empty()) {
      auto done = std::move(prompts_.pending.front());
      prompts_.pending.pop_front();
      done({std::make_shared<media::Clip>()});
    }
  }
  // A caller calls 100, the menu plays, the caller presses `key`. Returns the caller's leg.
  sip::LegId callAndPress(char key, sip::LegId leg = 1, const char* called = "100") {
    sip::InboundCall in;
    in.leg = leg;
    in.request_user = called;
    in.request_host = "127.0.0.1";
    in.from_user = "0701234567";
    in.call_id = "c" + std::to_string(leg);
    in.sdp = kOffer;
    voice_->onInvite(in);
    voice_->onEstablished(leg);
    prompts();
    if (key != 0) voice_->onInfoDtmf(leg, key);
    pump();
    return leg;
  }
  const FakeCalls::Dial* dialTo(const std::string& ext) {
    for (const auto& d : calls_.dials) {
      if (d.request.target.find("sip:" + ext + "@") == 0) return &d;
    }
    return nullptr;
  }
  void advance(Millis by) {
    now_ += by;
    if (wake_ && *wake_ <= now_) voice_->onTimer();
    routing_.post(engine::ev::Tick{});
    pump();
  }

  Config config_;
  EngineIds ids_;
  FakeCalls calls_;
  FakeMedia media_;
  FakePrompts prompts_;
  EngineRouting routing_;
  std::map<std::string, std::vector<std::string>> phones_;
  engine::TimePoint now_ = engine::atSeconds(100);
  std::optional<engine::TimePoint> wake_;
  std::vector<store::Interaction> records_;
  std::map<std::string, store::Callback> stored_;  // callbacks as last written
  std::vector<store::Callback> writes_;            // every write, in order
  bool store_fails_ = false;
  std::unique_ptr<VoiceController> voice_;
};

}  // namespace parley::app::testing
