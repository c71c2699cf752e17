// SubscribeAttachmentBundle on one node (docs/spec/ATTACHMENTS.md §9, §18): zero-peer terminal
// frame ≤ 2 s then EOF (bytes_total = size), a finished 2-file bundle = 2 frames then EOF, two
// subscribers of an in-flight bundle (snapshot frame, then the live terminal frame), the snapshot
// order (terminal distributions first, in file_index order, then the others), a client cancel ends
// only its own stream. Over Connect, gRPC and gRPC-Web.
//
// Nodes: `lone` (no peers, grace 30 s: a send to an absent id stays PENDING), `grace` (grace 2 s).
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/attachments/subscribe.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  ALL_NODES,
  GRACE_ERROR,
  PROTOCOL_OF,
  ST,
  STREAM_KINDS,
  TERMINAL,
  attachApi,
  makeRoot,
  nodeList,
  randomBytes,
  startAttachNodes,
  streamEnd,
  waitFrame,
} from "./lib.mjs";

const root = makeRoot("docs");
const one = root.write("one.bin", randomBytes(70_000));
const two = root.write("dir/two.txt", "two\n");

/** Exactly one terminal frame per distribution id in `ids`, none for others. */
function assertOneTerminalEach(frames, ids) {
  const terminal = frames.filter((f) => TERMINAL.includes(f.status)).map((f) => f.distributionId);
  assert.deepEqual([...terminal].sort(), [...ids].sort(), `terminal frames: ${JSON.stringify(frames)}`);
}

describe("attachments: SubscribeAttachmentBundle", () => {
  let lone;
  let grace;
  before(async () => {
    [lone, grace] = await startAttachNodes([{ roots: [root] }, { roots: [root], args: ["--attachment-discovery-grace-secs", "2"] }]);
  });
  after(async () => {
    await Promise.all([lone, grace].map((n) => n?.kill()));
  });

  for (const kind of STREAM_KINDS) {
    describe(`${PROTOCOL_OF[kind]} (${kind})`, () => {
      let api;
      let gapi;
      before(() => {
        api = attachApi(kind, lone);
        gapi = attachApi(kind, grace);
      });
      after(() => [api, gapi].forEach((a) => a?.close()));

      it("zero peers: one terminal COMPLETED frame (bytes_total = size, blob token, no changed_node) ≤ 2 s after the send, then EOF", async () => {
        const t0 = Date.now();
        const s = await api.sendOk({ files: [one], scope: ALL_NODES });
        const { frames, error } = await streamEnd(api.subscribe(s.bundleId), 2_000);
        const ms = Date.now() - t0;
        assert.equal(error, null, `stream error ${JSON.stringify(error)}`);
        assert.ok(ms <= 2_000, `terminal + EOF after ${ms} ms`);
        assert.equal(frames.length, 1, JSON.stringify(frames));
        const [fr] = frames;
        assert.equal(fr.distributionId, s.handles[0].distributionId);
        assert.equal(fr.blobToken, s.handles[0].blobToken);
        assert.equal(fr.status, ST.COMPLETED);
        assert.equal(fr.bytesTotal, Number(one.sizeBytes), "zero-target frame: bytes_total = size");
      });

      it("a finished 2-file bundle: exactly 2 frames in file_index order, then EOF", async () => {
        const s = await api.sendOk({ files: [one, two], scope: ALL_NODES });
        for (const h of s.handles) await api.waitStatus(h.distributionId, [ST.COMPLETED], { timeoutMs: 2_000 });
        const { frames, error } = await streamEnd(api.subscribe(s.bundleId), 5_000);
        assert.equal(error, null, JSON.stringify(error));
        assert.deepEqual(
          frames.map((f) => [f.distributionId, f.status, f.bytesTotal]),
          [
            [s.handles[0].distributionId, ST.COMPLETED, Number(one.sizeBytes)],
            [s.handles[1].distributionId, ST.COMPLETED, Number(two.sizeBytes)],
          ],
        );
      });

      it("two subscribers of an in-flight bundle: a snapshot frame each, then the live FAILED frame (grace 2 s, changed_node set), then EOF", async () => {
        const ghost = `ghost-sub-${kind}`;
        const s = await gapi.sendOk({ files: [two], scope: nodeList(ghost) });
        const id = s.handles[0].distributionId;
        const subs = [gapi.subscribe(s.bundleId), gapi.subscribe(s.bundleId)];
        for (const h of subs) {
          const first = await waitFrame(h, () => true, { timeoutMs: 1_500, what: "the snapshot frame of an in-flight distribution" });
          assert.equal(first.distributionId, id);
          assert.ok([ST.PENDING, ST.IN_PROGRESS].includes(first.status), `snapshot ${JSON.stringify(first)}`);
        }
        for (const h of subs) {
          const { frames, error } = await streamEnd(h, 10_000);
          assert.equal(error, null, JSON.stringify(error));
          assertOneTerminalEach(frames, [id]);
          const last = frames.at(-1);
          assert.equal(last.status, ST.FAILED);
          assert.equal(last.error, GRACE_ERROR);
          const named = frames.filter((f) => f.changedNode);
          assert.ok(named.length > 0, `no frame names the target that failed: ${JSON.stringify(frames)}`);
          assert.deepEqual(named.at(-1).changedNode, { nodeId: ghost, status: ST.FAILED, bytesTransferred: 0 });
        }
      });

      it("snapshot order: terminal distributions first, then the others; a client cancel ends only its stream; cancel → live CANCELLED frame, EOF", async () => {
        const s = await api.sendOk({ files: [one, two], scope: nodeList(`ghost-order-${kind}`) });
        const [d0, d1] = s.handles.map((h) => h.distributionId);
        assert.equal(await api.cancel(d1), true);
        await api.waitStatus(d1, [ST.CANCELLED], { timeoutMs: 1_000 });

        const h = api.subscribe(s.bundleId);
        const quitter = api.subscribe(s.bundleId);
        const snap = await h.waitForMessages(2, 2_000);
        const [f0, f1] = snap.map((m) => ({ id: m.distributionId, status: m.status }));
        assert.deepEqual(f0, { id: d1, status: ST.CANCELLED }, "the terminal distribution comes first");
        assert.equal(f1.id, d0);
        assert.ok([ST.PENDING, ST.IN_PROGRESS].includes(f1.status), `in-flight snapshot ${JSON.stringify(f1)}`);

        await quitter.waitForMessages(2, 2_000);
        quitter.cancel();
        await streamEnd(quitter, 5_000, "the cancelled subscriber");

        assert.equal(await api.cancel(d0), true);
        const { frames, error } = await streamEnd(h, 2_000, "EOF after the last cancel");
        assert.equal(error, null, JSON.stringify(error));
        assertOneTerminalEach(frames, [d0, d1]);
        assert.deepEqual({ id: frames.at(-1).distributionId, status: frames.at(-1).status }, { id: d0, status: ST.CANCELLED });
      });
    });
  }
});
