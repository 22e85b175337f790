#include "app/voice_controller.h"

#include "app/voice_call.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

namespace parley::app {

namespace {

// Extra ring time the SIP leg gets beyond the engine's offer expiry: the engine decides when an
// offer times out (OfferWithdrawn), the leg timeout is only a backstop.
constexpr engine::Millis kDialSlack{5'000};
// Most phones an agent can have ringing at once for one offer.
constexpr std::size_t kMaxForks = 10;

std::string_view withdrawResult(engine::WithdrawReason r) {
  switch (r) {
    case engine::WithdrawReason::TakenByOther: return "taken-by-other";
    case engine::WithdrawReason::CustomerGone: return "customer-gone";
    case engine::WithdrawReason::Timeout: return "timeout";
    case engine::WithdrawReason::Rejected: return "rejected";
    case engine::WithdrawReason::AgentLoggedOut: return "agent-logged-out";
    case engine::WithdrawReason::NotOffered: return "not-offered";
  }
  return "withdrawn";
}

std::string_view legEndName(sip::LegEnd e) {
  switch (e) {
    case sip::LegEnd::Cancelled: return "cancelled";
    case sip::LegEnd::Bye: return "bye";
    case sip::LegEnd::LocalHangup: return "local-hangup";
    case sip::LegEnd::Failed: return "failed";
  }
  return "ended";
}

std::string_view digitVia(media::DtmfSource s) {
  return s == media::DtmfSource::Rfc4733 ? "rfc4733" : "inband";
}

}  // namespace

VoiceSetup VoiceSetup::from(const Config& config, const EngineIds& ids,
                            const engine::Engine& engine) {
  VoiceSetup s;
  for (std::size_t i = 0; i < config.queues.size() && i < ids.queues.size(); ++i) {
    const QueueEntry& q = config.queues[i];
    s.queues.push_back(Queue{q.routing.name, ids.queues[i], q.record,
                             q.routing.short_abandon_threshold});
  }
  for (std::size_t i = 0; i < config.agents.size() && i < ids.agents.size(); ++i) {
    const AgentEntry& a = config.agents[i];
    s.agents.push_back(Agent{a.extension, a.display_name.empty() ? a.extension : a.display_name,
                             ids.agents[i]});
  }
  for (const EntryPoint& e : config.entry_points) {
    const flow::Flow* f = config.findFlow(e.flow);
    if (f == nullptr) continue;  // parseConfig checked the reference
    s.entries.push_back(Entry{e.user, e.host, e.called,
                              std::make_shared<const flow::Flow>(*f), e.attributes});
  }
  for (const flow::Flow& f : config.flows) {
    for (const auto& [name, node] : f.nodes) {
      if (const auto* q = std::get_if<flow::QueueNode>(&node)) {
        for (const flow::SkillNeed& need : q->skills) {
          if (auto id = engine.findSkill(need.skill)) s.skills.emplace(need.skill, *id);
        }
      }
    }
  }
  s.recordings_dir = config.media.recordings_dir;
  for (const QueueEntry& q : config.queues) {
    // Every queue, so the book can say "no callbacks here" rather than "no such queue".
    CallbackPolicy p = q.callbacks.value_or(CallbackPolicy{});
    if (!q.takesCallbacks()) p.enabled = false;
    s.callback_queues.push_back(CallbackQueue{q.routing.name, std::move(p)});
  }
  if (config.sip.outbound_trunk) {
    s.callback_dialing.trunk_uri = config.sip.outbound_trunk->uri;
    s.callback_dialing.auth_user = config.sip.outbound_trunk->username;
    s.callback_dialing.auth_password = config.sip.outbound_trunk->password;
  }
  s.callback_dialing.caller_id = config.callbacks.caller_id;
  return s;
}

VoiceController::VoiceController(VoiceSetup setup, SipPort sip, MediaPort& media,
                                 RoutingPort& routing, PromptPort& prompts, VoiceClock clock,
                                 SaveRecord save, CallbackPorts callbacks)
    : setup_(std::move(setup)),
      sip_(std::move(sip)),
      media_(media),
      routing_(routing),
      prompts_(prompts),
      clock_(std::move(clock)),
      save_(std::move(save)),
      callback_ports_(std::move(callbacks)),
      book_(setup_.callback_queues, callback_ports_.local_of) {
  for (std::size_t i = 0; i < setup_.agents.size(); ++i) agent_index_[setup_.agents[i].id] = i;
  for (std::size_t i = 0; i < setup_.queues.size(); ++i) queue_index_[setup_.queues[i].id] = i;
}

VoiceController::~VoiceController() = default;

// --- lookups ------------------------------------------------------------------------------------

VoiceController::Call* VoiceController::findCall(engine::ContactId id) {
  const auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : it->second.get();
}

VoiceController::Call* VoiceController::callOfLeg(sip::LegId leg, Role* role) {
  const auto it = legs_.find(leg);
  if (it == legs_.end()) return nullptr;
  if (role != nullptr) *role = it->second.role;
  return findCall(it->second.call);
}

VoiceController::Call* VoiceController::callOfStream(media::StreamId stream) {
  const auto it = streams_.find(stream);
  return it == streams_.end() ? nullptr : findCall(it->second);
}

const VoiceSetup::Agent* VoiceController::agentById(engine::AgentId id) const {
  const auto it = agent_index_.find(id);
  return it == agent_index_.end() ? nullptr : &setup_.agents[it->second];
}

const VoiceSetup::Queue* VoiceController::queueById(engine::QueueId id) const {
  const auto it = queue_index_.find(id);
  return it == queue_index_.end() ? nullptr : &setup_.queues[it->second];
}

const VoiceSetup::Queue* VoiceController::queueByName(std::string_view name) const {
  for (const auto& q : setup_.queues) {
    if (q.name == name) return &q;
  }
  return nullptr;
}

std::int64_t VoiceController::wallOf(const Call& call, engine::TimePoint t) const {
  return t.time_since_epoch().count() + call.wall_offset;
}

store::OfferRecord* VoiceController::offerRecord(Call& call, engine::AgentId agent) {
  const auto it = call.open_offers.find(agent);
  if (it == call.open_offers.end() || it->second >= call.record.offers.size()) return nullptr;
  return &call.record.offers[it->second];
}

// --- SIP ----------------------------------------------------------------------------------------

void VoiceController::onInvite(const sip::InboundCall& in) {
  const VoiceSetup::Entry* entry = nullptr;
  for (const auto& e : setup_.entries) {
    if (e.user != in.request_user) continue;
    // Both hosts are lower case (the config and the SIP layer see to it).
    if (!e.host.empty() && e.host != in.request_host) continue;
    if (entry == nullptr || (entry->host.empty() && !e.host.empty())) entry = &e;
  }
  if (entry == nullptr) {
    spdlog::info("call {} from {} to {}@{}: no entry point, 404", in.call_id, in.source,
                 in.request_user, in.request_host);
    ++counters_.calls_rejected;
    sip_.calls->reject(in.leg, 404, "Not Found");
    return;
  }
  // An INVITE without SDP (a late offer, RFC 3261 13.2.1): we offer in the 200, the caller
  // answers in the ACK (onSdpAnswer), and the flow starts once that answer is in place.
  const bool late_offer = in.sdp.empty();
  media::MediaEngine::Negotiated n =
      late_offer ? media_.createOffer() : media_.acceptOffer(in.sdp);
  if (n.stream == 0) {
    spdlog::info("call {} from {}: SDP offer refused: {}", in.call_id, in.source, n.error);
    ++counters_.calls_rejected;
    switch (n.failure) {
      case media::MediaEngine::Failure::MalformedSdp:
        sip_.calls->reject(in.leg, 400, "Malformed SDP");
        break;
      case media::MediaEngine::Failure::NoPort:
        sip_.calls->reject(in.leg, 503, "No Media Port");
        break;
      default:
        sip_.calls->reject(in.leg, 488, "Not Acceptable Here");
    }
    return;
  }
  if (!sip_.calls->answer(in.leg, n.sdp)) {
    media_.close(n.stream);
    return;  // the caller is already gone; its on_ended finds no call
  }

  auto call = std::make_unique<Call>();
  call->id = engine::ContactId{next_contact_++};
  call->caller_leg = in.leg;
  call->caller_stream = n.stream;
  call->awaiting_sdp_answer = late_offer;
  call->caller = in.from_user;
  call->called = in.request_user;
  call->entry = entry;
  call->started = clock_.now();
  call->wall_offset = clock_.wall_ms() - call->started.time_since_epoch().count();

  store::Interaction& r = call->record;
  r.id = "call-" + std::to_string(engine::index(call->id)) + "-" + std::to_string(clock_.wall_ms());
  r.caller = in.from_user;
  r.called = in.request_user;
  r.entry_point = entry->name;
  r.sip_call_id = in.call_id;
  r.arrived = wallOf(*call, call->started);

  flow::CallContext ctx;
  ctx.called = in.request_user;
  ctx.caller = in.from_user;
  for (const flow::Assignment& a : entry->attributes) {
    ctx.attributes[a.attribute] = flow::substitute(a.value, ctx.called, ctx.caller, ctx.attributes);
  }
  if (clock_.local_time) ctx.local_time = clock_.local_time();
  r.attributes = ctx.attributes;
  call->flow.emplace(entry->flow, std::move(ctx));

  legs_[in.leg] = LegRef{call->id, Role::Caller};
  streams_[n.stream] = call->id;
  ++counters_.calls_started;
  spdlog::info("call {} ({}) from {} to {}: answered, flow {}", r.id, in.call_id, in.from_user,
               in.request_user, entry->flow->name);
  calls_.emplace(call->id, std::move(call));
}

void VoiceController::onEstablished(sip::LegId leg) {
  Role role{};
  Call* call = callOfLeg(leg, &role);
  if (call == nullptr || role != Role::Caller || call->flow_started) return;
  if (call->awaiting_sdp_answer) {
    // RFC 3261 13.3.1.4: an ACK without a usable answer to our offer ends the call.
    spdlog::info("call {}: INVITE without SDP and no usable SDP answer in the ACK, hanging up",
                 call->record.id);
    finish(*call, "system", "no-sdp-answer");
    return;
  }
  startFlow(*call);
}

media::StreamId VoiceController::streamOfLeg(const Call& call, sip::LegId leg) {
  if (leg == call.caller_leg) return call.caller_stream;
  if (call.connected && call.connected->leg == leg) return call.connected->stream;
  for (const AgentLeg& l : call.legs) {
    if (l.leg == leg) return l.stream;
  }
  return 0;
}

void VoiceController::onSdpAnswer(sip::LegId leg, const std::string& sdp) {
  Call* call = callOfLeg(leg, nullptr);
  if (call == nullptr) return;
  const media::StreamId stream = streamOfLeg(*call, leg);
  if (stream == 0 || sdp.empty()) return;  // a late offer's call then ends in onEstablished
  std::string error;
  if (!media_.applyAnswer(stream, sdp, &error)) {
    spdlog::info("call {}: leg {} answered our offer with unusable SDP: {}", call->record.id, leg,
                 error);
    return;
  }
  if (leg == call->caller_leg) call->awaiting_sdp_answer = false;
}

std::string VoiceController::onReoffer(sip::LegId leg, const std::string& sdp) {
  Call* call = callOfLeg(leg, nullptr);
  if (call == nullptr) return {};
  const media::StreamId stream = streamOfLeg(*call, leg);
  if (stream == 0) return {};
  media::MediaEngine::Negotiated n = media_.renegotiate(stream, sdp);
  if (n.stream == 0) {
    spdlog::info("call {}: re-INVITE on leg {} refused (488): {}", call->record.id, leg, n.error);
    return {};
  }
  spdlog::info("call {}: re-INVITE on leg {}: media follows the new offer", call->record.id, leg);
  return std::move(n.sdp);
}

void VoiceController::onProgress(sip::LegId, int) {}

void VoiceController::onAnswered(sip::LegId leg, const std::string& sdp) {
  Role role{};
  Call* call = callOfLeg(leg, &role);
  if (call != nullptr && role == Role::Caller && call->callback && call->caller_leg == leg) {
    customerAnswered(*call, sdp);
    return;
  }
  if (call == nullptr || role != Role::Agent) {
    // A leg we no longer track (the call ended while it rang): it must not stay up.
    sip_.calls->hangup(leg);
    return;
  }
  const auto it = std::find_if(call->legs.begin(), call->legs.end(),
                               [&](const AgentLeg& l) { return l.leg == leg; });
  if (it == call->legs.end()) {
    sip_.calls->hangup(leg);
    return;
  }
  std::string error;
  if (!media_.applyAnswer(it->stream, sdp, &error)) {
    spdlog::info("call {}: agent leg {} answered with unusable SDP: {}", call->record.id, leg,
                 error);
    sip_.calls->hangup(leg);  // its on_ended reports the rejection
    return;
  }
  it->answered = true;
  if (!it->agent) {  // a transfer target answered: bridge, the flow is done
    AgentLeg target = *it;
    call->legs.erase(it);
    media_.bridge(call->caller_stream, target.stream, std::nullopt);
    call->connected = target;
    call->transferred = true;
    call->record.outcome = "transferred";
    feedFlow(*call, flow::ev::TransferCompleted{});
    return;
  }
  const engine::AgentId agent = *it->agent;
  // The other phones of the same agent stop ringing.
  for (std::size_t i = call->legs.size(); i-- > 0;) {
    if (call->legs[i].agent == agent && call->legs[i].leg != leg) dropAgentLeg(*call, i);
  }
  routing_.post(engine::ev::OfferAccepted{call->id, agent});
}

void VoiceController::onLegEnded(sip::LegId leg, const sip::LegEnded& ended) {
  Role role{};
  Call* call = callOfLeg(leg, &role);
  legs_.erase(leg);
  if (call == nullptr) return;
  if (role == Role::Agent) {
    agentLegEnded(*call, leg, ended);
    return;
  }
  if (call->callback) {
    customerLegEnded(*call, ended);
    return;
  }
  call->caller_leg_up = false;
  finish(*call, ended.by_peer ? "caller" : "system",
         ended.by_peer ? legEndName(ended.how) : "local-hangup");
}

void VoiceController::agentLegEnded(Call& call, sip::LegId leg, const sip::LegEnded& ended) {
  if (call.connected && call.connected->leg == leg) {
    media_.close(call.connected->stream);
    streams_.erase(call.connected->stream);
    call.connected.reset();
    finish(call, call.transferred ? "transferee" : "agent", "agent-hangup");
    return;
  }
  const auto it = std::find_if(call.legs.begin(), call.legs.end(),
                               [&](const AgentLeg& l) { return l.leg == leg; });
  if (it == call.legs.end()) return;
  const std::optional<engine::AgentId> agent = it->agent;
  const bool was_answered = it->answered;
  media_.close(it->stream);
  streams_.erase(it->stream);
  call.legs.erase(it);
  if (!agent) {  // transfer target did not answer
    feedFlow(call, flow::ev::TransferFailed{ended.reason.empty() ? "failed" : ended.reason});
    return;
  }
  const bool others = std::any_of(call.legs.begin(), call.legs.end(),
                                  [&](const AgentLeg& l) { return l.agent == agent; });
  if (others) return;
  if (store::OfferRecord* o = offerRecord(call, *agent)) {
    o->sip_code = ended.code;
    if (o->result.empty()) {
      o->result = was_answered ? "hung-up" : "rejected";
      o->ended_at = wallOf(call, clock_.now());
    }
  }
  // An answered phone that hangs up before the engine connected it: the engine's answer to
  // the accept (ContactAnswered, then finding no leg, or OfferWithdrawn) settles it.
  if (was_answered) return;
  if (call.open_offers.count(*agent) != 0) {
    // The phone refused or timed out: the engine moves on (a reject for an offer already
    // withdrawn is ignored there).
    call.open_offers.erase(*agent);
    routing_.post(engine::ev::OfferRejected{call.id, *agent});
  }
}

void VoiceController::onInfoDtmf(sip::LegId leg, char key) {
  Role role{};
  Call* call = callOfLeg(leg, &role);
  if (call == nullptr) return;
  // In a bridged call a key sent by SIP INFO goes on to the other phone as an RFC 4733 event
  // (RFC 4733 keys are relayed by the media engine itself).
  if (call->connected) {
    if (leg == call->caller_leg) {
      media_.sendDigit(call->connected->stream, key);
    } else if (leg == call->connected->leg) {
      media_.sendDigit(call->caller_stream, key);
    }
  }
  if (role == Role::Caller) digit(*call, key, "info");
}

// --- media --------------------------------------------------------------------------------------

void VoiceController::onDtmf(media::StreamId stream, char key, media::DtmfSource source) {
  Call* call = callOfStream(stream);
  if (call != nullptr && stream == call->caller_stream) digit(*call, key, digitVia(source));
}

void VoiceController::onPlaybackDone(media::StreamId stream, media::PlaybackToken token) {
  Call* call = callOfStream(stream);
  if (call != nullptr && call->callback && call->callback->whispering && call->connected &&
      stream == call->connected->stream && token == kWhisperToken) {
    dialCustomer(*call);
    return;
  }
  if (call != nullptr && call->callback && stream == call->caller_stream &&
      token == kGreetingToken) {
    if (!call->connected) media_.loop(stream, prompts_.music(""));
    return;
  }
  if (call == nullptr || stream != call->caller_stream) return;
  if (call->playing == token) call->playing = 0;
  feedFlow(*call, flow::ev::PromptFinished{token});
}

void VoiceController::onMediaTimeout(media::StreamId stream) {
  Call* call = callOfStream(stream);
  if (call == nullptr) return;
  const bool caller_or_connected =
      stream == call->caller_stream || (call->connected && call->connected->stream == stream);
  if (!caller_or_connected) return;  // a ringing leg's stream: no media expected yet
  spdlog::info("call {}: no RTP for the timeout, hanging up", call->record.id);
  finish(*call, "system", "rtp-timeout");
}

void VoiceController::digit(Call& call, char key, std::string_view via) {
  call.record.digits.push_back(
      store::DigitPress{key, clock_.wall_ms(), call.flow ? call.flow->currentNode() : "",
                        std::string(via), !call.flow || call.flow->ended()});
  if (call.record.digits.size() > flow::kMaxRecordEntries) call.record.digits.pop_back();
  if (call.flow && !call.flow->ended()) feedFlow(call, flow::ev::Digit{key});
}

// --- flows --------------------------------------------------------------------------------------

void VoiceController::startFlow(Call& call) {
  call.flow_started = true;
  const engine::ContactId id = call.id;
  std::vector<flow::Action> actions;
  call.flow->start(clock_.now(), actions);
  runFlowActions(call, actions);
  if (Call* still = findCall(id)) setDeadline(*still);
  rearm();
}

void VoiceController::feedFlow(Call& call, const flow::Event& event) {
  if (!call.flow || !call.flow_started || call.flow->ended()) return;
  const engine::ContactId id = call.id;
  std::vector<flow::Action> actions;
  call.flow->handle(event, clock_.now(), actions);
  runFlowActions(call, actions);
  if (Call* still = findCall(id)) setDeadline(*still);
  rearm();
}

void VoiceController::runFlowActions(Call& call, std::vector<flow::Action>& actions) {
  const engine::ContactId id = call.id;
  for (flow::Action& action : actions) {
    Call* c = findCall(id);
    if (c == nullptr) return;  // finished by an earlier action
    std::visit(
        [&](auto& a) {
          using A = std::decay_t<decltype(a)>;
          constexpr bool kPlays =
              std::is_same_v<A, flow::act::Play> || std::is_same_v<A, flow::act::Announce> ||
              std::is_same_v<A, flow::act::StopPlayback> ||
              std::is_same_v<A, flow::act::StartMusicOnHold> ||
              std::is_same_v<A, flow::act::StopMusicOnHold>;
          if constexpr (kPlays) {
            // Once bridged, the caller's stream carries the agent: the flow's last "stop the
            // music" must not silence it.
            if (c->connected) return;
          }
          if constexpr (std::is_same_v<A, flow::act::Play>) {
            playPrompts(*c, a.id, a.prompts);
          } else if constexpr (std::is_same_v<A, flow::act::Announce>) {
            playPrompts(*c, a.id, a.prompts);
          } else if constexpr (std::is_same_v<A, flow::act::StopPlayback>) {
            if (c->playing == a.id) {
              c->playing = 0;
              media_.stopPlayback(c->caller_stream);
            }
          } else if constexpr (std::is_same_v<A, flow::act::StartMusicOnHold>) {
            c->playing = 0;
            media_.loop(c->caller_stream, prompts_.music(a.file));
          } else if constexpr (std::is_same_v<A, flow::act::StopMusicOnHold>) {
            if (c->playing == 0) media_.stopPlayback(c->caller_stream);
          } else if constexpr (std::is_same_v<A, flow::act::SetAttribute>) {
            c->record.attributes[a.name] = a.value;
          } else if constexpr (std::is_same_v<A, flow::act::Enqueue>) {
            enqueue(*c, a);
          } else if constexpr (std::is_same_v<A, flow::act::LeaveQueue>) {
            if (c->in_engine) {
              c->left_queue = true;
              routing_.post(engine::ev::ContactLeftQueue{c->id});
              c->in_engine = false;
              c->record.outcome = "exited";
              c->record.end_reason = "callback-key";
            }
          } else if constexpr (std::is_same_v<A, flow::act::Transfer>) {
            dialTransfer(*c, a.uri);
          } else if constexpr (std::is_same_v<A, flow::act::RequestCallback>) {
            flowRequestCallback(*c, a);
          } else if constexpr (std::is_same_v<A, flow::act::OfferSlots>) {
            flowOfferSlots(*c, a);
          } else if constexpr (std::is_same_v<A, flow::act::Hangup>) {
            finish(*c, "system", "flow-hangup");
          } else if constexpr (std::is_same_v<A, flow::act::Ended>) {
            if (a.reason == flow::EndReason::Error) {
              spdlog::warn("call {}: flow error: {}", c->record.id, a.detail);
              c->record.end_reason = "flow-error: " + a.detail;
              finish(*c, "system", c->record.end_reason);
            } else if (a.reason == flow::EndReason::HungUp) {
              finish(*c, "system", "flow-hangup");
            }
          }
        },
        action);
  }
}

void VoiceController::playPrompts(Call& call, flow::PlaybackId id, const flow::Prompts& prompts) {
  call.playing = id;
  const engine::ContactId cid = call.id;
  prompts_.fetch(prompts, [this, cid, id](std::vector<media::ClipPtr> clips) {
    Call* c = findCall(cid);
    if (c == nullptr || c->playing != id) return;  // stopped or replaced meanwhile
    media_.play(c->caller_stream, std::move(clips), id);
  });
}

void VoiceController::enqueue(Call& call, const flow::act::Enqueue& e) {
  const VoiceSetup::Queue* q = queueByName(e.queue);
  if (q == nullptr || call.in_engine) {
    spdlog::warn("call {}: flow asks for unknown queue {}", call.record.id, e.queue);
    return;
  }
  engine::ContactSpec spec;
  spec.id = call.id;
  spec.channel = engine::Channel::Voice;
  spec.queue = q->id;
  spec.priority = e.priority;
  for (const flow::SkillNeed& need : e.skills) {
    const auto it = setup_.skills.find(need.skill);
    if (it != setup_.skills.end()) spec.skills.push_back({it->second, need.min_level});
  }
  spec.caller = call.caller;
  spec.attributes = contactAttributes(e.attributes);
  spec.attributes.entry_point = call.entry != nullptr ? call.entry->name : std::string();
  call.queue = q;
  call.in_engine = true;
  call.enqueued_at = clock_.now();
  call.record.queue = q->name;
  call.record.enqueued = wallOf(call, call.enqueued_at);
  for (const auto& [k, v] : e.attributes) call.record.attributes[k] = v;
  routing_.post(engine::ev::ContactArrived{std::move(spec)});
  if (!next_queue_info_) next_queue_info_ = clock_.now() + setup_.queue_info_every;
}

void VoiceController::dialTransfer(Call& call, const std::string& uri) {
  media::MediaEngine::Negotiated n = media_.createOffer();
  if (n.stream == 0) {
    feedFlow(call, flow::ev::TransferFailed{"no media: " + n.error});
    return;
  }
  sip::DialRequest req;
  req.target = uri;
  req.from_user = call.caller;
  req.sdp_offer = n.sdp;
  const sip::LegId leg = sip_.calls->dial(req);
  call.legs.push_back(AgentLeg{leg, n.stream, std::nullopt, false});
  legs_[leg] = LegRef{call.id, Role::Agent};
  streams_[n.stream] = call.id;
}

// --- routing engine -----------------------------------------------------------------------------

void VoiceController::onEngineAction(const engine::Action& action) {
  std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, engine::act::AgentStateChanged> ||
                      std::is_same_v<A, engine::act::WrapUpEnded>) {
          return;
        } else {
          Call* call = findCall(a.contact);
          if (call == nullptr) return;
          if constexpr (std::is_same_v<A, engine::act::ContactQueued>) {
            call->position = a.position;
            call->queue = queueById(a.tag.queue);
            if (call->queue != nullptr) call->record.queue = call->queue->name;
            // The flow hears the position together with the expected wait (the first
            // announcement may start at once), which the engine thread computes next.
            routing_.requestQueueInfo({call->id});
          } else if constexpr (std::is_same_v<A, engine::act::OfferCreated>) {
            offer(*call, a.agent, a.expires_at);
          } else if constexpr (std::is_same_v<A, engine::act::OfferWithdrawn>) {
            if (call->callback && call->callback->pending_offer &&
                call->callback->pending_offer->first == a.agent) {
              call->callback->pending_offer.reset();
            }
            hangupAgent(*call, a.agent, std::string(withdrawResult(a.reason)));
            if (call->legs.empty() && !call->connected) {
              // Nothing rings any more; ContactRequeued (or an end) follows from the engine.
            }
          } else if constexpr (std::is_same_v<A, engine::act::ContactAnswered>) {
            answered(*call, a.agent);
          } else if constexpr (std::is_same_v<A, engine::act::ContactRequeued>) {
            feedFlow(*call, flow::ev::ContactRequeued{});
          } else if constexpr (std::is_same_v<A, engine::act::ContactMoved>) {
            if (const VoiceSetup::Queue* q = queueById(a.to)) {
              call->queue = q;
              call->record.queue = q->name;
            }
          } else if constexpr (std::is_same_v<A, engine::act::ContactEnded>) {
            call->in_engine = false;
            if (call->callback && !call->connected) {
              // Refused by its queue (full) before reaching anybody: the book retries later.
              call->save_record = false;
              settleCallback(*call, "queue-full", 0);
              if (Call* still = findCall(a.contact)) finish(*still, "system", "queue-full");
              return;
            }
            if (a.outcome == engine::Outcome::Exited && !call->left_queue) {
              call->record.outcome = "exited";
              call->record.end_reason = std::string(engine::toString(a.reason));
              feedFlow(*call, flow::ev::QueueExited{});
            }
          }
        }
      },
      action);
  rearm();
}

