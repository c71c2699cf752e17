// `peat-node derive-id` (CONTRACT.md "Identity"): the known-answer vectors must match exactly, and a
// bad shared key is rejected naming --shared-key.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/derive_id.test.mjs

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runNodeBinary } from "./lib/raw.mjs";

// Copied from CONTRACT.md's identity table.
const ZEROS = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; // 32 × 0x00
const FORTYTWOS = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="; // 32 × 0x2a
const VECTORS = [
  [ZEROS, "attach-a", "035254fa2cdf94cdd5fbf7ef7fe27efd26e1490d7db3b03b1bf30859be447634"],
  [ZEROS, "attach-b", "70de0ba0781a5e9698106335b7fa8733813db4063c110a375f0c5ed798f4e6f9"],
  [FORTYTWOS, "node-a", "4229afe8d9c12d0acfd98cb56d4e2edd0e844442651a70a6995c2ed7ef100684"],
  [FORTYTWOS, "node-b", "f0782d206a443de24a744a6682851c11b71813fd1c03c9447ddecd9a5e9df279"],
];

describe("peat-node derive-id", () => {
  it("the table's shared keys decode to 32 bytes of 0x00 / 0x2a (sanity of the copied vectors)", () => {
    assert.deepEqual(Buffer.from(ZEROS, "base64"), Buffer.alloc(32, 0x00));
    assert.deepEqual(Buffer.from(FORTYTWOS, "base64"), Buffer.alloc(32, 0x2a));
  });

  for (const [key, nodeId, expected] of VECTORS) {
    it(`--shared-key ${key.slice(0, 8)}… --node-id ${nodeId} prints exactly ${expected.slice(0, 10)}…`, async () => {
      const r = await runNodeBinary(["derive-id", "--shared-key", key, "--node-id", nodeId]);
      assert.equal(r.timedOut, false, "derive-id hung");
      assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
      assert.match(r.stdout, /^[0-9a-f]{64}\r?\n?$/, `stdout is not exactly one endpoint id: ${JSON.stringify(r.stdout)}`);
      assert.equal(r.stdout.trim(), expected);
    });
  }

  it("is deterministic and depends on both the key and the node id", async () => {
    const out = async (k, n) => (await runNodeBinary(["derive-id", "--shared-key", k, "--node-id", n])).stdout.trim();
    const a1 = await out(FORTYTWOS, "node-a");
    const a2 = await out(FORTYTWOS, "node-a");
    assert.equal(a1, a2);
    assert.notEqual(await out(ZEROS, "node-a"), a1, "key ignored");
    assert.notEqual(await out(FORTYTWOS, "node-c"), a1, "node id ignored");
  });

  for (const [what, key] of [
    ["not base64", "notbase64"],
    ["16 bytes", Buffer.alloc(16, 1).toString("base64")],
    ["33 bytes", Buffer.alloc(33, 1).toString("base64")],
    ["empty", ""],
  ]) {
    it(`a bad --shared-key (${what}) exits non-zero, names --shared-key and prints no id`, async () => {
      const r = await runNodeBinary(["derive-id", "--shared-key", key, "--node-id", "node-a"]);
      assert.equal(r.timedOut, false, "derive-id hung");
      assert.notEqual(r.code, 0, `exit code 0 for a ${what} key; stdout ${JSON.stringify(r.stdout)}`);
      assert.match(r.stderr, /--shared-key/, `stderr does not name --shared-key: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /[0-9a-f]{64}/, "printed an endpoint id anyway");
    });
  }

  it("a missing --shared-key exits non-zero naming it", async () => {
    const r = await runNodeBinary(["derive-id", "--node-id", "node-a"]);
    assert.notEqual(r.code, 0, `exit code 0; stdout ${JSON.stringify(r.stdout)}`);
    assert.match(r.stderr, /--shared-key/, r.stderr);
  });
});
