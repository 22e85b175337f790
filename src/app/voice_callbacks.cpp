// The callback half of the voice controller: requests (IVR and HTTP desk), the book's effects,
// and a callback's call. Agent first: the engine offers the callback contact to an agent like a
// call; the agent's phone rings; when the agent answers they hear who it is ("Callback for
// 5 5 5 1 2 3 4, sales, waited 6 minutes."); then the attempt is written and the customer is
// dialled through the outbound trunk; when the customer answers, the callback is written done
// and the two are bridged. An unanswered customer leg ends the call and the book retries later.
#include <algorithm>
#include <cctype>

#include <spdlog/spdlog.h>

#include "app/voice_call.h"
#include "app/voice_controller.h"

namespace parley::app {

namespace {

// "sip:trunk.example.com:5060;transport=udp" + "+44123" -> "sip:+44123@trunk.example.com:5060;
// transport=udp". A user part already in the trunk URI is replaced.
std::string dialUri(const std::string& trunk, const std::string& number) {
  const std::size_t colon = trunk.find(':');
  if (colon == std::string::npos) return trunk;
  std::string host = trunk.substr(colon + 1);
  if (const std::size_t at = host.find('@'); at != std::string::npos) host = host.substr(at + 1);
  return trunk.substr(0, colon + 1) + number + "@" + host;
}

// What an unanswered customer leg means for the callback.
std::string customerResult(const sip::LegEnded& ended) {
  switch (ended.code) {
    case 486:
    case 600: return "busy";
    case 603: return "rejected";
    case 408:
    case 480:
    case 487: return "no-answer";
    default: break;
  }
  if (ended.how == sip::LegEnd::Cancelled) return "no-answer";
  return "failed";
}

// Digits with an optional leading '+', from what a caller typed or their caller id; empty if
// that is not a plausible number (3 to 20 digits).
std::string ivrNumber(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '+' && out.empty()) {
      out += c;
    } else if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      out += c;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return {};
    }
  }
  const std::size_t digits = out.size() - (out.starts_with('+') ? 1 : 0);
  return digits >= 3 && digits <= 20 ? out : std::string();
}

}  // namespace

store::EpochMillis VoiceController::wallNow() const { return clock_.wall_ms(); }

// --- requests -----------------------------------------------------------------------------------

CallbackReply VoiceController::requestCallback(const CallbackRequest& request) {
  CallbackReply reply;
  const store::EpochMillis now = wallNow();
  BookDecision d = book_.decide(request, now);
  reply.status = d.status;
  reply.message = d.message;
  if (!d.record) {
    spdlog::info("callback for {} in {} refused: {}", request.number, request.queue, d.message);
    return reply;
  }
  std::string error;
  if (!callback_ports_.persist || !callback_ports_.persist(*d.record, &error)) {
    spdlog::error("callback for {} in {}: not stored: {}", request.number, request.queue,
                  callback_ports_.persist ? error : "no callback store");
    reply.stored = false;
    reply.message = "the callback could not be stored";
    return reply;
  }
  reply.id = d.record->id;
  reply.scheduled_for = d.record->scheduled_for;
  spdlog::info("callback {} for {} in {} {} ({}, {})", d.record->id, d.record->number,
               d.record->queue, toString(d.status), d.record->source, d.record->state);
  std::vector<CallbackEffect> effects;
  book_.commit(std::move(*d.record), now, effects);
  runCallbackEffects(effects);
  return reply;
}

std::optional<CallbackAvailability> VoiceController::callbackAvailability(
    std::string_view queue) const {
  return book_.availability(queue, wallNow());
}

bool VoiceController::cancelCallback(const std::string& id) {
  std::vector<CallbackEffect> effects;
  if (!book_.cancel(id, wallNow(), effects)) return false;
  spdlog::info("callback {} cancelled", id);
  runCallbackEffects(effects);
  return true;
}