void VoiceController::onQueueInfo(const std::vector<QueueInfo>& info) {
  for (const QueueInfo& i : info) {
    Call* call = findCall(i.contact);
    if (call == nullptr || !call->in_engine || call->connected) continue;
    call->position = i.position;
    feedFlow(*call, flow::ev::QueueUpdate{i.position, i.expected_wait});
  }
}

void VoiceController::offer(Call& call, engine::AgentId agent, engine::TimePoint expires_at) {
  const VoiceSetup::Agent* a = agentById(agent);
  const engine::TimePoint now = clock_.now();
  call.record.offers.push_back(
      store::OfferRecord{a != nullptr ? a->extension : std::string(), wallOf(call, now), 0, "", 0});
  call.open_offers[agent] = call.record.offers.size() - 1;
  if (call.record.offers.size() > flow::kMaxRecordEntries) {
    call.record.offers.erase(call.record.offers.begin());
    for (auto& [k, v] : call.open_offers) v = v > 0 ? v - 1 : 0;
  }
  if (call.callback && call.callback->customer_first && !call.callback->customer_answered) {
    // Customer first: the agent stays reserved (the engine's offer) while the customer's
    // phone rings; the agent's rings once the customer is on the line.
    call.callback->pending_offer = std::make_pair(agent, expires_at);
    call.record.agent = a != nullptr ? a->extension : std::string();
    if (!call.callback->attempt_started) dialCustomer(call);
    return;
  }
  ringAgent(call, agent, expires_at);
}

