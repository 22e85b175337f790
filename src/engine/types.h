// Basic vocabulary of the routing engine: time, identifiers, channels, skills.
// Pure value types; no threads, no I/O. Safe to use from any thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

namespace parley::engine {

using Millis = std::chrono::milliseconds;

// Engine time is whatever the driver says it is: wall-clock milliseconds in the live server,
// virtual milliseconds from zero in the simulator. The engine never reads a clock itself, so this
// "clock" has no now(); it only tags time points so they cannot be mixed with system_clock ones.
struct EngineClock {
  using rep = Millis::rep;
  using period = Millis::period;
  using duration = Millis;
  using time_point = std::chrono::time_point<EngineClock, Millis>;
  static constexpr bool is_steady = true;
};
using TimePoint = EngineClock::time_point;

constexpr TimePoint atMillis(std::int64_t ms) { return TimePoint{Millis{ms}}; }
constexpr TimePoint atSeconds(double s) {
  return TimePoint{Millis{static_cast<std::int64_t>(s * 1000.0)}};
}
constexpr double toSeconds(Millis d) { return static_cast<double>(d.count()) / 1000.0; }

// Identifiers. Agents, queues, skills and campaigns are dense indices handed out by the engine;
// contact ids are chosen by the driver (the live server's interaction id, the simulator's
// counter) and must be unique among live contacts.
enum class AgentId : std::uint32_t {};
enum class QueueId : std::uint32_t {};
enum class SkillId : std::uint16_t {};
enum class CampaignId : std::uint32_t {};  // 0 means "no campaign"
enum class ContactId : std::uint64_t {};

constexpr CampaignId kNoCampaign{0};

template <typename Id>
constexpr auto index(Id id) {
  return static_cast<std::underlying_type_t<Id>>(id);
}

enum class Channel : std::uint8_t { Voice, Callback, Chat, Social, Email };
constexpr std::size_t kChannelCount = 5;
constexpr std::array<Channel, kChannelCount> kAllChannels = {
    Channel::Voice, Channel::Callback, Channel::Chat, Channel::Social, Channel::Email};

std::string_view toString(Channel c);
// Parses "voice", "callback", "chat", "social", "email"; false if unknown.
bool parseChannel(std::string_view text, Channel& out);

// Voice-like channels tie up the agent's phone; callbacks are outbound voice.
constexpr bool isVoiceLike(Channel c) { return c == Channel::Voice || c == Channel::Callback; }

// A contact requires an agent with `skill` at proficiency >= min_level (1..5).
struct SkillRequirement {
  SkillId skill{};
  int min_level = 1;
  friend bool operator==(const SkillRequirement&, const SkillRequirement&) = default;
  friend auto operator<=>(const SkillRequirement&, const SkillRequirement&) = default;
};

// An agent has `skill` at proficiency `level` (1..5).
struct AgentSkill {
  SkillId skill{};
  int level = 1;
};

}  // namespace parley::engine
