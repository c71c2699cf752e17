// StartSync / StopSync really pause and resume replication (BEHAVIOR.md: "Fix: the original's
// StopSync only flipped a flag"; connections stay up while paused), and a static peer that is down
// at boot is dialed with backoff until it answers, without any RPC (LESSONS 6).
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/mesh_sync_control.test.mjs

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sleep } from "./lib/documents.mjs";
import { MeshNode, PHASE_READY, PHASE_SYNCING, freePort, randomKey, startCluster, waitDocText, waitFor } from "./lib/mesh_cluster.mjs";

const C = "syncctl";
const ABSENCE_MS = 1_500; // a write that has not arrived after this long did not flow (the pair's bar is 1 s)
const BOOT_DELAY_MS = Number(process.env.PEAT_IT_MESH_BOOT_DELAY_MS ?? 10_000);

describe("mesh: sync control", () => {
  it("StopSync on A keeps its writes local (connection stays up); StartSync sends them", async (t) => {
    const cl = await startCluster({ t, n: 2, edges: [[0, 1]] });
    const [a, b] = cl.nodes;

    // positive control: replication works before StopSync
    await a.put(C, "before", { v: 1 });
    await waitDocText(b, C, "before", '{"v":1}', { timeoutMs: 2_000 });

    await a.stopSync();
    const st = await a.status();
    assert.equal(st.syncActive, false, "sync_active after StopSync");
    assert.equal(st.phase, PHASE_READY, "phase after StopSync (sync paused → READY)");
    assert.equal((await a.syncStats()).syncActive, false, "GetSyncStats sync_active after StopSync");

    await a.put(C, "paused-x", { v: 2 });
    await a.put(C, "before", { v: 3 }); // an update of a doc B already holds
    await sleep(ABSENCE_MS); // proving absence: there is no event to wait for
    assert.equal(await b.getText(C, "paused-x"), undefined, "a write made during StopSync reached B");
    assert.equal(await b.getText(C, "before"), '{"v":1}', "an update made during StopSync reached B");
    assert.ok(await a.isConnectedTo(b), "StopSync dropped the connection (it should stay up while paused)");

    await a.startSync();
    const st2 = await a.status();
    assert.equal(st2.syncActive, true, "sync_active after StartSync");
    assert.equal(st2.phase, PHASE_SYNCING, "phase after StartSync");
    await waitDocText(b, C, "paused-x", '{"v":2}', { timeoutMs: 5_000 });
    await waitDocText(b, C, "before", '{"v":3}', { timeoutMs: 5_000 });
    // StartSync / StopSync are idempotent
    await a.startSync();
    await a.stopSync();
    await a.stopSync();
    await a.startSync();
    await a.put(C, "after", { v: 4 });
    await waitDocText(b, C, "after", '{"v":4}', { timeoutMs: 5_000 });
  });

  it("--auto-sync false: connected but not replicating until StartSync", async (t) => {
    const cl = await startCluster({ t, n: 2, edges: [[0, 1]], args: (i) => (i === 0 ? ["--auto-sync", "false"] : []) });
    const [a, b] = cl.nodes;
    assert.equal((await a.status()).phase, PHASE_READY);
    await a.put(C, "x", { v: 1 });
    await sleep(ABSENCE_MS);
    assert.equal(await b.getText(C, "x"), undefined, "replicated with --auto-sync false");
    await a.startSync();
    await waitDocText(b, C, "x", '{"v":1}', { timeoutMs: 5_000 });
  });

  it(`a static peer down at boot is dialed until it answers (B starts ${BOOT_DELAY_MS / 1000} s after A), no RPC needed`, async (t) => {
    const key = randomKey();
    const b = new MeshNode({ name: "B", nodeId: "late-b", sharedKey: key, appId: "boot", meshPort: await freePort(), t });
    const a = new MeshNode({ name: "A", nodeId: "early-a", sharedKey: key, appId: "boot", meshPort: await freePort(), t });
    a.peers.push(b);
    await a.start();
    await a.put(C, "written-before-b-existed", { v: 1 });
    // B not started yet: A must keep trying (backoff 1 s → 60 s); wait BOOT_DELAY_MS first
    await sleep(BOOT_DELAY_MS); // the scenario: the peer is down for this long
    assert.equal(await a.isConnectedTo(b), false);
    await b.start();
    const t0 = Date.now();
    await waitFor(async () => (await a.isConnectedTo(b)) && (await b.isConnectedTo(a)), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: "A's static peer B connected without any RPC",
    });
    t.diagnostic(`connected ${Date.now() - t0} ms after B started`);
    await waitDocText(b, C, "written-before-b-existed", '{"v":1}', { timeoutMs: 5_000 });
    await b.put(C, "from-b", { v: 2 });
    await waitDocText(a, C, "from-b", '{"v":2}', { timeoutMs: 5_000 });
  });
});
