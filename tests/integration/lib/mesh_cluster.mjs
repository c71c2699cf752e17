// Multi-node harness for the mesh tests (tests/integration/mesh_*.test.mjs) and the mesh
// benchmarks (bench/mesh/*.mjs): separate peat-node processes on loopback, each with its own data
// dir (kept across restarts) and a mesh listener on a port the OS handed out, joined into one
// formation (same --app-id / --shared-key, deterministic identities from --node-id).
//
//   const cl = await startCluster({ t, n: 3, edges: line(3) });   // A–B–C, static --peer flags
//   await cl.nodes[0].put("c", "id", { a: 1 });
//   await cl.waitConverged(["c"]);
//   await cl.nodes[1].kill();   await cl.nodes[1].start();       // kill -9 + restart, same dir/port
//
// Topology: `edges` is a list of [i, j] (node i dials node j). via "flags" gives node i a
// `--peer <id of j>@127.0.0.1:<mesh port of j>` (re-registered at every start); via "rpc" calls
// ConnectPeer on i once every node is up. A node restarted with kill()/start() keeps its data dir,
// mesh port and flags.
//
// Every wait is a poll with a deadline (waitFor), never a fixed sleep.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import { SIDECAR, makeClient, targetOf } from "./clients.mjs";
import { filesUnder, makeDataDir, ok, preview, startNodeOn, strip } from "./documents.mjs";
import { metricValue, scrapeMetrics } from "./raw.mjs";

export const LOOPBACK = "127.0.0.1";
export const UPSERT = "CHANGE_TYPE_UPSERT";
export const DELETE = "CHANGE_TYPE_DELETE";
export const PHASE_SYNCING = "NODE_PHASE_SYNCING";
export const PHASE_READY = "NODE_PHASE_READY";
/** Handshake failure reasons the contract names (label `reason` of peat_mesh_handshake_failures_total). */
export const HANDSHAKE_REASONS = ["app_id_mismatch", "bad_proof", "identity_mismatch", "tls", "timeout", "protocol"];

// ---------------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------------

/**
 * Polls fn() (sync or async) until it returns a truthy value, which is returned. Throws after
 * timeoutMs with `what`, the last value (describe(last) if given) or the last exception.
 */
