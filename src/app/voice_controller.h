// The voice controller: turns SIP call legs, media streams, IVR flows and routing-engine
// actions into telephone calls. One caller's call is one inbound leg with one media stream; the
// controller runs the entry point's flow on it (prompts, menus, digits), puts it in the routing
// engine's queue when the flow says so (music on hold, announcements), rings the offered agent's
// registered phones (every contact of the agent at once), tells the engine who answered, bridges
// caller and agent media (recording when the queue asks), and ends everything cleanly whoever
// hangs up first. Each call leaves one store::Interaction.
//
// The races of a real network are settled here, in one place:
//   - the caller hangs up while agents ring: the engine hears ContactAbandoned, and the agents'
//     legs are cancelled when it withdraws the offers (or at once, as the call is gone);
//   - an agent answers after the caller hung up, or a second ring-all agent answers after the
//     first: the engine answers the accept with OfferWithdrawn(NotOffered) and that agent's leg
//     gets a BYE;
//   - an agent's phone answers 486/603 or times out: OfferRejected, and the engine moves on;
//   - an agent with several registered phones: all ring, the first to answer wins, the others
//     are cancelled.
//
// Thread rule: lives on the voice loop (the SIP loop thread). Every public function is called
// there, and the ports are used only from there. See voice_ports.h.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "app/callback_book.h"
#include "app/config.h"
#include "app/voice_ports.h"
#include "engine/actions.h"
#include "flow/interpreter.h"
#include "sip/calls.h"
#include "store/interaction.h"

namespace parley::app {

// What the controller needs to know about the configuration, resolved to engine ids.
struct VoiceSetup {
  struct Queue {
    std::string name;
    engine::QueueId id{};
    bool record = false;
    engine::Millis short_abandon{5'000};
  };
  struct Agent {
    std::string extension;  // AOR user part and engine agent name
    std::string display_name;
    engine::AgentId id{};
  };
  struct Entry {
    std::string user;  // Request-URI user
    std::string host;  // lower case; empty: any
    std::string name;  // as configured, for records
    std::shared_ptr<const flow::Flow> flow;
    std::vector<flow::Assignment> attributes;
  };
  std::vector<Queue> queues;
  std::vector<Agent> agents;
  std::vector<Entry> entries;
  std::map<std::string, engine::SkillId, std::less<>> skills;  // interned skill names
  std::string recordings_dir;  // recordings go to <dir>/<interaction id>.wav
  // Callbacks: each queue's policy (queues without one take no callbacks) and how customers
  // are dialled (the outbound trunk; an empty uri means callbacks cannot dial).
  std::vector<CallbackQueue> callback_queues;
  struct Dialing {
    std::string trunk_uri;  // "sip:trunk.example.com;transport=udp"
    std::string auth_user;
    std::string auth_password;
    std::string caller_id = "parley";  // From user on calls to customers
  };
  Dialing callback_dialing;
  // How often the positions and expected waits of queued callers are refreshed.
  engine::Millis queue_info_every{5'000};

  // Built from a parsed config and what addToEngine() returned; `engine` is the configured
  // engine (for the interned skill ids), read before it moves to its thread.
  static VoiceSetup from(const Config& config, const EngineIds& ids,
                         const engine::Engine& engine);
};

// What the controller needs from the SIP side besides call legs.
struct SipPort {
  sip::Calls* calls = nullptr;  // must outlive the controller
  // Contact URIs currently registered for an agent's extension (newest first).
  std::function<std::vector<std::string>(const std::string& extension)> contacts_of;
};

// Where callbacks are kept: `persist` writes one record and returns only once it is durable
// (false with `error` if not); `local_of` gives the wall time of an instant for hours and slots.
struct CallbackPorts {
  std::function<bool(const store::Callback&, std::string* error)> persist;
  CallbackBook::LocalTimeOf local_of;
};

// The answer to a callback request (the HTTP desk and the IVR's callback node).
struct CallbackReply {
  BookStatus status = BookStatus::Invalid;
  bool stored = true;  // false: accepted by the book but the store failed (nothing promised)
  std::string id;
  std::optional<store::EpochMillis> scheduled_for;
  std::string message;
  bool accepted() const { return stored && (status == BookStatus::Created ||
                                            status == BookStatus::Updated); }
};

struct VoiceCounters {
  std::uint64_t calls_started = 0;
  std::uint64_t calls_rejected = 0;  // no entry point, bad SDP, ...
  std::uint64_t calls_ended = 0;
  std::uint64_t agent_legs = 0;
  std::uint64_t records_saved = 0;
};

class VoiceController {
 public:
  using SaveRecord = std::function<void(store::Interaction)>;
  // The ports must outlive the controller.
  VoiceController(VoiceSetup setup, SipPort sip, MediaPort& media, RoutingPort& routing,
                  PromptPort& prompts, VoiceClock clock, SaveRecord save,
                  CallbackPorts callbacks = {});
  ~VoiceController();
  VoiceController(const VoiceController&) = delete;
  VoiceController& operator=(const VoiceController&) = delete;

  // --- SIP (sip::CallHooks) ---
  void onInvite(const sip::InboundCall& call);
  void onProgress(sip::LegId leg, int code);
  void onAnswered(sip::LegId leg, const std::string& sdp);
  void onEstablished(sip::LegId leg);
  void onSdpAnswer(sip::LegId leg, const std::string& sdp);
  std::string onReoffer(sip::LegId leg, const std::string& sdp);
  void onLegEnded(sip::LegId leg, const sip::LegEnded& ended);
  void onInfoDtmf(sip::LegId leg, char key);
  // --- media (media::MediaEvents) ---
  void onDtmf(media::StreamId stream, char key, media::DtmfSource source);
  void onPlaybackDone(media::StreamId stream, media::PlaybackToken token);
  void onMediaTimeout(media::StreamId stream);
  // --- routing engine ---
  // An engine action (any; those about contacts this controller does not own are ignored).
  void onEngineAction(const engine::Action& action);
  void onQueueInfo(const std::vector<QueueInfo>& info);
  // --- time ---
  void onTimer();