void VoiceController::restoreCallbacks(std::vector<store::Callback> open) {
  std::vector<CallbackEffect> effects;
  const std::size_t n = open.size();
  book_.restore(std::move(open), wallNow(), effects);
  if (n != 0) spdlog::info("callbacks: {} open from the store", book_.openCount());
  runCallbackEffects(effects);
}

void VoiceController::flowRequestCallback(Call& call, const flow::act::RequestCallback& a) {
  CallbackRequest req;
  req.queue = a.queue;
  req.number = ivrNumber(a.number);
  req.source = "ivr";
  req.at = a.at;
  req.interaction_id = call.record.id;
  // A caller who waited in this queue keeps their place.
  if (call.record.enqueued && call.record.queue == a.queue) req.place_since = *call.record.enqueued;
  for (const char* key : {"campaign", "customer_id", "language"}) {
    if (const auto it = call.record.attributes.find(key); it != call.record.attributes.end()) {
      req.context[key] = it->second;
    }
  }
  flow::ev::CallbackResult result;
  if (req.number.empty()) {
    result.reason = "invalid number";
  } else {
    const CallbackReply reply = requestCallback(req);
    result.accepted = reply.accepted();
    result.id = reply.id;
    result.reason = reply.accepted() ? std::string() : std::string(toString(reply.status));
    if (result.accepted) call.record.attributes["callback_id"] = reply.id;
  }
  feedFlow(call, result);
}

void VoiceController::flowOfferSlots(Call& call, const flow::act::OfferSlots& a) {
  flow::ev::SlotsOffered offered;
  const store::EpochMillis now = wallNow();
  const std::optional<CallbackAvailability> available =
      book_.availability(a.queue, now, static_cast<std::size_t>(std::max(0, a.count)));
  if (available && available->enabled && callback_ports_.local_of) {
    const flow::Date today = callback_ports_.local_of(now).date;
    for (const SlotInfo& slot : available->slots) {
      offered.slots.push_back(
          flow::ev::SlotChoice{slot.start, spokenTime(callback_ports_.local_of(slot.start), today)});
    }
  }
  feedFlow(call, offered);
}

// --- the book's effects -------------------------------------------------------------------------

void VoiceController::runCallbackEffects(std::vector<CallbackEffect>& effects) {
  for (CallbackEffect& effect : effects) {
    if (auto* p = std::get_if<cb::Persist>(&effect)) {
      std::string error;
      if (!callback_ports_.persist || !callback_ports_.persist(p->record, &error)) {
        spdlog::error("callback {}: state {} not stored: {}", p->record.id, p->record.state,
                      callback_ports_.persist ? error : "no callback store");
      }
    } else if (auto* e = std::get_if<cb::Enqueue>(&effect)) {
      callbackEnqueue(*e);
    } else if (auto* w = std::get_if<cb::Withdraw>(&effect)) {
      if (Call* call = findCall(w->contact)) {
        if (call->callback) call->callback->settled = true;  // the book decided already
        call->save_record = call->record.answered.has_value();
        if (call->in_engine) {
          routing_.post(engine::ev::ContactLeftQueue{call->id});
          call->in_engine = false;
        }
        finish(*call, "system", "callback-withdrawn");
      }
    }
  }
  effects.clear();
  rearm();
}

