// ReadConnectionPool: SQLite connections for the store's synchronous readers, each with its
// prepared statements. In WAL mode a reader sees the last committed state and never waits for
// the writer. Acquire() hands out an idle connection or opens a new one (so nested or highly
// concurrent reads never deadlock on the pool); at most `max_idle` are kept when returned.
// Connections are query_only. Thread-safe; a Lease is used by one thread.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/sqlite_connection.h"

namespace peat::store {

struct ReadConnection {
  SqliteConnection db;
  SqliteStatement get_doc;           // (collection, doc_id) → state, live, seq
  SqliteStatement list_ids;          // (collection) → doc_id of live docs, sorted
  SqliteStatement count_live;        // () → collection, count of live docs, by collection
  SqliteStatement scan_collection;   // (collection) → doc_id, state, seq of live docs, sorted
  SqliteStatement scan_all;          // () → collection, doc_id, state, seq of live docs, sorted
  SqliteStatement oldest_tombstone;  // () → min(updated_ms) of tombstones or NULL
  SqliteStatement read_feed;         // (after_seq, limit, upto_seq) → seq, collection, doc_id,
                                     //   state, src_peer in seq order (docs_by_seq)
  SqliteStatement read_feed_in;      // the same, ?4 = JSON array of collections to read
  SqliteStatement read_feed_not_in;  // the same, ?4 = JSON array of collections to leave out
  SqliteStatement get_checkpoint;    // (peer_id) → epoch, seq
  SqliteStatement list_peers;        // () → endpoint_id, addresses, is_static by endpoint_id
  SqliteStatement list_member_acks;  // () → peer_id, seq by peer_id
};

class ReadConnectionPool {
 public:
  ReadConnectionPool(std::string path, std::string vfs, size_t max_idle);
  ~ReadConnectionPool();

  class Lease {
   public:
    Lease(ReadConnectionPool* pool, std::unique_ptr<ReadConnection> c)
        : pool_(pool), c_(std::move(c)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease() {
      if (c_) pool_->Release(std::move(c_));
    }
    ReadConnection* operator->() { return c_.get(); }
    ReadConnection& operator*() { return *c_; }

   private:
    ReadConnectionPool* pool_;
    std::unique_ptr<ReadConnection> c_;
  };

  StatusOr<Lease> Acquire();
  // Closes idle connections (leased ones close when returned after this).
  void Shutdown();

 private:
  StatusOr<std::unique_ptr<ReadConnection>> OpenOne();
  void Release(std::unique_ptr<ReadConnection> c);

  const std::string path_;
  const std::string vfs_;
  const size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<ReadConnection>> idle_;
  bool shutdown_ = false;
};

}  // namespace peat::store
