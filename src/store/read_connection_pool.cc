#include "store/read_connection_pool.h"

namespace peat::store {

ReadConnectionPool::ReadConnectionPool(std::string path, std::string vfs, size_t max_idle)
    : path_(std::move(path)), vfs_(std::move(vfs)), max_idle_(max_idle) {}

ReadConnectionPool::~ReadConnectionPool() { Shutdown(); }

StatusOr<ReadConnectionPool::Lease> ReadConnectionPool::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return UnavailableError("store closed");
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c));
    }
  }
  auto c = OpenOne();
  if (!c.ok()) return c.status();
  return Lease(this, std::move(c).value());
}

void ReadConnectionPool::Release(std::unique_ptr<ReadConnection> c) {
  std::lock_guard lock(mu_);
  if (shutdown_ || idle_.size() >= max_idle_) return;  // closed as `c` goes out of scope
  idle_.push_back(std::move(c));
}

void ReadConnectionPool::Shutdown() {
  std::vector<std::unique_ptr<ReadConnection>> idle;
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
    idle.swap(idle_);
  }
}

StatusOr<std::unique_ptr<ReadConnection>> ReadConnectionPool::OpenOne() {
  auto db = SqliteConnection::Open(path_, /*create=*/false, vfs_, /*busy_timeout_ms=*/5000);
  if (!db.ok()) return db.status();
  auto c = std::make_unique<ReadConnection>();
  c->db = std::move(db).value();
  PEAT_RETURN_IF_ERROR(c->db.Exec("PRAGMA query_only = 1"));
  struct {
    SqliteStatement* stmt;
    const char* sql;
  } stmts[] = {
      {&c->get_doc, "SELECT state, live, seq FROM docs WHERE collection = ?1 AND doc_id = ?2"},
      {&c->list_ids, "SELECT doc_id FROM docs WHERE collection = ?1 AND live = 1 ORDER BY doc_id"},
      {&c->count_live,
       "SELECT collection, count(*) FROM docs WHERE live = 1 GROUP BY collection "
       "ORDER BY collection"},
      {&c->scan_collection,
       "SELECT doc_id, state, seq FROM docs WHERE collection = ?1 AND live = 1 ORDER BY doc_id"},
      {&c->scan_all,
       "SELECT collection, doc_id, state, seq FROM docs WHERE live = 1 "
       "ORDER BY collection, doc_id"},
      {&c->oldest_tombstone, "SELECT min(updated_ms) FROM docs WHERE live = 0"},
      {&c->read_feed,
       "SELECT seq, collection, doc_id, state, src_peer FROM docs INDEXED BY docs_by_seq "
       "WHERE seq > ?1 AND seq <= ?3 ORDER BY seq LIMIT ?2"},
      {&c->read_feed_in,
       "SELECT seq, collection, doc_id, state, src_peer FROM docs "
       "WHERE seq > ?1 AND seq <= ?3 AND collection IN (SELECT value FROM json_each(?4)) "
       "ORDER BY seq LIMIT ?2"},
      {&c->read_feed_not_in,
       "SELECT seq, collection, doc_id, state, src_peer FROM docs INDEXED BY docs_by_seq "
       "WHERE seq > ?1 AND seq <= ?3 AND collection NOT IN (SELECT value FROM json_each(?4)) "
       "ORDER BY seq LIMIT ?2"},
      {&c->get_checkpoint, "SELECT epoch, seq FROM peer_checkpoints WHERE peer_id = ?1"},
      {&c->list_peers, "SELECT endpoint_id, addresses, is_static FROM peers ORDER BY endpoint_id"},
      {&c->list_member_acks, "SELECT peer_id, seq FROM member_acks ORDER BY peer_id"},
  };
  for (auto& s : stmts) {
    auto st = c->db.Prepare(s.sql);
    if (!st.ok()) return st.status();
    *s.stmt = std::move(st).value();
  }
  return c;
}

}  // namespace peat::store