export async function waitFor(fn, { timeoutMs = 10_000, intervalMs = 25, what = "condition", describe } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      lastErr = undefined;
      if (last) return last;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      const detail = lastErr ? `last error: ${lastErr.stack ?? lastErr}` : `last value: ${describe ? describe(last) : preview(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${detail}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(1, deadline - Date.now()))));
  }
}

const handedOutPorts = new Set();
/**
 * Ports handed out lie below the kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768
 * by default): a port picked by listen(0) is in that range, and between our probe and the
 * node's bind any outgoing connection on the machine (the other nodes' dials) may take it as its
 * local port ("Address already in use" at startup). Below the range only a listener can.
 */
function portBand() {
  let low = 32768;
  try {
    low = Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: the default
  }
  return low > 12000 ? [10000, low - 1] : null; // null: no room below it, use listen(0)
}
const PORT_BAND = portBand();
const tryListen = (port) =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.unref();
    s.on("error", () => resolve(null));
    s.listen(port, LOOPBACK, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
/** A TCP port on 127.0.0.1 that was free a moment ago (bound, read, closed); never the same twice per process. */
export async function freePort() {
  for (let i = 0; i < 200; i++) {
    const port = await tryListen(PORT_BAND ? PORT_BAND[0] + crypto.randomInt(PORT_BAND[1] - PORT_BAND[0] + 1) : 0);
    if (port !== null && !handedOutPorts.has(port)) {
      handedOutPorts.add(port);
      return port;
    }
  }
  throw new Error("could not find a fresh free port");
}

/** A random 32-byte key, base64 (for --shared-key / --encryption-key). */
export const randomKey = () => crypto.randomBytes(32).toString("base64");

/** Seeded PRNG (xorshift32 over a mixed seed): returns () → [0, 1). */
export function prng(seed) {
  let s = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  for (let i = 0; i < 8; i++) next();
  return next;
}
/** Helpers over a prng: integer in [0, n), element of an array, true with probability p. */
export const randInt = (rnd, n) => Math.floor(rnd() * n);
export const pick = (rnd, xs) => xs[randInt(rnd, xs.length)];

const STATUSES = ["ACTIVE", "LOST", "TENTATIVE", "CONFIRMED", "DEGRADED"];
const SENSORS = ["radar", "eo-ir", "ais", "adsb", "acoustic", "sigint", "lidar"];
/**
 * A ~300-byte document (canonical: keys in bytewise order, integers, floats with fractions)
 * for mesh tests and benchmarks. rev > 0 changes a few fields of the same document (an update).
 */
export function makeDoc(i, rev = 0) {
  const r = prng(i * 2246822519 + 3);
  const u = prng(i * 3266489917 + rev * 668265263 + 5);
  const frac = (x) => (Math.round(x * 1e6) + 0.5) / 1e6; // never an integer
  return {
    callsign: `VIPER-${String(randInt(r, 100000)).padStart(5, "0")}`,
    heading: randInt(u, 360),
    id: `doc-${i}`,
    notes: `observed near grid ${randInt(r, 1000)}-${randInt(r, 1000)}; ${pick(r, SENSORS)} track`,
    position: { alt: frac(100 + u() * 900), lat: frac(59 + u()), lon: frac(18 + u()) },
    rev,
    sensors: [pick(r, SENSORS), pick(r, SENSORS), pick(r, SENSORS)],
    speed: frac(u() * 40),
    status: pick(u, STATUSES),
    updated_at: `2026-11-28T${String(rev % 24).padStart(2, "0")}:${String(randInt(u, 60)).padStart(2, "0")}:00Z`,
  };
}

/** Endpoint id of (shared key, node id): HKDF-SHA256(no salt, key, "iroh:"+nodeId, 32) as an Ed25519 seed → hex public key. */
export function endpointIdOf(sharedKey, nodeId) {
  const seed = Buffer.from(crypto.hkdfSync("sha256", Buffer.from(sharedKey, "base64"), Buffer.alloc(0), Buffer.from(`iroh:${nodeId}`), 32));
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  const pub = crypto.createPublicKey(crypto.createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }));
  return Buffer.from(pub.export({ format: "jwk" }).x, "base64url").toString("hex");
}

/** Files under dir whose bytes contain needle (UTF-8): [{file, offset}]. */
export function filesContaining(dir, needle) {
  const n = Buffer.from(needle, "utf8");
  return filesUnder(dir)
    .map((file) => ({ file, offset: fs.readFileSync(file).indexOf(n) }))
    .filter((h) => h.offset >= 0);
}

// ---------------------------------------------------------------------------------------------
// Topologies (lists of [dialer, dialee] index pairs)
// ---------------------------------------------------------------------------------------------

export const line = (n) => Array.from({ length: n - 1 }, (_, i) => [i, i + 1]);
export const ring = (n) => Array.from({ length: n }, (_, i) => [i, (i + 1) % n]);
/** A ring plus `chords` random extra edges between nodes not yet adjacent. */
export function ringWithChords(n, chords, rnd) {
  const edges = ring(n);
  const has = (a, b) => edges.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
  for (let tries = 0; edges.length < n + chords && tries < 1000; tries++) {
    const a = randInt(rnd, n);
    const b = randInt(rnd, n);
    if (a !== b && !has(a, b)) edges.push([a, b]);
  }
  return edges;
}
/**
 * A connected random graph in which every node has degree ≥ `degree` (and, when the counts
 * allow, exactly `degree`): a ring through a random permutation of the nodes, then random chords
 * between nodes still below `degree` (a node left alone below it takes a chord to any node not
 * yet adjacent). Each edge is oriented at random (dialer, dialee). n ≥ degree + 1.
 */
export function randomMinDegree(n, degree, rnd) {
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randInt(rnd, i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const adj = Array.from({ length: n }, () => new Set());
  const edges = [];
  const add = (a, b) => {
    adj[a].add(b);
    adj[b].add(a);
    edges.push(rnd() < 0.5 ? [a, b] : [b, a]);
  };
  if (n === 2) add(perm[0], perm[1]);
  else if (n > 2) for (let i = 0; i < n; i++) add(perm[i], perm[(i + 1) % n]);
  for (;;) {
    const low = perm.filter((v) => adj[v].size < degree);
    if (!low.length) break;
    const a = pick(rnd, low);
    let cands = low.filter((v) => v !== a && !adj[a].has(v));
    if (!cands.length) cands = perm.filter((v) => v !== a && !adj[a].has(v));
    if (!cands.length) break; // a is adjacent to every other node
    add(a, pick(rnd, cands));
  }
  return edges;
}

// ---------------------------------------------------------------------------------------------
// One node of a cluster
// ---------------------------------------------------------------------------------------------

export class MeshNode {
  /**
   * name: label for messages; nodeId: --node-id; sharedKey, appId: formation; meshPort: fixed
   * mesh port (from freePort()); args: extra CLI args at every start; t: node:test context.
   * For a node in a network namespace (tests/scenarios): meshHost, the address its mesh listener
   * binds and peers dial (default 127.0.0.1); api "unix" (the API on a unix socket, reachable
   * from any namespace; default "tcp"); spawnFn, how the process is started (see spawnNodeExact).
   */
  constructor({ name, nodeId = name, sharedKey, appId, meshPort, meshHost = LOOPBACK, dataDir = makeDataDir(), args = [], api = "tcp", spawnFn, t }) {
    Object.assign(this, { name, nodeId, sharedKey, appId, meshPort, meshHost, dataDir, args, api, spawnFn, t });
    this.endpointId = sharedKey ? endpointIdOf(sharedKey, nodeId) : undefined;
    this.peers = []; // static peers: MeshNode or {endpointId, meshAddr}
    this.proc = null; // the running PeatNode
    this.client = null; // grpc-js client of the running process
    this.procs = []; // every process started for this node (logs survive restarts)
  }

  get meshAddr() {
    return `${this.meshHost}:${this.meshPort}`;
  }
  get shortId() {
    return this.endpointId.slice(0, 10);
  }
  get running() {
    return !!this.proc && !this.proc.exit;
  }

  /** The CLI of a start: formation, identity, mesh listener, static peers, extras. */
  argv({ peers = this.peers, extra = [], meshPort = this.meshPort } = {}) {
    const a = ["--mesh-listen", `tcp://${this.meshHost}:${meshPort}`, "--node-id", this.nodeId];
    if (this.appId) a.push("--app-id", this.appId);
    if (this.sharedKey) a.push("--shared-key", this.sharedKey);
    for (const p of peers) a.push("--peer", `${p.endpointId}@${p.meshAddr}`);
    return [...a, ...this.args, ...extra];
  }

  /**
   * Starts the process on this node's data dir (ready: /readyz 200) and waits for its mesh
   * listener. Options: peers (default this.peers), extra args, meshPort (default this.meshPort),
   * waitMesh (default true). Earlier processes stay in this.procs (their logs: allLogs()).
   */
  async start({ peers, extra, meshPort, waitMesh = true, timeoutMs = 20_000 } = {}) {
    if (this.running) throw new Error(`${this.name} is already running`);
    const opts = { args: this.argv({ peers, extra, meshPort }), t: this.t, timeoutMs, api: this.api, spawnFn: this.spawnFn };
    this.proc = await startNodeOn(this.dataDir, opts);
    this.procs.push(this.proc);
    this.client = makeClient("grpc-js", this.proc, this.api);
    if (waitMesh) {
      // /readyz answered 200 (listeners bound), so the mesh listener is announced by now or very soon
      const want = meshPort ?? this.meshPort;
      await this.proc.waitForLine(() => this.proc.meshListeners.length > 0, 5_000, `${this.name}: "mesh listening on tcp://..." log line`);
      const announced = this.proc.meshListeners[0];
      if (want && !announced.endsWith(`:${want}`)) throw new Error(`${this.name}: mesh listener ${announced}, expected port ${want}`);
    }
    return this;
  }

  /** SIGKILL (kill -9); the data dir and port stay for a restart. */
  async kill() {
    this.client?.close();
    this.client = null;
    await this.proc?.kill();
  }

  /** Graceful stop (SIGTERM by default); resolves the harness's exit record. */
  async stop(signal = "SIGTERM", timeoutMs = 15_000) {
    this.client?.close();
    this.client = null;
    if (!this.proc) return null;
    return this.proc.stop(signal, timeoutMs);
  }

  /** kill -9 (or `signal`) then start again with the same data dir, port and flags. */
  async restart({ signal = "SIGKILL", ...opts } = {}) {
    if (signal === "SIGKILL") await this.kill();
    else await this.stop(signal);
    return this.start(opts);
  }

  /** Every log line of this node so far, across restarts. */
  allLogs() {
    return this.procs.map((p) => p.stderrText).join("");
  }

  _client() {
    if (!this.client) throw new Error(`${this.name} is not running`);
    return this.client;
  }

  // ---- RPCs --------------------------------------------------------------------------------

  /** Unary call; asserts success; returns the (stripped) response. */
  call(method, req = {}) {
    return ok(this._client(), method, req, `on ${this.name}`);
  }
  /** Unary call without asserting: {ok, message | code, errorMessage}. */
  async callRaw(method, req = {}, opts = {}) {
    const r = await this._client().unary(SIDECAR, method, req, opts);
    return r.ok ? { ok: true, message: strip(r.message) } : r;
  }
  put(collection, docId, doc) {
    return this.call("PutDocument", { collection, docId, jsonData: typeof doc === "string" ? doc : JSON.stringify(doc) });
  }
  /** The document's canonical JSON text, or undefined when absent. */
  async getText(collection, docId) {
    return (await this.call("GetDocument", { collection, docId })).jsonData;
  }
  /** The parsed document, or undefined when absent. */
  async get(collection, docId) {
    const s = await this.getText(collection, docId);
    return s === undefined ? undefined : JSON.parse(s);
  }
  del(collection, docId) {
    return this.call("DeleteDocument", { collection, docId });
  }
  async list(collection) {
    return (await this.call("ListDocuments", { collection })).docIds ?? [];
  }
  async status() {
    const s = await this.call("GetStatus");
    return { ...s, connectedPeers: s.connectedPeers ?? 0, syncActive: !!s.syncActive };
  }
  /** GetSyncStats with numbers: {syncActive, connectedPeers, bytesSent, bytesReceived, total}. */
  async syncStats() {
    const s = await this.call("GetSyncStats");
    const bytesSent = Number(s.bytesSent ?? 0);
    const bytesReceived = Number(s.bytesReceived ?? 0);
    return { syncActive: !!s.syncActive, connectedPeers: s.connectedPeers ?? 0, bytesSent, bytesReceived, total: bytesSent + bytesReceived };
  }
  async listPeers() {
    return ((await this.call("ListPeers")).peers ?? []).map((p) => ({ endpointId: p.endpointId, addresses: p.addresses ?? [], connected: !!p.connected }));
  }
  /** True when ListPeers shows `other` (MeshNode or endpoint id) connected. */
  async isConnectedTo(other) {
    const id = typeof other === "string" ? other : other.endpointId;
    return (await this.listPeers()).some((p) => p.endpointId === id && p.connected);
  }
  /** ConnectPeer to another MeshNode (or {endpointId, addresses}); returns the raw result (not asserted). */
  connectPeer(other, opts = {}) {
    const req = other instanceof MeshNode ? { endpointId: other.endpointId, addresses: [other.meshAddr] } : other;
    return this.callRaw("ConnectPeer", req, { timeoutMs: 30_000, ...opts });
  }
  disconnectPeer(other) {
    return this.call("DisconnectPeer", { endpointId: typeof other === "string" ? other : other.endpointId });
  }
  startSync() {
    return this.call("StartSync");
  }
  stopSync() {
    return this.call("StopSync");
  }
  /** Parsed /metrics samples. */
  async metrics() {
    return (await scrapeMetrics(targetOf(this.proc, this.api))).samples;
  }
  /** Sum of a /metrics sample family (with label match), undefined when absent. */
  async metric(name, labels = {}) {
    return metricValue(await this.metrics(), name, labels);
  }
  /** Opens Subscribe (grpc-js stream handle from clients.mjs). */
  subscribe(collections = [], query) {
    return this._client().openStream(SIDECAR, "Subscribe", query ? { collections, query } : { collections });
  }

  /** Writes many [docId, doc] with `inflight` calls in flight (asserts every one). */
  async putMany(collection, entries, { inflight = 64 } = {}) {
    let i = 0;
    await Promise.all(
      Array.from({ length: Math.min(inflight, entries.length) }, async () => {
        while (i < entries.length) {
          const [id, doc] = entries[i++];
          await this.put(collection, id, doc);
        }
      }),
    );
  }

  /**
   * State of `collections`: {hash, count, docs: Map("coll/id" → canonical JSON)}; hash = sha256
   * over the sorted (collection, doc id, canonical JSON) of every live document (List + Get).
   */
  async digest(collections, { inflight = 32 } = {}) {
    const keys = [];
    for (const c of [...collections].sort()) for (const id of await this.list(c)) keys.push([c, id]);
    const docs = new Map();
    let i = 0;
    await Promise.all(
      Array.from({ length: Math.min(inflight, keys.length) }, async () => {
        while (i < keys.length) {
          const [c, id] = keys[i++];
          const s = await this.getText(c, id);
          if (s !== undefined) docs.set(`${c}\u0000${id}`, s); // deleted between List and Get: not live
        }
      }),
    );
    const h = crypto.createHash("sha256");
    for (const k of [...docs.keys()].sort()) h.update(`${k}\u0000${docs.get(k)}\n`);
    return { hash: h.digest("hex"), count: docs.size, docs };
  }
}

