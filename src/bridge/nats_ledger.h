// NatsLedger: the NATS bridge's durable state, <data-dir>/nats-bridge.db (SQLite, WAL, 0600;
// docs/NATS.md "Guarantees"):
// - local: the documents this node's ingress created (recorded BEFORE the store write), so egress
//   never publishes them, even after a restart or when they come back through the mesh;
// - delivered: the remote documents egress has published or is about to (reserved BEFORE the
//   publish, in one transaction per batch), so a restart never publishes one twice
//   (at-most-once: a crash between the reservation and the publish loses that batch);
// - the egress cursor: the change-feed position up to which every entry was considered, with the
//   store epoch it belongs to (another epoch = a new store: the cursor restarts at 0, the
//   delivered set still guards against duplicates).
// A kill -9 keeps every committed row (synchronous=NORMAL under WAL survives a process crash).
// Thread-compatible: used from one thread (the bridge's loop).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/sqlite_connection.h"

namespace peat::bridge {

struct LedgerDoc {
  std::string collection;
  std::string doc_id;
};

class NatsLedger {
 public:
  static StatusOr<std::unique_ptr<NatsLedger>> Open(const std::string& path);

  Status AddLocal(const LedgerDoc& doc);
  // Several in one transaction (an ingress batch).
  Status AddLocalBatch(const std::vector<LedgerDoc>& docs);
  StatusOr<bool> IsLocal(const LedgerDoc& doc);
  StatusOr<bool> IsDelivered(const LedgerDoc& doc);
  // One transaction: every doc marked delivered, and the cursor set to (epoch, seq).
  Status Reserve(const std::vector<LedgerDoc>& docs, const std::string& epoch, uint64_t seq);
  // The cursor for the store `epoch`: 0 when none was saved or it belongs to another epoch.
  StatusOr<uint64_t> Cursor(const std::string& epoch);
  StatusOr<int64_t> LocalCount();
  StatusOr<int64_t> DeliveredCount();

 private:
  explicit NatsLedger(store::SqliteConnection db) : db_(std::move(db)) {}
  Status Prepare();
  Status InTransaction(const std::function<Status()>& body);
  StatusOr<bool> Exists(store::SqliteStatement& stmt, const LedgerDoc& doc);

  store::SqliteConnection db_;
  store::SqliteStatement add_local_, is_local_, is_delivered_, add_delivered_, set_cursor_,
      get_cursor_;
};

}  // namespace peat::bridge
