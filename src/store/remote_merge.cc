#include "store/remote_merge.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "store/validation.h"

namespace peat::store {
namespace {

// Encoded remote states may be larger than the JSON they render (every register carries its
// timestamp): they are accepted up to twice --max-document-bytes.
size_t MaxRemoteStateBytes(const StoreLimits& limits) {
  return limits.max_document_bytes > std::numeric_limits<size_t>::max() / 2
             ? std::numeric_limits<size_t>::max()
             : 2 * limits.max_document_bytes;
}

// SQLite integers are signed: seqs beyond INT64_MAX (never produced by a store) saturate.
int64_t ToInt64(uint64_t v) {
  return static_cast<int64_t>(
      std::min<uint64_t>(v, static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
}

}  // namespace

OpResult Apply(MergeRemoteOp& op, WriteContext& ctx) {
  const StoreLimits& limits = ctx.options.limits;
  const size_t max_state = MaxRemoteStateBytes(limits);
  size_t rejected = 0;
  std::string first_reason;  // never holds document values
  auto reject = [&](std::string reason) {
    if (rejected++ == 0) first_reason = std::move(reason);
  };
  for (const RemoteChange& change : op.changes) {
    if (Status s = ValidateDocumentKey(change.collection, change.doc_id); !s.ok()) {
      reject(s.message());
      continue;
    }
    if (change.state.size() > max_state) {
      reject("state is " + std::to_string(change.state.size()) + " bytes; the limit is " +
             std::to_string(max_state) + " (2 x --max-document-bytes)");
      continue;
    }
    auto incoming = crdt::Document::Decode(change.state, limits.max_depth);
    if (!incoming.ok()) {
      reject(incoming.status().message());
      continue;
    }
    // Far-future clocks are clamped (and counted) by the HLC; the state is merged as sent, and
    // local writes still win over it (Put writes above the document's newest timestamp).
    (void)ctx.clock.Observe(incoming->MaxTimestamp());

    std::string key = DocumentCache::Key(change.collection, change.doc_id);
    WriteContext::Current cur;
    if (OpResult r = ctx.Load(change.collection, change.doc_id, key, cur); !r.status.ok()) {
      if (r.fatal) return r;
      reject(r.status.message());  // the local row does not decode: leave it for an operator
      continue;
    }
    // With a key, names are stored encrypted: clear names (the old scheme's, relayed by any
    // node, or a keyless writer's) move to their encrypted paths before the merge — once the
    // document shows that this node's key is its key (a wrong key must not hide names from the
    // nodes that have the right one; a state with nothing encrypted is not converted).
    std::optional<crdt::Document> normalized;
    if (ctx.cipher != nullptr && !DocumentCipher::IsNormalized(*incoming)) {
      auto check = ctx.cipher->CheckKey(change.collection, change.doc_id, *incoming);
      if (check == DocumentCipher::KeyCheck::kNothingToCheck && cur.exists) {
        check = ctx.cipher->CheckKey(change.collection, change.doc_id, cur.doc);
      }
      if (check == DocumentCipher::KeyCheck::kMatches) {
        normalized = ctx.cipher->Normalize(change.collection, change.doc_id, *incoming);
      }
    }
    const crdt::Document& in = normalized ? *normalized : *incoming;
    crdt::Document merged = std::move(cur.doc);
    if (!merged.Merge(in).changed) {
      ++ctx.group.remote_unchanged;
      continue;
    }
    ++ctx.group.remote_merged;
    const bool live = merged.IsLive();
    std::string json;
    bool cacheable = true;
    if (live) {
      // Collection policies (IMMUTABLE) and this node's key do not gate a merge: replicas must
      // converge, and stored values are opaque. A state this node cannot decrypt is stored all
      // the same; its event carries no JSON and Get reports the error as for any such document.
      auto rendered = RenderStored(ctx.cipher, change.collection, change.doc_id, merged);
      if (rendered.ok()) {
        json = std::move(rendered).value();
      } else {
        cacheable = false;
      }
    }
    static const std::string kLocal;
    const std::string& src_peer = merged == in ? op.peer_id : kLocal;
    if (OpResult r = ctx.WriteDoc(change.collection, change.doc_id, std::move(key), merged, live,
                                  std::move(json), cur, src_peer, cacheable);
        !r.status.ok()) {
      return r;
    }
  }

  // The checkpoint commits with the states it covers (even when none of them changed anything);
  // states sent on request (empty epoch) move no checkpoint.
  if (!op.checkpoint.epoch.empty()) {
    SqliteStatement& checkpoint = ctx.stmts.upsert_checkpoint;
    checkpoint.BindText(1, op.peer_id);
    checkpoint.BindText(2, op.checkpoint.epoch);
    checkpoint.BindInt64(3, ToInt64(op.checkpoint.seq));
    if (OpResult r = RunWrite(checkpoint, "write replication checkpoint", ctx.group);
        !r.status.ok()) {
      return r;
    }
  }

  if (rejected > 0) {
    ctx.group.remote_rejected += rejected;
    spdlog::warn("replication: skipped {} of {} changes from peer {}: {}", rejected,
                 op.changes.size(), op.peer_id.substr(0, 16), first_reason);
  }
  return {};
}

}  // namespace peat::store