/** A few differences between two digests (for failure messages). */
export function digestDiff(a, b, max = 5) {
  const out = [];
  for (const [k, v] of a.docs) if (b.docs.get(k) !== v && out.length < max) out.push(`${k.replace("\u0000", "/")}: ${preview(v, 120)} vs ${preview(b.docs.get(k), 120)}`);
  for (const k of b.docs.keys()) if (!a.docs.has(k) && out.length < max) out.push(`${k.replace("\u0000", "/")}: absent vs ${preview(b.docs.get(k), 120)}`);
  return `count ${a.count} vs ${b.count}; ${out.join("; ")}`;
}

// ---------------------------------------------------------------------------------------------
// Clusters
// ---------------------------------------------------------------------------------------------

/**
 * Starts n nodes (names A, B, C, … unless given) of one formation, on free mesh ports, joined by
 * `edges` (via "flags": --peer at boot; via "rpc": ConnectPeer once all are up). Waits until every
 * edge shows connected on both ends unless waitConnected is false.
 *
 * Per-node options: args(i) → extra CLI args; appId(i) / sharedKey(i) override the formation's;
 * nodeId(name, i) → --node-id (default "mesh-<name in lower case>"). meshPort() → a free port for
 * a mesh listener (default freePort). If a node fails to start, the others are killed and the
 * first error is thrown.
 */
