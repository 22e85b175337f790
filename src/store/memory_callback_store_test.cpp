#include "store/memory_callback_store.h"

#include <gtest/gtest.h>

#include "store/callback_test_support.h"

namespace parley::store {
namespace {

TEST(MemoryCallbackStore, FailWithMakesEveryCallFailUntilCleared) {
  MemoryCallbackStore store;
  ASSERT_TRUE(store.put(testing::fullCallback("cb-1", 1000)).ok());
  store.failWith("disk on fire");
  const auto put = store.put(testing::fullCallback("cb-2", 2000));
  EXPECT_FALSE(put.ok());
  EXPECT_EQ(put.error(), "disk on fire");
  EXPECT_FALSE(store.get("cb-1").ok());
  EXPECT_FALSE(store.open().ok());
  EXPECT_FALSE(store.list({}).ok());
  store.failWith(std::nullopt);
  EXPECT_TRUE(store.get("cb-1").ok());
  EXPECT_EQ(store.size(), 1u);
}

}  // namespace
}  // namespace parley::store
