// Attachments: every bad input of docs/spec/ATTACHMENTS.md §16 that one node can show (rows 1–38;
// row 39, garbage from peers, needs a peer), and the "which wins" orderings of §2, over Connect
// (curl JSON), gRPC (grpc-js) and gRPC-Web (connect-node). Asserts the code and the field path
// that starts the message ("files[0].sha256: ..."), never the rest of the text.
//
// Nodes: `main` (roots docs + race, --max-message-bytes 256 KiB; with no peers every accepted send
// has zero targets and is COMPLETED at once, so it never holds a concurrency slot), `cap` (same
// roots; sends to absent node ids stay PENDING for the 30 s grace: the concurrency-cap rows, each
// test cancels what it sent), `bare` (only an inbox: the gate of row 1).
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/attachments/bad_input.test.mjs

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startNodeOn } from "../lib/documents.mjs";
import {
  ALL_NODES,
  BOGUS_SHA,
  DISTRIBUTIONS,
  PROTOCOL_OF,
  ST,
  STATUSES,
  STREAM_KINDS,
  UNARY_KINDS,
  UUID_V4,
  attachApi,
  blobFiles,
  expectError,
  listDocs,
  makeRoot,
  nodeList,
  randomBytes,
  sha256,
  shaOfLength,
  startAttachNodes,
  streamEnd,
  tmpDir,
} from "./lib.mjs";

const MiB = 1024 * 1024;
const MAX_FILE = 256 * MiB; // default --attachment-max-file-bytes
const MAX_MESSAGE_BYTES = 256 * 1024;
const IS_ROOT = process.getuid?.() === 0;

// ---------------------------------------------------------------------------------------------
// The root "docs": one of each kind of file §16 names
// ---------------------------------------------------------------------------------------------

const docs = makeRoot("docs");
docs.write("a.txt", "alpha-1\n");
docs.write("a/b.txt", "bravo-2\n");
docs.write("c.txt", "charlie\n"); // same size as a.txt, other content
docs.write("dir/inner.txt", "inner\n");
fs.symlinkSync("a.txt", docs.path("link-in"));
fs.symlinkSync("/etc/passwd", docs.path("link-out"));
fs.symlinkSync("/etc", docs.path("dirlink-out"));
execFileSync("mkfifo", [docs.path("fifo")]);
if (IS_ROOT) execFileSync("mknod", [docs.path("dev"), "c", "1", "3"]); // /dev/null's numbers
docs.sparse("big", MAX_FILE + 1); // correct size, one byte over the cap
docs.sparse("huge", 300 * MiB); // declared as 290 MiB below: a mismatch over the cap
docs.write("locked.txt", "locked\n");
fs.chmodSync(docs.path("locked.txt"), 0o000);
const PASSWD_SIZE = String(fs.statSync("/etc/passwd").size);

/** FileSpec of a file of `docs` (size and sha256 from what is on disk / was written), with overrides. */
const f = (rel, o = {}) => docs.spec(rel, o);
const A = () => f("a.txt");
const sock = net.createServer();
const SOCK_PATH = docs.path("sock");

// The root "race": d/secret.txt inside, and a file of the same size but other bytes outside (row 26).
const race = makeRoot("race");
race.write("d/secret.txt", "inside-secret\n");
const outside = tmpDir("peat-outside-");
fs.writeFileSync(path.join(outside, "secret.txt"), "OUTSIDE-SECRT\n");
assert.equal(fs.statSync(path.join(outside, "secret.txt")).size, fs.statSync(race.path("d/secret.txt")).size);