export async function startCluster({
  t,
  n,
  names,
  edges = [],
  via = "flags",
  sharedKey = randomKey(),
  appId = `mesh-it-${crypto.randomBytes(4).toString("hex")}`,
  args = () => [],
  nodeAppId = () => appId,
  nodeSharedKey = () => sharedKey,
  nodeId = (name) => `mesh-${name.toLowerCase()}`,
  meshPort = freePort,
  waitConnected = true,
  connectTimeoutMs = 15_000,
} = {}) {
  names ??= Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i));
  const ports = [];
  for (let i = 0; i < n; i++) ports.push(await meshPort());
  const nodes = names.map(
    (name, i) => new MeshNode({ name, nodeId: nodeId(name, i), sharedKey: nodeSharedKey(i), appId: nodeAppId(i), meshPort: ports[i], args: args(i), t }),
  );
  if (via === "flags") for (const [a, b] of edges) nodes[a].peers.push(nodes[b]);
  const started = await Promise.allSettled(nodes.map((nd) => nd.start()));
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.all(nodes.map((nd) => nd.kill()));
    throw failed.reason;
  }
  const cl = new Cluster(nodes, edges, { sharedKey, appId });
  if (via === "rpc") await cl.connectEdges();
  if (waitConnected) await cl.waitEdgesConnected(edges, connectTimeoutMs);
  return cl;
}

