// A CallbackStore in memory, for tests and tools: put() stores at once. Same ordering and
// filters as SqliteCallbackStore. failWith() makes every call fail (to test callers' handling
// of a broken store).
//
// Thread rule: any thread; one mutex guards the records.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "store/callback.h"

namespace parley::store {

class MemoryCallbackStore final : public CallbackStore {
 public:
  StoreResult<bool> put(const Callback& callback) override;
  StoreResult<std::vector<Callback>> open() override;
  StoreResult<std::optional<Callback>> get(const std::string& id) override;
  StoreResult<std::vector<Callback>> list(const CallbackQuery& query) override;

  // From now on every call fails with `error`; nullopt: works again.
  void failWith(std::optional<std::string> error);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Callback> records_;  // GUARDED_BY(mutex_), by id
  std::optional<std::string> failure_;       // GUARDED_BY(mutex_)
};

}  // namespace parley::store
