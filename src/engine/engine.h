// The routing engine: decides which agent gets which contact, on every channel.
//
// A pure state machine. It takes events with the current time and returns actions; it never
// touches sockets, threads, files or a clock, so the live server, the simulator and the tests all
// drive this one implementation. Timers are internal: the driver asks nextDeadline() and sends
// ev::Tick at (or after) that time.
//
// Thread rule: not thread-safe. One owner thread calls everything; others send it messages.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/actions.h"
#include "engine/config.h"
#include "engine/events.h"
#include "engine/types.h"

namespace parley::engine {

enum class ContactState : std::uint8_t { Waiting, Offered, Answered };
std::string_view toString(ContactState s);

struct ContactView {
  ContactId id{};
  ContactState state{};
  Channel channel{};
  QueueId queue{};             // current primary queue
  std::vector<QueueId> queues; // primary plus overflow queues added by escalation
  int priority = 0;
  TimePoint enqueued_at{};
  std::vector<AgentId> offered_to;  // agents with a live offer (several only under ring-all)
  std::optional<AgentId> agent;     // once answered
  std::vector<SkillRequirement> skills;  // effective requirements after escalation
};

struct AgentView {
  AgentId id{};
  AgentState state{};
  std::string reason;         // not-ready reason
  bool logged_in = false;
  bool ready = false;         // the agent's own choice: ready for work
  TimePoint idle_since{};     // last time the agent had no contact at all
  int used_capacity = 0;      // units in use by offered, active and wrap-up contacts
  std::optional<ContactId> offer;  // pending offer, at most one
  std::vector<ContactId> active;   // answered and not yet completed
  std::vector<ContactId> wrapping; // completed, in after-contact work
  std::uint64_t contacts_answered = 0;
  Millis handle_time{0};
  int consecutive_misses = 0;
};

class Engine {
 public:
  explicit Engine(EngineConfig config = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  // --- Configuration (before or between events) ---------------------------------------------
  // Adds a queue; escalation and exit targets may name queues added later.
  QueueId addQueue(QueueConfig config);
  // Adds a logged-out agent. Memberships must name existing queues (checked: throws
  // std::invalid_argument, as this is a configuration error, not data-plane input).
  AgentId addAgent(AgentConfig config);
  SkillId internSkill(std::string_view name);
  CampaignId internCampaign(std::string_view name);

  // --- Events ---------------------------------------------------------------------------------
  // Applies `event` at `now` and appends the resulting actions to `out`. `now` must not go
  // backwards between calls (an earlier time is treated as the last one seen). Unknown agents,
  // queues or contacts are ignored (the event is stale or bogus); nothing throws.
  void handle(const Event& event, TimePoint now, std::vector<Action>& out);
  std::vector<Action> onEvent(const Event& event, TimePoint now);
  // The earliest time at which an ev::Tick would do something, if any.
  std::optional<TimePoint> nextDeadline() const;

  // --- Read-only views ------------------------------------------------------------------------
  std::size_t queueCount() const;
  std::size_t agentCount() const;
  std::size_t liveContactCount() const;
  const QueueConfig& queueConfig(QueueId q) const;
  const AgentConfig& agentConfig(AgentId a) const;
  std::optional<QueueId> findQueue(std::string_view name) const;
  std::optional<AgentId> findAgent(std::string_view name) const;
  std::optional<SkillId> findSkill(std::string_view name) const;
  std::string_view skillName(SkillId s) const;
  std::string_view campaignName(CampaignId c) const;
  std::size_t campaignCount() const;  // ids 0..count-1; 0 is "no campaign"

  AgentState agentState(AgentId a) const;
  AgentView agent(AgentId a) const;
  std::span<const AgentId> members(QueueId q) const;
  std::optional<ContactView> contact(ContactId c) const;
  std::size_t waitingCount(QueueId q) const;
  // Enqueue time of the longest-waiting contact in `q`, if any.
  std::optional<TimePoint> oldestWaiting(QueueId q) const;
  // 1-based place of a waiting contact in its primary queue (priority, then enqueue time).
  std::optional<std::size_t> position(ContactId c) const;

  // Checks every internal invariant (capacity, offers, indexes, that no free eligible agent and
  // waiting contact are left unmatched). Returns an empty string when all hold, else what broke.
  // For tests; O(size of the state).
  std::string checkInvariants(TimePoint now) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace parley::engine
