#include "store/memory_callback_store.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace parley::store {

namespace {

bool olderFirst(const Callback* a, const Callback* b) {
  return std::tie(a->requested_at, a->id) < std::tie(b->requested_at, b->id);
}

}  // namespace

StoreResult<bool> MemoryCallbackStore::put(const Callback& callback) {
  std::lock_guard lock(mutex_);
  if (failure_) return StoreResult<bool>::failure(*failure_);
  records_[callback.id] = callback;
  return true;
}

StoreResult<std::vector<Callback>> MemoryCallbackStore::open() {
  std::lock_guard lock(mutex_);
  if (failure_) return StoreResult<std::vector<Callback>>::failure(*failure_);
  std::vector<const Callback*> hits;
  for (const auto& [id, cb] : records_) {
    if (cb.state != "done") hits.push_back(&cb);
  }
  std::sort(hits.begin(), hits.end(), olderFirst);
  std::vector<Callback> out;
  for (const Callback* cb : hits) out.push_back(*cb);
  return out;
}

StoreResult<std::optional<Callback>> MemoryCallbackStore::get(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (failure_) return StoreResult<std::optional<Callback>>::failure(*failure_);
  const auto it = records_.find(id);
  if (it == records_.end()) return std::optional<Callback>{};
  return std::optional<Callback>{it->second};
}

StoreResult<std::vector<Callback>> MemoryCallbackStore::list(const CallbackQuery& q) {
  std::lock_guard lock(mutex_);
  if (failure_) return StoreResult<std::vector<Callback>>::failure(*failure_);
  std::vector<const Callback*> hits;
  for (const auto& [id, cb] : records_) {
    if (!q.queue.empty() && cb.queue != q.queue) continue;
    if (!q.state.empty() && cb.state != q.state) continue;
    hits.push_back(&cb);
  }
  std::sort(hits.begin(), hits.end(), [](const Callback* a, const Callback* b) {
    return olderFirst(b, a);  // newest first
  });
  const auto limit = static_cast<std::size_t>(std::clamp(q.limit, 1, kMaxListLimit));
  std::vector<Callback> out;
  for (std::size_t i = 0; i < hits.size() && i < limit; ++i) out.push_back(*hits[i]);
  return out;
}

void MemoryCallbackStore::failWith(std::optional<std::string> error) {
  std::lock_guard lock(mutex_);
  failure_ = std::move(error);
}

std::size_t MemoryCallbackStore::size() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

}  // namespace parley::store
