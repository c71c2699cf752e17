// Harness of the attachment integration tests (tests/integration/attachments/*.test.mjs,
// docs/spec/ATTACHMENTS.md §18): attachment roots filled with files, nodes started with
// --attachment-root NAME=PATH / --attachment-inbox, the four attachment RPCs over any client kind
// of ../lib/clients.mjs with results normalised to one shape, polls of GetAttachmentDistribution
// until a state, SHA-256 of inbox files.
//
//   const root = makeRoot("docs");  const spec = root.write("a.txt", "hello");
//   const node = await startAttachNode({ t, roots: [root] });
//   const api = attachApi("grpc-js", node);            // or UNARY_KINDS / STREAM_KINDS
//   const sent = await api.sendOk({ files: [spec], scope: ALL_NODES });
//   await api.waitStatus(sent.handles[0].distributionId, [ST.COMPLETED]);
//
// Protocols: UNARY_KINDS are Connect (curl, JSON), gRPC (grpc-js) and gRPC-Web (connect-node);
// STREAM_KINDS the same three protocols with clients that stream (Connect via connect-node).
// Every wait is a poll or an event with a deadline, never a fixed sleep. Temp dirs made here are
// removed when the test process exits (PEAT_IT_KEEP_TMP keeps them).

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SIDECAR, makeClient } from "../lib/clients.mjs";
import { preview, strip, waitReady, withTimeout } from "../lib/documents.mjs";
import { startCluster, waitEvent, waitFor } from "../lib/mesh_cluster.mjs";
import { startNode } from "../lib/node_process.mjs";

/** Unary client kinds, one per protocol: Connect (JSON over curl), gRPC, gRPC-Web. */
export const UNARY_KINDS = ["curl-json-h1", "grpc-js", "cn-grpcweb-h1"];
/** Streaming client kinds, one per protocol: Connect (binary), gRPC, gRPC-Web. */
export const STREAM_KINDS = ["cn-connect-proto-h1", "grpc-js", "cn-grpcweb-h1"];
/** Protocol label of a client kind (test names). */
export const PROTOCOL_OF = {
  "curl-json-h1": "Connect",
  "cn-connect-proto-h1": "Connect",
  "grpc-js": "gRPC",
  "cn-grpcweb-h1": "gRPC-Web",
};

export const ST = {
  PENDING: "DISTRIBUTION_STATUS_PENDING",
  IN_PROGRESS: "DISTRIBUTION_STATUS_IN_PROGRESS",
  COMPLETED: "DISTRIBUTION_STATUS_COMPLETED",
  PARTIAL: "DISTRIBUTION_STATUS_PARTIAL",
  FAILED: "DISTRIBUTION_STATUS_FAILED",
  CANCELLED: "DISTRIBUTION_STATUS_CANCELLED",
};
export const TERMINAL = [ST.COMPLETED, ST.PARTIAL, ST.FAILED, ST.CANCELLED];
export const ALL_NODES = { allNodes: {} };
export const nodeList = (...ids) => ({ nodeList: { nodeIds: ids.flat() } });

export const DISTRIBUTIONS = "file_distributions";
export const STATUSES = "file_distribution_status";
export const GRACE_ERROR = "discovery grace expired: peer never connected";
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const HEX64 = /^[0-9a-f]{64}$/;

// ---------------------------------------------------------------------------------------------
// Temp dirs, content, hashes
// ---------------------------------------------------------------------------------------------

const tmpDirs = new Set();
process.on("exit", () => {
  if (process.env.PEAT_IT_KEEP_TMP) return;
  for (const d of tmpDirs) {
    try {
      fs.chmodSync(d, 0o700);
      fs.rmSync(d, { recursive: true, force: true });
    } catch {
      /* a mount point or already gone */
    }
  }
});

/** A fresh temp directory, removed at process exit. */
export function tmpDir(prefix = "peat-attach-") {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.add(d);
  return d;
}

