// "A document is never a fragment" (BEHAVIOR.md "Documents", issue #13 item 5; docs/ARCHITECTURE.md
// "Deletes and concurrent updates"): two meshed nodes, sync stopped on both (a partition); A deletes
// a document while B updates one field of it (B's client re-puts the whole document with one value
// changed). After StartSync both nodes hold the identical, COMPLETE document — every field of the
// last full version, with B's update — whether B's update is stamped after A's delete or before
// it (both are concurrent: neither node had seen the other's write). A delete made after the
// deleting node received the update removes the document on both. Also with --encryption-key
// (the stored, encrypted form carries the delete register through the cipher).
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/mesh_fragment.test.mjs

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { preview } from "./lib/documents.mjs";
import { DELETE, randomKey, startCluster, UPSERT, waitAbsent, waitDocText, waitEvent } from "./lib/mesh_cluster.mjs";

const C = "frag";
const full = (i) => ({ name: `unit-${i}`, pos: { lat: 1.5 + i, lon: 2.5 }, fuel: 80, status: "ok", tags: ["a", "b"] });
/** Canonical JSON (keys sorted bytewise, compact) of a plain JSON value. */
const canon = (v) =>
  Array.isArray(v)
    ? `[${v.map(canon).join(",")}]`
    : v !== null && typeof v === "object"
      ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(",")}}`
      : JSON.stringify(v);

async function partition(nodes) {
  for (const n of nodes) await n.stopSync();
  for (const n of nodes) assert.equal((await n.syncStats()).syncActive, false, `${n.name} sync_active after StopSync`);
}
async function heal(nodes) {
  for (const n of nodes) await n.startSync();
}

for (const encrypted of [false, true]) {
  const label = encrypted ? " (--encryption-key)" : "";
  describe(`mesh: a document is never a fragment${label}`, () => {
    const encKey = randomKey();
    const args = () => (encrypted ? ["--encryption-key", encKey] : []);

    it("delete on A concurrent with a one-field update on B → the complete document with B's update on both, whichever is stamped later", async (t) => {
      const cl = await startCluster({ t, n: 2, edges: [[0, 1]], args });
      const [a, b] = cl.nodes;
      const base = full(9);
      for (const id of ["del-first", "upd-first"]) await a.put(C, id, base);
      for (const id of ["del-first", "upd-first"]) await waitDocText(b, C, id, canon(base), { timeoutMs: 10_000 });
      const events = b.subscribe([C]);
      t.after(() => events.cancel());

      await partition([a, b]);
      // del-first: A's delete, then B's update (B's stamp is the later one).
      await a.del(C, "del-first");
      const updated1 = { ...base, fuel: 55 };
      await b.put(C, "del-first", updated1);
      // upd-first: B's update, then A's delete (the delete's stamp is the later one, but A never
      // saw the update: it is concurrent all the same and must keep the document).
      const updated2 = { ...base, status: "moving" };
      await b.put(C, "upd-first", updated2);
      await a.del(C, "upd-first");
      for (const id of ["del-first", "upd-first"]) assert.equal(await a.getText(C, id), undefined, `${id} still on A after its delete`);
      assert.equal(await b.getText(C, "del-first"), canon(updated1), "a write crossed the partition");

      await heal([a, b]);
      for (const [id, want] of [
        ["del-first", updated1],
        ["upd-first", updated2],
      ]) {
        for (const n of [a, b]) {
          await waitDocText(n, C, id, canon(want), { timeoutMs: 10_000, what: `${id} complete (${preview(canon(want), 60)}) on ${n.name}` });
        }
      }
      const state = await cl.waitConverged([C], { minCount: 2, timeoutMs: 10_000 });
      assert.equal(state.count, 2);
      // The healed document reached B's subscribers as a whole (A's delete never showed there).
      const ev = await waitEvent(events, (m) => m.docId === "upd-first" && m.changeType === UPSERT, { what: "upd-first UPSERT on B" });
      assert.ok(ev, "no UPSERT");
      assert.ok(!events.messages.some((m) => m.docId === "upd-first" && m.changeType === DELETE), "B's subscribers saw a DELETE of a document that survives");
    });

    it("a delete made after the deleting node received the update removes the document on both", async (t) => {
      const cl = await startCluster({ t, n: 2, edges: [[0, 1]], args });
      const [a, b] = cl.nodes;
      await a.put(C, "seen", full(1));
      await waitDocText(b, C, "seen", canon(full(1)), { timeoutMs: 10_000 });
      // B updates; A receives it, then deletes: the delete saw every update.
      const updated = { ...full(1), fuel: 10 };
      await b.put(C, "seen", updated);
      await waitDocText(a, C, "seen", canon(updated), { timeoutMs: 10_000 });
      await a.del(C, "seen");
      for (const n of [a, b]) await waitAbsent(n, C, "seen", { timeoutMs: 10_000 });

      // The same across a partition: B's update crosses, then A deletes while partitioned; B
      // learns the delete after the heal and drops the document too.
      await a.put(C, "seen2", full(2));
      await waitDocText(b, C, "seen2", canon(full(2)), { timeoutMs: 10_000 });
      const updated2 = { ...full(2), status: "late" };
      await b.put(C, "seen2", updated2);
      await waitDocText(a, C, "seen2", canon(updated2), { timeoutMs: 10_000 });
      await partition([a, b]);
      await a.del(C, "seen2");
      assert.equal(await b.getText(C, "seen2"), canon(updated2), "the delete crossed the partition");
      await heal([a, b]);
      for (const n of [a, b]) await waitAbsent(n, C, "seen2", { timeoutMs: 10_000 });
      const state = await cl.waitConverged([C], { timeoutMs: 10_000 });
      assert.equal(state.count, 0, "a deleted document is live somewhere");
    });
  });
}
