// A–B–C line (A and C never connected; LESSONS 3, 5, 7): writes and deletes made at either end or in
// the middle reach every node through the relay, a burst from all three converges to one state, and
// once converged the mesh goes quiet: over 2 s of idle the byte counters of all three nodes move by
// no more than keepalives (no echo storm, no periodic re-send of the store).
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/mesh_line.test.mjs

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { preview, sleep } from "./lib/documents.mjs";
import { line, makeDoc, startCluster, waitAbsent, waitDocText, waitFor } from "./lib/mesh_cluster.mjs";

const C = "line";
const IDLE_MS = 2_000;
/** All three nodes together, over IDLE_MS: generous for keepalives on two links, far below any re-send of the ~90 KB state. */
const IDLE_BYTES_MAX = 8 * 1024;

describe("mesh: A–B–C line", () => {
  it("every write converges on all three (writes at A, C and B), deletes relay, no echo storm when idle", async (t) => {
    const cl = await startCluster({ t, n: 3, edges: line(3) });
    const [a, b, c] = cl.nodes;
    const notAdjacent = async () => !(await a.listPeers()).some((p) => p.endpointId === c.endpointId) && !(await c.listPeers()).some((p) => p.endpointId === a.endpointId);
    assert.ok(await notAdjacent(), "A and C are peers: the line is not a line");

    // single writes at each position reach the other two
    for (const [i, [w, id]] of [
      [a, "at-a"],
      [c, "at-c"],
      [b, "at-b"],
    ].entries()) {
      await w.put(C, id, { ...makeDoc(i), writer: w.name });
      const text = await w.getText(C, id);
      for (const r of cl.nodes) if (r !== w) await waitDocText(r, C, id, text, { timeoutMs: 5_000 });
    }

    // an update at C of A's doc reaches A, and a delete at A reaches C, through B
    await c.put(C, "at-a", { rewritten: "by-c" });
    await waitDocText(a, C, "at-a", '{"rewritten":"by-c"}');
    await a.del(C, "at-c");
    await waitAbsent(c, C, "at-c");
    await waitAbsent(b, C, "at-c");

    // a burst from all three at once (different docs), deletes mixed in
    const burst = async (w, k) => {
      await w.putMany(C, Array.from({ length: 100 }, (_, i) => [`burst-${k}-${i}`, makeDoc(k * 1000 + i)]), { inflight: 16 });
      for (let i = 0; i < 10; i++) await w.del(C, `burst-${k}-${i}`);
    };
    await Promise.all([burst(a, 1), burst(b, 2), burst(c, 3)]);
    await cl.waitConverged([C], { timeoutMs: 20_000, minCount: 2 + 3 * 90 });

    // the same 20 docs written on all three while sync is stopped everywhere, each writer its own
    // field: after StartSync every replica (the relay included) holds all three fields
    for (const n of cl.nodes) await n.stopSync();
    await Promise.all(cl.nodes.map((n, k) => n.putMany(C, Array.from({ length: 20 }, (_, i) => [`shared-${i}`, { [`field_${n.name}`]: k, i }]))));
    for (const n of cl.nodes) await n.startSync();
    const state = await cl.waitConverged([C], { timeoutMs: 20_000 });
    assert.equal(state.count, 2 + 3 * 90 + 20, `converged on ${state.count} docs`);
    for (let i = 0; i < 20; i++) {
      const d = JSON.parse(state.docs.get(`${C}\u0000shared-${i}`));
      assert.deepEqual(d, { field_A: 0, field_B: 1, field_C: 2, i }, `shared-${i} lost a writer's field: ${preview(d)}`);
    }
    assert.ok(await notAdjacent(), "A and C became peers");

    // idle: let in-flight acknowledgements settle (bounded), then measure 2 s
    let prev = await cl.totalBytes();
    await waitFor(
      async () => {
        await sleep(250);
        const now = await cl.totalBytes();
        const quiet = now - prev < 512;
        prev = now;
        return quiet;
      },
      { timeoutMs: 3_000, intervalMs: 1, what: "byte counters to settle" },
    ).catch(() => {}); // never settling is what the measurement below catches
    const before = await Promise.all(cl.nodes.map((n) => n.syncStats()));
    await sleep(IDLE_MS); // a measurement window, not synchronisation
    const after = await Promise.all(cl.nodes.map((n) => n.syncStats()));
    const moved = after.map((s, i) => s.total - before[i].total);
    t.diagnostic(`idle ${IDLE_MS} ms: bytes moved per node ${moved.join(", ")}`);
    const sum = moved.reduce((x, y) => x + y, 0);
    assert.ok(sum <= IDLE_BYTES_MAX, `idle mesh moved ${sum} B in ${IDLE_MS} ms (A, B, C: ${moved.join(", ")}); bound ${IDLE_BYTES_MAX} B`);
  });
});
