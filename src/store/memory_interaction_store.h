// An InteractionStore in memory, for tests and tools: save() stores at once (nothing is queued,
// so flush() has nothing to wait for). Same ordering, filters and cursor rules as SQLite.
//
// Thread rule: any thread; one mutex guards the records.
#pragma once

#include <map>
#include <mutex>

#include "store/interaction_store.h"

namespace parley::store {

class MemoryInteractionStore final : public InteractionStore {
 public:
  // `max_records`: save() refuses beyond it (to test the caller's handling of a full store).
  explicit MemoryInteractionStore(std::size_t max_records = 1'000'000)
      : max_records_(max_records) {}

  bool save(Interaction interaction) override;
  StoreResult<InteractionPage> list(const InteractionQuery& query) override;
  StoreResult<std::optional<Interaction>> get(const std::string& id) override;
  void flush() override {}
  void close() override;
  StoreStats stats() const override;

 private:
  const std::size_t max_records_;
  mutable std::mutex mutex_;
  std::map<std::string, Interaction> records_;  // GUARDED_BY(mutex_), by id
  StoreStats stats_;                            // GUARDED_BY(mutex_)
  bool closed_ = false;                         // GUARDED_BY(mutex_)
};

}  // namespace parley::store