void VoiceController::ringAgent(Call& call, engine::AgentId agent, engine::TimePoint expires_at) {
  const VoiceSetup::Agent* a = agentById(agent);
  std::vector<std::string> contacts;
  if (a != nullptr && sip_.contacts_of) contacts = sip_.contacts_of(a->extension);
  const engine::TimePoint now = clock_.now();
  if (contacts.empty()) {
    spdlog::info("call {}: agent {} has no registered phone", call.record.id,
                 a != nullptr ? a->extension : "?");
    if (store::OfferRecord* o = offerRecord(call, agent)) {
      o->result = "unreachable";
      o->ended_at = o->offered_at;
    }
    call.open_offers.erase(agent);
    routing_.post(engine::ev::OfferRejected{call.id, agent});
    return;
  }
  if (contacts.size() > kMaxForks) contacts.resize(kMaxForks);
  const auto ring_for = std::max(engine::Millis{1'000}, expires_at - now) + kDialSlack;
  for (const std::string& contact : contacts) {
    media::MediaEngine::Negotiated n = media_.createOffer();
    if (n.stream == 0) {
      spdlog::warn("call {}: no media stream for agent leg: {}", call.record.id, n.error);
      continue;
    }
    sip::DialRequest req;
    req.target = contact;
    req.from_user = call.caller.empty() ? "anonymous" : call.caller;
    req.from_display = std::string(call.callback ? "Callback " : "") +
                       (call.queue != nullptr ? call.queue->name + ": " : std::string()) +
                       (call.caller.empty() ? "anonymous" : call.caller);
    req.sdp_offer = n.sdp;
    req.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(ring_for);
    const sip::LegId leg = sip_.calls->dial(req);
    call.legs.push_back(AgentLeg{leg, n.stream, agent, false});
    legs_[leg] = LegRef{call.id, Role::Agent};
    streams_[n.stream] = call.id;
    ++counters_.agent_legs;
  }
  if (std::none_of(call.legs.begin(), call.legs.end(),
                   [&](const AgentLeg& l) { return l.agent == agent; })) {
    call.open_offers.erase(agent);
    routing_.post(engine::ev::OfferRejected{call.id, agent});
    return;
  }
  feedFlow(call, flow::ev::ContactOffered{});
}

void VoiceController::dropAgentLeg(Call& call, std::size_t index) {
  const AgentLeg leg = call.legs[index];
  call.legs.erase(call.legs.begin() + static_cast<std::ptrdiff_t>(index));
  legs_.erase(leg.leg);
  streams_.erase(leg.stream);
  media_.close(leg.stream);
  sip_.calls->hangup(leg.leg);  // its on_ended finds no leg and is ignored
}

void VoiceController::hangupAgent(Call& call, engine::AgentId agent, const std::string& result) {
  if (store::OfferRecord* o = offerRecord(call, agent)) {
    if (o->result.empty()) {
      o->result = result;
      o->ended_at = wallOf(call, clock_.now());
    }
  }
  call.open_offers.erase(agent);
  for (std::size_t i = call.legs.size(); i-- > 0;) {
    if (call.legs[i].agent == agent) dropAgentLeg(call, i);
  }
}

std::optional<media::RecordingSpec> VoiceController::recordingFor(Call& call) {
  if (call.queue == nullptr || !call.queue->record || setup_.recordings_dir.empty()) {
    return std::nullopt;
  }
  media::RecordingSpec spec{setup_.recordings_dir + "/" + call.record.id + ".wav"};
  call.record.recording = spec.path;
  return spec;
}

void VoiceController::answered(Call& call, engine::AgentId agent) {
  const auto it = std::find_if(call.legs.begin(), call.legs.end(), [&](const AgentLeg& l) {
    return l.agent == agent && l.answered;
  });
  if (it == call.legs.end()) {
    // The agent's phone went away between its answer and the engine's decision: the call
    // ends (finish() tells the engine, which counts it answered).
    finish(call, "agent", "agent-gone-before-connect");
    return;
  }
  const AgentLeg leg = *it;
  call.legs.erase(it);
  if (store::OfferRecord* o = offerRecord(call, agent)) {
    o->result = "answered";
    o->ended_at = wallOf(call, clock_.now());
  }
  call.open_offers.erase(agent);
  // Any other phone still ringing for this call stops (the engine withdraws other agents'
  // offers too; this covers the ones it does not know about).
  for (std::size_t i = call.legs.size(); i-- > 0;) {
    if (call.legs[i].agent == agent) dropAgentLeg(call, i);
  }
  call.connected = leg;
  call.playing = 0;
  if (call.callback && !call.callback->customer_answered) {
    // Agent first: tell the agent who it is, then dial the customer.
    call.save_record = true;
    const VoiceSetup::Agent* a = agentById(agent);
    call.record.agent = a != nullptr ? a->extension : std::string();
    call.record.answered = wallOf(call, clock_.now());
    call.record.outcome = "answered";
    spdlog::info("call {}: agent {} took callback {}", call.record.id, call.record.agent,
                 call.callback->id);
    whisper(call);
    return;
  }
  if (!media_.bridge(call.caller_stream, leg.stream, recordingFor(call))) {
    spdlog::warn("call {}: bridging caller and agent failed", call.record.id);
  }
  const VoiceSetup::Agent* a = agentById(agent);
  call.record.agent = a != nullptr ? a->extension : std::string();
  call.record.answered = wallOf(call, clock_.now());
  call.record.outcome = "answered";
  spdlog::info("call {}: connected to agent {}", call.record.id, call.record.agent);
  feedFlow(call, flow::ev::ContactAnswered{});
}

// --- time ---------------------------------------------------------------------------------------

void VoiceController::setDeadline(Call& call) {
  if (call.deadline) deadlines_.erase({*call.deadline, call.id});
  call.deadline.reset();
  if (call.flow && !call.flow->ended()) {
    if (auto d = call.flow->nextDeadline()) {
      call.deadline = *d;
      deadlines_.insert({*d, call.id});
    }
  }
}

void VoiceController::rearm() {
  std::optional<engine::TimePoint> next;
  if (!deadlines_.empty()) next = deadlines_.begin()->first;
  if (next_queue_info_ && (!next || *next_queue_info_ < *next)) next = next_queue_info_;
  callback_due_.reset();
  if (const auto due = book_.nextDue()) {
    const engine::TimePoint now = clock_.now();
    const std::int64_t offset = wallNow() - now.time_since_epoch().count();
    callback_due_ = std::max(now, engine::TimePoint{engine::Millis{*due - offset}});
    if (!next || *callback_due_ < *next) next = callback_due_;
  }
  if (next == armed_) return;
  armed_ = next;
  if (clock_.wake_at) clock_.wake_at(next);
}

void VoiceController::onTimer() {
  armed_.reset();
  const engine::TimePoint now = clock_.now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const engine::ContactId id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    if (Call* call = findCall(id)) {
      call->deadline.reset();
      feedFlow(*call, flow::ev::Tick{});
    }
  }
  if (next_queue_info_ && *next_queue_info_ <= now) {
    std::vector<engine::ContactId> queued;
    for (const auto& [id, call] : calls_) {
      if (call->in_engine && !call->connected) queued.push_back(id);
    }
    next_queue_info_.reset();
    if (!queued.empty()) {
      routing_.requestQueueInfo(std::move(queued));
      next_queue_info_ = now + setup_.queue_info_every;
    }
  }
  if (callback_due_ && *callback_due_ <= now) {
    std::vector<CallbackEffect> effects;
    book_.tick(wallNow(), effects);
    runCallbackEffects(effects);
  }
  rearm();
}

// --- the end ------------------------------------------------------------------------------------

void VoiceController::finish(Call& call, std::string_view ended_by, std::string_view reason) {
  const engine::TimePoint now = clock_.now();
  store::Interaction& r = call.record;
  if (call.flow && call.flow_started && !call.flow->ended()) {
    std::vector<flow::Action> ignored;
    call.flow->handle(flow::ev::CallerHungUp{}, now, ignored);
  }
  if (call.callback && !call.callback->settled && reason != "shutdown") {
    // The agent's side ended it (hung up during the whisper, or while the customer rang).
    settleCallback(call, call.callback->attempt_started ? "failed" : std::string(reason), 0);
  }
  if (call.in_engine) {
    // A callback's contact that no agent took is withdrawn (not abandoned: nobody waited).
    routing_.post(r.answered ? engine::Event{engine::ev::ContactCompleted{call.id}}
                  : call.callback ? engine::Event{engine::ev::ContactLeftQueue{call.id}}
                                  : engine::Event{engine::ev::ContactAbandoned{call.id}});
    call.in_engine = false;
  }
  if (r.outcome.empty()) {
    if (call.queue != nullptr && r.enqueued) {
      const engine::Millis waited = now - call.enqueued_at;
      r.outcome = waited < call.queue->short_abandon ? "short-abandon" : "abandoned";
    } else if (r.end_reason.rfind("flow-error", 0) == 0) {
      r.outcome = "failed";
    } else {
      r.outcome = "ivr-hangup";
    }
  }
  for (std::size_t i = call.legs.size(); i-- > 0;) {
    if (call.legs[i].agent) {
      if (store::OfferRecord* o = offerRecord(call, *call.legs[i].agent)) {
        if (o->result.empty()) {
          o->result = "customer-gone";
          o->ended_at = wallOf(call, now);
        }
      }
    }
    dropAgentLeg(call, i);
  }
  if (call.connected) {
    legs_.erase(call.connected->leg);
    streams_.erase(call.connected->stream);
    media_.close(call.connected->stream);
    sip_.calls->hangup(call.connected->leg);
  }
  if (call.caller_leg_up) {
    legs_.erase(call.caller_leg);
    sip_.calls->hangup(call.caller_leg);
  }
  if (call.caller_stream != 0) {
    media_.close(call.caller_stream);
    streams_.erase(call.caller_stream);
  }
  if (call.caller_leg != 0) legs_.erase(call.caller_leg);
  if (call.deadline) deadlines_.erase({*call.deadline, call.id});

  if (call.flow) {
    const flow::RunRecord& fr = call.flow->record();
    for (const flow::PathStep& s : fr.path) {
      r.ivr_path.push_back(
          store::IvrStep{s.node, std::string(s.type), wallOf(call, s.entered), s.result});
    }
    for (const auto& [k, v] : fr.attributes) r.attributes[k] = v;
  }
  r.ended = wallOf(call, now);
  r.ended_by = std::string(ended_by);
  if (r.end_reason.empty()) r.end_reason = std::string(reason);
  spdlog::info("call {}: ended by {} ({}), outcome {}", r.id, r.ended_by, r.end_reason, r.outcome);
  ++counters_.calls_ended;
  if (save_ && call.save_record) {
    save_(std::move(r));
    ++counters_.records_saved;
  }
  calls_.erase(call.id);  // `call` is gone now
  rearm();
}

void VoiceController::shutdown() {
  while (!calls_.empty()) finish(*calls_.begin()->second, "system", "shutdown");
}

}  // namespace parley::app
