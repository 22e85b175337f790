// IVR flow definitions: what a call hears and where its digits lead, as plain data.
//
// The YAML config loader (src/app/config.*) parses each flow into these structs; validateFlow()
// then checks references and fields, and the interpreter (flow/interpreter.h) runs one copy per
// call. docs/FLOWS.md spells every node and field as the config file writes them (snake_case
// keys); the comments here name those keys in [brackets].
//
// Pure value types: no I/O, no clock. Safe to share read-only between threads once built.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/types.h"

namespace parley::flow {

using Millis = engine::Millis;

// One thing to play. A File is a WAV path (the media layer resolves relative paths and converts
// to 8 kHz); Tts is text that the media layer renders with espeak-ng (and caches). Text may hold
// ${...} substitutions (see substitute() in flow/interpreter.h), resolved when it is played.
struct Prompt {
  enum class Kind : std::uint8_t { File, Tts };
  Kind kind = Kind::Tts;
  std::string value;  // [file: path] or [say: text]
  friend bool operator==(const Prompt&, const Prompt&) = default;
};
std::string_view toString(Prompt::Kind k);

using Prompts = std::vector<Prompt>;

// DTMF keys a caller can press: 0-9, *, #, A-D.
bool isDtmfKey(char c);

// [play] Plays `prompts` in order, then goes to `next`.
struct PlayNode {
  Prompts prompts;        // [prompts] at least one
  bool barge_in = false;  // [barge_in] a key press stops the prompts and goes on to `next`;
                          // the key is kept as type-ahead for the next menu or collect
  std::string next;       // [next] required
};

// [menu] Plays `prompt` and waits for one key from `options`.
// An attempt fails on a key not in `options` (invalid) or on no key within `timeout` after the
// prompt ended. Each failure plays invalid_prompt / timeout_prompt (if set); after `retries`
// failed re-tries (1 + retries attempts in all) the call goes to `on_failure`, else the menu
// plays its prompt again.
struct MenuNode {
  Prompts prompt;                       // [prompt] may be empty (then the timeout starts at once)
  std::map<char, std::string> options;  // [options] key -> node; at least one
  Millis timeout{5'000};                // [timeout] > 0
  int retries = 2;                      // [retries] >= 0
  Prompts invalid_prompt;               // [invalid_prompt] optional
  Prompts timeout_prompt;               // [timeout_prompt] optional
  std::string on_failure;               // [on_failure] optional: empty hangs up
  bool barge_in = true;                 // [barge_in] a key press stops the prompt
};

// [collect] Plays `prompt` and collects digits 0-9 into contact attribute `attribute`.
// Entry ends when `max_digits` are in, when `terminator` is pressed (not stored), or when
// `inter_digit_timeout` passes after a digit. It is valid with min_digits..max_digits digits;
// fewer is an invalid attempt; no digit within `timeout` after the prompt is a timed-out
// attempt. Any other key (*, A-D, or # when it is not the terminator) is an invalid attempt.
// Failures and retries work as for menu.
struct CollectNode {
  Prompts prompt;                        // [prompt] optional
  std::string attribute;                 // [attribute] required, e.g. "account"
  int min_digits = 1;                    // [min_digits] >= 0 (0: terminator alone is valid)
  int max_digits = 20;                   // [max_digits] 1..kMaxCollectDigits, >= min_digits
  std::optional<char> terminator = '#';  // [terminator] a DTMF key, or none ([terminator: none])
  Millis timeout{5'000};                 // [timeout] first digit, > 0
  Millis inter_digit_timeout{3'000};     // [inter_digit_timeout] > 0
  int retries = 2;                       // [retries] >= 0
  Prompts invalid_prompt;                // [invalid_prompt] optional
  Prompts timeout_prompt;                // [timeout_prompt] optional
  std::string next;                      // [next] required
  std::string on_failure;                // [on_failure] optional: empty hangs up
  bool barge_in = true;                  // [barge_in] the first digit stops the prompt
};
constexpr int kMaxCollectDigits = 64;

// [set] Sets contact attributes, in order, then goes to `next`. Values may use ${called},
// ${caller} and ${<attribute>}; a later assignment sees earlier ones.
struct Assignment {
  std::string attribute;  // map key, e.g. campaign
  std::string value;      // map value, e.g. fluggerbot or "${called}"
};
struct SetNode {
  std::vector<Assignment> assignments;  // [values] {campaign: fluggerbot, ...}; at least one
  std::string next;                     // [next] required
};

// Calendar pieces for business hours, in the call's local wall time (the driver converts time
// zones; see CallContext in flow/interpreter.h).
enum class Weekday : std::uint8_t { Mon, Tue, Wed, Thu, Fri, Sat, Sun };
std::string_view toString(Weekday d);
// Parses "mon".."sun" (also full names "monday", any case); nullopt if unknown.
std::optional<Weekday> parseWeekday(std::string_view text);

struct Date {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  friend bool operator==(const Date&, const Date&) = default;
  friend auto operator<=>(const Date&, const Date&) = default;
};
// Parses "YYYY-MM-DD" (a real calendar date); nullopt otherwise.
std::optional<Date> parseDate(std::string_view text);
// Parses "HH:MM" (00:00..24:00) into minutes since midnight; nullopt otherwise.
std::optional<int> parseTimeOfDay(std::string_view text);

// Open on `days` from `from_minute` (inclusive) to `to_minute` (exclusive), minutes since local
// midnight, 0 <= from < to <= 1440. An overnight opening is two ranges.
struct OpenRange {
  std::array<bool, 7> days{};  // [days] [mon, tue, ...] indexed by Weekday
  int from_minute = 0;         // [from] "08:00"
  int to_minute = 0;           // [to] "17:30"; "24:00" is end of day
};

// [hours] Goes to `open` when the call's local time is inside any range of `schedule` and its
// date is not in `closed_dates`, else to `closed`.
struct HoursNode {
  std::vector<OpenRange> schedule;  // [schedule] at least one
  std::vector<Date> closed_dates;   // [closed_dates] optional ["2025-12-25", ...]
  std::string open;                 // [open] required
  std::string closed;               // [closed] required
};

// [queue] Enqueues the call and keeps it company while it waits: music on hold, periodic
// position / wait announcements, and an optional key that leaves the queue (callback offer).
// The flow stays here until an agent answers (the flow ends), the caller leaves by the key
// (-> on_callback), or the engine exits the contact (max wait / queue full -> on_exit).
struct SkillNeed {
  std::string skill;  // skill name as in the routing config
  int min_level = 1;  // 1..5
};
struct QueueNode {
  std::string queue;                 // [name] routing queue name, required
  int priority = 0;                  // [priority] higher is served first
  std::vector<SkillNeed> skills;     // [skills] {english: 3, billing: 1}
  std::string music;                 // [music] WAV path; empty: the media layer's tone pattern
  Millis announce_every{0};          // [announce_every] 0 (absent): no announcements
  bool announce_position = true;     // [announce_position]
  bool announce_wait = true;         // [announce_wait] expected wait, when the app knows it
  std::optional<char> callback_key;  // [callback_key] e.g. "*"; set together with on_callback
  std::string on_callback;           // [on_callback] node after the caller pressed the key
  std::string on_exit;               // [on_exit] optional: empty hangs up
  // [offer_callback_over] When the expected wait exceeds this, the caller hears the callback
  // offer once (needs callback_key): `callback_offer_prompt`, or by default "To keep your place
  // in line and have us call you back, press star."
  std::optional<Millis> offer_callback_over;
  Prompts callback_offer_prompt;  // [callback_offer_prompt] optional
};

// [transfer] Hands the call to a SIP URI (which may use ${...}). If the driver reports that the
// transfer failed, the call goes to `on_failure` (empty: hang up).
struct TransferNode {
  std::string uri;         // [uri] "sip:..." or "sips:...", required
  std::string on_failure;  // [on_failure] optional
};

// [callback] Asks for a callback to `number` in `queue` (the caller may then hang up). If the
// call waited in that queue, the callback keeps the caller's place in line. Goes to `next` when
// the callback is taken (attribute callback_id is set), to `on_failure` when it is refused
// (callbacks off or closed, too many waiting; attribute callback_error says why).
struct CallbackNode {
  std::string queue;                 // [queue] optional: empty is the last queue the call was in
  std::string number = "${caller}";  // [number] may use ${...}; digits, optionally a leading +
  std::string next;                  // [next] required
  std::string on_failure;            // [on_failure] optional: empty hangs up
};

// [schedule_callback] Offers the next free booking slots of `queue` ("For today at 3 PM, press
// 1. For tomorrow at 9 AM, press 2.") and books the one the caller picks: a callback to `number`
// at that time. Goes to `next` once booked (attributes callback_id and callback_time set), to
// `on_failure` when there is no free slot, no valid choice after the retries, or the booking is
// refused (attribute callback_error says why).
struct ScheduleCallbackNode {
  std::string queue;                 // [queue] optional: empty is the last queue the call was in
  std::string number = "${caller}";  // [number] may use ${...}
  int slots = 3;                     // [slots] how many times to offer, 1..9
  Prompts prompt;                    // [prompt] optional, before the choices
  Millis timeout{5'000};             // [timeout] for the key after the choices, > 0
  int retries = 1;                   // [retries] >= 0
  std::string next;                  // [next] required
  std::string on_failure;            // [on_failure] optional: empty hangs up
};

// [hangup] Ends the call.
struct HangupNode {};

using Node = std::variant<PlayNode, MenuNode, CollectNode, SetNode, HoursNode, QueueNode,
                          TransferNode, CallbackNode, ScheduleCallbackNode, HangupNode>;
// The config key of a node's type: "play", "menu", ...
std::string_view nodeType(const Node& node);

// A flow: `start` and the nodes by name ([flows: {<name>: {start: ..., nodes: {<node>: ...}}}]).
struct Flow {
  std::string name;
  std::string start;
  std::map<std::string, Node> nodes;
};

// One problem found by validateFlow. `node` is empty for flow-level fields (start); `field` is
// the config key path below the node's type, e.g. "options.1", "next", "schedule[0].from".
struct FlowIssue {
  enum class Severity : std::uint8_t { Error, Warning };
  Severity severity = Severity::Error;
  std::string node;
  std::string field;
  std::string message;
};

// Checks every node reference (start, next, options, open/closed, on_*), required fields and
// ranges. Errors make the flow unusable; warnings (an unreachable node) do not. Never throws.
std::vector<FlowIssue> validateFlow(const Flow& flow);
// True if `issues` holds at least one Error.
bool hasErrors(const std::vector<FlowIssue>& issues);

}  // namespace parley::flow
