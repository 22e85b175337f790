// Where interaction records go: an append-mostly log of finished contacts, listed newest first
// by the HTTP API. Two implementations: SqliteInteractionStore (sqlite_interaction_store.h) for
// the server and MemoryInteractionStore (memory_interaction_store.h) for tests.
//
// Thread rule: every function may be called from any thread. save() never blocks on I/O: it
// queues the record and returns, so it is safe on an event loop (the voice controller's). A
// queued record becomes visible to list()/get() once written; flush() waits for that.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/interaction.h"

namespace parley::store {

constexpr int kDefaultListLimit = 100;
constexpr int kMaxListLimit = 1000;

// Filters for list(). Unset / empty fields do not filter. Results are ordered newest first:
// by `arrived` descending, then `id` descending (so the order is total and paging is stable).
struct InteractionQuery {
  std::optional<EpochMillis> since;  // arrived >= since
  std::optional<EpochMillis> until;  // arrived < until
  std::string queue;
  std::string outcome;
  std::string agent;              // the agent who answered
  int limit = kDefaultListLimit;  // clamped to 1..kMaxListLimit
  // Cursor: only records that come after the record with this id in the order above (the
  // `next` of the previous page). A cursor naming no record is an error.
  std::string before;
  std::size_t offset = 0;  // skip this many after the filters and the cursor
};

struct InteractionPage {
  std::vector<Interaction> interactions;
  // The cursor for the following page (the last id of this one) if more records match.
  std::optional<std::string> next;
};

// A value or an error message (what failed; for the SQLite store it names the database path).
template <typename T>
class [[nodiscard]] StoreResult {
 public:
  StoreResult(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  static StoreResult failure(std::string error) {
    StoreResult r;
    r.error_ = std::move(error);
    return r;
  }
  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const std::string& error() const { return error_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  StoreResult() = default;
  std::optional<T> value_;
  std::string error_;
};

struct StoreStats {
  std::size_t queued = 0;   // accepted by save(), not yet written
  std::size_t written = 0;  // written since open
  std::size_t dropped = 0;  // refused by save() (queue full or store closed)
  std::size_t failed = 0;   // accepted but could not be written (I/O errors)
};

class InteractionStore {
 public:
  virtual ~InteractionStore() = default;

  // Queues `interaction` for writing and returns at once. A record with the id of an existing
  // one replaces it. False (and a log line) if the queue is full or the store is closed; the
  // record is then lost and the caller should count it.
  virtual bool save(Interaction interaction) = 0;

  virtual StoreResult<InteractionPage> list(const InteractionQuery& query) = 0;

  // The record with `id`; nullopt if there is none (yet).
  virtual StoreResult<std::optional<Interaction>> get(const std::string& id) = 0;

  // Blocks until everything save() accepted before this call is written (or failed).
  virtual void flush() = 0;

  // Writes everything queued, then refuses further saves. Idempotent; the destructor calls it.
  // list() and get() keep working on a closed MemoryInteractionStore but not on SQLite.
  virtual void close() = 0;

  virtual StoreStats stats() const = 0;
};

}  // namespace parley::store
