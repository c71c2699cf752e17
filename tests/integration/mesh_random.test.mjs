// Randomised convergence (BEHAVIOR.md: "Every set of nodes that stays connected … converges to
// byte-identical document state, whatever the order of writes, deletes, partitions and
// restarts"): 5 nodes on a ring plus random chords (static --peer flags), RUN_MS of random writes
// (whole docs and per-field edits), deletes and re-creates on random nodes, while links are cut
// (DisconnectPeer, later ConnectPeer) and nodes are killed with SIGKILL and restarted. Then heal
// (every node up, every original edge connected) and wait until all five digests are equal and
// non-empty; finally a mass delete on one node must reach every node (no resurrection after chaos).
//
// Seeded: PEAT_IT_MESH_SEED=<n> replays the topology and the sequence of random choices (the seed is
// printed; the interleaving of the concurrent workers is not replayed). PEAT_IT_MESH_RANDOM_MS sets
// the chaos duration (default 60000).
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/mesh_random.test.mjs

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sleep } from "./lib/documents.mjs";
import { pick, prng, randInt, ringWithChords, startCluster, waitFor } from "./lib/mesh_cluster.mjs";

const N = 5;
const RUN_MS = Number(process.env.PEAT_IT_MESH_RANDOM_MS ?? 60_000);
const SEED = Number(process.env.PEAT_IT_MESH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const COLLECTIONS = ["r1", "r2"];
const IDS = 150; // per collection: small enough that writes collide
const FIELDS = ["a", "b", "c", "d", "e", "f"];
const WORKERS = 4;
const MAX_DOWN = 2;

describe("mesh: random operations, partitions and restarts", () => {
  it(`${N} nodes, ${RUN_MS / 1000} s of chaos, then heal: all digests equal (seed ${SEED})`, async (t) => {
    console.log(`mesh_random seed=${SEED} (replay: PEAT_IT_MESH_SEED=${SEED})`);
    t.diagnostic(`seed=${SEED}`);
    const rnd = prng(SEED);
    const edges = ringWithChords(N, 2, rnd);
    t.diagnostic(`edges: ${edges.map(([x, y]) => `${x}-${y}`).join(" ")}`);
    const cl = await startCluster({ t, n: N, edges });
    const nodes = cl.nodes;

    const epoch = new Map(nodes.map((n) => [n, 0])); // bumped whenever a node is killed
    const cut = new Set(); // indexes into edges currently cut by DisconnectPeer
    const counts = { put: 0, edit: 0, del: 0, disconnect: 0, reconnect: 0, kill: 0, restart: 0, tolerated: 0 };
    const down = () => nodes.filter((n) => !n.running || n.restarting);
    const upNodes = () => nodes.filter((n) => n.running && !n.restarting);

    /** Runs op on node; an RPC failure is tolerated only when the node was killed meanwhile. */
    async function onNode(n, op) {
      const e = epoch.get(n);
      try {
        await op();
      } catch (err) {
        if (epoch.get(n) !== e || !n.running) {
          counts.tolerated++;
          return;
        }
        throw new Error(`${n.name}: ${err.message}`);
      }
    }

    async function step() {
      const r = rnd();
      const up = upNodes();
      if (up.length === 0) return;
      const n = pick(rnd, up);
      const coll = pick(rnd, COLLECTIONS);
      const id = `d${randInt(rnd, IDS)}`;
      if (r < 0.45) {
        counts.put++;
        const doc = {};
        for (const f of FIELDS) if (rnd() < 0.5) doc[f] = rnd() < 0.2 ? { x: randInt(rnd, 100), y: n.name } : randInt(rnd, 1000);
        doc.w = n.name;
        await onNode(n, () => n.put(coll, id, doc));
      } else if (r < 0.75) {
        counts.edit++; // read-modify-write of one field (what an application owning a field does)
        const f = pick(rnd, FIELDS);
        const v = randInt(rnd, 1000);
        await onNode(n, async () => {
          const cur = (await n.get(coll, id)) ?? {};
          await n.put(coll, id, { ...cur, [f]: v });
        });
      } else if (r < 0.92) {
        counts.del++;
        await onNode(n, () => n.del(coll, id));
      } else if (r < 0.97) {
        // cut a link (DisconnectPeer on the dialer) or heal one (ConnectPeer)
        const k = randInt(rnd, edges.length);
        const [x, y] = edges[k].map((i) => nodes[i]);
        if (!x.running || x.restarting || !y.running) return;
        if (cut.has(k)) {
          counts.reconnect++;
          await onNode(x, async () => {
            const res = await x.connectPeer(y);
            if (res.ok) cut.delete(k);
          });
        } else {
          counts.disconnect++;
          cut.add(k);
          await onNode(x, () => x.disconnectPeer(y));
        }
      } else if (down().length < MAX_DOWN) {
        // SIGKILL a node; it comes back after 0.5–3 s with the same data dir and flags
        counts.kill++;
        n.restarting = true;
        epoch.set(n, epoch.get(n) + 1);
        await n.kill();
        const pause = 500 + randInt(rnd, 2500);
        (async () => {
          await sleep(pause);
          await n.start();
          counts.restart++;
          n.restarting = false;
        })().catch((e) => {
          n.restartError = e;
        });
      }
    }

    const end = Date.now() + RUN_MS;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (Date.now() < end) {
          await step();
          await sleep(2 + randInt(rnd, 8)); // pacing (≈ 600 ops/s over all workers), not synchronisation
          const failed = nodes.find((n) => n.restartError);
          if (failed) throw new Error(`restart of ${failed.name} failed: ${failed.restartError.message}`);
        }
      }),
    );
    t.diagnostic(`ops: ${JSON.stringify(counts)}`);

    // ---- heal: every node up, every original edge connected
    await waitFor(() => nodes.every((n) => !n.restarting), { timeoutMs: 30_000, what: "pending restarts" });
    for (const n of nodes) if (!n.running) await n.start();
    // ConnectPeer on the dialer of every edge that is not up (cut ones; any a restart left in backoff)
    for (const [x, y] of edges.map((e) => e.map((i) => nodes[i]))) {
      if (await x.isConnectedTo(y)) continue;
      const res = await x.connectPeer(y);
      assert.equal(res.ok, true, `heal: ConnectPeer ${x.name} → ${y.name}: ${res.code} ${res.errorMessage}`);
    }
    await cl.waitEdgesConnected(edges, 30_000);
    const healed = Date.now();
    const state = await cl.waitConverged(COLLECTIONS, { timeoutMs: 60_000, intervalMs: 500 });
    t.diagnostic(`converged ${Date.now() - healed} ms after heal on ${state.count} docs (${state.hash.slice(0, 16)})`);
    assert.ok(state.count > 0, "converged on an empty state");

    // ---- deletes after the chaos reach everyone, and nothing comes back
    const victim = nodes[randInt(rnd, N)];
    for (const id of await victim.list("r2")) await victim.del("r2", id);
    const after = await cl.waitConverged(COLLECTIONS, { timeoutMs: 30_000, intervalMs: 500 });
    assert.equal([...after.docs.keys()].filter((k) => k.startsWith("r2\u0000")).length, 0, "r2 docs survived a delete of every one");
    assert.ok(after.count > 0, "r1 vanished");
  });
});