  // --- callbacks (voice_callbacks.cpp) ---
  // Asks for a callback: checked by the book, written, then live (it enters its queue now or at
  // its booked time). `request.number` must already be validated.
  CallbackReply requestCallback(const CallbackRequest& request);
  std::optional<CallbackAvailability> callbackAvailability(std::string_view queue) const;
  bool cancelCallback(const std::string& id);
  // Start-up: the open callbacks the store kept (see CallbackBook::restore).
  void restoreCallbacks(std::vector<store::Callback> open);
  const CallbackBook& callbackBook() const { return book_; }

  // Hangs up every call (records saved with ended_by "system", reason "shutdown"). A callback
  // whose customer is being dialled stays "dialing" in the store, so the next start knows.
  void shutdown();

  std::size_t callCount() const { return calls_.size(); }
  const VoiceCounters& counters() const { return counters_; }

 private:
  struct Call;
  struct AgentLeg;
  enum class Role : std::uint8_t { Caller, Agent };
  struct LegRef {
    engine::ContactId call{};
    Role role = Role::Caller;
  };

  Call* findCall(engine::ContactId id);
  Call* callOfLeg(sip::LegId leg, Role* role);
  Call* callOfStream(media::StreamId stream);
  static media::StreamId streamOfLeg(const Call& call, sip::LegId leg);
  void startFlow(Call& call);
  void feedFlow(Call& call, const flow::Event& event);
  void runFlowActions(Call& call, std::vector<flow::Action>& actions);
  void enqueue(Call& call, const flow::act::Enqueue& enqueue);
  void playPrompts(Call& call, flow::PlaybackId id, const flow::Prompts& prompts);
  // Records the engine's offer and rings the agent's phones (for a customer-first callback:
  // dials the customer first, and rings the agent once the customer answered).
  void offer(Call& call, engine::AgentId agent, engine::TimePoint expires_at);
  void ringAgent(Call& call, engine::AgentId agent, engine::TimePoint expires_at);
  void dialTransfer(Call& call, const std::string& uri);
  void hangupAgent(Call& call, engine::AgentId agent, const std::string& result);
  void dropAgentLeg(Call& call, std::size_t index);
  void agentLegEnded(Call& call, sip::LegId leg, const sip::LegEnded& ended);
  void answered(Call& call, engine::AgentId agent);
  // Where the call is recorded when bridged (its queue records), noted in its record; nullopt
  // if it is not recorded.
  std::optional<media::RecordingSpec> recordingFor(Call& call);
  void digit(Call& call, char key, std::string_view via);
  // Ends the call: hangs up every leg still up, closes streams, tells the engine, saves the
  // record and forgets the call. `call` is dangling afterwards.
  void finish(Call& call, std::string_view ended_by, std::string_view reason);
  void setDeadline(Call& call);
  void rearm();
  const VoiceSetup::Agent* agentById(engine::AgentId id) const;
  const VoiceSetup::Queue* queueById(engine::QueueId id) const;
  const VoiceSetup::Queue* queueByName(std::string_view name) const;
  std::int64_t wallOf(const Call& call, engine::TimePoint t) const;
  store::OfferRecord* offerRecord(Call& call, engine::AgentId agent);
  // --- callbacks (voice_callbacks.cpp) ---
  void runCallbackEffects(std::vector<CallbackEffect>& effects);
  void callbackEnqueue(const cb::Enqueue& e);
  void flowRequestCallback(Call& call, const flow::act::RequestCallback& request);
  void flowOfferSlots(Call& call, const flow::act::OfferSlots& request);
  void whisper(Call& call);
  void dialCustomer(Call& call);
  void customerAnswered(Call& call, const std::string& sdp);
  void customerLegEnded(Call& call, const sip::LegEnded& ended);
  void customerHolds(Call& call);
  // Tells the book how the attempt (or the contact) ended, once; `result` as in AttemptEnd.
  void settleCallback(Call& call, const std::string& result, int sip_code);
  store::EpochMillis wallNow() const;

  VoiceSetup setup_;
  // Indexes into setup_.agents / setup_.queues (offers and engine actions name them by id).
  std::unordered_map<engine::AgentId, std::size_t> agent_index_;
  std::unordered_map<engine::QueueId, std::size_t> queue_index_;
  SipPort sip_;
  MediaPort& media_;
  RoutingPort& routing_;
  PromptPort& prompts_;
  VoiceClock clock_;
  SaveRecord save_;

  std::unordered_map<engine::ContactId, std::unique_ptr<Call>> calls_;
  std::unordered_map<sip::LegId, LegRef> legs_;
  std::unordered_map<media::StreamId, engine::ContactId> streams_;
  std::set<std::pair<engine::TimePoint, engine::ContactId>> deadlines_;  // flow timers
  std::optional<engine::TimePoint> next_queue_info_;
  std::optional<engine::TimePoint> armed_;
  std::uint64_t next_contact_ = 1;
  VoiceCounters counters_;
  CallbackPorts callback_ports_;
  CallbackBook book_;
  std::optional<engine::TimePoint> callback_due_;  // book_.nextDue() in engine time
};

}  // namespace parley::app
