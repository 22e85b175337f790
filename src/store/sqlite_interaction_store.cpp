#include "store/sqlite_interaction_store.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "store/interaction_json.h"
#include "store/sqlite_db.h"

namespace parley::store {

namespace {

// Schema migrations: kMigrations[v] takes a database from version v to v + 1. Append only;
// never edit a step that has shipped.
constexpr const char* kMigrations[] = {
    // 0 -> 1: the interactions table.
    "CREATE TABLE interactions ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  arrived INTEGER NOT NULL,"
    "  ended INTEGER NOT NULL,"
    "  queue TEXT NOT NULL,"
    "  agent TEXT NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  json TEXT NOT NULL);"
    "CREATE INDEX interactions_by_arrived ON interactions (arrived, id);"
    "CREATE INDEX interactions_by_ended ON interactions (ended);"
    "CREATE INDEX interactions_by_queue ON interactions (queue, arrived);"
    "CREATE INDEX interactions_by_agent ON interactions (agent, arrived);"
    "CREATE INDEX interactions_by_outcome ON interactions (outcome, arrived);"
    "CREATE INDEX interactions_by_channel ON interactions (channel, arrived);",
};
static_assert(std::size(kMigrations) == kSqliteSchemaVersion);

using sqlite::exec;
using sqlite::Statement;

}  // namespace

SqliteOpen SqliteInteractionStore::open(const std::string& path, SqliteStoreOptions options) {
  SqliteOpen result;
  std::string error;
  sqlite3* writer = sqlite::connect(path, error);
  if (writer != nullptr &&
      !sqlite::migrate(writer, {"schema_version", kMigrations, "database schema"}, error)) {
    sqlite3_close(writer);
    writer = nullptr;
  }
  sqlite3* reader = writer != nullptr ? sqlite::connect(path, error) : nullptr;
  if (reader == nullptr) {
    sqlite3_close(writer);
    result.error = path + ": " + error;
    return result;
  }
  options.max_queue = std::max<std::size_t>(options.max_queue, 1);
  options.max_batch = std::max<std::size_t>(options.max_batch, 1);
  result.store.reset(new SqliteInteractionStore(path, options, writer, reader));
  return result;
}

SqliteInteractionStore::SqliteInteractionStore(std::string path, SqliteStoreOptions options,
                                               sqlite3* writer, sqlite3* reader)
    : path_(std::move(path)), options_(options), writer_db_(writer), reader_db_(reader) {
  writer_ = std::thread([this] { writerLoop(); });
}

SqliteInteractionStore::~SqliteInteractionStore() {
  close();
}

bool SqliteInteractionStore::save(Interaction interaction) {
  {
    std::lock_guard lock(mutex_);
    if (closing_ || queue_.size() >= options_.max_queue) {
      // Log the first refusal of a run and then every 1000th, so a stuck disk cannot flood logs.
      if (stats_.dropped++ % 1000 == 0) {
        spdlog::error("store: {}: {}; interaction {} not saved ({} dropped so far)", path_,
                      closing_ ? "store closed" : "write queue full", interaction.id,
                      stats_.dropped);
      }
      return false;
    }
    queue_.push_back(std::move(interaction));
    ++accepted_;
  }
  work_.notify_one();
  return true;
}

void SqliteInteractionStore::writerLoop() {
  for (;;) {
    std::deque<Interaction> batch;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing and drained
      const std::size_t n = std::min(queue_.size(), options_.max_batch);
      std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n),
                std::back_inserter(batch));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    std::string error;
    const bool ok = writeBatch(batch, error);
    if (!ok) {
      spdlog::error("store: {}: writing {} interactions failed: {}", path_, batch.size(), error);
    }
    {
      std::lock_guard lock(mutex_);
      done_ += batch.size();
      (ok ? stats_.written : stats_.failed) += batch.size();
    }
    written_.notify_all();
  }
}

