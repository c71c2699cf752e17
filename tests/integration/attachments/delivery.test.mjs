// Attachments between real nodes on loopback (docs/spec/ATTACHMENTS.md §3, §6–§9, §13, §18):
//   two nodes: delivery byte-identical ≤ 60 s over each protocol (receiver and sender COMPLETED,
//     per_node, §6 status documents, no partial left), a same-size new version is delivered,
//     inbox names (display_name, a name with ".." → <distribution_id>.bin);
//   three nodes: NodeList (a connected node not listed gets nothing), full ids and --node-id
//     names in node lists (self and duplicates dropped), all nodes = every peer with an inbox but
//     self, PARTIAL (one target delivered, one never appears within the 2 s grace).
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/attachments/delivery.test.mjs

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { sleep } from "../lib/documents.mjs";
import { waitFor } from "../lib/mesh_cluster.mjs";
import {
  ALL_NODES,
  DISTRIBUTIONS,
  GRACE_ERROR,
  PROTOCOL_OF,
  ST,
  STATUSES,
  STREAM_KINDS,
  TERMINAL,
  UNARY_KINDS,
  dirFiles,
  identityOf,
  makeRoot,
  nodeList,
  partialsIn,
  randomBytes,
  readDoc,
  startAttachCluster,
  streamEnd,
  waitInboxFile,
} from "./lib.mjs";

const MiB = 1024 * 1024;

/** Waits until nd's inbox holds spec's file under `rel` (default: its relative path) byte-identical; returns ms. */
const delivered = (nd, spec, rel = spec.relativePath, timeoutMs = 60_000) =>
  waitInboxFile(nd.inbox, rel, Buffer.from(spec.sha256, "base64").toString("hex"), Number(spec.sizeBytes), { timeoutMs });