export class Cluster {
  constructor(nodes, edges, { sharedKey, appId }) {
    Object.assign(this, { nodes, edges, sharedKey, appId });
  }

  get running() {
    return this.nodes.filter((nd) => nd.running);
  }

  /** ConnectPeer for every edge (dialer side); asserts success. */
  async connectEdges(edges = this.edges) {
    for (const [a, b] of edges) {
      const r = await this.nodes[a].connectPeer(this.nodes[b]);
      assert.equal(r.ok, true, `ConnectPeer ${this.nodes[a].name} → ${this.nodes[b].name}: ${r.code} ${r.errorMessage}`);
    }
  }

  /** Waits until ListPeers shows every edge connected on both of its ends. */
  async waitEdgesConnected(edges = this.edges, timeoutMs = 15_000) {
    const missing = async () => {
      const out = [];
      for (const [a, b] of edges) {
        const [x, y] = [this.nodes[a], this.nodes[b]];
        if (!(await x.isConnectedTo(y))) out.push(`${x.name}→${y.name}`);
        if (!(await y.isConnectedTo(x))) out.push(`${y.name}→${x.name}`);
      }
      return out;
    };
    let last = [];
    await waitFor(
      async () => {
        last = await missing();
        return last.length === 0;
      },
      { timeoutMs, intervalMs: 50, what: "every edge connected (ListPeers on both ends)", describe: () => `not connected: ${last.join(", ")}` },
    );
  }