export const sha256 = (buf) => crypto.createHash("sha256").update(buf).digest();
export const sha256Hex = (buf) => sha256(buf).toString("hex");

/** SHA-256 (hex) of a file, streamed. */
export function sha256FileHex(file) {
  return new Promise((resolve, reject) => {
    const h = crypto.createHash("sha256");
    fs.createReadStream(file)
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}

/** n pseudo-random bytes (fast, incompressible). */
export const randomBytes = (n) => crypto.randomBytes(n);

/** 32 bytes that are the SHA-256 of nothing in these tests, base64. */
export const BOGUS_SHA = Buffer.alloc(32, 0xab).toString("base64");
/** A base64 sha256 field of n raw bytes (wrong lengths for §16 row 12). */
export const shaOfLength = (n) => Buffer.alloc(n, 0x5a).toString("base64");

// ---------------------------------------------------------------------------------------------
// Attachment roots
// ---------------------------------------------------------------------------------------------

/**
 * An attachment root: a temp dir served as --attachment-root NAME=DIR. write() and sparse()
 * create files (parents included) and return a FileSpec in proto3 JSON, with the size and
 * SHA-256 of what is on disk; spec() describes an existing file, overriding any field.
 */
export class Root {
  constructor(name, dir = tmpDir(`peat-root-${name}-`)) {
    this.name = name;
    this.dir = dir;
    this.shas = new Map(); // rel → Buffer, for files written here
  }
  get flag() {
    return `${this.name}=${this.dir}`;
  }
  path(rel) {
    return path.join(this.dir, rel);
  }
  /** Writes rel (string or Buffer content) and returns its FileSpec. */
  write(rel, content, overrides = {}) {
    const p = this.path(rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const buf = Buffer.isBuffer(content) ? content : Buffer.from(content, "utf8");
    fs.writeFileSync(p, buf);
    this.shas.set(rel, sha256(buf));
    return this.spec(rel, overrides);
  }
  /** A sparse file of `size` bytes (zeros, no blocks). The FileSpec carries a bogus sha256 unless given. */
  sparse(rel, size, overrides = {}) {
    const p = this.path(rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const fd = fs.openSync(p, "w");
    fs.ftruncateSync(fd, size);
    fs.closeSync(fd);
    return this.spec(rel, { sha256: BOGUS_SHA, ...overrides });
  }
  /** FileSpec (proto3 JSON) of rel: size from disk (0 if absent), sha256 of the written content (bogus if unknown). */
  spec(rel, overrides = {}) {
    let size = 0;
    try {
      size = fs.statSync(this.path(rel)).size;
    } catch {
      /* absent: the caller tests a bad path */
    }
    const sha = this.shas.get(rel);
    return {
      rootName: this.name,
      relativePath: rel,
      sizeBytes: String(size),
      sha256: sha ? sha.toString("base64") : BOGUS_SHA,
      ...overrides,
    };
  }
  /** Hex SHA-256 of a file written through write(). */
  shaHex(rel) {
    return this.shas.get(rel)?.toString("hex");
  }
}

export const makeRoot = (name, dir) => new Root(name, dir);

/** CLI args for roots and an inbox. */
export function attachArgs({ roots = [], inbox } = {}) {
  const a = [];
  for (const r of roots) a.push("--attachment-root", r.flag);
  if (inbox) a.push("--attachment-inbox", inbox);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------------

/**
 * One node (TCP + unix API, fresh data dir) with the given roots, inbox and extra args; waits for
 * /readyz. node.roots and node.inbox are set.
 */
export async function startAttachNode({ t, roots = [], inbox, args = [], env = {} } = {}) {
  const node = await startNode({ t, args: [...attachArgs({ roots, inbox }), ...args], env });
  await waitReady(node);
  node.roots = roots;
  node.inbox = inbox;
  return node;
}

/**
 * Starts several nodes at once (an array of startAttachNode option objects); if any fails, the
 * others are killed and the first error is thrown (no process outlives a failed before()).
 */
export async function startAttachNodes(optionsList) {
  const started = await Promise.allSettled(optionsList.map((o) => startAttachNode(o)));
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.all(started.filter((r) => r.status === "fulfilled").map((r) => r.value.kill()));
    throw failed.reason;
  }
  return started.map((r) => r.value);
}

/**
 * A mesh cluster (../lib/mesh_cluster.mjs startCluster) whose node i gets roots(i), an inbox (a
 * fresh temp dir) when withInbox(i), and args(i). Each MeshNode gets .roots and .inbox (or
 * undefined); nd.attach(kind) returns an attachment API over that client kind on the running
 * process (one per kind and process, closed when the test ends).
 */
export async function startAttachCluster({ t, n, roots = () => [], withInbox = () => true, args = () => [], ...rest }) {
  const inboxes = Array.from({ length: n }, (_, i) => (withInbox(i) ? tmpDir("peat-inbox-") : undefined));
  const rootsOf = Array.from({ length: n }, (_, i) => roots(i));
  const cl = await startCluster({ t, n, ...rest, args: (i) => [...attachArgs({ roots: rootsOf[i], inbox: inboxes[i] }), ...args(i)] });
  const apis = [];
  t?.after(() => apis.forEach((x) => x.api.close()));
  cl.nodes.forEach((nd, i) => {
    nd.roots = rootsOf[i];
    nd.inbox = inboxes[i];
    nd.attach = (kind = "grpc-js") => {
      let hit = apis.find((x) => x.proc === nd.proc && x.kind === kind);
      if (!hit) apis.push((hit = { proc: nd.proc, kind, api: attachApi(kind, nd.proc, nd.api) }));
      return hit.api;
    };
  });
  return cl;
}

/** {endpointId (64 hex), shortId (10 hex), nodeId} of a node, from GetStatus. */
export async function identityOf(api) {
  const s = await api.call("GetStatus", {});
  assert.match(s.endpointAddr ?? "", HEX64, `GetStatus endpointAddr: ${preview(s)}`);
  return { endpointId: s.endpointAddr, shortId: s.endpointAddr.slice(0, 10), nodeId: s.nodeId };
}

// ---------------------------------------------------------------------------------------------
// Normalised results
// ---------------------------------------------------------------------------------------------

const num = (v) => Number(v ?? 0);
const statusOf = (v) => v ?? "DISTRIBUTION_STATUS_UNSPECIFIED";

export const normHandle = (h) => ({ fileIndex: num(h.fileIndex), blobToken: h.blobToken ?? "", distributionId: h.distributionId ?? "" });
export const normSend = (m) => ({ bundleId: m.bundleId ?? "", handles: (m.handles ?? []).map(normHandle) });
export const normNode = (n) => ({ nodeId: n.nodeId ?? "", status: statusOf(n.status), bytesTransferred: num(n.bytesTransferred) });
export const normDist = (m) => ({
  status: statusOf(m.status),
  bytesTransferred: num(m.bytesTransferred),
  bytesTotal: num(m.bytesTotal),
  perNode: (m.perNode ?? []).map(normNode),
  error: m.error,
});
export const normFrame = (f) => ({
  distributionId: f.distributionId ?? "",
  blobToken: f.blobToken ?? "",
  status: statusOf(f.status),
  bytesTransferred: num(f.bytesTransferred),
  bytesTotal: num(f.bytesTotal),
  changedNode: f.changedNode ? normNode(f.changedNode) : undefined,
  error: f.error,
});

/**
 * Asserts r (a unary result of clients.mjs) failed with `code` and, when field is given, that the
 * message starts with "<field>: " (field a string) or matches field (a RegExp). Returns the message.
 */
export function expectError(r, code, field, what = "") {
  assert.equal(r.ok, false, `${what}: expected ${code}${field ? ` ${field}` : ""}, got OK ${preview(r.message)}`);
  assert.equal(r.code, code, `${what}: expected ${code}${field ? ` ${field}` : ""}, got ${r.code}: ${r.errorMessage}`);
  const msg = r.errorMessage ?? "";
  if (typeof field === "string") assert.ok(msg.startsWith(`${field}: `), `${what}: message ${JSON.stringify(msg)} does not start with "${field}: "`);
  else if (field instanceof RegExp) assert.match(msg, field, `${what}: message`);
  return msg;
}

// ---------------------------------------------------------------------------------------------
// The attachment API over one client
// ---------------------------------------------------------------------------------------------

/** An attachment API over client kind `kind` of node (a PeatNode), via "tcp" (default) or "unix". */
export function attachApi(kind, node, via = "tcp") {
  return new AttachApi(makeClient(kind, node, via));
}

export class AttachApi {
  constructor(client) {
    this.client = client;
    this.kind = client.kind;
  }
  close() {
    this.client.close();
  }
  /** Raw unary result ({ok, message} | {ok: false, code, errorMessage}), message stripped. */
  async raw(method, req, { timeoutMs = 30_000 } = {}) {
    const r = await this.client.unary(SIDECAR, method, req, { timeoutMs });
    return r.ok ? { ...r, message: strip(r.message) } : r;
  }
  /** Unary call that must succeed; returns the stripped message. */
  async call(method, req, opts) {
    const r = await this.raw(method, req, opts);
    assert.equal(r.ok, true, `${this.kind}: ${method} failed: ${r.code} ${r.errorMessage} (request ${preview(req)})`);
    return r.message;
  }
  send(req, opts) {
    return this.raw("SendAttachments", req, opts);
  }
  /** SendAttachments that must succeed: {bundleId, handles: [{fileIndex, blobToken, distributionId}]}. */
  async sendOk(req, opts) {
    const m = normSend(await this.call("SendAttachments", req, opts));
    assert.equal(m.handles.length, req.files.length, `${this.kind}: one handle per file: ${preview(m)}`);
    m.handles.forEach((h, i) => {
      assert.equal(h.fileIndex, i, `${this.kind}: handles in request order: ${preview(m)}`);
      assert.match(h.blobToken, HEX64, `${this.kind}: blob_token: ${preview(m)}`);
      assert.ok(h.distributionId.length > 0, `${this.kind}: distribution_id: ${preview(m)}`);
    });
    return m;
  }
  getRaw(distributionId, opts) {
    return this.raw("GetAttachmentDistribution", { distributionId }, opts);
  }
  /** GetAttachmentDistribution that must succeed, normalised. */
  async get(distributionId) {
    return normDist(await this.call("GetAttachmentDistribution", { distributionId }));
  }
  cancelRaw(distributionId) {
    return this.raw("CancelAttachmentDistribution", { distributionId });
  }
  /** CancelAttachmentDistribution that must succeed: was_cancelled as a boolean (absent = false). */
  async cancel(distributionId) {
    return !!(await this.call("CancelAttachmentDistribution", { distributionId })).wasCancelled;
  }
  /**
   * Polls Get until its status is one of `statuses` (and pred(dist) holds, if given); returns the
   * normalised answer. Throws after timeoutMs with the last answer.
   */
  async waitStatus(distributionId, statuses, { timeoutMs = 10_000, intervalMs = 25, pred = () => true, what } = {}) {
    let last;
    await waitFor(
      async () => {
        last = await this.get(distributionId);
        return statuses.includes(last.status) && pred(last);
      },
      { timeoutMs, intervalMs, what: what ?? `${this.kind}: distribution ${distributionId} in ${statuses.join("|")}`, describe: () => preview(last, 600) },
    );
    return last;
  }
  /** Polls Get until it answers NOT_FOUND; returns the error message. */
  async waitNotFound(distributionId, { timeoutMs = 10_000, intervalMs = 50 } = {}) {
    let last;
    await waitFor(
      async () => {
        last = await this.getRaw(distributionId);
        return !last.ok && last.code === "not_found";
      },
      { timeoutMs, intervalMs, what: `${this.kind}: distribution ${distributionId} NOT_FOUND`, describe: () => preview(last.ok ? last.message : `${last.code} ${last.errorMessage}`) },
    );
    return last.errorMessage;
  }
  /** Opens SubscribeAttachmentBundle (a stream handle of clients.mjs); needs a streaming kind. */
  subscribe(bundleId, { timeoutMs } = {}) {
    if (!this.client.supportsStreaming) throw new Error(`${this.kind} cannot stream`);
    return this.client.openStream(SIDECAR, "SubscribeAttachmentBundle", { bundleId }, { timeoutMs });
  }
}

/** Waits (bounded) for the stream to end; returns {frames (normalised), error, elapsedMs}. */
export async function streamEnd(h, timeoutMs = 10_000, what = "bundle stream end") {
  const r = await withTimeout(h.done, timeoutMs, `${what}; frames so far ${preview(h.messages.map(strip))}`);
  return { frames: r.messages.map((m) => normFrame(strip(m))), error: r.error, elapsedMs: r.elapsedMs };
}

/** Resolves with the first frame (normalised, index ≥ from) satisfying pred; rejects on end or timeout. */
export async function waitFrame(h, pred, { timeoutMs = 10_000, from = 0, what = "frame" } = {}) {
  return normFrame(await waitEvent(h, (m) => pred(normFrame(m)), { timeoutMs, from, what }));
}

// ---------------------------------------------------------------------------------------------
// Documents and inboxes
// ---------------------------------------------------------------------------------------------

/** The parsed document or undefined (GetDocument through api). */
export async function readDoc(api, collection, docId) {
  const m = await api.call("GetDocument", { collection, docId });
  return m.jsonData === undefined ? undefined : JSON.parse(m.jsonData);
}

/** Live doc ids of a collection. */
export async function listDocs(api, collection) {
  return (await api.call("ListDocuments", { collection })).docIds ?? [];
}

/** Every visible regular file under dir as inbox-relative paths (dot files, i.e. partials, included), sorted. */
export function dirFiles(dir) {
  const out = [];
  const walk = (d, rel) => {
    let entries = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, "");
  return out.sort();
}

/** Partial (temp) files of an inbox: names starting with "." (§13 `.<file>.<id>.partial`). */
export const partialsIn = (inbox) => dirFiles(inbox).filter((r) => path.basename(r).startsWith("."));

/**
 * Polls until inbox/rel exists with SHA-256 shaHex (the size is checked first so a file being
 * written is not hashed over and over); returns the ms it took.
 */
export async function waitInboxFile(inbox, rel, shaHex, size, { timeoutMs = 60_000, intervalMs = 50 } = {}) {
  const t0 = Date.now();
  const p = path.join(inbox, rel);
  let last = "absent";
  await waitFor(
    async () => {
      let st;
      try {
        st = fs.lstatSync(p);
      } catch {
        last = "absent";
        return false;
      }
      if (!st.isFile()) {
        last = `not a regular file (mode ${st.mode.toString(8)})`;
        return false;
      }
      if (size !== undefined && st.size !== size) {
        last = `size ${st.size}, want ${size}`;
        return false;
      }
      const h = await sha256FileHex(p);
      last = `sha256 ${h}`;
      return h === shaHex;
    },
    { timeoutMs, intervalMs, what: `${p} with sha256 ${shaHex}`, describe: () => `${last}; inbox holds ${preview(dirFiles(inbox))}` },
  );
  return Date.now() - t0;
}

/** Regular files under a node's blob store (<data-dir>/blobs), for "nothing left behind" checks. */
export const blobFiles = (dataDir) => dirFiles(path.join(dataDir, "blobs"));
