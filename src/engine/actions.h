// Outputs of the routing engine: what the driver must do (ring a phone, stop ringing) and what
// happened (for statistics, records and the wallboard). Every action carries enough for the
// statistics to be a pure fold over the action stream.
#pragma once

#include <string>
#include <variant>

#include "engine/config.h"
#include "engine/types.h"

namespace parley::engine {

enum class AgentState : std::uint8_t { LoggedOut, NotReady, Available, Reserved, Busy, WrapUp };
constexpr std::size_t kAgentStateCount = 6;
std::string_view toString(AgentState s);

// How a contact ended. Each contact ends exactly once.
enum class Outcome : std::uint8_t {
  Completed,    // answered by an agent and handled to the end
  Abandoned,    // customer left before an agent accepted
  Exited,       // left through a queue limit's exit action or the customer's own choice
  Transferred,  // answered, then transferred out of Parley
};
std::string_view toString(Outcome o);

enum class ExitReason : std::uint8_t { None, MaxWait, MaxLength, CustomerChoice };
std::string_view toString(ExitReason r);

enum class WithdrawReason : std::uint8_t {
  TakenByOther,   // ring-all: another agent accepted first
  CustomerGone,   // the contact left while offered: abandoned, left by choice, or hit max wait
  Timeout,        // the offer was not accepted in time
  Rejected,       // the agent declined
  AgentLoggedOut, // the agent logged out or went not-ready while offered
  NotOffered,     // an accept arrived for an offer that does not exist (any more): hang it up
};
std::string_view toString(WithdrawReason r);

// What statistics need to know about a contact, repeated on each contact action.
struct ContactTag {
  QueueId queue{};
  Channel channel = Channel::Voice;
  CampaignId campaign = kNoCampaign;
  TimePoint enqueued_at{};
};

namespace act {

// The contact now waits in `tag.queue` at 1-based `position` (on arrival, after overflow by exit
// action, or after a transfer to a queue).
struct ContactQueued { ContactId contact{}; ContactTag tag; std::size_t position = 0; };
// Reserve `agent` and ring or present the contact to it until `expires_at`.
struct OfferCreated { ContactId contact{}; AgentId agent{}; ContactTag tag; TimePoint expires_at{}; };
// Stop ringing `agent` for `contact` (or, with NotOffered, hang up its stale answer).
struct OfferWithdrawn { ContactId contact{}; AgentId agent{}; WithdrawReason reason{}; };
// The agent accepted; connect them. `waited` is from enqueue to accept.
struct ContactAnswered { ContactId contact{}; AgentId agent{}; ContactTag tag; Millis waited{}; };
// The contact is waiting again after its offer(s) ended without an accept; position unchanged.
struct ContactRequeued { ContactId contact{}; ContactTag tag; };
// The contact leaves queue `from.queue` for `to` (a max-wait/max-length exit action of kind Queue,
// or a transfer to a queue). A ContactQueued for the new queue follows, or a ContactEnded
// (Exited, MaxLength) when that queue is full too. An escalation step that
// adds an overflow queue is not a move: the contact stays in its first queue too.
struct ContactMoved { ContactId contact{}; ContactTag from; QueueId to{}; };
// The contact's final end. `waited` is enqueue to answer or to end; `handled` is answer to end
// (talk time), zero if never answered. For Exited, `exit` says what the driver must do next.
struct ContactEnded {
  ContactId contact{};
  ContactTag tag;
  Outcome outcome{};
  ExitReason reason = ExitReason::None;
  ExitAction exit;
  AgentId agent{};  // meaningful when answered
  bool answered = false;
  Millis waited{};
  Millis handled{};
};
// After-contact work for `contact` by `agent` is over; `duration` counts toward handle time.
struct WrapUpEnded { ContactId contact{}; AgentId agent{}; QueueId queue{}; Millis duration{}; };
struct AgentStateChanged {
  AgentId agent{};
  AgentState from{};
  AgentState to{};
  std::string reason;  // for NotReady
};

}  // namespace act

using Action = std::variant<act::ContactQueued, act::OfferCreated, act::OfferWithdrawn,
                            act::ContactAnswered, act::ContactRequeued, act::ContactMoved,
                            act::ContactEnded, act::WrapUpEnded, act::AgentStateChanged>;

}  // namespace parley::engine