  /** Digests of `collections` on every running node (or `nodes`). */
  digests(collections, nodes = this.running) {
    return Promise.all(nodes.map((nd) => nd.digest(collections)));
  }

  /**
   * Waits until every running node (or `nodes`) has the same state of `collections`; returns the
   * common digest. Between polls only the hashes are compared; the failure message shows a diff.
   */
  async waitConverged(collections, { timeoutMs = 20_000, intervalMs = 200, nodes = this.running, minCount = 0 } = {}) {
    let last = [];
    let note = "";
    await waitFor(
      async () => {
        // cheap first: the live ids (ListDocuments) must agree before every document is read
        const ids = await Promise.all(nodes.map(async (nd) => JSON.stringify(await Promise.all(collections.map((c) => nd.list(c))))));
        if (!ids.every((x) => x === ids[0])) {
          note = `live ids differ (${nodes.map((nd, i) => `${nd.name}: ${JSON.parse(ids[i]).flat().length}`).join(", ")})`;
          return false;
        }
        last = await this.digests(collections, nodes);
        note = "";
        return last.every((d) => d.hash === last[0].hash) && last[0].count >= minCount;
      },
      {
        timeoutMs,
        intervalMs,
        what: `${nodes.map((nd) => nd.name).join(", ")} to converge on ${collections.join(", ")}${minCount ? ` (≥ ${minCount} docs)` : ""}`,
        describe: () =>
          note ||
          last.map((d, i) => `${nodes[i].name}: ${d.count} docs ${d.hash.slice(0, 12)}${i ? ` (vs ${nodes[0].name}: ${digestDiff(last[0], d, 3)})` : ""}`).join(" | "),
      },
    );
    return last[0];
  }

