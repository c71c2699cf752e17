#include "store/document_writes.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "store/path_cipher.h"

namespace peat::store {
namespace {

// Delete and Expire: a delete register at a fresh timestamp. `cutoff_ms` set: an expiry, which
// only applies to an IMPLICIT_TTL document that is still live and not updated since.
OpResult ApplyDelete(const std::string& collection, const std::string& doc_id,
                     std::optional<uint64_t> cutoff_ms, WriteContext& ctx) {
  const bool expire = cutoff_ms.has_value();
  const DeletionPolicy policy = CollectionConfigs::PolicyOf(ctx.ConfigOf(collection));
  if (!expire && policy == DeletionPolicy::kImmutable) {
    return {FailedPreconditionError("collection " + collection +
                                    " is IMMUTABLE: its documents cannot be deleted"),
            false};
  }
  if (expire && policy != DeletionPolicy::kImplicitTtl) return {};  // policy changed meanwhile
  std::string key = DocumentCache::Key(collection, doc_id);
  WriteContext::Current cur;
  if (OpResult r = ctx.Load(collection, doc_id, key, cur); !r.status.ok()) return r;
  if (!cur.exists) return {};  // deleting a missing document succeeds and records nothing
  if (expire && (!cur.live || cur.updated_ms >= *cutoff_ms)) return {};  // updated meanwhile
  if (!cur.doc.Delete(ctx.clock.Now()).changed) return {};
  if (expire) ++ctx.group.expired;
  return ctx.WriteDoc(collection, doc_id, std::move(key), cur.doc, cur.doc.IsLive(), std::string(),
                      cur);
}

// Put and MergePut: the CRDT write (`merge`: MergePut) against the decrypted current state.
OpResult ApplyPut(const std::string& collection, const std::string& doc_id, std::string_view json,
                  bool merge, WriteContext& ctx) {
  std::string key = DocumentCache::Key(collection, doc_id);
  WriteContext::Current cur;
  if (OpResult r = ctx.Load(collection, doc_id, key, cur); !r.status.ok()) return r;
  // Diff against the plaintext, so unchanged leaves keep their timestamps.
  crdt::Document plain;
  PathCipher::Memo paths;  // plaintext → stored paths of the current state
  if (ctx.cipher != nullptr && cur.exists) {
    auto dec = ctx.cipher->Decrypt(collection, doc_id, cur.doc, &paths);
    if (!dec.ok()) {
      return {FailedPreconditionError("cannot decrypt document " + collection + "/" + doc_id +
                                      " with this node's key; not overwritten"),
              false};
    }
    plain = std::move(dec).value();
  } else if (ctx.cipher == nullptr) {
    plain = std::move(cur.doc);
  }
  const crdt::Timestamp now = ctx.clock.Now();
  const int max_depth = ctx.options.limits.max_depth;
  auto put = merge ? plain.MergePut(json, now, max_depth) : plain.Put(json, now, max_depth);
  if (!put.ok()) return {put.status(), false};
  if (!put->changed) return {};
  std::string rendered = plain.Render();
  if (merge && rendered.size() > ctx.options.limits.max_document_bytes) {
    // A Put's input is checked before it is queued; a patch's result only here.
    return {InvalidArgumentError("json_data: the patched document would be " +
                                 std::to_string(rendered.size()) + " bytes; the limit is " +
                                 std::to_string(ctx.options.limits.max_document_bytes) +
                                 " (--max-document-bytes)"),
            false};
  }
  const bool live = plain.IsLive();
  if (ctx.cipher != nullptr) {
    auto stored =
        ctx.cipher->Encrypt(collection, doc_id, cur.exists ? &cur.doc : nullptr, plain, &paths);
    if (!stored.ok()) return {stored.status(), false};
    return ctx.WriteDoc(collection, doc_id, std::move(key), *stored, live, std::move(rendered),
                        cur);
  }
  return ctx.WriteDoc(collection, doc_id, std::move(key), plain, live, std::move(rendered), cur);
}

}  // namespace

OpResult Apply(PutOp& op, WriteContext& ctx) {
  return ApplyPut(op.collection, op.doc_id, op.json, /*merge=*/false, ctx);
}

OpResult Apply(MergePutOp& op, WriteContext& ctx) {
  return ApplyPut(op.collection, op.doc_id, op.json, /*merge=*/true, ctx);
}

OpResult Apply(DeleteOp& op, WriteContext& ctx) {
  return ApplyDelete(op.collection, op.doc_id, std::nullopt, ctx);
}

OpResult Apply(ExpireOp& op, WriteContext& ctx) {
  return ApplyDelete(op.collection, op.doc_id, op.cutoff_ms, ctx);
}

OpResult Apply(PurgeOp& op, WriteContext& ctx) {
  if (CollectionConfigs::PolicyOf(ctx.ConfigOf(op.collection)) != DeletionPolicy::kTombstone) {
    return {};
  }
  std::string key = DocumentCache::Key(op.collection, op.doc_id);
  WriteContext::Current cur;
  if (OpResult r = ctx.Load(op.collection, op.doc_id, key, cur); !r.status.ok()) return r;
  if (!cur.exists || cur.live || cur.updated_ms >= op.cutoff_ms) return {};
  bool forced = false;
  const StoreOptions& o = ctx.options;
  if (o.ack_tracker != nullptr && !o.ack_tracker->AllMembersAcknowledged(
                                      op.collection, op.doc_id, cur.doc.delete_ts(), cur.seq)) {
    const uint64_t bound = SecsToMs(o.tombstone_ttl_upper_bound_secs);
    if (op.now_ms < cur.updated_ms || op.now_ms - cur.updated_ms < bound) return {};  // vetoed
    forced = true;
  }
  SqliteStatement& del = ctx.stmts.delete_doc;
  del.BindText(1, op.collection);
  del.BindText(2, op.doc_id);
  if (OpResult r = RunWrite(del, "purge tombstone", ctx.group); !r.status.ok()) return r;
  --ctx.group.tombstone_delta;
  ++ctx.group.purged;
  if (forced) ++ctx.group.force_purged;
  ctx.group.docs[std::move(key)] =
      StagedGroup::Doc{};  // exists = false: erased from the cache on commit
  return {};
}

}  // namespace peat::store
