#include "store/sqlite_db.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>

namespace parley::store::sqlite {

namespace {
constexpr int kBusyTimeoutMs = 5'000;
}  // namespace

bool exec(sqlite3* db, const char* sql, std::string& error) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) == SQLITE_OK) return true;
  error = message != nullptr ? message : sqlite3_errmsg(db);
  sqlite3_free(message);
  return false;
}

Statement::Statement(sqlite3* db, const std::string& sql) {
  rc_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr);
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

bool Statement::ok() const {
  return rc_ == SQLITE_OK && stmt_ != nullptr;
}

void Statement::bind(int i, const std::string& s) {
  sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

void Statement::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
}

int Statement::step() {
  return sqlite3_step(stmt_);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p),
                                    static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

sqlite3* connect(const std::string& path, std::string& error) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    error = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  sqlite3_extended_result_codes(db, 1);
  if (!exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", error)) {
    sqlite3_close(db);
    return nullptr;
  }
  return db;
}

bool migrate(sqlite3* db, const Schema& schema, std::string& error) {
  const int newest = static_cast<int>(schema.migrations.size());
  const std::string table = schema.version_table;
  if (!exec(db, "BEGIN IMMEDIATE;", error)) return false;
  bool ok = exec(
      db, ("CREATE TABLE IF NOT EXISTS " + table + " (version INTEGER NOT NULL);").c_str(), error);
  int version = 0;
  if (ok) {
    Statement s(db, "SELECT coalesce(max(version), 0) FROM " + table + ";");
    ok = s.ok() && s.step() == SQLITE_ROW;
    if (ok) {
      version = static_cast<int>(s.integer(0));
    } else {
      error = sqlite3_errmsg(db);
    }
  }
  if (ok && version > newest) {
    error = std::string(schema.what) + " version " + std::to_string(version) +
            " is newer than this Parley (" + std::to_string(newest) + ")";
    ok = false;
  }
  for (int v = std::max(version, 0); ok && v < newest; ++v) {
    ok = exec(db, schema.migrations[static_cast<std::size_t>(v)], error);
    if (ok) {
      const std::string sql = "DELETE FROM " + table + "; INSERT INTO " + table + " VALUES (" +
                              std::to_string(v + 1) + ");";
      ok = exec(db, sql.c_str(), error);
      if (ok) spdlog::info("store: {} migrated to version {}", schema.what, v + 1);
    }
  }
  if (!ok) {
    std::string ignored;
    exec(db, "ROLLBACK;", ignored);
    return false;
  }
  return exec(db, "COMMIT;", error);
}

}  // namespace parley::store::sqlite
