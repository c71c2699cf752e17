// Crash test (BEHAVIOR.md "Documents" → Durability; "Bad input, limits, faults" → kill -9): a
// writer in this process writes continuously through the API (grpc-js, 8 calls in flight, unique
// ids and payloads) while the node is killed with SIGKILL at a random moment 50–500 ms after the
// writer starts, 20+ times on the same data dir. After every restart the node must become ready
// (/readyz 200) and serve, and every write ACKNOWLEDGED before the kill must be there with its
// exact content. Writes in flight at the kill (no answer) may or may not be there.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/crash.test.mjs

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { describe, it } from "node:test";
import { SIDECAR, makeClient } from "./lib/clients.mjs";
import { bytewiseCompare, makeDataDir, ok, sleep, startNodeOn } from "./lib/documents.mjs";

const MIN_KILLS = 20;
const MAX_KILLS = 30;
const BUDGET_MS = 80_000; // the whole test stays under 90 s
const IN_FLIGHT = 8;
const COLLECTION = "crash";

/** The canonical form of what we write: keys already in bytewise order, integers, plain strings. */
function payload(cycle, w, n) {
  const r = crypto.randomBytes(8 + crypto.randomInt(64)).toString("hex");
  return JSON.stringify({ c: cycle, n, nested: { list: [n, r.slice(0, 4)], w }, r });
}

/** GetDocument for every id (IN_FLIGHT at a time); returns the ids whose content differs. */
async function verifyContent(client, entries) {
  const bad = [];
  let i = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (i < entries.length) {
        const [id, want] = entries[i++];
        const r = await client.unary(SIDECAR, "GetDocument", { collection: COLLECTION, docId: id }, { timeoutMs: 10_000 });
        if (!r.ok) bad.push({ id, error: `${r.code} ${r.errorMessage}` });
        else if (r.message.jsonData !== want) bad.push({ id, want, got: r.message.jsonData ?? "(absent)" });
      }
    }),
  );
  return bad;
}

describe("crash test: SIGKILL at random moments while a client writes", () => {
  it(`${MIN_KILLS}+ kills, every acknowledged write survives with its exact content`, async (t) => {
    const t0 = Date.now();
    const dataDir = makeDataDir();
    const acked = new Map(); // id → canonical JSON of the acknowledged write
    let lastCycle = []; // ids acknowledged in the cycle that just ended with a kill
    let kills = 0;
    let unacked = 0; // writes sent but not answered before the kill
    let unackedPresent = 0;
    let unackedIds = [];
    let contentChecks = 0;
    let emptyCycles = 0; // cycles killed before any write was acknowledged
    const startMs = [];

    for (let cycle = 0; ; cycle++) {
      const s0 = Date.now();
      const node = await startNodeOn(dataDir, { t, timeoutMs: 20_000 });
      startMs.push(Date.now() - s0);
      const client = makeClient("grpc-js", node, "tcp");
      try {
        // ---- verify what was acknowledged before the last kill
        if (cycle > 0) {
          const ids = (await ok(client, "ListDocuments", { collection: COLLECTION })).docIds ?? [];
          const present = new Set(ids);
          const missing = [...acked.keys()].filter((id) => !present.has(id));
          assert.deepEqual(missing.slice(0, 20), [], `after kill #${kills}: ${missing.length} acknowledged write(s) missing (of ${acked.size}), e.g. above`);
          assert.deepEqual(ids, [...ids].sort(bytewiseCompare), "ListDocuments is sorted");
          const bad = await verifyContent(
            client,
            lastCycle.map((id) => [id, acked.get(id)]),
          );
          contentChecks += lastCycle.length;
          assert.deepEqual(bad.slice(0, 5), [], `after kill #${kills}: ${bad.length} acknowledged write(s) with wrong content`);
          for (const id of unackedIds) if (present.has(id)) unackedPresent++;
        }
        const elapsed = Date.now() - t0;
        if (kills >= MAX_KILLS || (kills >= MIN_KILLS && elapsed > BUDGET_MS - 15_000)) {
          // ---- final: every acknowledged write, exact content; the node serves writes
          const bad = await verifyContent(client, [...acked]);
          contentChecks += acked.size;
          assert.deepEqual(bad.slice(0, 5), [], `final check: ${bad.length} acknowledged write(s) with wrong content`);
          await ok(client, "PutDocument", { collection: COLLECTION, docId: "after-all", jsonData: '{"ok":true}' });
          const m = await ok(client, "GetDocument", { collection: COLLECTION, docId: "after-all" });
          assert.equal(m.jsonData, '{"ok":true}');
          const exit = await node.stop("SIGTERM", 10_000);
          assert.equal(exit.code, 0, `clean shutdown after the crash series\n${exit.stderr}`);
          break;
        }
        assert.ok(elapsed < BUDGET_MS, `only ${kills} kills within ${BUDGET_MS} ms (node start times: ${startMs.join(",")} ms)`);

        // ---- write continuously, kill at a random moment
        lastCycle = [];
        unackedIds = [];
        let stop = false;
        let writerError = null;
        const loops = Array.from({ length: IN_FLIGHT }, async (_, w) => {
          for (let n = 0; !stop; n++) {
            const id = `k${cycle}-w${w}-${n}`;
            const json = payload(cycle, w, n);
            const r = await client.unary(SIDECAR, "PutDocument", { collection: COLLECTION, docId: id, jsonData: json }, { timeoutMs: 5_000 });
            if (r.ok) {
              acked.set(id, json);
              lastCycle.push(id);
            } else {
              // Before the kill every write must succeed; after it, failures are expected.
              if (!stop && node.exit === null && !node.killSent) writerError ??= new Error(`write ${id} failed before the kill: ${r.code} ${r.errorMessage}`);
              unacked++;
              unackedIds.push(id);
              return;
            }
          }
        });
        await sleep(crypto.randomInt(50, 501));
        node.killSent = true;
        node.proc.kill("SIGKILL");
        await node.exited;
        kills++;
        stop = true;
        await Promise.all(loops);
        if (writerError) throw writerError;
        if (lastCycle.length === 0) emptyCycles++; // a very early kill (e.g. 50 ms on a loaded machine) may beat the first ack
      } finally {
        client.close();
        await node.kill();
      }
    }
    const totalMs = Date.now() - t0;
    t.diagnostic(
      `${kills} SIGKILLs in ${totalMs} ms; ${acked.size} acknowledged writes, all present after every restart; ` +
        `${contentChecks} exact-content checks; ${emptyCycles} cycle(s) without an ack before the kill; ${unacked} writes unanswered at a kill (${unackedPresent} of them present afterwards); ` +
        `node start→ready: median ${startMs.sort((a, b) => a - b)[startMs.length >> 1]} ms, max ${startMs.at(-1)} ms`,
    );
    assert.ok(kills >= MIN_KILLS);
    assert.ok(emptyCycles <= kills / 2, `${emptyCycles} of ${kills} cycles were killed before any write was acknowledged: the test proves little`);
    assert.ok(totalMs < 90_000, `took ${totalMs} ms`);
  });
});
