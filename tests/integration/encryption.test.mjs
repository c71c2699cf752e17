// --encryption-key (BEHAVIOR.md "Encryption"): values are encrypted per leaf and field names made
// opaque before they reach the store. A canary string in values, nested values, array elements and
// FIELD NAMES (top level, nested, an empty object's name, a removed field's name) must never appear
// in any file of the data dir (peat.db, -wal, -shm, anything), while GetDocument returns plaintext;
// a node with the WRONG key fails reads with failed_precondition ("cannot decrypt"), keeps serving,
// and overwrites nothing; a node WITHOUT a key reads every name as "ENC:n1:..." and every encrypted
// value as a string "ENC:v1:...", with the document's shape.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/encryption.test.mjs

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { makeClient } from "./lib/clients.mjs";
import { bytewiseCompare, fails, filesUnder, getDoc, grepDir, makeDataDir, ok, preview, putDoc, startNodeOn } from "./lib/documents.mjs";

const KEY = crypto.randomBytes(32).toString("base64");
const WRONG_KEY = crypto.randomBytes(32).toString("base64");
const CANARY = `CANARY-${crypto.randomBytes(8).toString("hex")}`;
const C = "enc-docs";

/** Canonical JSON (keys sorted bytewise, compact) of a value made of strings, ints, non-integral floats, bools, null. */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const keys = Object.keys(v).sort(bytewiseCompare);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

const DOCS = {
  top: { secret: CANARY, n: 42, f: 1.5, b: true },
  nested: { outer: { inner: { secret: `${CANARY}-nested` }, plain: 7 }, top: "visible-but-encrypted" },
  array: { list: ["a", `${CANARY}-in-array`, { o: `${CANARY}-object-in-array` }], z: 3 },
  long: { v: `${CANARY} `.repeat(200) },
  "id:with:colons": { s: `${CANARY}-colons`, arr: [1, 2, 3] },
  names: { [`${CANARY}_top`]: 1, outer: { [`${CANARY}_nested`]: { [`${CANARY}_deep`]: "x" }, [`${CANARY}_empty`]: {} } },
};
const NODE = { id: "enc-node-1", name: `${CANARY}-node-name`, callsign: `${CANARY}-callsign`, capabilities: [`${CANARY}-cap`], status: "NODE_STATUS_READY", latitude: 1.25 };

function describeFiles(dir) {
  return filesUnder(dir)
    .map((f) => `${path.relative(dir, f)} (${fs.statSync(f).size} B)`)
    .join(", ");
}

/** Every non-object value in v with its dotted path. Arrays are atomic values (leaves). */
function leaves(v, prefix = "") {
  if (v && typeof v === "object" && !Array.isArray(v)) return Object.entries(v).flatMap(([k, x]) => leaves(x, prefix ? `${prefix}.${k}` : k));
  return [[prefix, v]];
}

async function putAll(c) {
  for (const [id, doc] of Object.entries(DOCS)) await putDoc(c, C, id, doc);
  await ok(c, "PutNode", { node: NODE });
}

async function assertPlaintext(c, when) {
  for (const [id, doc] of Object.entries(DOCS)) assert.equal(await getDoc(c, C, id), canonical(doc), `${when}: GetDocument ${id}`);
  const nodes = (await ok(c, "GetNodes", {})).nodes ?? [];
  assert.deepEqual(
    nodes.find((n) => n.id === NODE.id),
    NODE,
    `${when}: GetNodes`,
  );
}

