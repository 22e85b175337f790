// The controller's per-call state (private to voice_controller.cpp and voice_callbacks.cpp).
//
// Thread rule: the voice loop's, like the controller.
#pragma once

#include <map>
#include <utility>
#include <optional>
#include <string>
#include <vector>

#include "app/voice_controller.h"

namespace parley::app {

// The contact attributes the engine keeps (campaign, customer id, language) from a contact's
// attribute map; absent keys are empty.
inline engine::ContactAttributes contactAttributes(
    const std::map<std::string, std::string>& from) {
  const auto get = [&](const char* name) {
    const auto it = from.find(name);
    return it == from.end() ? std::string() : it->second;
  };
  engine::ContactAttributes a;
  a.campaign = get("campaign");
  a.customer_id = get("customer_id");
  a.language = get("language");
  return a;
}

// Playback token of a callback's whisper to the agent (flow playback ids are small numbers).
inline constexpr media::PlaybackToken kWhisperToken = media::PlaybackToken{1} << 60;
// ... and of a customer-first callback's greeting to the customer (hold music follows it).
inline constexpr media::PlaybackToken kGreetingToken = kWhisperToken + 1;

// One phone of an agent ringing (or talking) for a call, or a transfer target.
struct VoiceController::AgentLeg {
  sip::LegId leg = 0;
  media::StreamId stream = 0;
  std::optional<engine::AgentId> agent;  // nullopt: a transfer leg
  bool answered = false;                 // 2xx received, media negotiated
};

struct VoiceController::Call {
  engine::ContactId id{};
  sip::LegId caller_leg = 0;
  bool caller_leg_up = true;
  media::StreamId caller_stream = 0;
  bool awaiting_sdp_answer = false;  // INVITE without SDP: our offer went in the 200
  std::string caller;  // from user part
  std::string called;
  const VoiceSetup::Entry* entry = nullptr;
  std::optional<flow::FlowRun> flow;
  bool flow_started = false;
  std::optional<engine::TimePoint> deadline;
  flow::PlaybackId playing = 0;  // the flow playback the media is doing (0: none)

  bool in_engine = false;  // ContactArrived posted, no end seen or sent
  bool left_queue = false;
  const VoiceSetup::Queue* queue = nullptr;
  engine::TimePoint enqueued_at{};
  std::size_t position = 0;
  std::vector<AgentLeg> legs;           // ringing agents' phones and a transfer target
  std::optional<AgentLeg> connected;    // the bridged agent or transfer target
  bool transferred = false;

  engine::TimePoint started{};
  std::int64_t wall_offset = 0;  // wall ms = engine ms + offset
  store::Interaction record;
  std::map<engine::AgentId, std::size_t> open_offers;  // agent -> index in record.offers

  // Set for a callback: the customer is dialled out (the "caller" leg and stream stay 0 until
  // then) once the agent answered and heard who it is.
  struct Callback {
    std::string id;      // the CallbackBook's
    std::string number;  // normalised, what is dialled
    bool customer_first = false;  // the queue's order: customer, then agent
    // Customer first: the agent the engine reserved, to ring once the customer answers.
    std::optional<std::pair<engine::AgentId, engine::TimePoint>> pending_offer;
    bool whispering = false;
    bool attempt_started = false;  // the book wrote the attempt; the customer leg was dialled
    bool customer_answered = false;
    bool settled = false;          // the book heard how the attempt ended
  };
  std::optional<Callback> callback;
  bool save_record = true;  // false for a callback that never reached anybody
};

}  // namespace parley::app
