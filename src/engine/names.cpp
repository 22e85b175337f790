// String forms of the engine's enums, used in logs, reports, config and scenario files.
#include <algorithm>
#include <string>

#include "engine/actions.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/types.h"

namespace parley::engine {

namespace {
constexpr std::array<std::string_view, kChannelCount> kChannelNames = {"voice", "callback", "chat",
                                                                       "social", "email"};
constexpr std::array<std::string_view, 8> kStrategyNames = {
    "longest-idle", "ring-all", "round-robin", "fewest-contacts",
    "least-talk-time", "top-down", "random", "skills-best-match"};
}  // namespace

std::string_view toString(Channel c) { return kChannelNames[static_cast<std::size_t>(c)]; }

bool parseChannel(std::string_view text, Channel& out) {
  for (std::size_t i = 0; i < kChannelNames.size(); ++i) {
    if (kChannelNames[i] == text) {
      out = static_cast<Channel>(i);
      return true;
    }
  }
  return false;
}

std::string_view toString(Strategy s) { return kStrategyNames[static_cast<std::size_t>(s)]; }

bool parseStrategy(std::string_view text, Strategy& out) {
  // Accept "longest_idle" and "longest-idle" alike.
  std::string normal(text);
  std::replace(normal.begin(), normal.end(), '_', '-');
  for (std::size_t i = 0; i < kStrategyNames.size(); ++i) {
    if (kStrategyNames[i] == normal) {
      out = static_cast<Strategy>(i);
      return true;
    }
  }
  return false;
}

std::string_view toString(ExitAction::Kind k) {
  switch (k) {
    case ExitAction::Kind::HangUp: return "hangup";
    case ExitAction::Kind::Queue: return "queue";
    case ExitAction::Kind::CallbackOffer: return "callback-offer";
    case ExitAction::Kind::Voicemail: return "voicemail";
  }
  return "?";
}

std::string_view toString(AgentState s) {
  switch (s) {
    case AgentState::LoggedOut: return "logged-out";
    case AgentState::NotReady: return "not-ready";
    case AgentState::Available: return "available";
    case AgentState::Reserved: return "reserved";
    case AgentState::Busy: return "busy";
    case AgentState::WrapUp: return "wrap-up";
  }
  return "?";
}

std::string_view toString(Outcome o) {
  switch (o) {
    case Outcome::Completed: return "completed";
    case Outcome::Abandoned: return "abandoned";
    case Outcome::Exited: return "exited";
    case Outcome::Transferred: return "transferred";
  }
  return "?";
}

std::string_view toString(ExitReason r) {
  switch (r) {
    case ExitReason::None: return "none";
    case ExitReason::MaxWait: return "max-wait";
    case ExitReason::MaxLength: return "max-length";
    case ExitReason::CustomerChoice: return "customer-choice";
  }
  return "?";
}

std::string_view toString(WithdrawReason r) {
  switch (r) {
    case WithdrawReason::TakenByOther: return "taken-by-other";
    case WithdrawReason::CustomerGone: return "customer-gone";
    case WithdrawReason::Timeout: return "timeout";
    case WithdrawReason::Rejected: return "rejected";
    case WithdrawReason::AgentLoggedOut: return "agent-unavailable";
    case WithdrawReason::NotOffered: return "not-offered";
  }
  return "?";
}

std::string_view toString(ContactState s) {
  switch (s) {
    case ContactState::Waiting: return "waiting";
    case ContactState::Offered: return "offered";
    case ContactState::Answered: return "answered";
  }
  return "?";
}

Capacity Capacity::exclusive() {
  Capacity c;
  c.total = 1;
  for (Channel ch : kAllChannels) c[ch] = {1, 1};
  return c;
}

Capacity Capacity::voiceOrChats(int chats) {
  Capacity c;
  c.total = chats;
  c[Channel::Voice] = {1, chats};
  c[Channel::Callback] = {1, chats};
  for (Channel ch : {Channel::Chat, Channel::Social, Channel::Email}) c[ch] = {chats, 1};
  return c;
}

}  // namespace parley::engine
