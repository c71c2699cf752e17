// Encrypted documents through a relay that has no key (BEHAVIOR.md "Encryption"): A and C run with
// --encryption-key K, B (the relay between them, A–B–C) without. A writes documents holding a
// canary string in values AND in field names (top level, nested, an empty object's); C reads them
// in plaintext; B reads every name as "ENC:n1:…" and every encrypted value as "ENC:v1:…", and its
// store files never contain the canary; the A–B link runs through a TCP proxy in this process that
// records every byte both ways, and the capture holds no canary either (while it did carry the
// traffic: positive control). Per-field merge works on opaque names and ciphertext: A and C edit
// different fields (canary names) of one document concurrently and both end with both edits.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/mesh_encryption.test.mjs

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { describe, it } from "node:test";
import { preview } from "./lib/documents.mjs";
import { MeshNode, filesContaining, freePort, randomKey, startTcpProxy, waitDoc, waitDocText, waitFor } from "./lib/mesh_cluster.mjs";

const C = "enc-mesh";
const CANARY = `CANARY-${crypto.randomBytes(8).toString("hex")}`;
const MIN_CAPTURE_BYTES = 4 * 1024;

/** Leaves (non-object values, arrays are leaves) of a parsed document, with dotted paths. */
function leaves(v, prefix = "") {
  if (v && typeof v === "object" && !Array.isArray(v)) return Object.entries(v).flatMap(([k, x]) => leaves(x, prefix ? `${prefix}.${k}` : k));
  return [[prefix, v]];
}

