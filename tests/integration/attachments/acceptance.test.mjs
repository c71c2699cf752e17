// Attachments on one node (docs/spec/ATTACHMENTS.md §18 "Ports of the original inventory": smoke,
// acceptance; "Integration, ours": reserved collections, concurrent identical sends), over
// Connect (curl JSON), gRPC (grpc-js) and gRPC-Web (connect-node).
//
// A node with no peers: an all-nodes send has zero targets and is COMPLETED at once (bytes_total =
// size); a node-list send to an id nobody has stays PENDING until the discovery grace fails it.
//
// Nodes: `main` (--attachment-default-priority low), `retain` (retention 1 s), `evict`
// (--attachment-max-known-bundles 2), `grace` (grace 2 s, max 1 concurrent, queue-when-full).
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/attachments/acceptance.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { makeClient, SIDECAR } from "../lib/clients.mjs";
import { waitEvent, waitFor } from "../lib/mesh_cluster.mjs";
import {
  ALL_NODES,
  DISTRIBUTIONS,
  GRACE_ERROR,
  HEX64,
  PROTOCOL_OF,
  ST,
  TERMINAL,
  UNARY_KINDS,
  attachApi,
  expectError,
  identityOf,
  makeRoot,
  nodeList,
  randomBytes,
  readDoc,
  startAttachNodes,
  streamEnd,
} from "./lib.mjs";

const root = makeRoot("docs");
const small = root.write("a.txt", "alpha\n");
const payload = root.write("sub/payload.bin", randomBytes(200_000), { contentType: "application/octet-stream" });
const other = root.write("other.txt", "other content\n");
const big = root.write("big.bin", randomBytes(24 * 1024 * 1024));
const PRIORITIES = [
  ["ATTACHMENT_PRIORITY_BULK", "bulk"],
  ["ATTACHMENT_PRIORITY_LOW", "low"],
  ["ATTACHMENT_PRIORITY_ROUTINE", "routine"],
  ["ATTACHMENT_PRIORITY_PRIORITY", "priority"],
  ["ATTACHMENT_PRIORITY_CRITICAL", "critical"],
];

