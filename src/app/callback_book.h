// The callback book: every callback request from the moment it is asked for until it connects or
// gives up. Requests come from the IVR (a caller in a queue pressed the callback key, keeping
// their place), from the web widget and from the API ("call me now" or a booked time). The book
// decides whether a request is accepted, merges a second request for the same number and queue
// into the first, hands out booking slots within each queue's hours and capacity, tells the
// driver when a callback enters its routing queue, and after each dial attempt decides between
// done and a retry.
//
// A pure state machine in wall-clock time (milliseconds since the Unix epoch, as the store
// keeps them): no I/O, no clock of its own. Requests are two-phase so nothing is promised before
// it is written: decide() returns the record to write, the driver writes it (store::
// CallbackStore::put), then commit() makes it live. Every later change comes back as an
// Effect::Persist the driver writes before it acts on the effects that follow it.
//
// Thread rule: not thread-safe; one owner (the voice loop) calls everything.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "engine/types.h"
#include "flow/flow.h"
#include "flow/interpreter.h"
#include "store/callback.h"

namespace parley::app {

using store::EpochMillis;

// A queue's callback rules (config: queues[].callbacks; docs/CONFIG.md).
struct CallbackPolicy {
  bool enabled = false;
  // Dial order when a callback reaches the front of its queue: the reserved agent first (who
  // hears who it is, then the customer is dialled), or the customer first (then the agent rings).
  bool customer_first = false;
  int max_attempts = 3;                    // dial attempts before giving up, >= 1
  engine::Millis retry_after{300'000};     // gap after an unanswered attempt
  engine::Millis customer_ring{30'000};    // how long the customer's phone rings
  int priority = 0;            // routing priority of a "call me now" callback
  int scheduled_priority = 5;  // routing priority when a booked time comes
  // When callbacks are taken and booked slots may lie. Empty schedule: always open.
  std::vector<flow::OpenRange> schedule;
  std::vector<flow::Date> closed_dates;
  engine::Millis slot_length{900'000};  // booking slots, aligned to local midnight; divides 24 h
  int slot_capacity = 0;                // bookings per slot; 0: no booking ("later" is off)
  int horizon_days = 7;                 // how far ahead slots may be booked
  engine::Millis min_lead{900'000};     // the earliest bookable time is now + this
  std::size_t max_open = 10'000;        // open callbacks in the queue; beyond, requests are refused
};

struct CallbackQueue {
  std::string name;  // routing queue name
  CallbackPolicy policy;
};

// One request, as the IVR or the HTTP API ask it. `number` is already validated.
struct CallbackRequest {
  std::string queue;
  std::string number;
  std::optional<EpochMillis> at;           // a booked time; nullopt: as soon as possible
  std::optional<EpochMillis> place_since;  // keep this place in line (the caller's enqueue time)
  std::map<std::string, std::string> context;
  std::string source;  // "ivr", "web", "api"
  std::string source_address;
  std::string interaction_id;
};

enum class BookStatus : std::uint8_t {
  Created,       // a new callback
  Updated,       // merged into the open callback for the same number and queue
  UnknownQueue,  // no such queue
  Disabled,      // the queue takes no callbacks
  Closed,        // outside the queue's callback hours ("call me now" only)
  NoSlot,        // the asked time is not bookable (outside hours or horizon, slot full)
  Invalid,       // e.g. an empty number
  Full,          // too many open callbacks in the queue
};
std::string_view toString(BookStatus s);

struct BookDecision {
  BookStatus status = BookStatus::Invalid;
  std::string message;  // why, for a refusal (for people: API error text, logs)
  std::optional<store::Callback> record;  // Created / Updated: what to write, then commit()
  bool accepted() const { return record.has_value(); }
};

// What the driver must do, in order.
namespace cb {
// Write this record (before acting on the effects after it).
struct Persist {
  store::Callback record;
};
// Put the callback in its routing queue as contact `contact` (channel callback).
struct Enqueue {
  std::string callback_id;
  engine::ContactId contact{};
  std::string queue;
  std::string number;
  EpochMillis place_since = 0;  // its enqueue time: its place in line
  int priority = 0;
  engine::Millis offer_timeout_extra{0};  // customer-first: the customer's ring time
  std::map<std::string, std::string> context;
};
// Take the waiting contact out of its queue (the callback was cancelled or moved to later).
struct Withdraw {
  engine::ContactId contact{};
};
}  // namespace cb
using CallbackEffect = std::variant<cb::Persist, cb::Enqueue, cb::Withdraw>;

// How an attempt ended, from the customer leg's point of view.
struct AttemptEnd {
  // "connected", "no-answer", "busy", "rejected", "failed", "agent-missed", "cancelled"
  std::string result;
  int sip_code = 0;
  std::string interaction_id;
};

struct SlotInfo {
  EpochMillis start = 0;
  EpochMillis end = 0;
  int free = 0;
};

struct CallbackAvailability {
  bool enabled = false;
  bool open = false;  // "call me now" is taken
  std::vector<SlotInfo> slots;
};

// How a booking time sounds to a caller, both in local time: "today at 3 PM", "tomorrow at
// 9:15 AM", "Monday at 10 AM" (within the coming week), else "December 3 at 10 AM".
std::string spokenTime(const flow::LocalDateTime& at, const flow::Date& today);

class CallbackBook {
 public:
  // The local wall time of an instant, for hours and slot alignment.
  using LocalTimeOf = std::function<flow::LocalDateTime(EpochMillis)>;
  // Contact ids of callbacks: kContactBase + n, so they never meet the voice controller's.
  static constexpr std::uint64_t kContactBase = std::uint64_t{1} << 62;

  CallbackBook(std::vector<CallbackQueue> queues, LocalTimeOf local_of);

  // Checks `request` and returns the record to write (new, or the open one for the same number
  // and queue, merged) or why it is refused. Changes nothing.
  BookDecision decide(const CallbackRequest& request, EpochMillis now);
  // Makes a record decide() returned (and the driver wrote) live.
  void commit(store::Callback record, EpochMillis now, std::vector<CallbackEffect>& out);

  // Start-up: takes the open callbacks the store kept. One that was dialling when the process
  // stopped has that attempt recorded as "interrupted" (it may have rung; it did not connect,
  // since a connected callback is written done before it is bridged) and waits again.
  void restore(std::vector<store::Callback> open, EpochMillis now,
               std::vector<CallbackEffect>& out);

  // Scheduled callbacks whose time has come enter their queues.
  void tick(EpochMillis now, std::vector<CallbackEffect>& out);
  std::optional<EpochMillis> nextDue() const;

  // The engine's contact `contact` reached an agent and the customer is about to be dialled:
  // the attempt is written first, so a restart knows a call may have been placed.
  void attemptStarted(engine::ContactId contact, const std::string& agent, EpochMillis now,
                      std::vector<CallbackEffect>& out);
  // The attempt ended. Connected: done. Otherwise a retry after the policy's gap, or done
  // ("failed") when the attempts are used up; "cancelled" ends it.
  void attemptEnded(engine::ContactId contact, const AttemptEnd& end, EpochMillis now,
                    std::vector<CallbackEffect>& out);
  // The routing engine ended the contact before any attempt (its queue was full): treated as an
  // unanswered attempt, so it cannot loop for ever.
  void contactLost(engine::ContactId contact, const std::string& why, EpochMillis now,
                   std::vector<CallbackEffect>& out);
  // Cancels an open callback (a supervisor, or the customer). False if there is none open.
  bool cancel(const std::string& id, EpochMillis now, std::vector<CallbackEffect>& out);

  // Whether the queue takes callbacks now and its next free booking slots (at most `max_slots`).
  std::optional<CallbackAvailability> availability(std::string_view queue, EpochMillis now,
                                                   std::size_t max_slots = 12) const;

  const store::Callback* find(const std::string& id) const;
  const store::Callback* byContact(engine::ContactId contact) const;
  const CallbackPolicy* policy(std::string_view queue) const;
  std::size_t openCount() const { return open_.size(); }

  // Checks the indexes against the records (for tests); empty when all hold.
  std::string checkInvariants() const;

 private:
  struct QueueRec {
    CallbackQueue config;
    flow::HoursNode hours;  // schedule and closed dates of the policy (the node names are unused)
    std::size_t open = 0;   // open callbacks
  };
  using SlotKey = std::pair<std::size_t, EpochMillis>;  // queue index, slot start

  const QueueRec* queueRec(std::string_view name, std::size_t* index = nullptr) const;
  bool isOpenAt(const QueueRec& q, EpochMillis t) const;
  EpochMillis slotStart(const QueueRec& q, EpochMillis t) const;
  int slotFree(const QueueRec& q, std::size_t qi, EpochMillis slot,
               const store::Callback* excluding) const;
  // Why `at` cannot be booked in `q`, or empty if it can.
  std::string bookingProblem(const QueueRec& q, std::size_t qi, EpochMillis at, EpochMillis now,
                             const store::Callback* excluding) const;
  std::string newId(EpochMillis now);

  // Index maintenance: every change to an open record goes through put().
  void put(store::Callback record, std::vector<CallbackEffect>& out);
  void unindex(const store::Callback& r);
  void index(const store::Callback& r);
  void enqueue(store::Callback& r, std::vector<CallbackEffect>& out);
  void withdraw(const std::string& id, std::vector<CallbackEffect>& out);
  void retryOrGiveUp(store::Callback& r, EpochMillis now);

  std::vector<QueueRec> queues_;
  LocalTimeOf local_of_;
  std::map<std::string, store::Callback> open_;                   // by id
  std::map<std::pair<std::string, std::string>, std::string> by_number_;  // (queue, number) -> id
  std::set<std::pair<EpochMillis, std::string>> due_;             // scheduled: (due_at, id)
  std::map<SlotKey, int> booked_;                                 // bookings per slot
  std::map<engine::ContactId, std::string> contact_to_id_;        // live engine contacts
  std::map<std::string, engine::ContactId> id_to_contact_;
  std::uint64_t next_contact_ = 1;
  std::uint64_t next_id_ = 1;
};

}  // namespace parley::app