/** One table row: [name, request, code, field (string prefix or RegExp; undefined = code only)]. */
function badRows() {
  const ids = (n) => Array.from({ length: n }, (_, i) => `node-${i}`);
  return [
    // Step 1: files
    ["row 2: files: [] → files", { files: [], scope: ALL_NODES }, "invalid_argument", "files"],
    ["row 2: empty request → files (before the missing scope)", {}, "invalid_argument", "files"],
    ["row 3: 65 files → files", { files: Array.from({ length: 65 }, A), scope: ALL_NODES }, "resource_exhausted", "files"],
    // Step 2: the sum of sizes
    ["row 4: sizes summing past 2^64 (2^64-1 + 1) → files", { files: [f("a.txt", { sizeBytes: "18446744073709551615" }), f("a.txt", { sizeBytes: "1" })], scope: ALL_NODES }, "resource_exhausted", "files"],
    ["row 4: sizes summing to 2^64 (2^63 + 2^63) → files", { files: [f("a.txt", { sizeBytes: "9223372036854775808" }), f("a.txt", { sizeBytes: "9223372036854775808" })], scope: ALL_NODES }, "resource_exhausted", "files"],
    ["row 5: Σ 1 GiB + 1 with a bad sha256 on file 0 → files (cap wins)", { files: [f("a.txt", { sizeBytes: String(1024 * MiB + 1), sha256: shaOfLength(31) })], scope: ALL_NODES }, "resource_exhausted", "files"],
    [
      "which wins: the Σ cap beats every per-file error and the missing scope",
      { files: [{ rootName: "nope", relativePath: "../x", sizeBytes: String(1024 * MiB), sha256: shaOfLength(0) }, f("a.txt", { sizeBytes: "1", relativePath: "/etc/passwd" })] },
      "resource_exhausted",
      "files",
    ],
    // Step 3: scope, node ids, bundle id
    ["row 6: scope omitted → scope", { files: [A()] }, "invalid_argument", "scope"],
    ["row 6: scope {} → scope", { files: [A()], scope: {} }, "invalid_argument", "scope"],
    ["which wins: a missing scope beats a bad sha256", { files: [f("a.txt", { sha256: shaOfLength(31) })] }, "invalid_argument", "scope"],
    ["row 7: node_list with no ids → scope.node_list.node_ids", { files: [A()], scope: nodeList() }, "invalid_argument", "scope.node_list.node_ids"],
    ["which wins: an empty node_list beats a bad sha256", { files: [f("a.txt", { sha256: shaOfLength(1) })], scope: nodeList() }, "invalid_argument", "scope.node_list.node_ids"],
    ["row 8: 257 node ids → scope.node_list.node_ids", { files: [A()], scope: nodeList(ids(257)) }, "resource_exhausted", "scope.node_list.node_ids"],
    ["row 9: formation scope → scope.formation", { files: [A()], scope: { formation: { formationId: "f1" } } }, "failed_precondition", "scope.formation"],
    ["row 9: capable scope → scope.capable", { files: [A()], scope: { capable: {} } }, "failed_precondition", "scope.capable"],
    ["row 9 / which wins: a formation scope beats a bad sha256", { files: [f("a.txt", { sha256: shaOfLength(31) })], scope: { formation: { formationId: "f1" } } }, "failed_precondition", "scope.formation"],
    ["row 9: a capable scope beats an unknown root and a bad path", { files: [f("a.txt", { rootName: "nope", relativePath: "../x" })], scope: { capable: {} } }, "failed_precondition", "scope.capable"],
    ["row 10: node id \"\" → scope.node_list.node_ids[1]", { files: [A()], scope: nodeList("peer-x", "") }, "invalid_argument", "scope.node_list.node_ids[1]"],
    ["row 10: node id of 1025 bytes → scope.node_list.node_ids[0]", { files: [A()], scope: nodeList("n".repeat(1025)) }, "invalid_argument", "scope.node_list.node_ids[0]"],
    ["row 10: node id with NUL → scope.node_list.node_ids[0]", { files: [A()], scope: nodeList("a\u0000b") }, "invalid_argument", "scope.node_list.node_ids[0]"],
    ["row 10: node id with a control char → scope.node_list.node_ids[2]", { files: [A()], scope: nodeList("x", "y", "a\u0007b") }, "invalid_argument", "scope.node_list.node_ids[2]"],
    ["row 11: bundle_id of 1025 bytes → bundle_id", { files: [A()], scope: ALL_NODES, bundleId: "b".repeat(1025) }, "invalid_argument", "bundle_id"],
    ["row 11: bundle_id with a newline → bundle_id", { files: [A()], scope: ALL_NODES, bundleId: "a\nb" }, "invalid_argument", "bundle_id"],
    ["row 11: bundle_id with NUL → bundle_id", { files: [A()], scope: ALL_NODES, bundleId: "a\u0000b" }, "invalid_argument", "bundle_id"],
    // Step 4: per file, all checks of file i before file i+1
    ...[0, 31, 33, 64].map((n) => [
      `row 12: sha256 of ${n} bytes → files[1].sha256, no I/O (file 1 is a FIFO nobody writes)`,
      { files: [A(), f("fifo", { sha256: shaOfLength(n), sizeBytes: "1" })], scope: ALL_NODES },
      "invalid_argument",
      "files[1].sha256",
    ]),
    ["row 13: 64-byte sha256 and an unknown root → files[0].sha256", { files: [f("a.txt", { sha256: shaOfLength(64), rootName: "nope" })], scope: ALL_NODES }, "invalid_argument", "files[0].sha256"],
    ["row 14: unknown root_name → files[0].root_name", { files: [f("a.txt", { rootName: "nope" })], scope: ALL_NODES }, "invalid_argument", "files[0].root_name"],
    ["row 14: root_name \"\" → files[0].root_name", { files: [f("a.txt", { rootName: "" })], scope: ALL_NODES }, "invalid_argument", "files[0].root_name"],
    ...["", "/etc/passwd", "../x", "a/../b", "a/.."].map((rel) => [`row 15: relative_path ${JSON.stringify(rel)} → files[0].relative_path`, { files: [f("a.txt", { relativePath: rel })], scope: ALL_NODES }, "invalid_argument", "files[0].relative_path"]),
    ...["missing.txt", "a/b.txt/", "a.txt/", "a.txt\u0000.x"].map((rel) => [`row 17: relative_path ${JSON.stringify(rel)} → files[0].relative_path`, { files: [f("a.txt", { relativePath: rel })], scope: ALL_NODES }, "invalid_argument", "files[0].relative_path"]),
    ["row 18: in-root symlink to /etc/passwd → files[0].relative_path", { files: [f("link-out", { sizeBytes: PASSWD_SIZE })], scope: ALL_NODES }, "invalid_argument", "files[0].relative_path"],
    ["row 18: in-root symlink to /etc, then passwd → files[0].relative_path", { files: [f("dirlink-out/passwd", { sizeBytes: PASSWD_SIZE })], scope: ALL_NODES }, "invalid_argument", "files[0].relative_path"],
    ...["dir", "fifo", "sock", ...(IS_ROOT ? ["dev"] : [])].map((rel) => [
      `row 20: ${rel} → files[0].relative_path "not a regular file"`,
      { files: [f(rel, { sizeBytes: "0", sha256: BOGUS_SHA })], scope: ALL_NODES },
      "invalid_argument",
      /^files\[0\]\.relative_path: .*not a regular file/,
    ]),
    ["row 21 / which wins: size mismatch beats the size cap of the same file → files[0].size_bytes", { files: [f("huge", { sizeBytes: String(290 * MiB) })], scope: ALL_NODES }, "invalid_argument", "files[0].size_bytes"],
    ["row 22: 256 MiB + 1, correct size → files[0].size_bytes", { files: [f("big")], scope: ALL_NODES }, "resource_exhausted", "files[0].size_bytes"],
    ["row 23 / which wins: file 0's size cap beats file 1's bad path", { files: [f("big"), f("a.txt", { relativePath: "../x" })], scope: ALL_NODES }, "resource_exhausted", "files[0].size_bytes"],
    ["which wins: file 0's bad path beats file 1's size cap", { files: [f("a.txt", { relativePath: "a/../b" }), f("big")], scope: ALL_NODES }, "invalid_argument", "files[0].relative_path"],
    ["which wins: file 0's unknown root beats file 1's bad sha256", { files: [f("a.txt", { rootName: "nope" }), f("a.txt", { sha256: shaOfLength(3) })], scope: ALL_NODES }, "invalid_argument", "files[0].root_name"],
    ["which wins: file 0's unknown root beats its bad path", { files: [f("a.txt", { rootName: "nope", relativePath: "../x" })], scope: ALL_NODES }, "invalid_argument", "files[0].root_name"],
  ];
}

