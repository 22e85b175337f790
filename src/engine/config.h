// Static configuration of queues and agents as the routing engine sees it. Names are for logs and
// reports only; the engine works with the ids it hands out. Pure values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/types.h"

namespace parley::engine {

// How a queue picks among eligible free agents. The rules in prose: docs/ROUTING.md.
enum class Strategy : std::uint8_t {
  LongestIdle,       // agent idle the longest (default)
  RingAll,           // offer to every eligible agent at once; first accept wins
  RoundRobin,        // next member after the last one offered ("rrmemory")
  FewestContacts,    // fewest contacts answered since login
  LeastTalkTime,     // least cumulative handle time since login
  TopDown,           // fixed member order, first free member wins
  Random,            // uniformly random, from the engine's seeded generator
  SkillsBestMatch,   // highest proficiency in the required skills, then longest idle
};
std::string_view toString(Strategy s);
bool parseStrategy(std::string_view text, Strategy& out);

// What happens to a contact that hits a queue limit (max wait or max length).
struct ExitAction {
  enum class Kind : std::uint8_t { HangUp, Queue, CallbackOffer, Voicemail };
  Kind kind = Kind::HangUp;
  QueueId target{};  // for Kind::Queue: where the contact goes, keeping its enqueue time
};
std::string_view toString(ExitAction::Kind k);

// A time-based escalation step, applied `after` the contact entered the queue (as TaskRouter
// workflow steps do). Both parts are optional.
struct EscalationStep {
  Millis after{0};
  // Lowers every required proficiency to at most this level (e.g. 4 -> 2).
  std::optional<int> relax_level_to;
  // Makes the contact visible to this queue's agents too (it keeps its place in the first).
  std::optional<QueueId> add_queue;
};

struct QueueConfig {
  std::string name;
  Strategy strategy = Strategy::LongestIdle;
  Millis service_level_threshold{20'000};
  Millis short_abandon_threshold{5'000};
  std::optional<Millis> max_wait;
  std::optional<std::size_t> max_length;
  ExitAction on_max_wait;
  ExitAction on_max_length;
  Millis wrap_up{0};
  Millis offer_timeout{20'000};  // ring time before an offer counts as missed
  // After an agent misses or rejects a contact, that agent is skipped for this contact during
  // this window, so the contact goes to the next agent.
  Millis retry_other_agent_for{5'000};
  // A voice caller who abandons and calls again within this window gets their old place back
  // (0 disables). The caller is recognised by ContactSpec::caller.
  Millis abandon_resume_window{0};
  std::vector<EscalationStep> escalation;  // sorted by `after`
};

// Concurrent work an agent can take on one channel: at most `max` contacts, each using `cost`
// units of the agent's total capacity.
struct ChannelCapacity {
  int max = 0;
  int cost = 0;
};

// Capacity across channels. "Voice exclusive, or up to 3 chats": total 3, voice {1,3}, chat {3,1}.
// "1 voice + 2 chats": total 4, voice {1,2}, chat {2,1}.
struct Capacity {
  int total = 1;
  std::array<ChannelCapacity, kChannelCount> channels{};

  ChannelCapacity& operator[](Channel c) { return channels[static_cast<std::size_t>(c)]; }
  const ChannelCapacity& operator[](Channel c) const {
    return channels[static_cast<std::size_t>(c)];
  }
  // One contact at a time on any channel (the default).
  static Capacity exclusive();
  // Voice exclusive, or up to `chats` concurrent chat/social/email contacts.
  static Capacity voiceOrChats(int chats);
};

struct Membership {
  QueueId queue{};
  // Lower penalty is tried first: members of a higher tier get contacts only when no eligible
  // member of a lower tier is free (Asterisk "penalty", TaskRouter worker "level").
  int penalty = 0;
};

struct AgentConfig {
  std::string name;
  std::vector<AgentSkill> skills;
  Capacity capacity = Capacity::exclusive();
  std::vector<Membership> queues;
};

struct EngineConfig {
  // Consecutive missed (rejected or timed-out) offers before the agent is made not-ready with
  // reason "missed". 0 disables.
  int max_consecutive_misses = 3;
  std::uint64_t seed = 1;  // for Strategy::Random
};

}  // namespace parley::engine
