// The CallbackStore contract, run against both implementations.
#include "store/callback.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <thread>

#include "store/callback_test_support.h"
#include "store/memory_callback_store.h"
#include "store/sqlite_callback_store.h"
#include "store/test_support.h"

namespace parley::store {
namespace {

struct CallbackBackend {
  std::string name;
  std::function<std::unique_ptr<CallbackStore>(const testing::TempDir&)> make;
};

class CallbackStoreContract : public ::testing::TestWithParam<CallbackBackend> {
 protected:
  void SetUp() override {
    store_ = GetParam().make(dir_);
    ASSERT_NE(store_, nullptr);
  }
  static Callback record(const std::string& id, EpochMillis requested_at, const std::string& queue,
                         const std::string& state) {
    Callback cb;
    cb.id = id;
    cb.requested_at = requested_at;
    cb.queue = queue;
    cb.state = state;
    cb.number = "+4930123456";
    return cb;
  }
  static std::vector<std::string> ids(const StoreResult<std::vector<Callback>>& result) {
    EXPECT_TRUE(result.ok()) << result.error();
    std::vector<std::string> out;
    if (result.ok()) {
      for (const Callback& cb : result.value()) out.push_back(cb.id);
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<CallbackStore> store_;
};

TEST_P(CallbackStoreContract, PutThenGetReturnsTheSameRecord) {
  const Callback cb = testing::fullCallback("cb-1-1000", 1000);
  const auto put = store_->put(cb);
  ASSERT_TRUE(put.ok()) << put.error();
  const auto got = store_->get("cb-1-1000");
  ASSERT_TRUE(got.ok()) << got.error();
  ASSERT_TRUE(got.value());
  EXPECT_EQ(*got.value(), cb);
  const auto missing = store_->get("cb-9");
  ASSERT_TRUE(missing.ok()) << missing.error();
  EXPECT_FALSE(missing.value());
}

TEST_P(CallbackStoreContract, PutWithTheSameIdReplaces) {
  Callback cb = testing::fullCallback("cb-1", 1000);
  ASSERT_TRUE(store_->put(cb).ok());
  cb.state = "done";
  cb.outcome = "connected";
  cb.attempt_log.push_back({5000, 9000, "1003", "connected", 200, "call-9"});
  ASSERT_TRUE(store_->put(cb).ok());
  const auto got = store_->get("cb-1");
  ASSERT_TRUE(got.ok() && got.value());
  EXPECT_EQ(*got.value(), cb);
  EXPECT_EQ(ids(store_->list({})), std::vector<std::string>{"cb-1"});
}

TEST_P(CallbackStoreContract, OpenListsEveryNotDoneCallbackOldestFirst) {
  ASSERT_TRUE(store_->put(record("c", 3000, "sales", "scheduled")).ok());
  ASSERT_TRUE(store_->put(record("a", 1000, "sales", "waiting")).ok());
  ASSERT_TRUE(store_->put(record("d", 500, "support", "done")).ok());
  ASSERT_TRUE(store_->put(record("b", 2000, "support", "dialing")).ok());
  ASSERT_TRUE(store_->put(record("b2", 2000, "support", "waiting")).ok());
  EXPECT_EQ(ids(store_->open()), (std::vector<std::string>{"a", "b", "b2", "c"}));
}

TEST_P(CallbackStoreContract, ListFiltersByQueueAndStateNewestFirstWithinTheLimit) {
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(store_
                    ->put(record("cb-" + std::to_string(i), 1000 + i,
                                 i % 2 == 0 ? "sales" : "support", i < 3 ? "done" : "waiting"))
                    .ok());
  }
  EXPECT_EQ(ids(store_->list({})),
            (std::vector<std::string>{"cb-5", "cb-4", "cb-3", "cb-2", "cb-1", "cb-0"}));
  EXPECT_EQ(ids(store_->list({.queue = "sales"})),
            (std::vector<std::string>{"cb-4", "cb-2", "cb-0"}));
  EXPECT_EQ(ids(store_->list({.state = "done"})),
            (std::vector<std::string>{"cb-2", "cb-1", "cb-0"}));
  EXPECT_EQ(ids(store_->list({.queue = "support", .state = "waiting"})),
            (std::vector<std::string>{"cb-5", "cb-3"}));
  EXPECT_EQ(ids(store_->list({.limit = 2})), (std::vector<std::string>{"cb-5", "cb-4"}));
  EXPECT_EQ(ids(store_->list({.limit = 0})), std::vector<std::string>{"cb-5"});  // clamped to 1
  EXPECT_TRUE(ids(store_->list({.queue = "nobody"})).empty());
}

TEST_P(CallbackStoreContract, ConcurrentPutsFromManyThreadsAreAllKept) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const auto r = store_->put(record("t" + std::to_string(t) + "-" + std::to_string(i),
                                          t * 100 + i, "sales", "waiting"));
        EXPECT_TRUE(r.ok()) << r.error();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ids(store_->open()).size(), 200u);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, CallbackStoreContract,
    ::testing::Values(
        CallbackBackend{"Memory",
                        [](const testing::TempDir&) -> std::unique_ptr<CallbackStore> {
                          return std::make_unique<MemoryCallbackStore>();
                        }},
        CallbackBackend{"Sqlite",
                        [](const testing::TempDir& dir) -> std::unique_ptr<CallbackStore> {
                          auto opened = SqliteCallbackStore::open(dir.file("c.db"));
                          EXPECT_TRUE(opened.store) << opened.error;
                          return std::move(opened.store);
                        }}),
    [](const ::testing::TestParamInfo<CallbackBackend>& param) { return param.param.name; });

}  // namespace
}  // namespace parley::store
