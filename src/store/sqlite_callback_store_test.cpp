#include "store/sqlite_callback_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "store/callback_test_support.h"
#include "store/sqlite_interaction_store.h"
#include "store/test_support.h"

namespace parley::store {
namespace {

// Runs one SQL statement on a fresh raw connection; false on error.
bool rawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
            sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

// The single integer a query returns, or -1.
std::int64_t rawInteger(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::int64_t out = -1;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW) {
    out = sqlite3_column_int64(s, 0);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

TEST(SqliteCallbackStore, CallbacksPutBeforeAKillNineAreAllThereAfterReopening) {
  testing::TempDir dir;
  const std::string path = dir.file("parley.db");
  constexpr int kCount = 200;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child: no gtest here, only put and die. Exit codes other than SIGKILL mean failure.
    auto opened = SqliteCallbackStore::open(path);
    if (!opened.store) _exit(2);
    for (int i = 0; i < kCount; ++i) {
      Callback cb = testing::fullCallback("cb-" + std::to_string(i), 1000 + i);
      if (!opened.store->put(cb).ok()) _exit(3);
      if (i % 10 == 0) {  // a later state of the same callback replaces the first
        cb.state = "dialing";
        cb.attempts = 3;
        if (!opened.store->put(cb).ok()) _exit(4);
      }
    }
    raise(SIGKILL);  // no destructor, no close, no checkpoint
    _exit(5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);

  auto reopened = SqliteCallbackStore::open(path);
  ASSERT_TRUE(reopened.store) << reopened.error;
  const auto open = reopened.store->open();
  ASSERT_TRUE(open.ok()) << open.error();
  ASSERT_EQ(open->size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    Callback expected = testing::fullCallback("cb-" + std::to_string(i), 1000 + i);
    if (i % 10 == 0) {
      expected.state = "dialing";
      expected.attempts = 3;
    }
    EXPECT_EQ(open.value()[static_cast<std::size_t>(i)], expected);
  }
}

// Both stores in one file, opened in `callbacks_first` order, then reopened in the other order.
void bothStoresShareTheFile(bool callbacks_first) {
  testing::TempDir dir;
  const std::string path = dir.file("parley.db");
  Interaction in = testing::fullInteraction("call-1", 1000);
  {
    std::unique_ptr<SqliteCallbackStore> callbacks;
    std::unique_ptr<SqliteInteractionStore> interactions;
    const auto openCallbacks = [&] {
      auto opened = SqliteCallbackStore::open(path);
      ASSERT_TRUE(opened.store) << opened.error;
      callbacks = std::move(opened.store);
    };
    const auto openInteractions = [&] {
      auto opened = SqliteInteractionStore::open(path);
      ASSERT_TRUE(opened.store) << opened.error;
      interactions = std::move(opened.store);
    };
    if (callbacks_first) {
      openCallbacks();
      openInteractions();
    } else {
      openInteractions();
      openCallbacks();
    }
    ASSERT_TRUE(callbacks && interactions);
    // Writes from both while both are open.
    ASSERT_TRUE(interactions->save(in));
    ASSERT_TRUE(callbacks->put(testing::fullCallback("cb-1", 1000)).ok());
    interactions->flush();
    EXPECT_EQ(interactions->stats().written, 1u);
  }
  // Reopen in the other order: each finds its own rows and neither migrates again.
  std::unique_ptr<SqliteCallbackStore> callbacks;
  std::unique_ptr<SqliteInteractionStore> interactions;
  if (!callbacks_first) {
    callbacks = std::move(SqliteCallbackStore::open(path).store);
    interactions = std::move(SqliteInteractionStore::open(path).store);
  } else {
    interactions = std::move(SqliteInteractionStore::open(path).store);
    callbacks = std::move(SqliteCallbackStore::open(path).store);
  }
  ASSERT_TRUE(callbacks && interactions);
  const auto got = callbacks->get("cb-1");
  ASSERT_TRUE(got.ok() && got.value()) << got.error();
  EXPECT_EQ(*got.value(), testing::fullCallback("cb-1", 1000));
  const auto read = interactions->get("call-1");
  ASSERT_TRUE(read.ok() && read.value()) << read.error();
  EXPECT_EQ(*read.value(), in);
  EXPECT_EQ(rawInteger(path, "SELECT max(version) FROM schema_version"), kSqliteSchemaVersion);
  EXPECT_EQ(rawInteger(path, "SELECT count(*) FROM schema_version"), 1);
  EXPECT_EQ(rawInteger(path, "SELECT max(version) FROM callback_schema_version"),
            kCallbackSchemaVersion);
  EXPECT_EQ(rawInteger(path, "SELECT count(*) FROM callback_schema_version"), 1);
}

TEST(SqliteCallbackStore, SharesTheFileWithTheInteractionStoreOpenedFirst) {
  bothStoresShareTheFile(false);
}

TEST(SqliteCallbackStore, SharesTheFileWithTheInteractionStoreOpenedSecond) {
  bothStoresShareTheFile(true);
}

TEST(SqliteCallbackStore, UnreadableRowsAreSkippedByOpenAndListAndAnErrorForGet) {
  testing::TempDir dir;
  const std::string path = dir.file("c.db");
  {
    auto opened = SqliteCallbackStore::open(path);
    ASSERT_TRUE(opened.store) << opened.error;
    for (const char* id : {"a", "b", "c"}) {
      ASSERT_TRUE(opened.store->put(testing::fullCallback(id, 1000)).ok());
    }
  }
  ASSERT_TRUE(rawExec(path, "UPDATE callbacks SET json = '{not json' WHERE id = 'b';"));
  ASSERT_TRUE(rawExec(path, "UPDATE callbacks SET json = '{\"queue\": 7}' WHERE id = 'c';"));
  auto opened = SqliteCallbackStore::open(path);
  ASSERT_TRUE(opened.store) << opened.error;
  const auto open = opened.store->open();
  ASSERT_TRUE(open.ok()) << open.error();
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ(open->front().id, "a");
  const auto list = opened.store->list({});
  ASSERT_TRUE(list.ok()) << list.error();
  EXPECT_EQ(list->size(), 1u);
  const auto bad = opened.store->get("c");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("callback c unreadable: queue: not a string"), std::string::npos)
      << bad.error();
}

TEST(SqliteCallbackStore, NotADatabaseIsAnErrorNamingThePath) {
  testing::TempDir dir;
  const std::string path = dir.file("junk.db");
  std::ofstream(path) << std::string(4096, 'x');
  const auto opened = SqliteCallbackStore::open(path);
  EXPECT_FALSE(opened.store);
  EXPECT_NE(opened.error.find(path + ": "), std::string::npos) << opened.error;
}

TEST(SqliteCallbackStore, MissingDirectoryIsAnError) {
  testing::TempDir dir;
  const auto opened = SqliteCallbackStore::open(dir.file("no/such/dir/c.db"));
  EXPECT_FALSE(opened.store);
  EXPECT_FALSE(opened.error.empty());
}

TEST(SqliteCallbackStore, ANewerTableLayoutIsRefused) {
  testing::TempDir dir;
  const std::string path = dir.file("c.db");
  { ASSERT_TRUE(SqliteCallbackStore::open(path).store); }
  ASSERT_TRUE(rawExec(path, "UPDATE callback_schema_version SET version = 99;"));
  const auto opened = SqliteCallbackStore::open(path);
  EXPECT_FALSE(opened.store);
  EXPECT_NE(opened.error.find("callbacks table version 99 is newer"), std::string::npos)
      << opened.error;
}

}  // namespace
}  // namespace parley::store
