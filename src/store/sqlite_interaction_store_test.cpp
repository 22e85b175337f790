#include "store/sqlite_interaction_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "store/test_support.h"

namespace parley::store {
namespace {

Interaction numbered(int i) {
  Interaction in = testing::fullInteraction("call-" + std::to_string(i), 1'000'000 + i);
  in.queue = i % 2 == 0 ? "sales" : "support";
  return in;
}

TEST(SqliteInteractionStore, TenThousandSavedThenFlushedAreAllThere) {
  testing::TempDir dir;
  auto opened = SqliteInteractionStore::open(dir.file("t.db"));
  ASSERT_TRUE(opened.store) << opened.error;
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(opened.store->save(numbered(i)));
  opened.store->flush();
  const StoreStats stats = opened.store->stats();
  EXPECT_EQ(stats.written, 10'000u);
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(stats.failed, 0u);
  const auto page = opened.store->list({.queue = "support", .limit = 1000});
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->interactions.size(), 1000u);
  EXPECT_EQ(page->interactions.front().id, "call-9999");
  EXPECT_EQ(page->next, std::optional<std::string>("call-8001"));
}

TEST(SqliteInteractionStore, RecordsSurviveReopening) {
  testing::TempDir dir;
  {
    auto opened = SqliteInteractionStore::open(dir.file("t.db"));
    ASSERT_TRUE(opened.store) << opened.error;
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(opened.store->save(numbered(i)));
  }  // the destructor closes, which writes the queue
  auto opened = SqliteInteractionStore::open(dir.file("t.db"));
  ASSERT_TRUE(opened.store) << opened.error;
  const auto page = opened.store->list({});
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->interactions.size(), 10u);
  EXPECT_EQ(page->interactions.back(), numbered(0));
}

TEST(SqliteInteractionStore, CloseDrainsTheQueue) {
  testing::TempDir dir;
  auto opened = SqliteInteractionStore::open(dir.file("t.db"), {.max_batch = 7});
  ASSERT_TRUE(opened.store) << opened.error;
  for (int i = 0; i < 2'000; ++i) ASSERT_TRUE(opened.store->save(numbered(i)));
  opened.store->close();  // no flush() before
  EXPECT_EQ(opened.store->stats().written, 2'000u);
  EXPECT_FALSE(opened.store->list({}).ok());  // closed: reads refused, no crash
  opened.store.reset();

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("t.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* count = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM interactions", -1, &count, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(count, 0), 2'000);
  sqlite3_finalize(count);
  sqlite3_close(db);
}

TEST(SqliteInteractionStore, FullQueueRefusesSaves) {
  testing::TempDir dir;
  auto opened = SqliteInteractionStore::open(dir.file("t.db"), {.max_queue = 3});
  ASSERT_TRUE(opened.store) << opened.error;
  int accepted = 0;
  for (int i = 0; i < 1'000; ++i) accepted += opened.store->save(numbered(i)) ? 1 : 0;
  opened.store->flush();
  const StoreStats stats = opened.store->stats();
  EXPECT_EQ(stats.written, static_cast<std::size_t>(accepted));
  EXPECT_EQ(stats.dropped, static_cast<std::size_t>(1'000 - accepted));
  EXPECT_GE(accepted, 3);
}

TEST(SqliteInteractionStore, GarbageFileIsAnErrorNamingThePath) {
  testing::TempDir dir;
  const std::string path = dir.file("garbage.db");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 1000; ++i) out << "this is not an SQLite database, just text " << i;
  }
  const auto opened = SqliteInteractionStore::open(path);
  EXPECT_EQ(opened.store, nullptr);
  EXPECT_EQ(opened.error, path + ": file is not a database");
}

TEST(SqliteInteractionStore, UnwritablePathIsAnError) {
  testing::TempDir dir;
  const std::string path = dir.file("no/such/dir/t.db");
  const auto opened = SqliteInteractionStore::open(path);
  EXPECT_EQ(opened.store, nullptr);
  EXPECT_EQ(opened.error, path + ": unable to open database file");
}

TEST(SqliteInteractionStore, NewerSchemaIsRefused) {
  testing::TempDir dir;
  const std::string path = dir.file("t.db");
  ASSERT_TRUE(SqliteInteractionStore::open(path).store);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const auto opened = SqliteInteractionStore::open(path);
  EXPECT_EQ(opened.store, nullptr);
  EXPECT_EQ(opened.error, path + ": database schema version 99 is newer than this Parley (" +
                              std::to_string(kSqliteSchemaVersion) + ")");
}

}  // namespace
}  // namespace parley::store