describe("encryption at rest", () => {
  it("control: without --encryption-key the canary IS found in the data dir (the grep below can see values)", async (t) => {
    const dataDir = makeDataDir();
    const node = await startNodeOn(dataDir, { t });
    const c = makeClient("grpc-js", node, "tcp");
    try {
      await putDoc(c, C, "plain", { secret: `${CANARY}-control` });
    } finally {
      c.close();
    }
    await node.kill(); // SIGKILL: nothing checkpointed or cleaned up; whatever is on disk stays
    const hits = grepDir(dataDir, `${CANARY}-control`);
    assert.ok(hits.length > 0, `a plaintext value is not visible in the files of an unencrypted store (${describeFiles(dataDir)}); the canary grep would prove nothing`);
  });

  it("canary never on disk; plaintext over the API; wrong key → failed_precondition, nothing overwritten; no key → ENC:v1: strings", async (t) => {
    const dataDir = makeDataDir();

    // ---- 1. write with the key; read back plaintext (Connect JSON and gRPC)
    let node = await startNodeOn(dataDir, { t, args: ["--encryption-key", KEY] });
    let c = makeClient("grpc-js", node, "tcp");
    let j = makeClient("curl-json-h1", node, "tcp");
    try {
      await putAll(c);
      await assertPlaintext(c, "keyed node (gRPC)");
      await assertPlaintext(j, "keyed node (Connect JSON)");
      // a Put replacing an encrypted doc (its removed field leaves a tombstone under the canary
      // name), and a delete, work as usual
      await putDoc(j, C, "replaced", { secret: `${CANARY}-old`, [`${CANARY}_removed`]: 1, keep: 1 });
      await putDoc(j, C, "replaced", { keep: 2 });
      assert.equal(await getDoc(j, C, "replaced"), '{"keep":2}');
      await putDoc(j, C, "deleted", { secret: `${CANARY}-deleted` });
      await ok(j, "DeleteDocument", { collection: C, docId: "deleted" });
      assert.equal(await getDoc(j, C, "deleted"), undefined);
    } finally {
      c.close();
      j.close();
    }
    assert.ok(!node.stderrText.includes(KEY), "the encryption key appears in the log");
    await node.kill(); // SIGKILL: the WAL is left as it is
    assert.ok(filesUnder(dataDir).some((f) => fs.statSync(f).size > 0), `empty data dir: ${describeFiles(dataDir)}`);
    assert.deepEqual(grepDir(dataDir, CANARY), [], `canary found on disk after SIGKILL (files: ${describeFiles(dataDir)})`);

    // ---- 2. restart with the right key: everything reads back; clean stop; grep again
    node = await startNodeOn(dataDir, { t, args: ["--encryption-key", KEY] });
    c = makeClient("grpc-js", node, "tcp");
    try {
      await assertPlaintext(c, "after SIGKILL + restart with the key");
    } finally {
      c.close();
    }
    let exit = await node.stop("SIGTERM", 10_000);
    assert.equal(exit.code, 0, exit.stderr);
    assert.ok(!exit.stderr.includes(KEY), "the encryption key appears in the log");
    assert.deepEqual(grepDir(dataDir, CANARY), [], `canary found on disk after a clean stop (files: ${describeFiles(dataDir)})`);

    // ---- 3. the WRONG key: reads fail failed_precondition ("cannot decrypt"); nothing crashes
    node = await startNodeOn(dataDir, { t, args: ["--encryption-key", WRONG_KEY] });
    c = makeClient("grpc-js", node, "tcp");
    j = makeClient("curl-json-h1", node, "tcp");
    try {
      for (const [id] of Object.entries(DOCS)) {
        for (const client of [c, j]) {
          const msg = await fails(client, "GetDocument", { collection: C, docId: id }, "failed_precondition", `${id} with the wrong key`);
          assert.match(msg, /decrypt/i, `${id}: ${preview(msg)}`);
          assert.ok(!msg.includes(CANARY), "the error leaks plaintext");
        }
      }
      // a Put onto an existing doc it cannot decrypt must not overwrite it (checked with the right key below)
      for (const client of [c, j]) {
        const r = await client.unary("peat.sidecar.v1.PeatSidecar", "PutDocument", { collection: C, docId: "nested", jsonData: '{"outer":{"plain":8}}' });
        assert.equal(r.ok, false, `${client.kind}: a Put with the wrong key onto an encrypted doc succeeded (it would overwrite data it cannot read)`);
        assert.equal(r.code, "failed_precondition", `${client.kind}: ${r.code} ${r.errorMessage}`);
      }
      // still serving: status, a fresh doc under the wrong key round-trips
      await ok(c, "GetStatus", {});
      await putDoc(c, "wrong-key-own", "w", { mine: 1 });
      assert.equal(await getDoc(c, "wrong-key-own", "w"), '{"mine":1}');
      // subscribing to the encrypted collection must not crash the node (result not specified)
      const s = c.openStream("peat.sidecar.v1.PeatSidecar", "Subscribe", { collections: [C] }, { timeoutMs: 1_000 });
      await s.done;
      await ok(c, "GetStatus", {});
    } finally {
      c.close();
      j.close();
    }
    assert.equal(node.exit, null, `the node died with the wrong key: ${node.stderrText}`);
    exit = await node.stop("SIGTERM", 10_000);
    assert.equal(exit.code, 0, `exit with the wrong key\n${exit.stderr}`);
    assert.ok(!exit.stderr.includes(WRONG_KEY), "the encryption key appears in the log");

    // ---- 4. the right key again: nothing was overwritten
    node = await startNodeOn(dataDir, { t, args: ["--encryption-key", KEY] });
    c = makeClient("grpc-js", node, "tcp");
    try {
      await assertPlaintext(c, "after a run with the wrong key");
    } finally {
      c.close();
    }
    exit = await node.stop("SIGTERM", 10_000);
    assert.equal(exit.code, 0, exit.stderr);

    // ---- 5. WITHOUT a key: every encrypted value reads as a string starting ENC:v1:
    node = await startNodeOn(dataDir, { t });
    j = makeClient("curl-json-h1", node, "tcp");
    try {
      for (const [id, doc] of Object.entries(DOCS)) {
        const raw = await getDoc(j, C, id);
        assert.equal(typeof raw, "string", `${id}: absent on a node without the key`);
        assert.ok(!raw.includes(CANARY), `${id}: plaintext visible without the key: ${preview(raw)}`);
        const got = JSON.parse(raw);
        // the shape is kept (as many leaves, at the same depths), every name an opaque ENC:n1:
        // token, every value an ENC:v1: string; nothing else appears
        const depths = (ls) => ls.map(([p]) => p.split(".").length).sort();
        assert.deepEqual(depths(leaves(got)), depths(leaves(doc)), `${id}: shape ${preview(raw)}`);
        for (const [p, v] of leaves(got)) {
          for (const name of p.split(".")) assert.match(name, /^ENC:n1:[A-Za-z0-9_-]+$/, `${id}: a field name in clear without the key: ${preview(raw)}`);
          assert.ok(typeof v === "string" && v.startsWith("ENC:v1:"), `${id}: value at ${p} is not an ENC:v1: string without the key: ${preview(v)} (doc ${preview(raw)})`);
        }
      }
      const ids = (await ok(j, "ListDocuments", { collection: C })).docIds;
      assert.deepEqual(ids, [...Object.keys(DOCS), "replaced"].sort(bytewiseCompare));
    } finally {
      j.close();
    }
    exit = await node.stop("SIGTERM", 10_000);
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(grepDir(dataDir, CANARY), [], `canary found on disk (files: ${describeFiles(dataDir)})`);

    // ---- 6. and the right key still reads everything (the keyless node overwrote nothing)
    node = await startNodeOn(dataDir, { t, args: ["--encryption-key", KEY] });
    c = makeClient("grpc-js", node, "tcp");
    try {
      await assertPlaintext(c, "after a run without the key");
    } finally {
      c.close();
    }
    await node.stop("SIGTERM", 10_000);
  });
});
