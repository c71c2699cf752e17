// The outbox watcher (docs/spec/ATTACHMENTS.md §14, §18 "Integration, ours"): 10 files dropped
// into a root with the default cap of 4 concurrent bundles are all delivered (RESOURCE_EXHAUSTED
// is retried, never dropped: Q16); dot files are skipped; after the sender's kill -9 and restart
// nothing is sent again; a touch without a content change sends nothing; a same-size new version
// is sent and delivered.
//
// "Nothing sent again" is checked after a later file went through (so the watcher has walked the
// root since): the count of the sender's file_distributions documents tells every send.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/attachments/outbox.test.mjs

import assert from "node:assert/strict";
import fs from "node:fs";
import { it } from "node:test";
import { DISTRIBUTIONS, listDocs, makeRoot, randomBytes, readDoc, startAttachCluster, waitInboxFile } from "./lib.mjs";

const hex = (spec) => Buffer.from(spec.sha256, "base64").toString("hex");

it("outbox: 10 files with a cap of 4 → all 10 delivered; no resend after restart or touch; a same-size new version is delivered", async (t) => {
  const root = makeRoot("outbox");
  const cl = await startAttachCluster({
    t,
    n: 2,
    edges: [[0, 1]],
    roots: (i) => (i === 0 ? [root] : []),
    withInbox: (i) => i !== 0,
    args: (i) => (i === 0 ? ["--attachment-outbox-watch", "true", "--attachment-outbox-poll-secs", "1", "--attachment-max-concurrent-distributions", "4"] : []),
  });
  const [a, b] = cl.nodes;
  const api = a.attach();
  const arrive = (spec, timeoutMs = 60_000) => waitInboxFile(b.inbox, spec.relativePath, hex(spec), Number(spec.sizeBytes), { timeoutMs });

  const files = Array.from({ length: 10 }, (_, i) => root.write(`batch/f${i}.bin`, randomBytes(150_000 + i)));
  root.write(".hidden", "never sent\n");
  root.write("batch/.also-hidden", "never sent\n");
  const t0 = Date.now();
  for (const spec of files) await arrive(spec);
  t.diagnostic(`10 files delivered ${Date.now() - t0} ms after they were dropped`);

  const ids = await listDocs(api, DISTRIBUTIONS);
  assert.equal(ids.length, 10, `one distribution per file: ${ids.length}`);
  const docs = await Promise.all(ids.map((id) => readDoc(api, DISTRIBUTIONS, id)));
  assert.deepEqual(docs.map((d) => d.name).sort(), files.map((f) => f.relativePath).sort());
  for (const d of docs) {
    assert.match(d.bundle_id, /^outbox-[0-9a-f]{32}$/, `outbox bundle id: ${d.bundle_id}`);
    assert.equal(d.scope, "all_nodes");
  }
  assert.equal(new Set(docs.map((d) => d.bundle_id)).size, 10);

  // the sender restarts (kill -9): nothing is sent again
  await a.restart();
  await cl.waitEdgesConnected();
  const later = root.write("batch/later.bin", randomBytes(10_000));
  await arrive(later);
  assert.equal((await listDocs(a.attach(), DISTRIBUTIONS)).length, 11, "files were sent again after the restart");

  // a touch (new mtime, same content) sends nothing; a same-size new version is sent
  const now = new Date();
  fs.utimesSync(root.path("batch/f0.bin"), now, now);
  const v2 = root.write("batch/f1.bin", randomBytes(Number(files[1].sizeBytes)));
  assert.equal(v2.sizeBytes, files[1].sizeBytes);
  await arrive(v2);
  const marker = root.write("batch/marker.bin", randomBytes(1_000));
  await arrive(marker);
  assert.equal((await listDocs(a.attach(), DISTRIBUTIONS)).length, 13, "expected 11 + the new version of f1 + the marker");
  for (const name of [".hidden", "batch/.also-hidden"]) assert.ok(!fs.existsSync(`${b.inbox}/${name}`), `${name} was sent`);
});