bool SqliteInteractionStore::writeBatch(const std::deque<Interaction>& batch, std::string& error) {
  if (!exec(writer_db_, "BEGIN;", error)) return false;
  bool ok = true;
  {
    Statement insert(writer_db_,
                     "INSERT OR REPLACE INTO interactions "
                     "(id, arrived, ended, queue, agent, outcome, channel, json) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?);");
    ok = insert.ok();
    for (std::size_t i = 0; ok && i < batch.size(); ++i) {
      const Interaction& in = batch[i];
      insert.bind(1, in.id);
      insert.bind(2, in.arrived);
      insert.bind(3, in.ended);
      insert.bind(4, in.queue);
      insert.bind(5, in.agent);
      insert.bind(6, in.outcome);
      insert.bind(7, in.channel);
      insert.bind(8, toJson(in).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      ok = insert.step() == SQLITE_DONE;
      insert.reset();
    }
    if (!ok) error = sqlite3_errmsg(writer_db_);
  }
  if (!ok) {
    std::string ignored;
    exec(writer_db_, "ROLLBACK;", ignored);
    return false;
  }
  return exec(writer_db_, "COMMIT;", error);
}

StoreResult<InteractionPage> SqliteInteractionStore::list(const InteractionQuery& q) {
  using Result = StoreResult<InteractionPage>;
  std::lock_guard lock(read_mutex_);
  if (reader_db_ == nullptr) return Result::failure(path_ + ": store closed");

  std::string sql = "SELECT id, json FROM interactions WHERE 1";
  struct Bind {
    bool is_text;
    std::int64_t number;
    std::string text;
  };
  std::vector<Bind> binds;
  if (q.since) {
    sql += " AND arrived >= ?";
    binds.push_back({false, *q.since, {}});
  }
  if (q.until) {
    sql += " AND arrived < ?";
    binds.push_back({false, *q.until, {}});
  }
  for (const auto& [column, value] :
       {std::pair{"queue", &q.queue}, {"outcome", &q.outcome}, {"agent", &q.agent}}) {
    if (value->empty()) continue;
    sql += std::string(" AND ") + column + " = ?";
    binds.push_back({true, 0, *value});
  }
  if (!q.before.empty()) {
    Statement cursor(reader_db_, "SELECT arrived FROM interactions WHERE id = ?;");
    if (!cursor.ok()) return Result::failure(path_ + ": " + sqlite3_errmsg(reader_db_));
    cursor.bind(1, q.before);
    const int rc = cursor.step();
    if (rc == SQLITE_DONE) return Result::failure("unknown cursor \"" + q.before + "\"");
    if (rc != SQLITE_ROW) return Result::failure(path_ + ": " + sqlite3_errmsg(reader_db_));
    sql += " AND (arrived, id) < (?, ?)";
    binds.push_back({false, sqlite3_column_int64(cursor.get(), 0), {}});
    binds.push_back({true, 0, q.before});
  }
  const int limit = std::clamp(q.limit, 1, kMaxListLimit);
  sql += " ORDER BY arrived DESC, id DESC LIMIT ? OFFSET ?;";
  binds.push_back({false, limit + 1, {}});  // one more tells whether there is a next page
  binds.push_back({false,
                   static_cast<std::int64_t>(std::min<std::size_t>(q.offset, std::size_t{1} << 40)),
                   {}});

  Statement select(reader_db_, sql);
  if (!select.ok()) return Result::failure(path_ + ": " + sqlite3_errmsg(reader_db_));
  for (std::size_t i = 0; i < binds.size(); ++i) {
    const int index = static_cast<int>(i) + 1;
    if (binds[i].is_text) {
      select.bind(index, binds[i].text);
    } else {
      select.bind(index, binds[i].number);
    }
  }
  InteractionPage page;
  int rows = 0;
  int rc = SQLITE_ROW;
  while ((rc = select.step()) == SQLITE_ROW) {
    if (++rows > limit) {
      if (!page.interactions.empty()) page.next = page.interactions.back().id;
      break;
    }
    const std::string id = select.text(0);
    auto parsed = fromJson(nlohmann::json::parse(select.text(1), nullptr, false));
    if (!parsed.interaction) {
      spdlog::error("store: {}: interaction {} unreadable, skipped: {}", path_, id, parsed.error);
      continue;
    }
    page.interactions.push_back(std::move(*parsed.interaction));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return Result::failure(path_ + ": " + sqlite3_errmsg(reader_db_));
  }
  return page;
}

StoreResult<std::optional<Interaction>> SqliteInteractionStore::get(const std::string& id) {
  using Result = StoreResult<std::optional<Interaction>>;
  std::lock_guard lock(read_mutex_);
  if (reader_db_ == nullptr) return Result::failure(path_ + ": store closed");
  Statement select(reader_db_, "SELECT json FROM interactions WHERE id = ?;");
  if (!select.ok()) return Result::failure(path_ + ": " + sqlite3_errmsg(reader_db_));
  select.bind(1, id);
  const int rc = select.step();
  if (rc == SQLITE_DONE) return std::optional<Interaction>{};
  if (rc != SQLITE_ROW) return Result::failure(path_ + ": " + sqlite3_errmsg(reader_db_));
  auto parsed = fromJson(nlohmann::json::parse(select.text(0), nullptr, false));
  if (!parsed.interaction) {
    return Result::failure(path_ + ": interaction " + id + " unreadable: " + parsed.error);
  }
  return std::optional<Interaction>{std::move(*parsed.interaction)};
}

void SqliteInteractionStore::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = accepted_;
  written_.wait(lock, [&] { return done_ >= target; });
}

void SqliteInteractionStore::close() {
  std::lock_guard close_lock(close_mutex_);
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  work_.notify_all();
  if (!writer_.joinable()) return;  // closed before
  writer_.join();
  sqlite3_close(writer_db_);
  writer_db_ = nullptr;
  std::lock_guard read_lock(read_mutex_);
  sqlite3_close(reader_db_);
  reader_db_ = nullptr;
}

StoreStats SqliteInteractionStore::stats() const {
  std::lock_guard lock(mutex_);
  StoreStats s = stats_;
  s.queued = static_cast<std::size_t>(accepted_ - done_);
  return s;
}

}  // namespace parley::store
