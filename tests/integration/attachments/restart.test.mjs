// Attachments across restarts (docs/spec/ATTACHMENTS.md §9 R1, §11, §13, §18 "restart regression",
// "Get/Subscribe/Cancel after sender restart"): the sender is killed (-9) and started on the same
// data dir; Get, Subscribe and Cancel still know every bundle (finished and in flight), an identical
// resubmit answers the same handles, and the receiver never writes a delivered file again (not
// after the sender's restart, not after its own).
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/attachments/restart.test.mjs

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { it } from "node:test";
import {
  ALL_NODES,
  PROTOCOL_OF,
  ST,
  STREAM_KINDS,
  UNARY_KINDS,
  identityOf,
  makeRoot,
  nodeList,
  randomBytes,
  startAttachCluster,
  streamEnd,
  waitFrame,
  waitInboxFile,
} from "./lib.mjs";

const hex = (spec) => Buffer.from(spec.sha256, "base64").toString("hex");
const mtimeNs = (p) => fs.statSync(p, { bigint: true }).mtimeNs;

it("after the sender's kill -9 and restart: Get, Subscribe, Cancel and resubmit know finished and in-flight bundles; nothing is delivered twice", async (t) => {
  const root = makeRoot("outgoing");
  const cl = await startAttachCluster({ t, n: 2, edges: [[0, 1]], roots: (i) => (i === 0 ? [root] : []), withInbox: (i) => i !== 0 });
  const [a, b] = cl.nodes;
  const bId = await identityOf(b.attach());

  const done = root.write("done.bin", randomBytes(700_000));
  const doneReq = { files: [done], scope: ALL_NODES, bundleId: "restart-done" };
  const sDone = await a.attach().sendOk(doneReq);
  await waitInboxFile(b.inbox, "done.bin", hex(done), Number(done.sizeBytes), { timeoutMs: 60_000 });
  const before = await a.attach().waitStatus(sDone.handles[0].distributionId, [ST.COMPLETED], { timeoutMs: 30_000 });
  const deliveredAt = mtimeNs(path.join(b.inbox, "done.bin"));

  const waiting = root.write("waiting.txt", "for a node that never comes\n");
  const sWait = await a.attach().sendOk({ files: [waiting], scope: nodeList("ghost-restart"), bundleId: "restart-waiting" });

  await a.restart(); // SIGKILL, same data dir, port and flags
  await cl.waitEdgesConnected();

  for (const kind of UNARY_KINDS) {
    const api = a.attach(kind);
    assert.deepEqual(await api.get(sDone.handles[0].distributionId), before, `${PROTOCOL_OF[kind]}: Get of the finished distribution after the restart`);
    const w = await api.get(sWait.handles[0].distributionId);
    assert.equal(w.status, ST.PENDING, `${PROTOCOL_OF[kind]}: the in-flight distribution after the restart: ${JSON.stringify(w)}`);
    assert.deepEqual(await api.sendOk(doneReq), sDone, `${PROTOCOL_OF[kind]}: identical resubmit after the restart`);
    assert.equal(await api.cancel(sDone.handles[0].distributionId), false, "cancel of a finished distribution");
  }
  for (const kind of STREAM_KINDS) {
    const { frames, error } = await streamEnd(a.attach(kind).subscribe("restart-done"), 5_000);
    assert.equal(error, null, `${PROTOCOL_OF[kind]}: ${JSON.stringify(error)}`);
    assert.deepEqual(
      frames.map((f) => [f.distributionId, f.status]),
      [[sDone.handles[0].distributionId, ST.COMPLETED]],
      `${PROTOCOL_OF[kind]}: Subscribe of the finished bundle after the restart`,
    );
  }

  // the in-flight bundle: subscribe, cancel → CANCELLED ≤ 1 s, the stream ends
  const api = a.attach("grpc-js");
  const subs = STREAM_KINDS.map((kind) => a.attach(kind).subscribe("restart-waiting"));
  for (const h of subs) await waitFrame(h, (f) => f.status === ST.PENDING, { timeoutMs: 2_000, what: "the snapshot of the in-flight distribution" });
  assert.equal(await api.cancel(sWait.handles[0].distributionId), true);
  await api.waitStatus(sWait.handles[0].distributionId, [ST.CANCELLED], { timeoutMs: 1_000 });
  for (const h of subs) {
    const { frames, error } = await streamEnd(h, 5_000);
    assert.equal(error, null, JSON.stringify(error));
    assert.equal(frames.at(-1).status, ST.CANCELLED);
  }

  // the receiver restarts too; a later file arrives, the delivered one was never written again
  await b.restart();
  await cl.waitEdgesConnected();
  const marker = root.write("marker.txt", "after both restarts\n");
  await api.sendOk({ files: [marker], scope: ALL_NODES });
  await waitInboxFile(b.inbox, "marker.txt", hex(marker), Number(marker.sizeBytes), { timeoutMs: 60_000 });
  assert.equal(mtimeNs(path.join(b.inbox, "done.bin")), deliveredAt, "done.bin was written again");
  assert.deepEqual((await api.get(sDone.handles[0].distributionId)).perNode, [{ nodeId: bId.shortId, status: ST.COMPLETED, bytesTransferred: Number(done.sizeBytes) }]);
});
