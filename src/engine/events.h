// Inputs to the routing engine. Every change in the world (an agent clicks ready, a caller hangs
// up, time passes) reaches the engine as one of these. Events are idempotent where the network can
// repeat them: a second accept, a reject for an offer that is gone, an abandon for a contact that
// already ended produce no state change.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/types.h"

namespace parley::engine {

// Facts about a contact for the people and records around it. The engine itself keeps only
// `campaign` (a statistics key, reported on every contact action); the rest is for the driver's
// interaction record and the agent desktop.
struct ContactAttributes {
  std::string campaign;
  std::string customer_id;
  std::string language;
  std::string entry_point;
};

struct ContactSpec {
  ContactId id{};
  Channel channel = Channel::Voice;
  QueueId queue{};
  int priority = 0;  // higher is served first
  std::vector<SkillRequirement> skills;
  // Set for a contact that replaces an earlier one (a callback for a call that waited): it keeps
  // the original enqueue time and so its place in line. Defaults to the arrival time.
  std::optional<TimePoint> enqueued_at;
  // Caller identity (ANI or customer key) for abandon-resume; empty disables it for this contact.
  std::string caller;
  // Added to the queue's offer timeout for this contact's offers: a customer-first callback
  // rings the customer before the reserved agent.
  Millis extra_offer_time{0};
  ContactAttributes attributes;
};

namespace ev {

struct AgentLogin { AgentId agent{}; bool ready = true; };
struct AgentLogout { AgentId agent{}; };
struct AgentReady { AgentId agent{}; };
struct AgentNotReady { AgentId agent{}; std::string reason; };

// A contact enters its queue. Duplicate ids of live contacts are ignored.
struct ContactArrived { ContactSpec contact; };
// The offered agent accepted (phone answered, chat accepted).
struct OfferAccepted { ContactId contact{}; AgentId agent{}; };
// The offered agent declined (486/603, reject button).
struct OfferRejected { ContactId contact{}; AgentId agent{}; };
// The customer went away. Before an agent accepted: the contact is abandoned. After: the same as
// ContactCompleted.
struct ContactAbandoned { ContactId contact{}; };
// The customer chose to leave the queue (pressed the callback or voicemail key): outcome Exited.
struct ContactLeftQueue { ContactId contact{}; };
// Handling finished (either side hung up, chat closed); the agent goes to wrap-up.
struct ContactCompleted { ContactId contact{}; };
// The agent is done with after-contact work for all its contacts before the wrap-up timer ends.
struct WrapUpDone { AgentId agent{}; };
// An answered contact is handed on: to another queue (it waits again there, keeping its original
// enqueue time) or, with no queue, out of Parley (outcome Transferred).
struct ContactTransferred { ContactId contact{}; std::optional<QueueId> to_queue; };
// Time passed: fire every engine timer due at or before `now`.
struct Tick {};

}  // namespace ev

using Event = std::variant<ev::AgentLogin, ev::AgentLogout, ev::AgentReady, ev::AgentNotReady,
                           ev::ContactArrived, ev::OfferAccepted, ev::OfferRejected,
                           ev::ContactAbandoned, ev::ContactLeftQueue, ev::ContactCompleted,
                           ev::WrapUpDone, ev::ContactTransferred, ev::Tick>;

}  // namespace parley::engine
