#include "engine/waiting_index.h"

#include <gtest/gtest.h>

#include <random>

namespace parley::engine::detail {
namespace {

WaitKey key(std::uint64_t seq, double enqueued_s = 0, int priority = 0) {
  return {-priority, atSeconds(enqueued_s), seq, ContactId{seq}, false};
}

TEST(WaitingIndex, HeadIsTheBestOfEachClass) {
  WaitingIndex w;
  w.insert(0, Channel::Voice, key(1, 10));
  w.insert(0, Channel::Voice, key(2, 5));
  w.insert(3, Channel::Chat, key(3, 1));
  ASSERT_EQ(w.heads().size(), 2u);
  for (const auto& h : w.heads()) {
    if (h.cls == 0) {
      EXPECT_EQ(h.key.id, ContactId{2});
    } else {
      EXPECT_EQ(h.channel, Channel::Chat);
    }
  }
  EXPECT_TRUE(w.erase(0, key(2, 5)));
  EXPECT_FALSE(w.erase(0, key(2, 5)));
  EXPECT_EQ(w.size(), 2u);
  for (const auto& h : w.heads()) {
    if (h.cls == 0) {
      EXPECT_EQ(h.key.id, ContactId{1});
    }
  }
  EXPECT_TRUE(w.check().empty());
}

TEST(WaitingIndex, PositionCountsPriorityThenEnqueueAcrossClasses) {
  WaitingIndex w;
  w.insert(0, Channel::Voice, key(1, 0));
  w.insert(1, Channel::Voice, key(2, 1));
  w.insert(0, Channel::Voice, key(3, 2));
  w.insert(1, Channel::Voice, key(4, 3, 1));  // priority 1: ahead of everyone
  EXPECT_EQ(w.position(key(4, 3, 1)), 1u);
  EXPECT_EQ(w.position(key(1, 0)), 2u);
  EXPECT_EQ(w.position(key(2, 1)), 3u);
  EXPECT_EQ(w.position(key(3, 2)), 4u);
  EXPECT_EQ(w.position(key(9, 100)), 5u) << "a key not yet present goes after all";
  EXPECT_EQ(w.oldest(), atSeconds(0));
}

TEST(WaitingIndex, RandomInsertEraseKeepsHeadsAndPositionsRight) {
  WaitingIndex w;
  std::mt19937_64 rng(5);
  std::vector<std::pair<ClassId, WaitKey>> live;
  for (std::uint64_t seq = 1; seq < 5000; ++seq) {
    if (!live.empty() && rng() % 3 == 0) {
      std::size_t i = rng() % live.size();
      ASSERT_TRUE(w.erase(live[i].first, live[i].second));
      live[i] = live.back();
      live.pop_back();
    } else {
      auto cls = static_cast<ClassId>(rng() % 6);
      WaitKey k = key(seq, static_cast<double>(rng() % 1000), static_cast<int>(rng() % 3));
      w.insert(cls, Channel::Voice, k);
      live.emplace_back(cls, k);
    }
    if (seq % 97 == 0) {
      ASSERT_EQ(w.check(), "");
      const auto& [cls, k] = live[rng() % live.size()];
      std::size_t ahead = 0;
      for (const auto& other : live) ahead += other.second < k ? 1 : 0;
      ASSERT_EQ(w.position(k), ahead + 1);
      ASSERT_TRUE(w.contains(cls, k));
    }
  }
  EXPECT_EQ(w.size(), live.size());
}

}  // namespace
}  // namespace parley::engine::detail