  /** Sum over running nodes of GetSyncStats bytes sent + received. */
  async totalBytes(nodes = this.running) {
    const s = await Promise.all(nodes.map((nd) => nd.syncStats()));
    return s.reduce((a, x) => a + x.total, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Waiting on documents and streams
// ---------------------------------------------------------------------------------------------

/** Waits until node's doc text satisfies pred(text | undefined); returns the text. */
export async function waitDoc(node, collection, docId, pred, { timeoutMs = 5_000, intervalMs = 10, what } = {}) {
  let last;
  await waitFor(
    async () => {
      last = await node.getText(collection, docId);
      return pred(last);
    },
    { timeoutMs, intervalMs, what: what ?? `${collection}/${docId} on ${node.name}`, describe: () => preview(last) },
  );
  return last;
}
/** Waits until node holds exactly `text` (canonical JSON) for the document. */
export const waitDocText = (node, collection, docId, text, opts = {}) =>
  waitDoc(node, collection, docId, (s) => s === text, { what: `${collection}/${docId} = ${preview(text, 80)} on ${node.name}`, ...opts });
/** Waits until the document is absent (deleted) on node. */
export const waitAbsent = (node, collection, docId, opts = {}) => waitDoc(node, collection, docId, (s) => s === undefined, { what: `${collection}/${docId} absent on ${node.name}`, ...opts });

/**
 * Resolves with the first message of stream handle h (index ≥ from) for which pred(msg) holds;
 * rejects when the stream ends first or after timeoutMs.
 */
export function waitEvent(h, pred, { timeoutMs = 5_000, from = 0, what = "event" } = {}) {
  return new Promise((resolve, reject) => {
    let i = from;
    const check = () => {
      for (; i < h.messages.length; i++) {
        const m = strip(h.messages[i]);
        if (pred(m)) return finish(null, m);
      }
      if (h.ended) finish(new Error(`stream ended (${JSON.stringify(h.error)}) before ${what}`));
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last events ${preview(h.messages.slice(-3))}`)), timeoutMs);
    const finish = (err, m) => {
      clearTimeout(timer);
      h._waiters.delete(check);
      err ? reject(err) : resolve(m);
    };
    h._waiters.add(check);
    check();
  });
}

/**
 * Makes sure a Subscribe handle on `node` is live: writes a probe doc on node itself (collection
 * `collection`, which the subscription must include) and waits for its UPSERT. Returns the index
 * after that event.
 */
export async function waitSubscribed(node, h, collection, timeoutMs = 10_000) {
  const id = `probe-${crypto.randomBytes(4).toString("hex")}`;
  await node.put(collection, id, { probe: true });
  await waitEvent(h, (m) => m.docId === id && m.changeType === UPSERT, { timeoutMs, what: `probe ${id} UPSERT on ${node.name}` });
  return h.messages.length;
}

// ---------------------------------------------------------------------------------------------
// Mesh /metrics and logs
// ---------------------------------------------------------------------------------------------

/** The `reason=...` of every "mesh handshake failed" log line of node (across restarts). */
export function handshakeFailureReasons(node) {
  return node
    .allLogs()
    .split("\n")
    .filter((l) => l.includes("mesh handshake failed"))
    .map((l) => /reason=([a-z_]+)/.exec(l)?.[1] ?? "(no reason)");
}

/** peat_mesh_handshake_failures_total by reason on node: {reason: count}. */
export async function handshakeFailureMetrics(node) {
  const out = {};
  for (const s of await node.metrics()) if (s.name === "peat_mesh_handshake_failures_total") out[s.labels.reason] = (out[s.labels.reason] ?? 0) + s.value;
  return out;
}

// ---------------------------------------------------------------------------------------------
// TCP proxy: sits between two mesh endpoints and records every byte both ways
// ---------------------------------------------------------------------------------------------

/**
 * Listens on a free 127.0.0.1 port and forwards each connection to targetPort, recording the
 * bytes: {port, chunks: [{dir: "up"|"down", data}], bytes(), captured(), connections, cut(),
 * close()}. "up" = from the connecting side to the target. cut() destroys open connections
 * (a link failure); new connections are still accepted.
 */
export async function startTcpProxy(targetPort, { host = LOOPBACK, record = true } = {}) {
  const socks = new Set();
  const st = { chunks: [], bytesUp: 0, bytesDown: 0, connections: 0 };
  const server = net.createServer((client) => {
    st.connections++;
    const upstream = net.connect(targetPort, host);
    socks.add(client);
    socks.add(upstream);
    const pipe = (from, to, dir) => {
      from.on("data", (d) => {
        if (record) st.chunks.push({ dir, data: Buffer.from(d) });
        if (dir === "up") st.bytesUp += d.length;
        else st.bytesDown += d.length;
        to.write(d);
      });
      from.on("end", () => to.end());
      from.on("error", () => to.destroy());
      from.on("close", () => {
        socks.delete(from);
        to.destroy();
      });
    };
    pipe(client, upstream, "up");
    pipe(upstream, client, "down");
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  return {
    port: server.address().port,
    stats: st,
    bytes: () => st.bytesUp + st.bytesDown,
    /** Everything recorded in one direction ("up" / "down") or both. */
    captured: (dir) => Buffer.concat(st.chunks.filter((c) => !dir || c.dir === dir).map((c) => c.data)),
    cut() {
      for (const s of socks) s.destroy();
    },
    close() {
      for (const s of socks) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
