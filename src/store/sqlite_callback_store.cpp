#include "store/sqlite_callback_store.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <utility>

#include "store/callback_json.h"
#include "store/sqlite_db.h"

namespace parley::store {

namespace {

// kMigrations[v] takes the callbacks table from layout v to v + 1. Append only; never edit a
// step that has shipped. Version 0 is "no callbacks table".
constexpr const char* kMigrations[] = {
    // 0 -> 1: the callbacks table.
    "CREATE TABLE IF NOT EXISTS callbacks ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  queue TEXT NOT NULL,"
    "  number TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  requested_at INTEGER NOT NULL,"
    "  due_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  json TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS callbacks_by_requested ON callbacks (requested_at, id);"
    "CREATE INDEX IF NOT EXISTS callbacks_by_state ON callbacks (state, requested_at);"
    "CREATE INDEX IF NOT EXISTS callbacks_by_queue ON callbacks (queue, requested_at);"
    "CREATE INDEX IF NOT EXISTS callbacks_by_number ON callbacks (number, queue);",
};
static_assert(std::size(kMigrations) == kCallbackSchemaVersion);

using sqlite::exec;
using sqlite::Statement;

}  // namespace

SqliteCallbackOpen SqliteCallbackStore::open(const std::string& path) {
  SqliteCallbackOpen result;
  std::string error;
  // The same connection settings as the interaction store's (WAL is per file, synchronous per
  // connection).
  sqlite3* db = sqlite::connect(path, error);
  if (db != nullptr &&
      sqlite::migrate(db, {"callback_schema_version", kMigrations, "callbacks table"}, error)) {
    result.store.reset(new SqliteCallbackStore(path, db));
    return result;
  }
  sqlite3_close(db);
  result.error = path + ": " + error;
  return result;
}

SqliteCallbackStore::~SqliteCallbackStore() {
  std::lock_guard lock(mutex_);
  sqlite3_close(db_);
}

StoreResult<bool> SqliteCallbackStore::put(const Callback& cb) {
  const std::string json =
      toJson(cb).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lock(mutex_);
  Statement insert(db_,
                   "INSERT OR REPLACE INTO callbacks "
                   "(id, queue, number, state, requested_at, due_at, updated_at, json) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?);");
  if (!insert.ok()) return StoreResult<bool>::failure(path_ + ": " + sqlite3_errmsg(db_));
  insert.bind(1, cb.id);
  insert.bind(2, cb.queue);
  insert.bind(3, cb.number);
  insert.bind(4, cb.state);
  insert.bind(5, cb.requested_at);
  insert.bind(6, cb.due_at);
  insert.bind(7, cb.updated_at);
  insert.bind(8, json);
  if (insert.step() != SQLITE_DONE) {
    const std::string error = path_ + ": saving callback " + cb.id + ": " + sqlite3_errmsg(db_);
    spdlog::error("store: {}", error);
    return StoreResult<bool>::failure(error);
  }
  return true;
}

StoreResult<std::vector<Callback>> SqliteCallbackStore::select(
    const std::string& sql, const std::vector<std::string>& text_binds, int limit_bind) {
  using Result = StoreResult<std::vector<Callback>>;
  std::lock_guard lock(mutex_);
  Statement s(db_, sql);
  if (!s.ok()) return Result::failure(path_ + ": " + sqlite3_errmsg(db_));
  int index = 1;
  for (const std::string& text : text_binds) s.bind(index++, text);
  if (limit_bind > 0) s.bind(index, static_cast<std::int64_t>(limit_bind));
  std::vector<Callback> out;
  int rc = SQLITE_ROW;
  while ((rc = s.step()) == SQLITE_ROW) {
    const std::string id = s.text(0);
    auto parsed = callbackFromJson(nlohmann::json::parse(s.text(1), nullptr, false));
    if (!parsed.callback) {
      spdlog::error("store: {}: callback {} unreadable, skipped: {}", path_, id, parsed.error);
      continue;
    }
    out.push_back(std::move(*parsed.callback));
  }
  if (rc != SQLITE_DONE) return Result::failure(path_ + ": " + sqlite3_errmsg(db_));
  return out;
}

StoreResult<std::vector<Callback>> SqliteCallbackStore::open() {
  return select(
      "SELECT id, json FROM callbacks WHERE state != 'done' ORDER BY requested_at ASC, id ASC;", {},
      0);
}

StoreResult<std::vector<Callback>> SqliteCallbackStore::list(const CallbackQuery& q) {
  std::string sql = "SELECT id, json FROM callbacks WHERE 1";
  std::vector<std::string> binds;
  if (!q.queue.empty()) {
    sql += " AND queue = ?";
    binds.push_back(q.queue);
  }
  if (!q.state.empty()) {
    sql += " AND state = ?";
    binds.push_back(q.state);
  }
  sql += " ORDER BY requested_at DESC, id DESC LIMIT ?;";
  return select(sql, binds, std::clamp(q.limit, 1, kMaxListLimit));
}

StoreResult<std::optional<Callback>> SqliteCallbackStore::get(const std::string& id) {
  using Result = StoreResult<std::optional<Callback>>;
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT json FROM callbacks WHERE id = ?;");
  if (!s.ok()) return Result::failure(path_ + ": " + sqlite3_errmsg(db_));
  s.bind(1, id);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<Callback>{};
  if (rc != SQLITE_ROW) return Result::failure(path_ + ": " + sqlite3_errmsg(db_));
  auto parsed = callbackFromJson(nlohmann::json::parse(s.text(0), nullptr, false));
  if (!parsed.callback) {
    spdlog::error("store: {}: callback {} unreadable: {}", path_, id, parsed.error);
    return Result::failure(path_ + ": callback " + id + " unreadable: " + parsed.error);
  }
  return std::optional<Callback>{std::move(*parsed.callback)};
}

}  // namespace parley::store
