// Catch-up after a partition (BEHAVIOR.md: "Replication is incremental and resumable"; LESSONS 1,
// 2, 7, 9): A and B hold the same 10,000 documents (~300 B); B is killed (SIGKILL); A changes 1,000
// of them, adds 1,000 and deletes 50; B, started alone (other mesh port, no peers, sync off), takes
// offline writes of its own and is killed again; then B restarts with its peer config. Both must
// converge to one state holding everyone's changes, and the bytes moved during the catch-up
// (GetSyncStats on both ends) must be about what changed — ≤ 1.5× its raw JSON + a constant — and
// not proportional to the 10,000-document store.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/mesh_partition.test.mjs

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freePort, makeDoc, startCluster, waitFor } from "./lib/mesh_cluster.mjs";

const C = "part";
const STORE = 10_000;
const CHANGED = 1_000;
const ADDED = 1_000;
const DELETED = 50;
const OFFLINE_NEW = 20;
const OFFLINE_CHANGED = 10;
/** Handshake, checkpoints and framing for one reconnect; far below the 3 MB store. */
const CONSTANT_BYTES = 64 * 1024;

const id = (i) => `doc-${i}`;
const jsonLen = (d) => Buffer.byteLength(JSON.stringify(d));

describe("mesh: partition and catch-up", () => {
  it(`${STORE} docs synced; B killed; ${CHANGED} changed + ${ADDED} added + ${DELETED} deleted on A, offline writes on B; restart converges moving only the changes`, async (t) => {
    const cl = await startCluster({ t, n: 2, edges: [[0, 1]] });
    const [a, b] = cl.nodes;

    // ---- 1. pre-load on A; B gets everything
    const t0 = Date.now();
    await a.putMany(
      C,
      Array.from({ length: STORE }, (_, i) => [id(i), makeDoc(i)]),
      { inflight: 128 },
    );
    await waitFor(async () => (await b.list(C)).length === STORE, { timeoutMs: 60_000, intervalMs: 200, what: `B holds ${STORE} docs` });
    t.diagnostic(`pre-load of ${STORE} docs written and replicated in ${Date.now() - t0} ms`);

    // ---- 2. partition: SIGKILL B; A changes, adds, deletes
    await b.kill();
    let changedJson = 0;
    const onA = [];
    for (let i = 0; i < CHANGED; i++) onA.push([id(i * 7), makeDoc(i * 7, 1)]); // spread over the store
    for (let i = 0; i < ADDED; i++) onA.push([id(STORE + i), makeDoc(STORE + i)]);
    for (const [, d] of onA) changedJson += jsonLen(d);
    await a.putMany(C, onA, { inflight: 128 });
    for (let i = 0; i < DELETED; i++) await a.del(C, id(i * 7 + 3));

    // ---- 3. B alone: another mesh port (A cannot reach it), no peers, sync off; offline writes
    await b.start({ peers: [], meshPort: await freePort(), extra: ["--auto-sync", "false"] });
    const onB = [];
    for (let i = 0; i < OFFLINE_NEW; i++) onB.push([`offline-${i}`, { offline: i, from: "b" }]);
    for (let i = 0; i < OFFLINE_CHANGED; i++) onB.push([id(i * 7 + 5), { ...makeDoc(i * 7 + 5), offline_edit: true }]);
    for (const [, d] of onB) changedJson += jsonLen(d);
    await b.putMany(C, onB);
    await b.kill();

    // ---- 4. B back with its peer config; A's counters keep running, B's start from zero
    const a0 = await a.syncStats();
    const r0 = Date.now();
    await b.start();
    const state = await cl.waitConverged([C], { timeoutMs: 60_000, intervalMs: 500 });
    const catchUpMs = Date.now() - r0;
    assert.equal(state.count, STORE + ADDED - DELETED + OFFLINE_NEW, `converged on ${state.count} docs`);
    const doc = (i) => JSON.parse(state.docs.get(`${C}\u0000${id(i)}`) ?? "null");
    assert.equal(doc(7).rev, 1, "A's change while B was down is missing");
    assert.equal(doc(STORE + 1)?.id, id(STORE + 1), "A's new doc is missing");
    assert.equal(doc(3), null, "A's delete while B was down did not win");
    assert.equal(doc(5).offline_edit, true, "B's offline change is missing");
    assert.ok(state.docs.has(`${C}\u0000offline-0`), "B's offline doc is missing");

    // ---- 5. bytes of the catch-up, measured on both ends
    const a1 = await a.syncStats();
    const b1 = await b.syncStats();
    const viaA = a1.total - a0.total;
    const bound = 1.5 * changedJson + CONSTANT_BYTES;
    t.diagnostic(
      `catch-up in ${catchUpMs} ms (including digests); changed JSON ${changedJson} B; bytes both ways: ${viaA} (A's delta), ${b1.total} (B since start); bound ${Math.round(bound)} B; store ≈ ${STORE * 300} B`,
    );
    assert.ok(viaA > 0 && b1.total > 0, "byte counters did not move during the catch-up");
    assert.ok(viaA <= bound, `catch-up moved ${viaA} B (A's counters) for ${changedJson} B of changed JSON; bound ${Math.round(bound)} B`);
    assert.ok(b1.total <= bound, `catch-up moved ${b1.total} B (B's counters) for ${changedJson} B of changed JSON; bound ${Math.round(bound)} B`);
  });
});