describe("attachments: two nodes", () => {
  it("delivery over each protocol: byte-identical in the receiver's inbox ≤ 60 s, sender COMPLETED ≤ 30 s, per_node, status documents, Subscribe ends COMPLETED", async (t) => {
    const root = makeRoot("outgoing");
    const cl = await startAttachCluster({ t, n: 2, edges: [[0, 1]], roots: (i) => (i === 0 ? [root] : []), withInbox: (i) => i !== 0 });
    const [a, b] = cl.nodes;
    const bId = await identityOf(b.attach());
    for (const [i, kind] of UNARY_KINDS.entries()) {
      const api = a.attach(kind);
      const sapi = a.attach(STREAM_KINDS[i]);
      const spec = root.write(`k/${kind}/payload.bin`, randomBytes(i === 0 ? 8 * MiB + 12_345 : 1536 * 1024));
      const size = Number(spec.sizeBytes);
      const t0 = Date.now();
      const s = await api.sendOk({ files: [spec], scope: ALL_NODES });
      const id = s.handles[0].distributionId;
      const sub = sapi.subscribe(s.bundleId);
      const recvMs = await delivered(b, spec);
      // the receiver's own status document says completed ≤ 15 s after the send
      const statusDocId = `${id}:${bId.shortId}`;
      await waitFor(async () => (await readDoc(b.attach(), STATUSES, statusDocId))?.status === "completed", {
        timeoutMs: Math.max(1, 15_000 - (Date.now() - t0)),
        what: `${kind}: ${STATUSES}/${statusDocId} completed on the receiver ≤ 15 s after the send`,
      });
      const d = await api.waitStatus(id, [ST.COMPLETED], { timeoutMs: Math.max(1, 30_000 - (Date.now() - t0)), what: `${kind}: sender COMPLETED` });
      t.diagnostic(`${PROTOCOL_OF[kind]}: ${size} B in B's inbox after ${recvMs} ms, sender COMPLETED after ${Date.now() - t0} ms`);
      assert.deepEqual(d.perNode, [{ nodeId: bId.shortId, status: ST.COMPLETED, bytesTransferred: size }]);
      assert.equal(d.bytesTotal, size);
      assert.equal(d.bytesTransferred, size);

      const { frames, error } = await streamEnd(sub, 10_000);
      assert.equal(error, null, `${kind}: Subscribe error ${JSON.stringify(error)}`);
      const terminal = frames.filter((f) => TERMINAL.includes(f.status));
      assert.equal(terminal.length, 1, JSON.stringify(frames));
      assert.equal(terminal[0].status, ST.COMPLETED);
      assert.equal(terminal[0].bytesTransferred, size);

      // the receiver's status document, replicated to the sender (§6)
      const sd = await waitFor(async () => {
        const doc = await readDoc(api, STATUSES, statusDocId);
        return doc?.status === "completed" && doc;
      }, { timeoutMs: 10_000, what: `${STATUSES}/${statusDocId} completed on the sender` });
      assert.equal(sd.v, 1);
      assert.equal(sd.distribution_id, id);
      assert.equal(sd.node_id, bId.shortId);
      assert.equal(sd.endpoint_id, bId.endpointId);
      assert.equal(sd.progress_bytes, size);
      assert.equal(sd.total_bytes, size);
      assert.equal(sd.error, null);
      assert.equal(typeof sd.completed_at_ms, "number");
      // the sender's distribution document, replicated to the receiver
      const dd = await readDoc(b.attach(), DISTRIBUTIONS, id);
      assert.equal(dd?.blob?.root, s.handles[0].blobToken, `${DISTRIBUTIONS}/${id} on the receiver: ${JSON.stringify(dd)}`);
      assert.deepEqual(dd.targets, [bId.shortId]);
    }
    assert.deepEqual(partialsIn(b.inbox), [], "a partial file left in the inbox");
  });

  it("a same-size new version of a file is delivered; inbox names: display_name, and a name with '..' → <distribution_id>.bin", async (t) => {
    const root = makeRoot("outgoing");
    const cl = await startAttachCluster({ t, n: 2, edges: [[0, 1]], roots: (i) => (i === 0 ? [root] : []), withInbox: (i) => i !== 0 });
    const [a, b] = cl.nodes;
    const api = a.attach("grpc-js");

    const v1 = root.write("same/x.bin", randomBytes(65_536));
    const s1 = await api.sendOk({ files: [v1], scope: ALL_NODES });
    await delivered(b, v1, undefined, 30_000);
    await api.waitStatus(s1.handles[0].distributionId, [ST.COMPLETED], { timeoutMs: 10_000 });
    const v2 = root.write("same/x.bin", randomBytes(65_536));
    assert.equal(v2.sizeBytes, v1.sizeBytes);
    const s2 = await api.sendOk({ files: [v2], scope: ALL_NODES });
    await delivered(b, v2, undefined, 30_000);
    await api.waitStatus(s2.handles[0].distributionId, [ST.COMPLETED], { timeoutMs: 10_000 });

    const named = root.write("src/orig.txt", "named\n");
    const sn = await api.sendOk({ files: [{ ...named, displayName: "renamed/shown.txt" }, { ...named, displayName: "../escape.txt" }], scope: ALL_NODES });
    await delivered(b, named, "renamed/shown.txt", 30_000);
    await delivered(b, named, `${sn.handles[1].distributionId}.bin`, 30_000);
    for (const h of sn.handles) await api.waitStatus(h.distributionId, [ST.COMPLETED], { timeoutMs: 10_000 });
    assert.ok(!fs.existsSync(path.join(path.dirname(b.inbox), "escape.txt")), "a '..' name escaped the inbox");
    assert.ok(!dirFiles(b.inbox).includes("src/orig.txt"), "display_name wins over the relative path");
    assert.deepEqual(partialsIn(b.inbox), []);
  });
});

