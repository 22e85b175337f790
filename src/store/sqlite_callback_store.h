// The CallbackStore of the server: a table `callbacks` in the same SQLite database file as the
// interactions (WAL mode), on a connection of its own. Columns for what open() and list()
// filter and order on (id, queue, number, state, requested_at, due_at, updated_at) plus the
// whole record as JSON (callback_json.h). Its layout has its own version table
// (`callback_schema_version`), so it never touches the interaction store's `schema_version`:
// the two stores open the same file in either order.
//
// Durability: put() is one INSERT OR REPLACE in autocommit mode and returns after the commit.
// With WAL and synchronous=NORMAL the committed transaction is in the WAL file, which survives
// the process being killed (kill -9); only a power cut or OS crash may lose the last commits.
//
// Thread rule: every public function may be called from any thread; one mutex serialises the
// connection. put() blocks on disk I/O (an fsync-free write), so do not call it from a loop
// that must not block for a millisecond or two.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "store/callback.h"

struct sqlite3;

namespace parley::store {

class SqliteCallbackStore;

struct SqliteCallbackOpen {
  std::unique_ptr<SqliteCallbackStore> store;  // null on failure
  std::string error;                           // names the path: "<path>: file is not a database"
};

// The newest layout of the callbacks table this code writes; a newer one is refused.
constexpr int kCallbackSchemaVersion = 1;

class SqliteCallbackStore final : public CallbackStore {
 public:
  // Opens or creates the database at `path` and creates or migrates the callbacks table. Never
  // throws; errors (unwritable directory, not a database, layout too new) in the result.
  [[nodiscard]] static SqliteCallbackOpen open(const std::string& path);

  ~SqliteCallbackStore() override;
  SqliteCallbackStore(const SqliteCallbackStore&) = delete;
  SqliteCallbackStore& operator=(const SqliteCallbackStore&) = delete;

  StoreResult<bool> put(const Callback& callback) override;
  // Rows whose JSON cannot be read are skipped with an error log line (open() and list()).
  StoreResult<std::vector<Callback>> open() override;
  // An unreadable row is an error naming it.
  StoreResult<std::optional<Callback>> get(const std::string& id) override;
  StoreResult<std::vector<Callback>> list(const CallbackQuery& query) override;

  const std::string& path() const { return path_; }

 private:
  SqliteCallbackStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  // Runs a SELECT of (id, json) rows with `binds` (text), skipping unreadable rows.
  StoreResult<std::vector<Callback>> select(const std::string& sql,
                                            const std::vector<std::string>& text_binds,
                                            int limit_bind);

  const std::string path_;
  std::mutex mutex_;
  sqlite3* db_;  // GUARDED_BY(mutex_)
};

}  // namespace parley::store