describe("attachments: one node (smoke, acceptance)", () => {
  let main;
  let retain;
  let evict;
  let grace;

  before(async () => {
    [main, retain, evict, grace] = await startAttachNodes([
      { roots: [root], args: ["--attachment-default-priority", "low"] },
      { roots: [root], args: ["--attachment-handle-retention-secs", "1"] },
      { roots: [root], args: ["--attachment-max-known-bundles", "2"] },
      {
        roots: [root],
        args: ["--attachment-discovery-grace-secs", "2", "--attachment-max-concurrent-distributions", "1", "--attachment-queue-when-full", "true"],
      },
    ]);
  });
  after(async () => {
    await Promise.all([main, retain, evict, grace].map((n) => n?.kill()));
  });

  for (const kind of UNARY_KINDS) {
    describe(`${PROTOCOL_OF[kind]} (${kind})`, () => {
      let api;
      let me;
      before(async () => {
        api = attachApi(kind, main);
        me = await identityOf(api);
      });
      after(() => api?.close());

      it("smoke: a 2-file bundle to all nodes with no peers → handles in order, each COMPLETED at once with bytes_total = size; §6 distribution documents", async () => {
        const req = { files: [small, { ...payload, displayName: "shown/name.bin" }], scope: ALL_NODES };
        const t0 = Date.now();
        const sent = await api.sendOk(req);
        for (const [i, h] of sent.handles.entries()) {
          const d = await api.waitStatus(h.distributionId, [ST.COMPLETED], { timeoutMs: 2_000 });
          assert.equal(d.bytesTotal, Number(req.files[i].sizeBytes), `bytes_total of a zero-target distribution: ${JSON.stringify(d)}`);
          assert.deepEqual(d.perNode, [], "no targets, no per_node entries");
          assert.equal(d.error, undefined);

          const doc = await readDoc(api, DISTRIBUTIONS, h.distributionId);
          assert.ok(doc, `${DISTRIBUTIONS}/${h.distributionId} missing`);
          assert.equal(doc.v, 1);
          assert.equal(doc.distribution_id, h.distributionId);
          assert.equal(doc.bundle_id, sent.bundleId);
          assert.equal(doc.file_index, i);
          assert.deepEqual(doc.sender, { endpoint_id: me.endpointId, short_id: me.shortId, node_id: me.nodeId });
          assert.equal(doc.blob.root, h.blobToken);
          assert.equal(doc.blob.sha256, Buffer.from(req.files[i].sha256, "base64").toString("hex"));
          assert.equal(doc.blob.size, Number(req.files[i].sizeBytes));
          assert.equal(doc.blob.chunk_bytes, 262144);
          assert.equal(doc.name, i === 0 ? "a.txt" : "shown/name.bin", "name = display_name, else the relative path");
          assert.equal(doc.content_type, i === 0 ? null : "application/octet-stream");
          assert.equal(doc.scope, "all_nodes");
          assert.deepEqual(doc.targets, []);
          assert.equal(doc.priority, "low", "UNSPECIFIED → --attachment-default-priority");
          assert.ok(doc.started_at_ms >= t0 - 5_000 && doc.started_at_ms <= Date.now() + 5_000, `started_at_ms ${doc.started_at_ms}`);
          assert.equal(doc.deadline_at_ms, doc.started_at_ms + 86_400_000, "deadline = started + --attachment-delivery-timeout-secs");
        }
        assert.notEqual(sent.handles[0].distributionId, sent.handles[1].distributionId);
      });

      it("equal content → equal blob_token; the identity ignores content_type and display_name", async () => {
        const a = await api.sendOk({ files: [small], scope: ALL_NODES, bundleId: `ident-${kind}` });
        const b = await api.sendOk({ files: [{ ...small, displayName: "x", contentType: "text/plain" }], scope: ALL_NODES, bundleId: `ident-${kind}` });
        assert.deepEqual(b, a, "same (root, path, size, sha256): the idempotent answer");
        const c = await api.sendOk({ files: [small, small], scope: ALL_NODES });
        assert.equal(c.handles[0].blobToken, a.handles[0].blobToken);
        assert.equal(c.handles[1].blobToken, a.handles[0].blobToken);
        assert.notEqual(c.handles[0].distributionId, c.handles[1].distributionId, "one distribution per file");
      });

      it("priorities: the five classes are recorded by name; UNSPECIFIED and 99 take the default (low here)", async () => {
        for (const [value, name] of [...PRIORITIES, ["ATTACHMENT_PRIORITY_UNSPECIFIED", "low"], [99, "low"]]) {
          const s = await api.sendOk({ files: [small], scope: ALL_NODES, priority: value });
          const doc = await readDoc(api, DISTRIBUTIONS, s.handles[0].distributionId);
          assert.equal(doc.priority, name, `priority ${value}`);
        }
      });

      it("idempotency: the same bundle_id and files → the same handles, nothing re-read; other files → ALREADY_EXISTS", async () => {
        const req = { files: [small, payload], scope: ALL_NODES, bundleId: `idem-${kind}` };
        const first = await api.sendOk(req);
        assert.equal(first.bundleId, `idem-${kind}`);
        assert.deepEqual(await api.sendOk(req), first);
        expectError(await api.send({ ...req, files: [small, other] }), "already_exists", undefined, "other files");
        expectError(await api.send({ ...req, files: [payload, small] }), "already_exists", undefined, "same files, other order");
        expectError(await api.send({ ...req, files: [small] }), "already_exists", undefined, "a subset");
        assert.deepEqual(await api.sendOk(req), first, "the bundle is unchanged");
      });

      it("NOT_FOUND for unknown ids (Get, Cancel)", async () => {
        expectError(await api.getRaw("nope"), "not_found", undefined, "Get");
        expectError(await api.cancelRaw("nope"), "not_found", undefined, "Cancel");
      });

      it("formation and capable scopes → FAILED_PRECONDITION", async () => {
        expectError(await api.send({ files: [small], scope: { formation: { formationId: "alpha" } } }), "failed_precondition", "scope.formation");
        expectError(await api.send({ files: [small], scope: { capable: {} } }), "failed_precondition", "scope.capable");
      });

      it("CRITICAL to an absent node: PENDING with one per_node entry, bytes_total = size; cancel → CANCELLED ≤ 1 s; the document says cancelled", async (t) => {
        const s = await api.sendOk({ files: [payload], scope: nodeList("ghost-crit"), priority: "ATTACHMENT_PRIORITY_CRITICAL" });
        const id = s.handles[0].distributionId;
        const d = await api.get(id);
        assert.equal(d.status, ST.PENDING, `a target that never started: ${JSON.stringify(d)}`);
        assert.deepEqual(d.perNode, [{ nodeId: "ghost-crit", status: ST.PENDING, bytesTransferred: 0 }]);
        assert.equal(d.bytesTotal, Number(payload.sizeBytes));
        assert.equal(d.bytesTransferred, 0);
        const doc = await readDoc(api, DISTRIBUTIONS, id);
        assert.equal(doc.priority, "critical");
        assert.equal(doc.scope, "node_list");
        assert.deepEqual(doc.declared_node_ids, ["ghost-crit"]);
        assert.deepEqual(doc.targets, ["ghost-crit"], "an unresolved name is kept verbatim");
        assert.equal(doc.status, "distributing");

        const t0 = Date.now();
        assert.equal(await api.cancel(id), true);
        const c = await api.waitStatus(id, [ST.CANCELLED], { timeoutMs: 1_000 });
        t.diagnostic(`CANCELLED after ${Date.now() - t0} ms`);
        assert.deepEqual(c.perNode.map((n) => n.status), [ST.CANCELLED]);
        const after = await readDoc(api, DISTRIBUTIONS, id);
        assert.equal(after.status, "cancelled");
        assert.equal(typeof after.cancelled_at_ms, "number");
        assert.equal(await api.cancel(id), false, "re-cancel answers false");
      });

      it("grace 2 s: a node-list target that never appears → FAILED ≤ 8 s with the grace error", async () => {
        const g = attachApi(kind, grace);
        try {
          const t0 = Date.now();
          const s = await g.sendOk({ files: [small], scope: nodeList(`ghost-grace-${kind}`) });
          const d = await g.waitStatus(s.handles[0].distributionId, [ST.FAILED], { timeoutMs: 8_000 });
          const ms = Date.now() - t0;
          assert.ok(ms >= 1_500, `FAILED after ${ms} ms, before the 2 s grace`);
          assert.equal(d.error, GRACE_ERROR);
          assert.deepEqual(d.perNode, [{ nodeId: `ghost-grace-${kind}`, status: ST.FAILED, bytesTransferred: 0 }]);
        } finally {
          g.close();
        }
      });

      it("queue-when-full: with a cap of 1 a second bundle is accepted and waits PENDING (no RESOURCE_EXHAUSTED)", async () => {
        const g = attachApi(kind, grace);
        try {
          const a = await g.sendOk({ files: [small], scope: nodeList(`ghost-q1-${kind}`) });
          const b = await g.sendOk({ files: [other], scope: nodeList(`ghost-q2-${kind}`) });
          assert.equal((await g.get(b.handles[0].distributionId)).status, ST.PENDING);
          for (const s of [a, b]) await g.cancelRaw(s.handles[0].distributionId);
          for (const s of [a, b]) await g.waitStatus(s.handles[0].distributionId, TERMINAL, { timeoutMs: 5_000 });
        } finally {
          g.close();
        }
      });

      it("retention 1 s: a finished bundle → NOT_FOUND (Get, Cancel, Subscribe) within 3 s; its document is deleted", async () => {
        const r = attachApi(kind, retain);
        try {
          const t0 = Date.now();
          const s = await r.sendOk({ files: [small], scope: ALL_NODES, bundleId: `retain-${kind}` });
          const id = s.handles[0].distributionId;
          await r.waitStatus(id, [ST.COMPLETED], { timeoutMs: 1_000 });
          await r.waitNotFound(id, { timeoutMs: 3_000 - (Date.now() - t0) });
          expectError(await r.cancelRaw(id), "not_found");
          await waitFor(async () => (await readDoc(r, DISTRIBUTIONS, id)) === undefined, { timeoutMs: 5_000, what: "the distribution document deleted" });
          const sub = makeClient("grpc-js", retain, "tcp");
          const { error } = await streamEnd(sub.openStream(SIDECAR, "SubscribeAttachmentBundle", { bundleId: `retain-${kind}` }), 5_000);
          sub.close();
          assert.equal(error?.code, "not_found", JSON.stringify(error));
          // the bundle id is free again
          const again = await r.sendOk({ files: [other], scope: ALL_NODES, bundleId: `retain-${kind}` });
          assert.notEqual(again.handles[0].distributionId, id);
        } finally {
          r.close();
        }
      });

      it("eviction: with --attachment-max-known-bundles 2, a third bundle evicts the least recently touched (finished) one", async () => {
        const e = attachApi(kind, evict);
        try {
          const sent = [];
          for (let i = 0; i < 3; i++) {
            const s = await e.sendOk({ files: [small], scope: ALL_NODES, bundleId: `evict-${kind}-${i}` });
            await e.waitStatus(s.handles[0].distributionId, [ST.COMPLETED], { timeoutMs: 2_000 });
            sent.push(s);
          }
          expectError(await e.getRaw(sent[0].handles[0].distributionId), "not_found", undefined, "the evicted bundle");
          for (const s of sent.slice(1)) assert.equal((await e.get(s.handles[0].distributionId)).status, ST.COMPLETED);
        } finally {
          e.close();
        }
      });
    });
  }

  it("concurrent identical sends (one per protocol, with a bundle id, a 24 MiB file) → identical handles", async () => {
    const apis = UNARY_KINDS.map((k) => attachApi(k, main));
    try {
      const req = { files: [big, small], scope: ALL_NODES, bundleId: "concurrent" };
      const answers = await Promise.all(apis.flatMap((a) => [a.sendOk(req), a.sendOk(req)]));
      for (const a of answers) assert.deepEqual(a, answers[0]);
    } finally {
      apis.forEach((a) => a.close());
    }
  });

  it("reserved collections: Subscribe to file_distributions sees the sender's document (reads allowed)", async () => {
    const c = makeClient("grpc-js", main, "tcp");
    const api = attachApi("grpc-js", main);
    try {
      const h = c.openStream(SIDECAR, "Subscribe", { collections: [DISTRIBUTIONS, "probe"] });
      // live once a write of our own to "probe" arrives on the stream
      await api.call("PutDocument", { collection: "probe", docId: "p1", jsonData: "{}" });
      await waitEvent(h, (m) => m.collection === "probe" && m.docId === "p1", { timeoutMs: 5_000, what: "the probe document" });
      const s = await api.sendOk({ files: [other], scope: ALL_NODES });
      const id = s.handles[0].distributionId;
      const ev = await waitEvent(h, (m) => m.docId === id, { timeoutMs: 5_000, what: `change of ${DISTRIBUTIONS}/${id}` });
      assert.equal(ev.collection, DISTRIBUTIONS);
      assert.equal(JSON.parse(ev.jsonData).blob.root, s.handles[0].blobToken);
      assert.match(s.handles[0].blobToken, HEX64);
      h.cancel();
    } finally {
      c.close();
      api.close();
    }
  });
});
