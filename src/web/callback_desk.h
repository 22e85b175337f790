// What the HTTP API asks of the callback service (the voice loop owns callbacks; the app's
// adapter marshals these calls there and waits a bounded time). Number validation and rate
// limits happen in the API before a request reaches the desk (web/dial_guard.h).
//
// Thread rule: implementations are called from the HTTP io thread and must be thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/callback.h"

namespace parley::web {

struct CallbackAsk {
  std::string queue;
  std::string number;  // already validated and normalised by the DialGuard
  std::optional<store::EpochMillis> at;  // "call me later" at this time; nullopt: now
  std::map<std::string, std::string> context;  // page_url, campaign, customer_id, ...
  std::string source = "web";
  std::string client_address;
};

struct CallbackAnswer {
  enum class Status : std::uint8_t {
    Created,      // a new callback (201)
    Updated,      // merged into the open callback for the same number and queue (200)
    UnknownQueue, // 404
    Invalid,      // 400: e.g. a time in the past or not on a slot boundary; `message` says
    Closed,       // 409: the queue takes no callbacks now (closed, or callbacks off)
    NoSlot,       // 409: the asked time is outside business hours or its slot is full
    Unavailable,  // 503: the service did not answer in time or the store failed
  };
  Status status = Status::Unavailable;
  std::string id;
  std::optional<store::EpochMillis> scheduled_for;
  std::string message;
};

struct Slot {
  store::EpochMillis start = 0;
  store::EpochMillis end = 0;
  int free = 0;  // bookings left in this slot
};

struct QueueAvailability {
  std::string queue;
  bool open = false;            // inside its callback/business hours now
  std::optional<int> estimated_wait_s;  // nullopt: not enough data to say
  int waiting = 0;              // contacts waiting now
  bool callback_now = false;    // "call me now" offered (open and accepting)
  bool callback_later = false;  // "schedule a call" offered (free slots exist)
  bool chat = false;            // web chat (not built yet: always false)
  std::vector<Slot> slots;      // the next free slots, soonest first
};

class CallbackDesk {
 public:
  virtual ~CallbackDesk() = default;
  virtual CallbackAnswer request(const CallbackAsk& ask) = 0;
  // nullopt: no such queue.
  virtual std::optional<QueueAvailability> availability(std::string_view queue) = 0;
  // Cancels an open callback; false if there is none with that id (or it is done).
  virtual bool cancel(const std::string& id) = 0;
};

}  // namespace parley::web
