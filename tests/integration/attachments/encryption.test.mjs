// Blob chunks are encrypted at rest under --encryption-key (docs/spec/ATTACHMENTS.md §15, decision
// 6): two real nodes sharing the formation's key (the distribution documents are encrypted like
// any document, so sender and receivers share it). A sends a file full of a canary to B: B's inbox
// gets the plaintext (that is the point of an inbox), but neither data dir holds the canary
// anywhere (blob store, partials, manifests, documents). The control, the same send without a
// key, finds the canary in the blob stores: the scan can see it.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/attachments/encryption.test.mjs

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { it } from "node:test";
import { grepDir } from "../lib/documents.mjs";
import { blobFiles, identityOf, makeRoot, nodeList, startAttachCluster, waitInboxFile } from "./lib.mjs";

const CANARY = `peat-blob-canary-${crypto.randomBytes(6).toString("hex")}`;
const KEY = crypto.randomBytes(32).toString("base64");

/** A → B of a 1.5 MiB file full of the canary (six chunks, each different), delivered. */
async function sendCanary(t, args) {
  const root = makeRoot("outgoing");
  const cl = await startAttachCluster({ t, n: 2, edges: [[0, 1]], roots: (i) => (i === 0 ? [root] : []), withInbox: (i) => i !== 0, args: () => args });
  const [a, b] = cl.nodes;
  let text = "";
  for (let i = 0; text.length < 1536 * 1024; i++) text += `${CANARY} line ${i}\n`;
  const spec = root.write("secret.txt", text);
  await a.attach().sendOk({ files: [spec], scope: nodeList((await identityOf(b.attach())).shortId) });
  await waitInboxFile(b.inbox, "secret.txt", Buffer.from(spec.sha256, "base64").toString("hex"), Number(spec.sizeBytes), { timeoutMs: 60_000 });
  assert.ok(blobFiles(a.dataDir).length > 0 && blobFiles(b.dataDir).length > 0, "the blob stores hold the blob");
  assert.ok(grepDir(b.inbox, CANARY).length > 0, "the delivered file is plaintext in the inbox");
  return { a, b };
}

it("with --encryption-key no blob chunk, partial or manifest holds the file's plaintext on disk", async (t) => {
  const { a, b } = await sendCanary(t, ["--encryption-key", KEY]);
  assert.deepEqual(grepDir(a.dataDir, CANARY), [], "canary in the sender's data dir");
  assert.deepEqual(grepDir(b.dataDir, CANARY), [], "canary in the receiver's data dir");
});

it("control: without a key the blob stores hold the plaintext (the scan above can see it)", async (t) => {
  const { a, b } = await sendCanary(t, []);
  assert.ok(grepDir(a.dataDir, CANARY).length > 0, "no canary in the unencrypted sender's data dir");
  assert.ok(grepDir(b.dataDir, CANARY).length > 0, "no canary in the unencrypted receiver's data dir");
});
