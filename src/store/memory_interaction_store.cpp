#include "store/memory_interaction_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

namespace parley::store {

namespace {

bool matches(const Interaction& in, const InteractionQuery& q) {
  if (q.since && in.arrived < *q.since) return false;
  if (q.until && in.arrived >= *q.until) return false;
  if (!q.queue.empty() && in.queue != q.queue) return false;
  if (!q.outcome.empty() && in.outcome != q.outcome) return false;
  if (!q.agent.empty() && in.agent != q.agent) return false;
  return true;
}

// Newest first: arrived descending, then id descending.
bool newerFirst(const Interaction* a, const Interaction* b) {
  return std::tie(a->arrived, a->id) > std::tie(b->arrived, b->id);
}

}  // namespace

bool MemoryInteractionStore::save(Interaction interaction) {
  std::lock_guard lock(mutex_);
  if (closed_ || (records_.size() >= max_records_ && !records_.count(interaction.id))) {
    ++stats_.dropped;
    spdlog::warn("store: memory store {}; interaction {} dropped", closed_ ? "closed" : "full",
                 interaction.id);
    return false;
  }
  std::string id = interaction.id;
  records_[std::move(id)] = std::move(interaction);
  ++stats_.written;
  return true;
}

StoreResult<InteractionPage> MemoryInteractionStore::list(const InteractionQuery& q) {
  std::lock_guard lock(mutex_);
  const Interaction* cursor = nullptr;
  if (!q.before.empty()) {
    const auto it = records_.find(q.before);
    if (it == records_.end()) {
      return StoreResult<InteractionPage>::failure("unknown cursor \"" + q.before + "\"");
    }
    cursor = &it->second;
  }
  std::vector<const Interaction*> hits;
  for (const auto& [id, in] : records_) {
    if (!matches(in, q)) continue;
    if (cursor != nullptr && !newerFirst(cursor, &in)) continue;
    hits.push_back(&in);
  }
  std::sort(hits.begin(), hits.end(), newerFirst);
  const std::size_t limit = static_cast<std::size_t>(std::clamp(q.limit, 1, kMaxListLimit));
  InteractionPage page;
  const std::size_t first = std::min(q.offset, hits.size());
  const std::size_t last = std::min(first + limit, hits.size());
  for (std::size_t i = first; i < last; ++i) page.interactions.push_back(*hits[i]);
  if (last < hits.size() && !page.interactions.empty()) page.next = page.interactions.back().id;
  return page;
}

StoreResult<std::optional<Interaction>> MemoryInteractionStore::get(const std::string& id) {
  std::lock_guard lock(mutex_);
  const auto it = records_.find(id);
  if (it == records_.end()) return std::optional<Interaction>{};
  return std::optional<Interaction>{it->second};
}

void MemoryInteractionStore::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
}

StoreStats MemoryInteractionStore::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace parley::store