describe("attachments: bad input (§16) and which error wins (§2)", () => {
  let main;
  let cap;
  let bare;

  before(async () => {
    await new Promise((resolve, reject) => {
      sock.once("error", reject);
      sock.listen(SOCK_PATH, resolve);
    });
    [main, cap, bare] = await startAttachNodes([
      { roots: [docs, race], args: ["--max-message-bytes", String(MAX_MESSAGE_BYTES)] },
      { roots: [docs] },
      { inbox: tmpDir("peat-inbox-") },
    ]);
  });
  after(async () => {
    await Promise.all([main, cap, bare].map((n) => n?.kill()));
    sock.close();
  });

  for (const kind of UNARY_KINDS) {
    describe(`${PROTOCOL_OF[kind]} (${kind})`, () => {
      let api;
      let capApi;
      let bareApi;
      before(() => {
        api = attachApi(kind, main);
        capApi = attachApi(kind, cap);
        bareApi = attachApi(kind, bare);
      });
      after(() => [api, capApi, bareApi].forEach((x) => x?.close()));

      it("row 1: every attachment RPC without --attachment-root (an inbox alone) → UNIMPLEMENTED before any request check", async () => {
        for (const [rpc, reqs] of [
          ["SendAttachments", [{}, { files: [A()], scope: ALL_NODES }, { files: [f("a.txt", { sha256: shaOfLength(1) })], scope: { formation: {} } }]],
          ["GetAttachmentDistribution", [{}, { distributionId: "nope" }]],
          ["CancelAttachmentDistribution", [{}, { distributionId: "nope" }]],
        ]) {
          for (const req of reqs) {
            const msg = expectError(await bareApi.raw(rpc, req), "unimplemented", undefined, `${rpc} ${JSON.stringify(req).slice(0, 80)}`);
            assert.equal(msg, `${rpc} requires --attachment-root to be configured`);
          }
        }
      });

      for (const [name, req, code, field] of badRows()) {
        it(name, async () => {
          expectError(await api.send(req, { timeoutMs: 10_000 }), code, field, name);
        });
      }

      it("row 16: ./a.txt and a//b.txt (both exist) are accepted", async () => {
        const dot = await api.sendOk({ files: [f("a.txt", { relativePath: "./a.txt" })], scope: ALL_NODES });
        const plain = await api.sendOk({ files: [A()], scope: ALL_NODES });
        assert.equal(dot.handles[0].blobToken, plain.handles[0].blobToken, "same content, same blob token");
        await api.sendOk({ files: [f("a/b.txt", { relativePath: "a//b.txt" })], scope: ALL_NODES });
      });

      it("row 19: an in-root symlink to a file in the root is accepted (same blob as the file)", async () => {
        const viaLink = await api.sendOk({ files: [f("a.txt", { relativePath: "link-in" })], scope: ALL_NODES });
        const direct = await api.sendOk({ files: [A()], scope: ALL_NODES });
        assert.equal(viaLink.handles[0].blobToken, direct.handles[0].blobToken);
      });

      it("row 24: an unreadable file (mode 000) → files[0] (needs a non-root server)", async (t) => {
        if (IS_ROOT) return t.skip("the server runs as root here, which reads mode-000 files; row 24 needs a non-root server");
        expectError(await api.send({ files: [f("locked.txt")], scope: ALL_NODES }), "invalid_argument", /^files\[0\](\.relative_path)?: /, "row 24");
      });

      it("row 25: content ≠ declared sha256 → files[0].sha256; no blob, document or registry row left (a blob that existed stays)", async () => {
        const bundleId = `row25-${kind}`;
        await api.sendOk({ files: [A()], scope: ALL_NODES }); // a.txt's blob exists before
        const blobsBefore = blobFiles(main.dataDir);
        const docsBefore = await listDocs(api, DISTRIBUTIONS);
        // c.txt has a.txt's size; declare a.txt's sha256 (whose blob exists) and a fresh one
        for (const sha of [docs.shas.get("a.txt"), sha256(randomBytes(16))]) {
          const r = await api.send({ files: [f("c.txt", { sha256: sha.toString("base64") })], scope: ALL_NODES, bundleId });
          expectError(r, "invalid_argument", "files[0].sha256", "row 25");
        }
        assert.deepEqual(blobFiles(main.dataDir), blobsBefore, "blob store changed by the rejected sends");
        assert.deepEqual(await listDocs(api, DISTRIBUTIONS), docsBefore, "file_distributions changed by the rejected sends");
        // no registry row: the bundle id is free for other files
        const ok = await api.sendOk({ files: [f("c.txt")], scope: ALL_NODES, bundleId });
        assert.equal(ok.bundleId, bundleId);
      });

      it("row 32: priority 99 (and an unknown name in JSON) and bundle_id \"\" are accepted (default priority; a UUIDv4 bundle id)", async () => {
        const r = await api.sendOk({ files: [A()], scope: ALL_NODES, priority: 99, bundleId: "" });
        assert.match(r.bundleId, UUID_V4);
        const again = await api.sendOk({ files: [A()], scope: ALL_NODES });
        assert.match(again.bundleId, UUID_V4);
        assert.notEqual(again.bundleId, r.bundleId, "no bundle_id: a fresh bundle each time");
        // JSON can also carry an unknown name (OPERATIONS.md: the one enum exception)
        if (kind.startsWith("curl-")) await api.sendOk({ files: [A()], scope: ALL_NODES, priority: "ATTACHMENT_PRIORITY_URGENT" });
      });

      it("row 11 boundary: a bundle_id of exactly 1024 bytes is accepted", async () => {
        const bundleId = `${kind}-`.padEnd(1024, "b");
        const r = await api.sendOk({ files: [A()], scope: ALL_NODES, bundleId });
        assert.equal(r.bundleId, bundleId);
      });

      it("row 33: Get / Cancel of an unknown or empty distribution_id → NOT_FOUND", async () => {
        for (const id of ["no-such-distribution", ""]) {
          for (const rpc of ["GetAttachmentDistribution", "CancelAttachmentDistribution"]) {
            const msg = expectError(await api.raw(rpc, { distributionId: id }), "not_found", undefined, `${rpc} ${JSON.stringify(id)}`);
            assert.equal(msg, `distribution_id \`${id}\` not found`);
          }
        }
      });

      it("row 35: Cancel of a terminal distribution → OK, was_cancelled false (absent in JSON)", async () => {
        const s = await api.sendOk({ files: [A()], scope: ALL_NODES });
        const id = s.handles[0].distributionId;
        await api.waitStatus(id, [ST.COMPLETED], { timeoutMs: 2_000 });
        const r = await api.cancelRaw(id);
        assert.equal(r.ok, true, `Cancel: ${r.code} ${r.errorMessage}`);
        assert.equal(r.message.wasCancelled, undefined, `was_cancelled present: ${JSON.stringify(r.message)}`);
        if (kind.startsWith("curl-")) assert.equal(r.raw.body.trim(), "{}", "Connect JSON body of was_cancelled=false");
        assert.equal((await api.get(id)).status, ST.COMPLETED, "a cancel of a terminal distribution changes nothing");
      });

      it("row 36: a body over --max-message-bytes → RESOURCE_EXHAUSTED", async () => {
        const r = await api.send({ files: [f("a.txt", { displayName: "d".repeat(MAX_MESSAGE_BYTES + 1024) })], scope: ALL_NODES });
        expectError(r, "resource_exhausted", undefined, "row 36");
      });

      it("row 38: PutDocument / DeleteDocument into either attachment collection → INVALID_ARGUMENT; reads are allowed", async () => {
        for (const [collection, docId] of [
          [DISTRIBUTIONS, "forged"],
          [STATUSES, "forged:0123456789"],
        ]) {
          expectError(await api.raw("PutDocument", { collection, docId, jsonData: '{"v":1}' }), "invalid_argument", undefined, `PutDocument ${collection}`);
          expectError(await api.raw("DeleteDocument", { collection, docId }), "invalid_argument", undefined, `DeleteDocument ${collection}`);
          const g = await api.raw("GetDocument", { collection, docId });
          assert.equal(g.ok, true, `GetDocument ${collection}: ${g.code} ${g.errorMessage}`);
          assert.equal(g.message.jsonData, undefined, "the forged document does not exist");
          const l = await api.raw("ListDocuments", { collection });
          assert.equal(l.ok, true, `ListDocuments ${collection}: ${l.code} ${l.errorMessage}`);
        }
      });

      // Rows 28–31 and the orderings around the concurrency cap (§2 steps 5, 6; R: the idempotent
      // hit before the cap). Four bundles to absent node ids hold the four slots (default cap 4,
      // grace 30 s); everything this test sent is cancelled at the end.
      /** Four bundles to absent ids (PENDING for the 30 s grace) fill the cap of `cap`; returns their answers. */
      async function fillCap(tag, sent) {
        for (let i = 0; i < 4; i++) {
          const s = await capApi.sendOk(capReq(tag, i));
          sent.push(s);
          const d = await capApi.get(s.handles[0].distributionId);
          assert.ok([ST.PENDING, ST.IN_PROGRESS].includes(d.status), `bundle ${i} with an absent target: ${d.status}`);
        }
      }
      const capReq = (tag, i, file = A()) => ({ files: [file], scope: nodeList(`ghost-${kind}-${i}`), bundleId: `${tag}-${kind}-${i}` });
      const cancelAll = async (sent) => {
        for (const s of sent) for (const h of s.handles) await capApi.cancelRaw(h.distributionId);
      };

      it("rows 28–31: the concurrency cap, idempotent resubmit, ALREADY_EXISTS, reuse after CANCELLED; the cap comes after every file check", async () => {
        const sent = [];
        const ghostReq = (i, file) => capReq("cap", i, file);
        try {
          await fillCap("cap", sent);
          // row 28: a fifth new bundle
          expectError(await capApi.send(ghostReq(4)), "resource_exhausted", undefined, "row 28: 5th bundle");
          expectError(await capApi.send({ files: [A()], scope: ALL_NODES }), "resource_exhausted", undefined, "row 28: 5th bundle, all nodes, no bundle id");
          // row 29: the identical resubmit is answered before the cap
          const again = await capApi.sendOk(ghostReq(0));
          assert.deepEqual(again, sent[0], "row 29: identical resubmit → the same bundle id and handles");
          // every file check comes before the cap
          expectError(await capApi.send({ files: [f("a.txt", { relativePath: "../x" })], scope: ALL_NODES }), "invalid_argument", "files[0].relative_path", "bad path with the cap full");
          expectError(await capApi.send({ files: [f("big")], scope: ALL_NODES }), "resource_exhausted", "files[0].size_bytes", "size cap with the cap full");
          expectError(await capApi.send({ files: [f("a.txt", { sha256: shaOfLength(2) })], scope: ALL_NODES }), "invalid_argument", "files[0].sha256", "bad sha with the cap full");

          // row 31: cancel bundle 0 (one file) → CANCELLED; its id is free for other files, new ids; old ids NOT_FOUND
          const old = sent[0].handles[0].distributionId;
          assert.equal(await capApi.cancel(old), true, "cancel of a PENDING distribution");
          await capApi.waitStatus(old, [ST.CANCELLED], { timeoutMs: 1_000 });
          assert.equal(await capApi.cancel(old), false, "a second cancel answers false (R, Q12)");
          const reused = await capApi.sendOk(ghostReq(0, f("c.txt")));
          assert.equal(reused.bundleId, `cap-${kind}-0`);
          assert.notEqual(reused.handles[0].distributionId, old, "row 31: new distribution ids");
          sent[0] = reused;
          expectError(await capApi.getRaw(old), "not_found", undefined, "row 31: the old distribution id");
          // row 30: same bundle id, other files, bundle not FAILED/CANCELLED → ALREADY_EXISTS (a slot free)
          assert.equal(await capApi.cancel(sent[1].handles[0].distributionId), true);
          expectError(await capApi.send(ghostReq(0, A())), "already_exists", undefined, "row 30");
          // ...and the idempotent hit still answers the same handles
          assert.deepEqual(await capApi.sendOk(ghostReq(0, f("c.txt"))), reused);
        } finally {
          await cancelAll(sent);
        }
      });

      // §2: step 5 (the cap) before step 6 (a bundle id with other files) and step 8 (the streamed
      // SHA-256); R moves only the idempotent hit of step 6 before the cap.
      it("which wins: with the cap full, content ≠ sha256 and a conflicting bundle id → RESOURCE_EXHAUSTED (the cap comes first)", async () => {
        const sent = [];
        try {
          await fillCap("order", sent);
          expectError(await capApi.send({ files: [f("c.txt", { sha256: docs.shas.get("a.txt").toString("base64") })], scope: ALL_NODES }), "resource_exhausted", undefined, "content ≠ sha256 with the cap full");
          expectError(await capApi.send(capReq("order", 0, f("c.txt"))), "resource_exhausted", undefined, "conflicting bundle id with the cap full");
        } finally {
          await cancelAll(sent);
        }
      });
    });
  }

  for (const kind of STREAM_KINDS) {
    it(`row 34 (${PROTOCOL_OF[kind]}, ${kind}): Subscribe with an unknown or empty bundle_id → NOT_FOUND; without a root → UNIMPLEMENTED`, async () => {
      const api = attachApi(kind, main);
      const bareApi = attachApi(kind, bare);
      try {
        for (const id of ["no-such-bundle", ""]) {
          const { frames, error } = await streamEnd(api.subscribe(id), 10_000);
          assert.deepEqual(frames, []);
          assert.equal(error?.code, "not_found", `Subscribe ${JSON.stringify(id)}: ${JSON.stringify(error)}`);
          assert.equal(error.message, `bundle_id \`${id}\` not found`);
        }
        const { error } = await streamEnd(bareApi.subscribe("any"), 10_000);
        assert.equal(error?.code, "unimplemented", JSON.stringify(error));
        assert.equal(error.message, "SubscribeAttachmentBundle requires --attachment-root to be configured");
      } finally {
        api.close();
        bareApi.close();
      }
    });
  }

  // Row 26: a thread of the test flips race/d between the real directory and a symlink to a
  // directory outside the root (same file name, same size, other bytes) while sends run. An
  // answer is either OK (the file inside was read) or a path error (`files[0].relative_path`, or
  // `files[0]` for a file swapped between checks); a sha256 or size error would mean the server
  // read the file outside.
  it("row 26: a directory swapped for a symlink during validation never makes the server read outside the root", async (t) => {
    const api = attachApi("grpc-js", main);
    const spec = race.spec("d/secret.txt"); // size and sha256 of the file inside, read before the flips
    const flipper = spawn("bash", ["-c", `cd '${race.dir}' && while :; do mv d d.real && ln -s '${outside}' d && rm d && mv d.real d; done`], { stdio: "ignore" });
    t.after(() => flipper.kill("SIGKILL"));
    const counts = { ok: 0, path: 0 };
    try {
      const deadline = Date.now() + 15_000;
      for (let i = 0; i < 200 && Date.now() < deadline; i++) {
        const r = await api.send({ files: [spec], scope: ALL_NODES });
        if (r.ok) counts.ok++;
        else {
          expectError(r, "invalid_argument", /^files\[0\](\.relative_path)?: /, `attempt ${i}`);
          counts.path++;
        }
      }
    } finally {
      flipper.kill("SIGKILL");
      api.close();
    }
    t.diagnostic(`answers: ${JSON.stringify(counts)}`);
    assert.ok(counts.ok + counts.path > 0);
  });

  // Row 27: the file grows while it is validated and ingested (a writer appends all the time).
  // Whether the growth is seen by the size check or during the read, the answer is INVALID_ARGUMENT
  // for file 0, and nothing is registered under the bundle id.
  it("row 27: a file that grows during ingest → INVALID_ARGUMENT; the bundle id stays free", async (t) => {
    const api = attachApi("grpc-js", main);
    const p = docs.path("grow.bin");
    fs.writeFileSync(p, Buffer.alloc(32 * MiB, 7));
    const writer = spawn("bash", ["-c", `while :; do printf x >> '${p}'; done`], { stdio: "ignore" });
    t.after(() => writer.kill("SIGKILL"));
    try {
      for (let i = 0; i < 3; i++) {
        const size = fs.statSync(p).size;
        const r = await api.send({ files: [f("grow.bin", { sizeBytes: String(size), sha256: BOGUS_SHA })], scope: ALL_NODES, bundleId: "grow" });
        expectError(r, "invalid_argument", /^files\[0\]/, `attempt ${i}`);
      }
    } finally {
      writer.kill("SIGKILL");
      await new Promise((r) => (writer.exitCode !== null || writer.signalCode !== null ? r() : writer.once("exit", r)));
    }
    const ok = await api.sendOk({ files: [docs.spec("grow.bin", { sha256: sha256(fs.readFileSync(p)).toString("base64") })], scope: ALL_NODES, bundleId: "grow" });
    assert.equal(ok.bundleId, "grow");
    api.close();
  });

  // Row 37: the data dir on an 8 MiB tmpfs; a 16 MiB file does not fit in the blob store.
  it("row 37: blob store full at ingest → RESOURCE_EXHAUSTED", async (t) => {
    if (!IS_ROOT) return t.skip("mounting a small tmpfs needs root");
    const mnt = tmpDir("peat-full-");
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt]);
    } catch (e) {
      return t.skip(`cannot mount a tmpfs here: ${e.message}`);
    }
    const root = makeRoot("fill");
    const spec = root.write("16mib.bin", randomBytes(16 * MiB));
    let node;
    try {
      node = await startNodeOn(path.join(mnt, "data"), { args: ["--attachment-root", root.flag] });
      const api = attachApi("grpc-js", node);
      expectError(await api.send({ files: [spec], scope: ALL_NODES }), "resource_exhausted", undefined, "row 37");
      api.close();
    } finally {
      await node?.kill();
      execFileSync("umount", ["-l", mnt]);
    }
  });
});