void VoiceController::callbackEnqueue(const cb::Enqueue& e) {
  const VoiceSetup::Queue* q = queueByName(e.queue);
  if (q == nullptr || calls_.count(e.contact) != 0) {
    spdlog::warn("callback {}: cannot enqueue in {}", e.callback_id, e.queue);
    return;
  }
  auto call = std::make_unique<Call>();
  call->id = e.contact;
  call->caller_leg_up = false;
  call->caller = e.number;
  call->started = clock_.now();
  call->wall_offset = clock_.wall_ms() - call->started.time_since_epoch().count();
  call->callback = Call::Callback{e.callback_id, e.number};
  if (const CallbackPolicy* p = book_.policy(e.queue)) {
    call->callback->customer_first = p->customer_first;
  }
  call->save_record = false;  // until an agent takes it
  call->queue = q;
  call->in_engine = true;
  call->enqueued_at = engine::TimePoint{engine::Millis{e.place_since - call->wall_offset}};

  store::Interaction& r = call->record;
  r.id = "callback-" + std::to_string(engine::index(e.contact) - CallbackBook::kContactBase) +
         "-" + std::to_string(clock_.wall_ms());
  r.channel = "callback";
  r.caller = e.number;
  r.arrived = wallOf(*call, call->started);
  r.queue = q->name;
  r.enqueued = e.place_since;
  r.attributes = e.context;
  r.attributes["callback_id"] = e.callback_id;

  engine::ContactSpec spec;
  spec.id = e.contact;
  spec.channel = engine::Channel::Callback;
  spec.queue = q->id;
  spec.priority = e.priority;
  spec.enqueued_at = call->enqueued_at;
  spec.extra_offer_time = e.offer_timeout_extra;
  spec.attributes = contactAttributes(e.context);
  spdlog::info("callback {}: {} waits in {} as {}", e.callback_id, e.number, q->name, r.id);
  calls_.emplace(e.contact, std::move(call));
  routing_.post(engine::ev::ContactArrived{std::move(spec)});
}

// --- a callback's call --------------------------------------------------------------------------

