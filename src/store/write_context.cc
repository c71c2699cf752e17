#include "store/write_context.h"

#include <limits>
#include <utility>

namespace peat::store {

Status WriteStatements::Prepare(SqliteConnection& db) {
  struct {
    SqliteStatement* stmt;
    const char* sql;
  } stmts[] = {
      {&select_doc,
       "SELECT state, live, seq, updated_ms FROM docs WHERE collection = ?1 AND doc_id = ?2"},
      {&upsert_doc,
       "INSERT INTO docs(collection, doc_id, state, live, seq, updated_ms, src_peer) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(collection, doc_id) DO UPDATE SET "
       "state = excluded.state, live = excluded.live, seq = excluded.seq, "
       "updated_ms = excluded.updated_ms, src_peer = excluded.src_peer"},
      {&delete_doc, "DELETE FROM docs WHERE collection = ?1 AND doc_id = ?2"},
      {&upsert_config,
       "INSERT INTO collection_configs(collection, deletion_policy, soft_delete_ttl_secs, "
       "tombstone_ttl_secs) VALUES(?1, ?2, ?3, ?4) ON CONFLICT(collection) DO UPDATE SET "
       "deletion_policy = excluded.deletion_policy, "
       "soft_delete_ttl_secs = excluded.soft_delete_ttl_secs, "
       "tombstone_ttl_secs = excluded.tombstone_ttl_secs"},
      {&upsert_checkpoint,
       "INSERT OR REPLACE INTO peer_checkpoints(peer_id, epoch, seq) VALUES(?1, ?2, ?3)"},
      {&upsert_peer,
       "INSERT INTO peers(endpoint_id, addresses, is_static) VALUES(?1, ?2, ?3) "
       "ON CONFLICT(endpoint_id) DO UPDATE SET addresses = excluded.addresses, "
       "is_static = excluded.is_static"},
      {&delete_peer, "DELETE FROM peers WHERE endpoint_id = ?1"},
      {&upsert_member_ack,
       "INSERT INTO member_acks(peer_id, seq) VALUES(?1, ?2) "
       "ON CONFLICT(peer_id) DO UPDATE SET seq = max(seq, excluded.seq)"},
      {&delete_member, "DELETE FROM member_acks WHERE peer_id = ?1"},
  };
  for (auto& s : stmts) {
    PEAT_ASSIGN_OR_RETURN(*s.stmt, db.Prepare(s.sql));
  }
  return Status::Ok();
}

void WriteStatements::Clear() {
  for (SqliteStatement* s :
       {&select_doc, &upsert_doc, &delete_doc, &upsert_config, &upsert_checkpoint, &upsert_peer,
        &delete_peer, &upsert_member_ack, &delete_member}) {
    *s = SqliteStatement();
  }
}

uint64_t SecsToMs(uint64_t secs) {
  return secs > std::numeric_limits<uint64_t>::max() / 1000 ? std::numeric_limits<uint64_t>::max()
                                                            : secs * 1000;
}

OpResult RunWrite(SqliteStatement& stmt, std::string_view what, StagedGroup& group) {
  if (Status s = stmt.Run(what); !s.ok()) return {s, true};
  group.wrote = true;
  return {};
}

std::optional<CollectionConfig> WriteContext::ConfigOf(const std::string& collection) const {
  auto it = group.configs.find(collection);
  if (it != group.configs.end()) return it->second;
  return configs_.Get(collection);
}

OpResult WriteContext::Load(const std::string& collection, const std::string& doc_id,
                            const std::string& key, Current& out) {
  out = Current();
  // Decodes `state` (a view into the staged group, the cache entry, or the statement's row,
  // valid until this returns) into `out`.
  auto decode = [&](std::string_view state) -> OpResult {
    auto doc = crdt::Document::Decode(state);
    if (!doc.ok()) {
      return {Status(StatusCode::kDataLoss, "stored document " + collection + "/" + doc_id +
                                                " does not decode: " + doc.status().message()),
              false};
    }
    out.doc = std::move(doc).value();
    out.updated_ms = out.doc.MaxTimestamp().wall_ms();
    return {};
  };
  if (auto it = group.docs.find(key); it != group.docs.end()) {
    if (!it->second.exists) return {};
    out.exists = true;
    out.live = it->second.live;
    out.seq = it->second.seq;
    return decode(it->second.state);
  }
  if (std::shared_ptr<const CachedDocument> cached = cache_.Lookup(key)) {
    out.exists = true;
    out.live = cached->live;
    out.seq = cached->seq;
    return decode(cached->state);
  }
  SqliteStatement& select = stmts.select_doc;
  StatementScope scope(select);
  select.BindText(1, collection);
  select.BindText(2, doc_id);
  const int rc = select.Step();
  if (rc == SQLITE_DONE) return {};
  if (rc != SQLITE_ROW) return StorageFailure(rc, "read document");
  out.exists = true;
  out.live = select.ColumnInt64(1) != 0;
  out.seq = static_cast<uint64_t>(select.ColumnInt64(2));
  return decode(select.ColumnBlob(0));  // decoded straight from the row, no copy
}

OpResult WriteContext::WriteDoc(const std::string& collection, const std::string& doc_id,
                                std::string key, const crdt::Document& stored, bool live,
                                std::string json, const Current& before,
                                const std::string& src_peer, bool cacheable) {
  const uint64_t seq = group.last_seq + 1;
  std::string state = stored.Encode();
  SqliteStatement& upsert = stmts.upsert_doc;
  upsert.BindText(1, collection);
  upsert.BindText(2, doc_id);
  upsert.BindBlob(3, state);
  upsert.BindInt64(4, live ? 1 : 0);
  upsert.BindInt64(5, static_cast<int64_t>(seq));
  upsert.BindInt64(6, static_cast<int64_t>(stored.MaxTimestamp().wall_ms()));
  upsert.BindText(7, src_peer);
  if (OpResult r = RunWrite(upsert, "write document", group); !r.status.ok()) return r;
  group.last_seq = seq;

  if (before.exists) {
    if (before.live)
      --group.live_delta;
    else
      --group.tombstone_delta;
  }
  if (live)
    ++group.live_delta;
  else
    ++group.tombstone_delta;

  // A document that stays deleted (e.g. a newer remote tombstone) changes nothing a listener
  // can see: it gets its seq (the feed carries it) but no event.
  size_t event = StagedGroup::kNoEvent;
  if (live || (before.exists && before.live)) {
    event = group.events.size();
    ChangeEvent& e = group.events.emplace_back();
    e.seq = seq;
    e.collection = collection;
    e.doc_id = doc_id;
    e.deleted = !live;
    if (live) e.json = std::move(json);
  }

  StagedGroup::Doc& st = group.docs[std::move(key)];
  st.exists = true;
  st.state = std::move(state);
  st.live = live;
  st.seq = seq;
  st.event = live ? event : StagedGroup::kNoEvent;
  st.cacheable = cacheable || !live;
  return {};
}

}  // namespace peat::store
