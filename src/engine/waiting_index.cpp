#include "engine/waiting_index.h"

#include <iterator>
#include <sstream>

namespace parley::engine::detail {

namespace {
const std::set<WaitKey> kNone;
}  // namespace

void WaitingIndex::insert(ClassId cls, Channel channel, const WaitKey& key) {
  if (by_class_.size() <= cls) by_class_.resize(cls + 1);
  ClassSlot& slot = by_class_[cls];
  slot.waiting.insert(key);
  ++size_;
  if (slot.head_pos < 0) {
    slot.head_pos = static_cast<std::int32_t>(heads_.size());
    heads_.push_back({cls, channel, key, key});
    return;
  }
  Head& h = heads_[static_cast<std::size_t>(slot.head_pos)];
  if (key < h.key) h.key = key;
  if (h.tail < key) h.tail = key;
}

bool WaitingIndex::erase(ClassId cls, const WaitKey& key) {
  if (by_class_.size() <= cls) return false;
  ClassSlot& slot = by_class_[cls];
  auto it = slot.waiting.find(key);
  if (it == slot.waiting.end()) return false;
  const bool was_head = it == slot.waiting.begin();
  const bool was_tail = std::next(it) == slot.waiting.end();
  slot.waiting.erase(it);
  --size_;
  auto pos = static_cast<std::size_t>(slot.head_pos);
  if (slot.waiting.empty()) {
    heads_[pos] = heads_.back();
    by_class_[heads_[pos].cls].head_pos = static_cast<std::int32_t>(pos);
    heads_.pop_back();
    slot.head_pos = -1;
  } else {
    if (was_head) heads_[pos].key = *slot.waiting.begin();
    if (was_tail) heads_[pos].tail = *slot.waiting.rbegin();
  }
  return true;
}

bool WaitingIndex::contains(ClassId cls, const WaitKey& key) const {
  return by_class_.size() > cls && by_class_[cls].waiting.count(key) == 1;
}

const std::set<WaitKey>& WaitingIndex::contactsOf(ClassId cls) const {
  return by_class_.size() > cls ? by_class_[cls].waiting : kNone;
}

std::size_t WaitingIndex::position(const WaitKey& key) const {
  std::size_t ahead = 0;
  for (const Head& h : heads_) {
    const std::set<WaitKey>& set = by_class_[h.cls].waiting;
    // Fast paths for a contact at the back of its class: counting by walking the ordered set
    // costs one cache miss per node ahead.
    const WaitKey& last = h.tail;
    if (last < key) {
      ahead += set.size();
      continue;
    }
    if (!(key < last)) {  // `key` is this class's last contact
      ahead += set.size() - 1;
      continue;
    }
    for (const WaitKey& k : set) {
      if (!(k < key)) break;
      ++ahead;
    }
  }
  return ahead + 1;
}

std::optional<TimePoint> WaitingIndex::oldest() const {
  std::optional<TimePoint> oldest;
  for (const Head& h : heads_) {
    for (const WaitKey& k : by_class_[h.cls].waiting) {
      if (!oldest || k.enqueued_at < *oldest) oldest = k.enqueued_at;
    }
  }
  return oldest;
}

std::string WaitingIndex::check() const {
  std::ostringstream err;
  std::size_t non_empty = 0;
  std::size_t total = 0;
  for (std::size_t cls = 0; cls < by_class_.size(); ++cls) {
    const ClassSlot& slot = by_class_[cls];
    total += slot.waiting.size();
    if (slot.waiting.empty()) {
      if (slot.head_pos != -1) err << "head kept for empty class " << cls << "\n";
      continue;
    }
    ++non_empty;
    auto pos = static_cast<std::size_t>(slot.head_pos);
    const WaitKey& first = *slot.waiting.begin();
    if (slot.head_pos < 0 || pos >= heads_.size() || heads_[pos].cls != cls ||
        heads_[pos].key.id != first.id || heads_[pos].key.may_skip != first.may_skip ||
        heads_[pos].tail.id != slot.waiting.rbegin()->id) {
      err << "head of class " << cls << " out of date\n";
    }
  }
  if (non_empty != heads_.size()) err << "head count wrong\n";
  if (total != size_) err << "size wrong\n";
  return err.str();
}

}  // namespace parley::engine::detail