void VoiceController::whisper(Call& call) {
  call.callback->whispering = true;
  const engine::Millis waited = clock_.now() - call.enqueued_at;
  const auto minutes = std::max<std::int64_t>(0, (waited.count() + 30'000) / 60'000);
  flow::Attributes vars{{"number", call.callback->number}};
  std::string text = flow::substitute("Callback for ${number:digits}", "", "", vars);
  if (call.queue != nullptr) text += ", " + call.queue->name;
  text += minutes < 1 ? ", waited less than a minute."
                      : ", waited " + std::to_string(minutes) +
                            (minutes == 1 ? " minute." : " minutes.");
  const engine::ContactId id = call.id;
  prompts_.fetch({flow::Prompt{flow::Prompt::Kind::Tts, text}},
                 [this, id](std::vector<media::ClipPtr> clips) {
                   Call* c = findCall(id);
                   if (c == nullptr || !c->callback || !c->callback->whispering || !c->connected) {
                     return;
                   }
                   if (clips.empty()) {
                     dialCustomer(*c);
                     return;
                   }
                   media_.play(c->connected->stream, std::move(clips), kWhisperToken);
                 });
}

void VoiceController::dialCustomer(Call& call) {
  call.callback->whispering = false;
  const VoiceSetup::Dialing& d = setup_.callback_dialing;
  const CallbackPolicy* policy = call.queue != nullptr ? book_.policy(call.queue->name) : nullptr;
  if (d.trunk_uri.empty()) {
    spdlog::warn("callback {}: no outbound trunk configured", call.callback->id);
    settleCallback(call, "failed", 0);
    finish(call, "system", "no-outbound-trunk");
    return;
  }
  std::vector<CallbackEffect> effects;
  book_.attemptStarted(call.id, call.record.agent, wallNow(), effects);
  runCallbackEffects(effects);  // written before the customer's phone can ring
  call.callback->attempt_started = true;
  media::MediaEngine::Negotiated n = media_.createOffer();
  if (n.stream == 0) {
    spdlog::warn("callback {}: no media stream: {}", call.callback->id, n.error);
    settleCallback(call, "failed", 0);
    finish(call, "system", "no-media");
    return;
  }
  sip::DialRequest req;
  req.target = dialUri(d.trunk_uri, call.callback->number);
  req.from_user = d.caller_id;
  req.sdp_offer = n.sdp;
  if (policy != nullptr) req.timeout = policy->customer_ring;
  req.auth_user = d.auth_user;
  req.auth_password = d.auth_password;
  const sip::LegId leg = sip_.calls->dial(req);
  call.caller_leg = leg;
  call.caller_leg_up = true;
  call.caller_stream = n.stream;
  legs_[leg] = LegRef{call.id, Role::Caller};
  streams_[n.stream] = call.id;
  call.record.sip_call_id.clear();
  spdlog::info("callback {}: dialling {} for agent {}", call.callback->id, req.target,
               call.record.agent);
}

void VoiceController::customerAnswered(Call& call, const std::string& sdp) {
  std::string error;
  if (!media_.applyAnswer(call.caller_stream, sdp, &error)) {
    spdlog::info("callback {}: customer answered with unusable SDP: {}", call.callback->id, error);
    sip_.calls->hangup(call.caller_leg);  // its on_ended settles the attempt
    return;
  }
  call.callback->customer_answered = true;
  settleCallback(call, "connected", 200);  // written done before anyone talks
  call.record.attributes["customer_answered"] = std::to_string(wallNow());
  if (call.callback->customer_first) {
    // They hear why they are called and hold music while the agent rings; answered()
    // bridges them (and records) when the agent takes the call.
    customerHolds(call);
    return;
  }
  if (!call.connected ||
      !media_.bridge(call.caller_stream, call.connected->stream, recordingFor(call))) {
    spdlog::warn("callback {}: bridging customer and agent failed", call.callback->id);
  }
  spdlog::info("call {}: callback {} connected {} to agent {}", call.record.id, call.callback->id,
               call.callback->number, call.record.agent);
}

void VoiceController::customerHolds(Call& call) {
  const engine::ContactId id = call.id;
  std::string text = "Hello, this is the call back you asked for";
  if (call.queue != nullptr) text += " from " + call.queue->name;
  text += ". Please hold while we connect you.";
  prompts_.fetch({flow::Prompt{flow::Prompt::Kind::Tts, text}},
                 [this, id](std::vector<media::ClipPtr> clips) {
                   Call* c = findCall(id);
                   if (c == nullptr || c->connected || c->caller_stream == 0) return;
                   // The greeting, then music until the agent answers (onPlaybackDone).
                   if (clips.empty()) {
                     media_.loop(c->caller_stream, prompts_.music(""));
                   } else {
                     media_.play(c->caller_stream, std::move(clips), kGreetingToken);
                   }
                 });
  if (call.callback->pending_offer) {
    const auto [agent, expires_at] = *call.callback->pending_offer;
    call.callback->pending_offer.reset();
    ringAgent(call, agent, expires_at);
  }
  spdlog::info("call {}: callback {} reached {}, ringing agent {}", call.record.id,
               call.callback->id, call.callback->number, call.record.agent);
}

void VoiceController::customerLegEnded(Call& call, const sip::LegEnded& ended) {
  call.caller_leg_up = false;
  if (call.callback->customer_answered) {
    finish(call, "caller", ended.by_peer ? "customer-hangup" : "local-hangup");
    return;
  }
  const std::string result = customerResult(ended);
  settleCallback(call, result, ended.code);
  call.record.outcome = "callback-" + result;
  spdlog::info("call {}: callback {} to {}: {} ({})", call.record.id, call.callback->id,
               call.callback->number, result, ended.code);
  finish(call, "caller", result);
}

void VoiceController::settleCallback(Call& call, const std::string& result, int sip_code) {
  if (!call.callback || call.callback->settled) return;
  call.callback->settled = true;
  std::vector<CallbackEffect> effects;
  if (call.callback->attempt_started) {
    book_.attemptEnded(call.id, AttemptEnd{result, sip_code, call.record.id}, wallNow(), effects);
  } else {
    book_.contactLost(call.id, result, wallNow(), effects);
  }
  runCallbackEffects(effects);
}

}  // namespace parley::app
