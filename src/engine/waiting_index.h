// The waiting contacts of one queue, as the routing engine indexes them. Internal to the engine.
//
// Contacts are grouped by *class* (channel plus skill requirements, interned by the engine) and
// ordered within a class by WaitKey: higher priority, then earlier enqueue time, then arrival
// order. An agent that frees up only needs the best contact of each class it can serve, so the
// index keeps a contiguous copy of every non-empty class's head.
//
// Thread rule: none of its own; it lives inside the engine's state.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "engine/types.h"

namespace parley::engine::detail {

using ClassId = std::uint32_t;

// Order of waiting contacts: higher priority first, then earlier enqueue, then arrival order.
struct WaitKey {
  int neg_priority = 0;
  TimePoint enqueued_at{};
  std::uint64_t seq = 0;  // unique among live contacts
  ContactId id{};
  // The contact had agents to skip when indexed: only then must routing look the contact up to
  // check them (a hash lookup and a cache miss saved on the hot path). Not part of the order.
  bool may_skip = false;

  bool operator<(const WaitKey& o) const {
    if (neg_priority != o.neg_priority) return neg_priority < o.neg_priority;
    if (enqueued_at != o.enqueued_at) return enqueued_at < o.enqueued_at;
    return seq < o.seq;
  }
};

class WaitingIndex {
 public:
  struct Head {
    ClassId cls = 0;
    Channel channel{};
    WaitKey key;   // the best waiting contact of the class
    WaitKey tail;  // the last one: position() compares against it without touching the tree
  };

  // Adds a contact of class `cls` (whose channel is `channel`). The key must not be present.
  void insert(ClassId cls, Channel channel, const WaitKey& key);
  // Removes the contact with `key`'s order from class `cls`; false if it was not there.
  bool erase(ClassId cls, const WaitKey& key);
  bool contains(ClassId cls, const WaitKey& key) const;

  std::size_t size() const { return size_; }
  // One head per non-empty class, in no particular order.
  std::span<const Head> heads() const { return heads_; }
  // The ordered contacts of a class; empty for a class with none.
  const std::set<WaitKey>& contactsOf(ClassId cls) const;

  // 1-based place of `key` (present or not) among all waiting contacts of every class: one more
  // than the number of contacts ordered before it. O(classes) for a contact at the back of its
  // class, the usual case; otherwise O(contacts ahead of it in its class).
  std::size_t position(const WaitKey& key) const;
  // Earliest enqueue time of any waiting contact; O(size).
  std::optional<TimePoint> oldest() const;

  // Checks the heads against the ordered sets; empty when consistent, else what broke.
  std::string check() const;

 private:
  struct ClassSlot {
    std::set<WaitKey> waiting;
    std::int32_t head_pos = -1;  // index in heads_ while non-empty
  };
  std::vector<ClassSlot> by_class_;  // index = ClassId
  std::vector<Head> heads_;
  std::size_t size_ = 0;
};

}  // namespace parley::engine::detail
