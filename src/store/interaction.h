// Interaction records: what one contact (a call today; chats and emails later) left behind, from
// arrival to end. The voice controller builds one per call and saves it when the call ends; the
// HTTP API lists them. Times are wall-clock milliseconds since the Unix epoch (UTC), so records
// outlive the process that wrote them.
//
// Thread rule: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace parley::store {

using EpochMillis = std::int64_t;

struct IvrStep {
  std::string node;
  std::string type;  // "menu", "play", "queue", ...
  EpochMillis entered = 0;
  std::string result;  // how it was left: the key, "timeout", "answered", ...
  friend bool operator==(const IvrStep&, const IvrStep&) = default;
};

struct DigitPress {
  char key = 0;
  EpochMillis at = 0;
  std::string node;
  std::string via;  // "rfc4733", "info", "inband"
  bool ignored = false;
  friend bool operator==(const DigitPress&, const DigitPress&) = default;
};

struct OfferRecord {
  std::string agent;  // extension
  EpochMillis offered_at = 0;
  EpochMillis ended_at = 0;  // answer or withdrawal
  // "answered", "rejected", "timeout", "taken-by-other", "customer-gone", "agent-logged-out",
  // "not-offered", "failed"
  std::string result;
  int sip_code = 0;  // final response of the agent's phone, if any
  friend bool operator==(const OfferRecord&, const OfferRecord&) = default;
};

struct Interaction {
  std::string id;  // unique: "call-<n>-<start ms>"
  std::string channel = "voice";
  std::string caller;  // caller's user part / number
  std::string called;  // dialled user part
  std::string entry_point;
  std::string sip_call_id;
  EpochMillis arrived = 0;
  std::vector<IvrStep> ivr_path;
  std::vector<DigitPress> digits;
  std::string queue;  // last queue entered; empty if never queued
  std::optional<EpochMillis> enqueued;
  std::vector<OfferRecord> offers;
  std::optional<EpochMillis> answered;
  std::string agent;  // who answered
  EpochMillis ended = 0;
  // "caller", "agent", "transferee" (the far end of a transfer), "system" (timeouts, flow
  // hang-up, shutdown)
  std::string ended_by;
  // "answered", "abandoned", "short-abandon", "exited", "ivr-hangup", "transferred", "failed"
  std::string outcome;
  std::string end_reason;  // detail: "rtp-timeout", "max-wait", "flow-error: ...", ...
  std::map<std::string, std::string> attributes;  // campaign=..., collected digits, ...
  std::string recording;                          // WAV path, empty if not recorded
  friend bool operator==(const Interaction&, const Interaction&) = default;
};

}  // namespace parley::store
