// Callback requests: a customer asked to be called back (from the IVR, the web widget or the
// API), now or at a chosen time. A callback lives from the request until it connects or gives
// up; every dial attempt is kept. Unlike interaction records, callbacks are written *before*
// anyone is told they exist, so a restart (kill -9 included) loses none and calls nobody twice:
// CallbackStore::put() returns only once the row is committed.
//
// Times are wall-clock milliseconds since the Unix epoch (UTC), as in interaction.h.
//
// Thread rule: plain values; CallbackStore implementations are thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/interaction.h"
#include "store/interaction_store.h"  // StoreResult

namespace parley::store {

// One dial attempt of a callback (agent-first: the agent's phone rang first; the customer leg
// is what `result` describes).
struct CallbackAttempt {
  EpochMillis started = 0;
  EpochMillis ended = 0;  // 0 while the attempt is running
  std::string agent;      // extension of the reserved agent, if any
  // "connected", "no-answer", "busy", "rejected", "failed", "agent-missed", "interrupted"
  // (the process stopped during the attempt), "cancelled"
  std::string result;
  int sip_code = 0;  // the customer leg's final response, if any
  std::string interaction_id;  // the interaction record of this attempt's call, if any
  friend bool operator==(const CallbackAttempt&, const CallbackAttempt&) = default;
};

struct Callback {
  std::string id;      // unique: "cb-<n>-<requested ms>"
  std::string queue;   // routing queue name
  std::string number;  // normalised dialable number ("+4930123456" or a dial-plan match)
  // "waiting": in its queue now (keeps `place_since` as its place in line);
  // "scheduled": enters its queue at `due_at` (a booked time or a retry);
  // "dialing": an attempt is running; "done": finished, see `outcome`.
  std::string state = "waiting";
  // When done: "connected", "failed" (attempts used up), "cancelled", "expired" (could not be
  // served before its queue closed), "interrupted" (connected when the process stopped).
  std::string outcome;
  EpochMillis requested_at = 0;
  // The enqueue time that orders it in its queue: the original call's, so a caller who asked
  // for a callback keeps their place. For a booked time, the booked time.
  EpochMillis place_since = 0;
  std::optional<EpochMillis> scheduled_for;  // a booked time ("call me later")
  EpochMillis due_at = 0;                    // state "scheduled": when it enters the queue
  int priority = 0;
  int attempts = 0;  // attempts started
  std::string source;          // "ivr", "web", "api"
  std::string source_address;  // the client IP of a web request; empty for the IVR
  std::string interaction_id;  // the call that asked (IVR), if any
  // Page URL, campaign, customer id, ... travels with the contact to the agent.
  std::map<std::string, std::string> context;
  std::vector<CallbackAttempt> attempt_log;
  EpochMillis updated_at = 0;
  friend bool operator==(const Callback&, const Callback&) = default;
};

struct CallbackQuery {
  std::string queue;  // empty: any
  std::string state;  // empty: any
  int limit = kDefaultListLimit;  // clamped to 1..kMaxListLimit
};

class CallbackStore {
 public:
  virtual ~CallbackStore() = default;
  // Inserts or replaces (by id) and returns once committed (SQLite: the transaction is in the
  // WAL, which survives the process being killed). An error names what failed.
  virtual StoreResult<bool> put(const Callback& callback) = 0;
  // Every callback whose state is not "done", oldest request first (for start-up).
  virtual StoreResult<std::vector<Callback>> open() = 0;
  virtual StoreResult<std::optional<Callback>> get(const std::string& id) = 0;
  // Newest request first.
  virtual StoreResult<std::vector<Callback>> list(const CallbackQuery& query) = 0;
};

}  // namespace parley::store
