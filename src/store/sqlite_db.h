// What the two SQLite stores (interactions, callbacks) share: running SQL, prepared statements,
// opening a connection with Parley's settings, and migrating a table layout by version.
//
// Thread rule: a sqlite3 connection is used by one thread at a time (the stores see to it).
#pragma once

#include <cstdint>
#include <span>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace parley::store::sqlite {

// Runs `sql` (one or more statements); false with `error` set on failure.
bool exec(sqlite3* db, const char* sql, std::string& error);

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const;
  sqlite3_stmt* get() const { return stmt_; }
  void bind(int i, const std::string& s);
  void bind(int i, std::int64_t v);
  int step();
  void reset();  // for the next execution: bindings cleared too
  std::int64_t integer(int column) const;
  std::string text(int column) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = 1;  // SQLITE_ERROR until prepared
};

// Opens (or creates) the database at `path`: busy timeout, extended result codes, WAL and
// synchronous=NORMAL (durable against a killed process). Null with `error` on failure; the
// first statement reads the file header, so "file is not a database" shows here.
sqlite3* connect(const std::string& path, std::string& error);

// A layout kept by version in its own table: migrations[v] takes it from v to v + 1 (append
// only; version 0 is "nothing yet").
struct Schema {
  const char* version_table;  // e.g. "schema_version"
  std::span<const char* const> migrations;
  const char* what;  // for messages: "database schema", "callbacks table"
};

// Brings `schema` to its newest version in one IMMEDIATE transaction (so two processes or
// stores opening the file at once do not both migrate). A newer version than this code knows
// is an error.
bool migrate(sqlite3* db, const Schema& schema, std::string& error);

}  // namespace parley::store::sqlite
