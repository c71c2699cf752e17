// Helpers for the document-store integration tests (documents, subscribe, crash, encryption):
// nodes that restart on the SAME data dir, readiness waits, small RPC conveniences.
//
// startNode() (node_process.mjs) always makes a fresh temp data dir and removes it on kill(), so a
// restart on the same data needs its own dir: makeDataDir() creates one that outlives every node
// started on it (removed when the test process exits), and startNodeOn(dataDir) spawns a node on it
// through spawnNodeExact (its own temp dir is the cwd; the data dir is ours).

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SIDECAR } from "./clients.mjs";
import { httpGet, spawnNodeExact } from "./raw.mjs";

const dataDirs = new Set();
process.on("exit", () => {
  if (process.env.PEAT_IT_KEEP_TMP) return;
  for (const d of dataDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh directory for a node's --data-dir that survives node restarts (removed at process exit). */
export function makeDataDir() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "peat-it-data-"));
  dataDirs.add(d);
  return d;
}

/** Every regular file under dir (recursive). */
export function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Files under dir containing `needle` (a string, as UTF-8, or a Buffer): [{file, offset, size}]. */
export function grepDir(dir, needle) {
  const hits = [];
  const n = Buffer.isBuffer(needle) ? needle : Buffer.from(needle, "utf8");
  for (const f of filesUnder(dir)) {
    const b = fs.readFileSync(f);
    const i = b.indexOf(n);
    if (i >= 0) hits.push({ file: path.relative(dir, f), offset: i, size: b.length });
  }
  return hits;
}

/**
 * Polls GET /readyz (over the node's TCP API listener, or its unix socket when it has no TCP one
 * or `via` is "unix") until 200; throws (with the node's stderr) after timeoutMs or if the node exits.
 */
export async function waitReady(node, timeoutMs = 15_000, via = node.listeners.some((l) => l.startsWith("tcp://")) ? "tcp" : "unix") {
  const deadline = Date.now() + timeoutMs;
  const target = via === "tcp" ? { via, addr: node.tcpAddr } : { via, unixPath: node.unixPath };
  let last = "";
  for (;;) {
    if (node.exit) throw new Error(`peat-node exited (${JSON.stringify(node.exit)}) before /readyz answered 200\n--- stderr ---\n${node.stderrText}`);
    try {
      const r = await httpGet(target, "/readyz", { timeoutMs: 2_000 });
      if (r.status === 200) return;
      last = `${r.status} ${r.body.trim()}`;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) throw new Error(`/readyz not 200 within ${timeoutMs} ms (last: ${last})\n--- stderr ---\n${node.stderrText}`);
    await sleep(25);
  }
}

/**
 * Starts peat-node on an existing data dir with a TCP listener on 127.0.0.1:0 and waits until it
 * is ready (/readyz 200). Returns the harness's PeatNode (stop()/kill() work; kill() leaves dataDir).
 * api "unix" listens on a unix socket in the process's temp dir instead (node.unixPath): the way to
 * reach a node that runs in another network namespace (spawnFn, see spawnNodeExact).
 */
export async function startNodeOn(dataDir, { args = [], env = {}, t, timeoutMs = 20_000, ready = true, api = "tcp", spawnFn } = {}) {
  const listen = api === "unix" ? "unix://{tmp}/api.sock" : "tcp://127.0.0.1:0";
  const argv = ["--listen", listen, "--data-dir", dataDir, "--log-format", "text", "--disable-mdns", ...args];
  const node = await spawnNodeExact({ argv, env, listeners: 1, timeoutMs, t, spawnFn });
  const announced = node.listeners.find((l) => l.startsWith(api === "unix" ? "unix://" : "tcp://127.0.0.1:"));
  if (!announced) {
    await node.kill();
    throw new Error(`no ${api} API listener announced: ${node.listeners.join(", ")}\n${node.stderrText}`);
  }
  if (api === "unix") node.unixPath = announced.slice("unix://".length);
  if (ready) {
    try {
      await waitReady(node, timeoutMs, api);
    } catch (e) {
      await node.kill();
      throw e;
    }
  }
  return node;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Removes grpc-js/proto-loader oneof markers (`_jsonData: "jsonData"` for proto3 optionals) so
 * results of every client compare equal to proto3 JSON.
 */
export function strip(v) {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === "object") {
    const o = {};
    for (const [k, x] of Object.entries(v)) if (!k.startsWith("_")) o[k] = strip(x);
    return o;
  }
  return v;
}

/** Bytewise (UTF-8) string order, as the server sorts ids and keys. */
export function bytewiseCompare(a, b) {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Calls a PeatSidecar unary method and asserts success; returns the (stripped) message. */
export async function ok(client, method, req, what = "") {
  const r = await client.unary(SIDECAR, method, req);
  assert.equal(r.ok, true, `${client.kind}: ${method} ${what} failed: ${r.code} ${r.errorMessage} (request ${preview(req)})`);
  return strip(r.message);
}

/** Calls a PeatSidecar unary method and asserts it fails with `code`; returns the error message text. */
export async function fails(client, method, req, code, what = "") {
  const r = await client.unary(SIDECAR, method, req);
  assert.equal(r.ok, false, `${client.kind}: ${method} ${what}: expected ${code}, got success ${preview(r.message)} (request ${preview(req)})`);
  assert.equal(r.code, code, `${client.kind}: ${method} ${what}: expected ${code}, got ${r.code}: ${r.errorMessage} (request ${preview(req)})`);
  return r.errorMessage ?? "";
}

export function preview(v, n = 300) {
  let s;
  try {
    s = JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s === undefined ? "undefined" : s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s;
}

/** PutDocument helper (asserts success). */
export const putDoc = (c, collection, docId, json) =>
  ok(c, "PutDocument", { collection, docId, jsonData: typeof json === "string" ? json : JSON.stringify(json) }, `${collection}/${docId}`);

/** GetDocument helper: the jsonData string, or undefined when absent (asserts success). */
export async function getDoc(c, collection, docId) {
  const m = await ok(c, "GetDocument", { collection, docId }, `${collection}/${docId}`);
  return m.jsonData;
}
