// The InteractionStore of the server: an embedded SQLite database file (WAL mode). One table
// `interactions` with the columns the API filters on (id, arrived, ended, queue, agent, outcome,
// channel), indexed, plus the whole record as JSON (interaction_json.h); a `schema_version`
// table drives migrations when the layout changes.
//
// Thread rule: every public function may be called from any thread. save() only appends to a
// bounded in-memory queue (never blocks on I/O). One writer thread, owned by the store, takes
// the queue in batches and writes each batch in one transaction on its own connection. list()
// and get() read through a second connection guarded by a mutex (WAL lets them run while the
// writer writes). close() (and the destructor) writes everything queued before returning, so
// a clean shutdown loses nothing.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/interaction_store.h"

struct sqlite3;

namespace parley::store {

struct SqliteStoreOptions {
  std::size_t max_queue = 100'000;  // save() refuses beyond this many unwritten records
  std::size_t max_batch = 1'000;    // records per write transaction
};

class SqliteInteractionStore;

struct SqliteOpen {
  std::unique_ptr<SqliteInteractionStore> store;  // null on failure
  std::string error;  // names the path: "<path>: file is not a database"
};

// The newest schema this code writes; a database with a newer one is refused.
constexpr int kSqliteSchemaVersion = 1;

class SqliteInteractionStore final : public InteractionStore {
 public:
  // Opens or creates the database at `path`, migrates it to kSqliteSchemaVersion and starts the
  // writer thread. Errors (unwritable directory, not a database, schema too new) come back in
  // SqliteOpen::error; never throws.
  [[nodiscard]] static SqliteOpen open(const std::string& path, SqliteStoreOptions options = {});

  ~SqliteInteractionStore() override;
  SqliteInteractionStore(const SqliteInteractionStore&) = delete;
  SqliteInteractionStore& operator=(const SqliteInteractionStore&) = delete;

  bool save(Interaction interaction) override;
  StoreResult<InteractionPage> list(const InteractionQuery& query) override;
  StoreResult<std::optional<Interaction>> get(const std::string& id) override;
  void flush() override;
  void close() override;
  StoreStats stats() const override;

  const std::string& path() const { return path_; }

 private:
  SqliteInteractionStore(std::string path, SqliteStoreOptions options, sqlite3* writer,
                         sqlite3* reader);
  void writerLoop();
  // Writes one batch in a transaction; on the writer thread only. False on an SQLite error.
  bool writeBatch(const std::deque<Interaction>& batch, std::string& error);

  const std::string path_;
  const SqliteStoreOptions options_;
  sqlite3* writer_db_;  // used by the writer thread only (and open()/close())

  mutable std::mutex read_mutex_;
  sqlite3* reader_db_;  // GUARDED_BY(read_mutex_); null once closed

  mutable std::mutex mutex_;
  std::condition_variable work_;     // writer waits: records queued or closing
  std::condition_variable written_;  // flush() waits: a batch finished
  std::deque<Interaction> queue_;    // GUARDED_BY(mutex_)
  std::uint64_t accepted_ = 0;       // GUARDED_BY(mutex_): records save() accepted, ever
  std::uint64_t done_ = 0;           // GUARDED_BY(mutex_): of those, written or failed
  bool closing_ = false;             // GUARDED_BY(mutex_)
  StoreStats stats_;                 // GUARDED_BY(mutex_); `queued` computed in stats()
  std::mutex close_mutex_;           // one close() at a time
  std::thread writer_;
};

}  // namespace parley::store
