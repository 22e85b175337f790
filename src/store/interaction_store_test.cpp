// The InteractionStore contract, run against both implementations.
#include "store/interaction_store.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <thread>

#include "store/memory_interaction_store.h"
#include "store/sqlite_interaction_store.h"
#include "store/test_support.h"

namespace parley::store {
namespace {

struct Backend {
  std::string name;
  std::function<std::unique_ptr<InteractionStore>(const testing::TempDir&)> make;
};

class InteractionStoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store_ = GetParam().make(dir_);
    ASSERT_NE(store_, nullptr);
  }
  Interaction record(const std::string& id, EpochMillis arrived, const std::string& queue,
                     const std::string& outcome, const std::string& agent) {
    Interaction in;
    in.id = id;
    in.arrived = arrived;
    in.ended = arrived + 1000;
    in.queue = queue;
    in.outcome = outcome;
    in.agent = agent;
    return in;
  }
  std::vector<std::string> ids(const InteractionQuery& q) {
    auto page = store_->list(q);
    EXPECT_TRUE(page.ok()) << page.error();
    std::vector<std::string> out;
    if (page.ok()) {
      for (const auto& in : page->interactions) out.push_back(in.id);
    }
    return out;
  }
  // a..f, arrivals 100..600; c and d arrive together (id breaks the tie).
  void saveSample() {
    ASSERT_TRUE(store_->save(record("a", 100, "sales", "answered", "1001")));
    ASSERT_TRUE(store_->save(record("b", 200, "support", "abandoned", "")));
    ASSERT_TRUE(store_->save(record("c", 300, "sales", "answered", "1002")));
    ASSERT_TRUE(store_->save(record("d", 300, "sales", "abandoned", "")));
    ASSERT_TRUE(store_->save(record("e", 500, "support", "answered", "1001")));
    ASSERT_TRUE(store_->save(record("f", 600, "", "ivr-hangup", "")));
    store_->flush();
  }

  testing::TempDir dir_;
  std::unique_ptr<InteractionStore> store_;
};

using Ids = std::vector<std::string>;

TEST_P(InteractionStoreContract, FullRecordRoundTrips) {
  const Interaction in = testing::fullInteraction("call-7-1764000000000", 1'764'000'000'000);
  ASSERT_TRUE(store_->save(in));
  store_->flush();
  const auto got = store_->get(in.id);
  ASSERT_TRUE(got.ok()) << got.error();
  ASSERT_TRUE(got.value().has_value());
  EXPECT_EQ(*got.value(), in);
  const auto missing = store_->get("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing.value().has_value());
}

TEST_P(InteractionStoreContract, ListsNewestFirstWithFilters) {
  saveSample();
  EXPECT_EQ(ids({}), (Ids{"f", "e", "d", "c", "b", "a"}));
  EXPECT_EQ(ids({.queue = "sales"}), (Ids{"d", "c", "a"}));
  EXPECT_EQ(ids({.outcome = "answered"}), (Ids{"e", "c", "a"}));
  EXPECT_EQ(ids({.agent = "1001"}), (Ids{"e", "a"}));
  EXPECT_EQ(ids({.since = 300}), (Ids{"f", "e", "d", "c"}));
  EXPECT_EQ(ids({.until = 300}), (Ids{"b", "a"}));
  EXPECT_EQ(ids({.since = 200, .until = 501, .queue = "support"}), (Ids{"e", "b"}));
  EXPECT_EQ(ids({.queue = "nobody"}), Ids{});
}

TEST_P(InteractionStoreContract, PagesWithCursorAndOffset) {
  saveSample();
  auto page = store_->list({.limit = 4});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->interactions.size(), 4u);
  ASSERT_EQ(page->next, std::optional<std::string>("c"));
  EXPECT_EQ(ids({.limit = 4, .before = "c"}), (Ids{"b", "a"}));
  auto last = store_->list({.limit = 2, .before = "c"});
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE(last->next);  // exactly two left: no further page
  EXPECT_EQ(ids({.limit = 2, .offset = 1}), (Ids{"e", "d"}));
  EXPECT_EQ(ids({.queue = "sales", .before = "d"}), (Ids{"c", "a"}));
  EXPECT_EQ(ids({.offset = 100}), Ids{});
  EXPECT_EQ(ids({.limit = 0}), Ids{"f"});  // clamped to at least one
  const auto bad = store_->list({.before = "zzz"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "unknown cursor \"zzz\"");
}

TEST_P(InteractionStoreContract, SavingTheSameIdReplaces) {
  ASSERT_TRUE(store_->save(record("a", 100, "sales", "abandoned", "")));
  ASSERT_TRUE(store_->save(record("a", 100, "sales", "answered", "1001")));
  store_->flush();
  EXPECT_EQ(ids({}), Ids{"a"});
  EXPECT_EQ(store_->get("a").value()->outcome, "answered");
}

TEST_P(InteractionStoreContract, ConcurrentSavesFromSeveralThreads) {
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        EXPECT_TRUE(
            store_->save(record(std::to_string(t) + "-" + std::to_string(i), i, "q", "o", "")));
      }
    });
  }
  for (auto& th : threads) th.join();
  store_->flush();
  const auto stats = store_->stats();
  EXPECT_EQ(stats.written, std::size_t{kThreads * kEach});
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(ids({.limit = 1000}).size(), 1000u);
  EXPECT_EQ(store_->list({.since = kEach - 1}).value().interactions.size(), std::size_t{kThreads});
}

TEST_P(InteractionStoreContract, SaveAfterCloseIsRefused) {
  store_->close();
  EXPECT_FALSE(store_->save(record("late", 1, "", "", "")));
  EXPECT_EQ(store_->stats().dropped, 1u);
  store_->close();  // idempotent
}

INSTANTIATE_TEST_SUITE_P(
    Backends, InteractionStoreContract,
    ::testing::Values(Backend{"Memory",
                              [](const testing::TempDir&) -> std::unique_ptr<InteractionStore> {
                                return std::make_unique<MemoryInteractionStore>();
                              }},
                      Backend{"Sqlite",
                              [](const testing::TempDir& dir) -> std::unique_ptr<InteractionStore> {
                                auto opened = SqliteInteractionStore::open(dir.file("t.db"));
                                EXPECT_EQ(opened.error, "");
                                return std::move(opened.store);
                              }}),
    [](const ::testing::TestParamInfo<Backend>& p) { return p.param.name; });

}  // namespace
}  // namespace parley::store