describe("attachments: three nodes A–B, A–C (A sends; every node has an inbox; grace 2 s on A)", () => {
  it("NodeList, full ids and names, all nodes, PARTIAL", async (t) => {
    const root = makeRoot("outgoing");
    const cl = await startAttachCluster({
      t,
      n: 3,
      edges: [
        [0, 1],
        [0, 2],
      ],
      roots: (i) => (i === 0 ? [root] : []),
      args: (i) => (i === 0 ? ["--attachment-discovery-grace-secs", "2"] : []),
    });
    const [a, b, c] = cl.nodes;
    const api = a.attach("grpc-js");
    const [aId, bId, cId] = await Promise.all([a, b, c].map((nd) => identityOf(nd.attach())));

    await t.test("NodeList [B]: B receives, C (connected, not listed) gets nothing, not even after a later file reached it, nor 3 s after B finished", async () => {
      const spec = root.write("only-b.bin", randomBytes(300_000));
      const s = await api.sendOk({ files: [spec], scope: nodeList(bId.shortId) });
      const id = s.handles[0].distributionId;
      await delivered(b, spec, undefined, 30_000);
      const d = await api.waitStatus(id, [ST.COMPLETED], { timeoutMs: 15_000 });
      const doneAt = Date.now();
      assert.deepEqual(d.perNode.map((n) => n.nodeId), [bId.shortId]);
      // a later all-nodes file reaches C: C has seen the feed past the node-list document
      const marker = root.write("marker.txt", "marker\n");
      await api.sendOk({ files: [marker], scope: ALL_NODES });
      await delivered(c, marker, undefined, 30_000);
      // ...and stays without it until 3 s after B's COMPLETED (an observation window, polled)
      while (Date.now() - doneAt < 3_000) {
        assert.ok(!fs.existsSync(path.join(c.inbox, "only-b.bin")), "C received a file it was not listed for");
        await sleep(100);
      }
      assert.ok(!fs.existsSync(path.join(c.inbox, "only-b.bin")), "C received a file it was not listed for");
      assert.equal(await readDoc(c.attach(), STATUSES, `${id}:${cId.shortId}`), undefined, "C wrote a status for a distribution it is not a target of");
    });

    await t.test("node ids: a 64-hex endpoint id and a --node-id name resolve to short ids; self and duplicates are dropped", async () => {
      const spec = root.write("by-name.bin", randomBytes(100_000));
      const s = await api.sendOk({ files: [spec], scope: nodeList(bId.endpointId, c.nodeId, aId.shortId, bId.shortId, aId.endpointId) });
      const id = s.handles[0].distributionId;
      await Promise.all([delivered(b, spec, undefined, 30_000), delivered(c, spec, undefined, 30_000)]);
      const d = await api.waitStatus(id, [ST.COMPLETED], { timeoutMs: 15_000 });
      const want = [bId.shortId, cId.shortId].sort();
      assert.deepEqual(d.perNode, want.map((nodeId) => ({ nodeId, status: ST.COMPLETED, bytesTransferred: Number(spec.sizeBytes) })), "per_node sorted by node id, self dropped");
      assert.equal(d.bytesTotal, 2 * Number(spec.sizeBytes), "bytes_total = size × targets");
      const doc = await readDoc(api, DISTRIBUTIONS, id);
      assert.deepEqual([...doc.targets].sort(), want);
      assert.ok(!fs.existsSync(path.join(a.inbox, "by-name.bin")), "the sender delivered to itself");
    });

    await t.test("all nodes: every peer with an inbox, never self", async () => {
      const spec = root.write("everyone.bin", randomBytes(50_000));
      const s = await api.sendOk({ files: [spec], scope: ALL_NODES });
      await Promise.all([delivered(b, spec, undefined, 30_000), delivered(c, spec, undefined, 30_000)]);
      const d = await api.waitStatus(s.handles[0].distributionId, [ST.COMPLETED], { timeoutMs: 15_000 });
      assert.deepEqual(d.perNode.map((n) => n.nodeId), [bId.shortId, cId.shortId].sort());
      assert.ok(!fs.existsSync(path.join(a.inbox, "everyone.bin")));
    });

    await t.test("PARTIAL: B delivered, an id nobody has fails after the 2 s grace → PARTIAL with the grace error; the bundle stream ends PARTIAL", async () => {
      const spec = root.write("partial.bin", randomBytes(120_000));
      const size = Number(spec.sizeBytes);
      const s = await api.sendOk({ files: [spec], scope: nodeList(bId.shortId, "ghost-partial") });
      const id = s.handles[0].distributionId;
      const sub = a.attach("cn-grpcweb-h1").subscribe(s.bundleId);
      await delivered(b, spec, undefined, 30_000);
      const d = await api.waitStatus(id, [ST.PARTIAL], { timeoutMs: 10_000 });
      assert.deepEqual(
        d.perNode,
        [
          { nodeId: bId.shortId, status: ST.COMPLETED, bytesTransferred: size },
          { nodeId: "ghost-partial", status: ST.FAILED, bytesTransferred: 0 },
        ].sort((x, y) => Buffer.compare(Buffer.from(x.nodeId), Buffer.from(y.nodeId))),
      );
      assert.equal(d.error, GRACE_ERROR);
      assert.equal(d.bytesTotal, 2 * size);
      assert.equal(d.bytesTransferred, size);
      const { frames, error } = await streamEnd(sub, 10_000);
      assert.equal(error, null, JSON.stringify(error));
      assert.equal(frames.at(-1).status, ST.PARTIAL);
    });
  });
});