describe("mesh: encryption through a relay without the key", () => {
  it("C reads plaintext, B stores and forwards ciphertext only (API, disk, wire)", async (t) => {
    const key = randomKey();
    const encKey = randomKey();
    const mk = async (name, args = []) => new MeshNode({ name, nodeId: `enc-${name.toLowerCase()}`, sharedKey: key, appId: "enc", meshPort: await freePort(), args, t });
    const a = await mk("A", ["--encryption-key", encKey]);
    const b = await mk("B");
    const c = await mk("C", ["--encryption-key", encKey]);

    // A → proxy → B; C → B directly
    const proxy = await startTcpProxy(b.meshPort);
    t.after(() => proxy.close());
    a.peers.push({ endpointId: b.endpointId, meshAddr: `127.0.0.1:${proxy.port}` });
    c.peers.push(b);
    await Promise.all([a, b, c].map((n) => n.start()));
    await waitFor(async () => (await a.isConnectedTo(b)) && (await c.isConnectedTo(b)), { timeoutMs: 15_000, what: "A–B (via the proxy) and C–B connected" });
    assert.ok(proxy.stats.connections > 0, "A did not connect through the proxy");

    const BY_A = `${CANARY}_by_a`;
    const BY_C = `${CANARY}_by_c`;
    const docs = {
      top: { secret: CANARY, n: 42, ok: true, [`${CANARY}_top`]: 1 },
      nested: { outer: { inner: `${CANARY}-nested`, n: 1, [`${CANARY}_nested`]: { [`${CANARY}_deep`]: 2 } }, list: ["a", `${CANARY}-in-array`] },
      bulk: { text: `${CANARY} `.repeat(100), [`${CANARY}_empty`]: {} },
      shared: { [BY_A]: "a0", [BY_C]: "c0", note: `${CANARY}-shared` },
    };
    for (const [id, d] of Object.entries(docs)) await a.put(C, id, d);

    // C (has the key) reads exactly what A wrote, through B
    for (const id of Object.keys(docs)) await waitDocText(c, C, id, await a.getText(C, id), { timeoutMs: 10_000 });

    // B (no key) holds the docs, every value an ENC:v1: string, no canary anywhere in them
    for (const id of Object.keys(docs)) {
      const text = await waitDoc(b, C, id, (s) => s !== undefined, { timeoutMs: 10_000 });
      assert.ok(!text.includes(CANARY), `B reads the canary in ${id}: ${preview(text)}`);
      const got = leaves(JSON.parse(text));
      assert.equal(got.length, leaves(docs[id]).length, `B: ${id} has another shape: ${preview(text)}`);
      for (const [path, v] of got) {
        for (const name of path.split(".")) assert.match(name, /^ENC:n1:[A-Za-z0-9_-]+$/, `B: a field name of ${id} in clear: ${preview(text)}`);
        assert.ok(typeof v === "string" && v.startsWith("ENC:v1:"), `B: ${id}.${path} is not ENC:v1: ciphertext: ${preview(v)}`);
      }
    }

    // per-field merge on ciphertext: A and C edit different fields concurrently (sync stopped on the relay)
    const sharedAtB = JSON.parse(await waitDoc(b, C, "shared", (s) => s !== undefined, { timeoutMs: 10_000 }));
    await b.stopSync();
    await a.put(C, "shared", { ...docs.shared, [BY_A]: "a1" });
    await c.put(C, "shared", { ...docs.shared, [BY_C]: "c1" });
    await b.startSync();
    const want = JSON.stringify({ [BY_A]: "a1", [BY_C]: "c1", note: `${CANARY}-shared` });
    await waitDocText(a, C, "shared", want, { timeoutMs: 10_000 });
    await waitDocText(c, C, "shared", want, { timeoutMs: 10_000 });
    // the relay merged both edits too, per field on names it cannot read: the same three opaque
    // names (tokens are deterministic), two of them with new values, the third unchanged
    const changedAtB = (s) => {
      const now = JSON.parse(s);
      const same = Object.keys(now).sort().join() === Object.keys(sharedAtB).sort().join();
      return same ? Object.keys(now).filter((k) => now[k] !== sharedAtB[k]).length : -1;
    };
    const atB = await waitDoc(b, C, "shared", (s) => s !== undefined && changedAtB(s) === 2, { timeoutMs: 10_000 });
    assert.ok(!atB.includes(CANARY), `B reads the canary in shared: ${preview(atB)}`);

    // C's write reaches A through B (both directions through the proxy)
    await c.put(C, "from-c", { secret: `${CANARY}-from-c` });
    await waitDocText(a, C, "from-c", JSON.stringify({ secret: `${CANARY}-from-c` }), { timeoutMs: 10_000 });

    // the wire: traffic went through the proxy, both ways, and none of it is the canary
    const up = proxy.captured("up");
    const down = proxy.captured("down");
    t.diagnostic(`proxy captured ${up.length} B A→B and ${down.length} B B→A over ${proxy.stats.connections} connection(s)`);
    assert.ok(up.length + down.length >= MIN_CAPTURE_BYTES, `only ${up.length + down.length} B went through the proxy`);
    assert.ok(up.length > 0 && down.length > 0, "the proxy saw traffic in one direction only");
    for (const [dir, buf] of [
      ["A→B", up],
      ["B→A", down],
    ]) {
      assert.equal(buf.indexOf(Buffer.from(CANARY)), -1, `canary in plaintext on the wire ${dir}`);
      assert.equal(buf.indexOf(Buffer.from(encKey)), -1, `encryption key on the wire ${dir}`);
    }

    // B's disk: SIGKILL (nothing tidied up) and grep every file of its data dir
    await b.kill();
    assert.deepEqual(filesContaining(b.dataDir, CANARY), [], "canary found in B's store files");
    // A's and C's own stores are encrypted at rest too
    await a.kill();
    await c.kill();
    for (const n of [a, c]) assert.deepEqual(filesContaining(n.dataDir, CANARY), [], `canary found in ${n.name}'s store files`);
    // keys never logged
    for (const n of [a, b, c]) assert.ok(!n.allLogs().includes(encKey) && !n.allLogs().includes(key), `${n.name} logged a key`);
    for (const n of [b]) assert.ok(!n.allLogs().includes(CANARY), "the relay logged a document value");
  });
});
