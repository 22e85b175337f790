// The IVR flow interpreter: runs one Flow for one call.
//
// A pure state machine, like engine::Engine. The driver (the SIP/media layer) calls start(), then
// handle() with each event and the current time, and carries out the returned actions: play
// prompts, music on hold, enqueue, transfer, hang up. It never touches sockets, threads, files or
// a clock. Timers are internal: the driver asks nextDeadline() and sends ev::Tick at (or after)
// that time. docs/FLOWS.md states the rules (type-ahead, timeouts, retries, announcements).
//
// Thread rule: not thread-safe. One owner (the call's thread) calls everything.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/types.h"
#include "flow/flow.h"

namespace parley::flow {

using TimePoint = engine::TimePoint;
using Attributes = std::map<std::string, std::string>;

// A local wall-clock time (the call's time zone, computed by the driver: zone rules are data the
// driver owns). second_of_day is 0..86399.
struct LocalDateTime {
  Date date;
  int second_of_day = 0;
};
// Day of the week of a calendar date (proleptic Gregorian).
Weekday weekdayOf(const Date& d);
// `t` moved on by `by` (>= 0), across midnights, months and years; DST changes during a call are
// ignored.
LocalDateTime advanceBy(const LocalDateTime& t, Millis by);
// Whether `hours` is open at local time `t` (ranges: from inclusive, to exclusive).
bool isOpen(const HoursNode& hours, const LocalDateTime& t);

// What the driver knows about the call when the flow starts.
struct CallContext {
  std::string called;     // dialled number or user part, for ${called}
  std::string caller;     // caller's number or user part, for ${caller}
  Attributes attributes;  // initial contact attributes (e.g. from the entry point)
  // The call's local wall time at the moment start() is called. Without it an hours node takes
  // its `closed` branch (and says so in the record).
  std::optional<LocalDateTime> local_time;
};

// Replaces ${called}, ${caller} and ${<attribute>} in `text`. Unknown names become empty; a "${"
// without a closing "}" is kept as written. ${<name>:digits} spells the value one character at a
// time for speech ("+44 12" -> "plus 4 4 1 2"), e.g. to read a number back.
std::string substitute(std::string_view text, std::string_view called, std::string_view caller,
                       const Attributes& attributes);

// The sentence a queue announcement speaks, e.g. "You are number 3 in line. Your expected wait
// is about 2 minutes." Position 1 is "next in line"; a wait under a minute is "less than a
// minute"; parts not asked for or not known are left out. Empty when nothing is left to say.
std::string announcementText(std::size_t position, std::optional<Millis> expected_wait,
                             bool say_position, bool say_wait);

using PlaybackId = std::uint64_t;  // per run, from 1; 0 is never used

namespace ev {

// The prompts of Play (or Announce) `id` finished playing. Without an id: whatever is playing.
// A stale id (a prompt already stopped) is ignored.
struct PromptFinished {
  std::optional<PlaybackId> id;
};
// The caller pressed `key` (RFC 4733, SIP INFO or in-band: all the same here). Keys other than
// 0-9, *, #, A-D (a-d are taken as A-D) are ignored.
struct Digit {
  char key = 0;
};
// Time passed: fire every timer due at or before `now`.
struct Tick {};
// The caller's place in the queue (1-based) and, if the app can estimate it, expected wait.
// The app sends one after the engine's ContactQueued and whenever either changes.
struct QueueUpdate {
  std::size_t position = 0;
  std::optional<Millis> expected_wait;
};
// An agent is being offered the call (phone ringing): no announcement starts until answered or
// requeued, so an agent never picks up into one.
struct ContactOffered {};
// The offer(s) ended without an answer; the caller waits again.
struct ContactRequeued {};
// An agent answered: the flow ends (the driver bridges the call).
struct ContactAnswered {};
// The engine ended the contact's wait (max wait or queue full exit): go to the queue node's
// on_exit (or hang up).
struct QueueExited {};
// The transfer of the last Transfer action succeeded (the call left Parley) or failed.
struct TransferCompleted {};
struct TransferFailed {
  std::string reason;
};
// A bookable time for a schedule_callback node: `at` is what RequestCallback books (the app's
// own value, epoch milliseconds), `spoken` how the caller hears it ("tomorrow at 9 AM").
struct SlotChoice {
  std::int64_t at = 0;
  std::string spoken;
};
// The answer to the last OfferSlots: the next free times, soonest first (empty: none).
struct SlotsOffered {
  std::vector<SlotChoice> slots;
};
// The answer to the last RequestCallback: taken (with the callback's id) or refused (why).
struct CallbackResult {
  bool accepted = false;
  std::string id;      // when accepted
  std::string reason;  // when refused
};
// The caller hung up. The flow ends with no further actions; if the call was queued, the app
// tells the engine (ContactAbandoned) itself.
struct CallerHungUp {};

}  // namespace ev

using Event =
    std::variant<ev::PromptFinished, ev::Digit, ev::Tick, ev::QueueUpdate, ev::ContactOffered,
                 ev::ContactRequeued, ev::ContactAnswered, ev::QueueExited, ev::TransferCompleted,
                 ev::TransferFailed, ev::SlotsOffered, ev::CallbackResult, ev::CallerHungUp>;

enum class EndReason : std::uint8_t {
  Answered,      // an agent answered in a queue node
  HungUp,        // a hangup node (or a failure with no on_failure)
  CallerHungUp,  // the caller went away
  Transferred,   // a transfer node succeeded
  Error,         // a broken flow (unknown node, runaway loop): Ended::detail says what
};
std::string_view toString(EndReason r);

namespace act {

// Play `prompts` (substitutions already applied) to the caller, then report
// ev::PromptFinished{id}. `barge_in` says a key press will interrupt it; the interpreter itself
// then sends StopPlayback, so the driver never stops a prompt on its own. A new Play replaces
// nothing: the interpreter stops the old one first.
struct Play {
  PlaybackId id = 0;
  Prompts prompts;
  bool barge_in = false;
};
// Stop playback `id` now; no PromptFinished is expected for it (one that arrives is ignored).
struct StopPlayback {
  PlaybackId id = 0;
};
// Loop `file` to the caller until StopMusicOnHold; empty: the media layer's generated tone.
struct StartMusicOnHold {
  std::string file;
};
struct StopMusicOnHold {};
// Contact attribute `name` is now `value` (for the interaction record and the agent desktop).
struct SetAttribute {
  std::string name;
  std::string value;
};
// Put the call in routing queue `queue` (the app sends engine ContactArrived). `skills` are
// names; the app interns them.
struct Enqueue {
  std::string queue;
  int priority = 0;
  std::vector<SkillNeed> skills;
  Attributes attributes;
};
// Speak a position / wait announcement instead of the music (which the interpreter stops before
// and restarts after); played like Play, reported by ev::PromptFinished{id}.
struct Announce {
  PlaybackId id = 0;
  std::size_t position = 0;
  std::optional<Millis> expected_wait;
  Prompts prompts;  // one Tts prompt with announcementText()
};
// The caller chose to leave the queue (the app sends engine ContactLeftQueue).
struct LeaveQueue {
  enum class Reason : std::uint8_t { CallbackKey };
  Reason reason = Reason::CallbackKey;
};
// Transfer the call to `uri` (substitutions applied); report TransferCompleted / TransferFailed.
struct Transfer {
  std::string uri;
};
// Ask for a callback to `number` in `queue` (substitutions applied; `queue` is the node's or
// the last queue the call was in); report ev::CallbackResult.
struct RequestCallback {
  std::string queue;
  std::string number;
  std::optional<std::int64_t> at;  // a booked time (SlotChoice::at); nullopt: as soon as possible
};
// Ask for the next `count` free booking times of `queue`; report ev::SlotsOffered.
struct OfferSlots {
  std::string queue;
  int count = 3;
};
// Hang up the call.
struct Hangup {};
// The flow is over; always the last action, exactly once. `detail` explains an Error.
struct Ended {
  EndReason reason = EndReason::HungUp;
  std::string detail;
};

}  // namespace act

using Action =
    std::variant<act::Play, act::StopPlayback, act::StartMusicOnHold, act::StopMusicOnHold,
                 act::SetAttribute, act::Enqueue, act::Announce, act::LeaveQueue, act::Transfer,
                 act::RequestCallback, act::OfferSlots, act::Hangup, act::Ended>;

// What a run leaves for the interaction record: the IVR path and digits. Bounded: at most
// kMaxRecordEntries path steps and digits each; later ones are only counted in `dropped`.
struct PathStep {
  std::string node;
  std::string_view type;  // nodeType(): "menu", ...
  TimePoint entered{};
  // How the node was left: the menu key, the collected digits, "open"/"closed", "invalid",
  // "timeout", "failed", "answered", "callback", "exited", ... Empty while current.
  std::string result;
};
struct DigitEntry {
  char key = 0;
  TimePoint at{};
  std::string node;      // node current when the key arrived
  bool ignored = false;  // dropped: not wanted here, or type-ahead full
};
struct RunRecord {
  std::vector<PathStep> path;
  std::vector<DigitEntry> digits;
  std::size_t dropped = 0;       // path steps and digits beyond the caps
  Attributes attributes;         // final contact attributes
  std::string queue;             // last queue entered, if any
  std::optional<EndReason> end;  // set once ended
  std::string error;             // for EndReason::Error
  TimePoint started{};
  TimePoint ended{};
};

constexpr std::size_t kMaxStepsPerEvent = 100;  // node entries without waiting for the caller
constexpr std::size_t kMaxTypeAhead = 32;       // buffered keys
constexpr std::size_t kMaxRecordEntries = 512;  // per list in RunRecord
// Menu and collect timeouts shorter than this (only an unvalidated flow has them) count as this.
constexpr Millis kMinTimeout{100};

class FlowRun {
 public:
  // `flow` should have passed validateFlow (a broken one still cannot crash the run: it ends with
  // EndReason::Error). Shared so a config reload cannot pull the flow from under a live call.
  FlowRun(std::shared_ptr<const Flow> flow, CallContext context);
  ~FlowRun();
  FlowRun(const FlowRun&) = delete;
  FlowRun& operator=(const FlowRun&) = delete;
  FlowRun(FlowRun&&) noexcept;
  FlowRun& operator=(FlowRun&&) noexcept;

  // Enters the start node at `now`, appending actions to `out`. A second call does nothing.
  void start(TimePoint now, std::vector<Action>& out);
  // Applies `event` at `now` (an earlier time than the last one seen counts as that one).
  // Events before start() or after the end are ignored. Never throws on input.
  void handle(const Event& event, TimePoint now, std::vector<Action>& out);
  std::vector<Action> onEvent(const Event& event, TimePoint now);
  // The earliest time at which an ev::Tick would do something, if any.
  std::optional<TimePoint> nextDeadline() const;

  bool ended() const;
  // Name of the node the call is in; empty before start and after the end.
  const std::string& currentNode() const;
  const RunRecord& record() const;
  const Attributes& attributes() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace parley::flow
