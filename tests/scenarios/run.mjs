// tests/scenarios/run.mjs: runs DDIL scenarios written as data (tests/scenarios/*.json; the step
// vocabulary is in tests/scenarios/README.md) on real network-namespace hosts (tests/net) with
// bad links between them. Root only.
//
//   node tests/scenarios/run.mjs tests/scenarios/split_brain_heal.json   # one or more files
//   node tests/scenarios/run.mjs --ci                                   # every "ci": true scenario
//   node tests/scenarios/run.mjs --all                                  # every scenario
//   node --test tests/scenarios/scenarios.test.mjs                      # the same under node:test
//
// Each node is a real peat-node process started inside its host's namespace (PeatNet.spawn): mesh
// listener tcp://<host addr>:4433, API on a unix socket in a temp dir (reachable from this, the
// root, namespace), its own --data-dir (kept across kill/restart), --node-id = host name, one
// --app-id/--shared-key per run. Nodes are the MeshNode/Cluster of
// tests/integration/lib/mesh_cluster.mjs, so every check (digests, convergence, sync stats) is
// the one the loopback mesh tests use. Every wait is a poll with a deadline, except the "wait"
// step, which only lets time pass (e.g. while partitioned).
//
// Environment: PEAT_NODE_BIN (default build/peat-node), PEATNET_BIN (netem-lite),
// PEAT_SCENARIO_SEED (link loss/jitter seed; default: the scenario's "seed", else random — it is
// logged), PEAT_SCENARIO_LOG_LINES (node log lines dumped on failure, default 40),
// PEAT_SCENARIO_LOG_DIR (keep every node's full log there), and any variable a scenario names as
// "${NAME:-default}".

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Cluster, MeshNode, line, makeDoc, randomKey, ring, waitDoc, waitFor } from "../../tests/integration/lib/mesh_cluster.mjs";
import { PeatNet } from "../net/net.mjs";

export const SCENARIO_DIR = path.dirname(fileURLToPath(import.meta.url));
/** Mesh port of every node (each host has its own address, so they can all use the same one). */
export const MESH_PORT = 4433;

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/** Every scenario file of the directory: [{file, scenario}], sorted by file name. */
export function listScenarios(dir = SCENARIO_DIR) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => ({ file: path.join(dir, f), scenario: loadScenario(path.join(dir, f)) }));
}

/** Parses a scenario file and resolves "${NAME:-default}" from the environment. */
export function loadScenario(file) {
  let raw;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: ${e.message}`);
  }
  const s = resolveEnv(raw, file);
  s.name ??= path.basename(file, ".json");
  if (!Array.isArray(s.steps) || s.steps.length === 0) throw new Error(`${file}: "steps" must be a non-empty list`);
  checkSteps(s.steps, file);
  return s;
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * "${NAME:-default}" in any string → the environment's NAME, else default (error if neither).
 * "${i}" is left for "repeat". A string that is one placeholder and numeric becomes a number.
 */
function resolveEnv(v, where) {
  if (Array.isArray(v)) return v.map((x) => resolveEnv(x, where));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveEnv(x, where)]));
  if (typeof v !== "string") return v;
  const out = v.replace(PLACEHOLDER, (m, name, dflt) => {
    if (name === "i") return m;
    const e = process.env[name];
    if (e !== undefined && e !== "") return e;
    if (dflt !== undefined) return dflt;
    throw new Error(`${where}: ${m}: ${name} is not set and has no default`);
  });
  return out !== v && /^-?\d+(\.\d+)?$/.test(out) ? Number(out) : out;
}

/** "${i}" → the repeat iteration (1-based), numeric when the whole string is the placeholder. */
function substituteIteration(v, i) {
  if (Array.isArray(v)) return v.map((x) => substituteIteration(x, i));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substituteIteration(x, i)]));
  if (typeof v !== "string") return v;
  if (v === "${i}") return i;
  return v.replaceAll("${i}", String(i));
}

// Parameters each step accepts (besides "do" and "note"); unknown ones are an error, so a typo in
// a scenario fails at load time instead of silently doing less.
const LINK_PARAMS = ["delay_ms", "jitter_ms", "loss", "rate_kbit", "queue_bytes", "up", "reorder"];
const STEP_PARAMS = {
  hosts: ["n", "names", "links"],
  start: ["nodes", "args", "wait_connected", "within_ms"],
  connect: ["edges", "topology", "nodes", "via", "both", "wait", "within_ms"],
  disconnect: ["a", "b"],
  expect_connected: ["edges", "within_ms"],
  link: ["a", "b", "oneway", ...LINK_PARAMS],
  links: LINK_PARAMS,
  write: ["node", "collection", "count", "size", "prefix", "start", "rev", "inflight"],
  delete: ["node", "collection", "ids", "prefix", "start", "count"],
  partition: ["groups"],
  heal: [],
  kill: ["node", "nodes"],
  stop: ["node", "nodes"],
  restart: ["node", "nodes", "args"],
  stop_sync: ["node", "nodes"],
  start_sync: ["node", "nodes"],
  wait: ["ms"],
  mark: ["name"],
  expect_converged: ["within_ms", "nodes", "collections", "count", "min_count"],
  expect_doc: ["node", "collection", "id", "present", "fields", "within_ms"],
  expect_bytes: ["node", "since", "changed_since", "max_ratio_of_changed", "plus_bytes", "max_bytes"],
  show: ["node", "collection", "id"],
  repeat: ["times", "steps"],
  // attachments (every node runs with --attachment-root files=<dir> --attachment-inbox <dir>)
  send_file: ["node", "file", "bytes", "seed", "path", "scope", "priority", "bundle_id"],
  expect_inbox: ["file", "nodes", "node", "within_ms", "max_ms", "max_ratio_of", "max_ratio"],
  expect_no_file: ["file", "nodes", "node", "for_ms", "partials", "within_ms"],
  expect_distribution: ["file", "node", "status", "error", "per_node", "within_ms"],
  expect_target_status: ["file", "node", "on", "status", "error", "within_ms"],
  cancel: ["file", "node", "was_cancelled"],
  wait_blob_progress: ["node", "file", "percent", "bytes", "within_ms"],
  expect_blob_dup_bytes: ["node", "nodes", "max_bytes"],
  expect_metric: ["node", "nodes", "name", "labels", "min", "max", "within_ms"],
  expect_blob_sent: ["node", "to", "file", "max_bytes", "max_extra_bytes"],
  expect_doc_latency: ["node", "to", "collection", "count", "interval_ms", "size", "max_p50_ms", "max_ms", "prefix"],
};

function checkSteps(steps, where) {
  steps.forEach((st, k) => {
    const at = `${where}: step ${k + 1}`;
    if (!st || typeof st !== "object" || typeof st.do !== "string") throw new Error(`${at}: a step is an object with "do": "<verb>"`);
    const allowed = STEP_PARAMS[st.do];
    if (!allowed) throw new Error(`${at}: unknown step "${st.do}" (known: ${Object.keys(STEP_PARAMS).join(", ")})`);
    for (const key of Object.keys(st)) if (key !== "do" && key !== "note" && !allowed.includes(key)) throw new Error(`${at} (${st.do}): unknown parameter "${key}" (allowed: ${allowed.join(", ") || "none"})`);
    if (st.do === "repeat") checkSteps(st.steps ?? [], `${at} (repeat)`);
  });
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

const fmtS = (ms) => `${(ms / 1000).toFixed(1)} s`;
const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
/** "DISTRIBUTION_STATUS_COMPLETED" → "COMPLETED". */
const shortStatus = (s) => String(s ?? "DISTRIBUTION_STATUS_UNSPECIFIED").replace(/^DISTRIBUTION_STATUS_/, "");

/** Writes `bytes` bytes of seeded pseudo-random data (AES-128-CTR keystream of sha256(seed)) to file; returns its SHA-256 hex. */
function writeSeededFile(file, bytes, seed) {
  const key = crypto.createHash("sha256").update(`peat-scenario-file:${seed}`).digest().subarray(0, 16);
  const cipher = crypto.createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  const h = crypto.createHash("sha256");
  const fd = fs.openSync(file, "w");
  try {
    const block = 8 << 20;
    for (let done = 0; done < bytes; done += block) {
      const data = cipher.update(Buffer.alloc(Math.min(block, bytes - done)));
      h.update(data);
      fs.writeSync(fd, data);
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

const asList = (x) => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

/**
 * Runs one scenario (an object from loadScenario). Options: t (node:test context: cleanup is
 * registered with t.after), log (line printer, default console.log). Resolves a summary
 * {name, ms, seed, steps: [{k, do, ms}]}; throws on the first failed step after dumping the tail
 * of every node's log.
 */
export async function runScenario(scenario, { t, log = (s) => console.log(s) } = {}) {
  const run = new Run(scenario, { t, log });
  try {
    await run.steps(scenario.steps, "");
    const ms = Date.now() - run.t0;
    if (run.net) {
      const links = (await run.net.stats()).links;
      const sum = (k) => links.reduce((s, l) => s + l[k], 0);
      run.say(`links: ${sum("in_pkts")} packets (${kib(sum("in_bytes"))}) offered, dropped: ${sum("drop_loss")} by loss, ${sum("drop_down")} by partitions, ${sum("drop_queue")} by queue`);
    }
    for (const l of await run.meshSummary()) run.say(l);
    run.say(`scenario ${scenario.name}: PASSED in ${fmtS(ms)}`);
    return { name: scenario.name, ms, seed: run.seed, steps: run.done };
  } catch (e) {
    await run.dump(e).catch((d) => log(`(dump failed: ${d.message})`));
    throw e;
  } finally {
    await run.close();
  }
}

class Run {
  constructor(scenario, { t, log }) {
    this.scenario = scenario;
    this.t = t;
    this.log = log;
    this.t0 = Date.now();
    const envSeed = process.env.PEAT_SCENARIO_SEED;
    this.seed = envSeed ? Number(envSeed) : (scenario.seed ?? crypto.randomInt(1, 2 ** 31));
    this.appId = `scn-${scenario.name}-${crypto.randomBytes(3).toString("hex")}`;
    this.sharedKey = randomKey();
    this.net = null;
    this.cluster = null; // Cluster of every host's MeshNode (started or not), in host order
    this.byName = new Map();
    this.edges = []; // declared mesh edges, [dialer index, dialee index]
    this.collections = new Set();
    this.jsonWritten = 0; // bytes of JSON written through write steps (for expect_bytes)
    this.marks = new Map();
    this.lastNet = null; // the latest partition/heal {label, what, at}, for "converged N s after the heal"
    this.done = [];
    this.current = "";
    this.attachDir = null; // per run: <dir>/<node>/{root,inbox}
    this.files = new Map(); // send_file handles by name
    this.inboxWatch = null; // the inbox monitor (every 100 ms), see watchInboxes()
    this.inboxViolations = [];
    this.say(`scenario ${scenario.name}: ${scenario.description ?? ""}`.trimEnd());
    if (scenario.known_issue) this.say(`  KNOWN ISSUE: ${scenario.known_issue}`);
    this.say(`  link seed ${this.seed} (PEAT_SCENARIO_SEED=${this.seed} repeats the loss/jitter pattern), app id ${this.appId}`);
  }

  say(s) {
    const el = ((Date.now() - this.t0) / 1000).toFixed(1).padStart(6);
    this.log(`[${el}s] ${s}`);
  }

  node(name) {
    const nd = this.byName.get(name);
    if (!nd) throw new Error(`no node "${name}" (have ${[...this.byName.keys()].join(", ") || "none: run a hosts step first"})`);
    return nd;
  }
  index(name) {
    this.node(name);
    return this.cluster.nodes.findIndex((nd) => nd.name === name);
  }
  /** Node names of a "nodes"/"node" parameter: a name, a list, or "all" (default `dflt`). */
  names(p, dflt = "all") {
    this.requireNet();
    const v = p.nodes ?? p.node ?? dflt;
    if (v === undefined) throw new Error("give node or nodes");
    const names = v === "all" ? this.cluster.nodes.map((nd) => nd.name) : v === "running" ? this.cluster.running.map((nd) => nd.name) : asList(v);
    for (const n of names) this.node(n);
    return names;
  }
  requireNet() {
    if (!this.net) throw new Error("no hosts yet: the first step must be hosts");
  }

  async steps(list, prefix) {
    for (let k = 0; k < list.length; k++) {
      const st = list[k];
      const label = `${prefix}${k + 1}`;
      const args = Object.entries(st)
        .filter(([key]) => key !== "do" && key !== "note" && key !== "steps")
        .map(([key, v]) => `${key}=${JSON.stringify(v)}`)
        .join(" ");
      this.current = `step ${label} ${st.do} ${args}`;
      this.say(`#${label} ${st.do} ${args}${st.note ? `  — ${st.note}` : ""}`);
      const s0 = Date.now();
      let detail;
      try {
        detail = await this[`step_${st.do}`](st, label);
      } catch (e) {
        e.message = `scenario ${this.scenario.name}, ${this.current}: ${e.message}`;
        throw e;
      }
      const ms = Date.now() - s0;
      this.done.push({ step: label, do: st.do, ms });
      if (st.do !== "repeat") this.say(`#${label} ok in ${fmtS(ms)}${detail ? `: ${detail}` : ""}`);
    }
  }

  // ---- topology ------------------------------------------------------------------------------

  async step_hosts(p) {
    if (this.net) throw new Error("hosts given twice");
    const names = p.names ?? Array.from({ length: p.n }, (_, i) => `h${i + 1}`);
    if (!names.length) throw new Error("hosts: give n or names");
    this.net = await PeatNet.create({ hosts: names, seed: this.seed, t: this.t });
    if (p.links && Object.keys(p.links).length) await this.net.setAll(p.links);
    const nodes = names.map(
      (h) =>
        new MeshNode({
          name: h,
          nodeId: h,
          sharedKey: this.sharedKey,
          appId: this.appId,
          meshHost: this.net.addr(h),
          meshPort: MESH_PORT,
          api: "unix",
          spawnFn: (cmd, args, opts) => this.net.spawn(h, cmd, args, opts),
          t: this.t,
        }),
    );
    this.attachDir = fs.mkdtempSync(path.join(os.tmpdir(), "peat-scn-attach-"));
    for (const nd of nodes) {
      this.byName.set(nd.name, nd);
      for (const d of [this.rootDir(nd.name), this.inboxDir(nd.name)]) fs.mkdirSync(d, { recursive: true });
      nd.args = this.attachArgs(nd.name);
    }
    this.cluster = new Cluster(nodes, this.edges, { sharedKey: this.sharedKey, appId: this.appId });
    return `${names.map((h) => `${h}=${this.net.addr(h)}`).join(" ")}; links ${JSON.stringify(p.links ?? {})}`;
  }

  /** Edges of a connect step: explicit [a, b] pairs (or "a-b") plus a topology over `nodes`. */
  edgeList(p) {
    const out = [];
    for (const e of p.edges ?? []) {
      const [a, b] = Array.isArray(e) ? e : String(e).split("-");
      out.push([this.index(a), this.index(b)]);
    }
    if (p.topology) {
      const ids = this.names(p).map((n) => this.index(n));
      const k = ids.length;
      let rel;
      if (p.topology === "ring") rel = ring(k);
      else if (p.topology === "line") rel = line(k);
      else if (p.topology === "full") rel = ids.flatMap((_, i) => ids.slice(i + 1).map((__, j) => [i, i + 1 + j]));
      else if (p.topology === "star") rel = ids.slice(1).map((_, j) => [j + 1, 0]);
      else throw new Error(`unknown topology ${p.topology} (ring, line, full, star)`);
      for (const [a, b] of rel) out.push([ids[a], ids[b]]);
    }
    if (p.both) for (const [a, b] of [...out]) out.push([b, a]);
    return out;
  }

  /** Declared edges whose two ends run, de-duplicated (a both-ways pair is one connection). */
  liveEdges(edges = this.edges) {
    const seen = new Set();
    return edges.filter(([a, b]) => {
      const key = a < b ? `${a}-${b}` : `${b}-${a}`;
      if (seen.has(key) || !this.cluster.nodes[a].running || !this.cluster.nodes[b].running) return false;
      seen.add(key);
      return true;
    });
  }

  edgeNames(edges) {
    return edges.map(([a, b]) => `${this.cluster.nodes[a].name}→${this.cluster.nodes[b].name}`).join(" ");
  }

  async step_connect(p) {
    const via = p.via ?? "flags";
    const edges = this.edgeList(p);
    if (!edges.length) throw new Error("connect: no edges (give edges and/or topology)");
    if (via === "flags") {
      for (const [a, b] of edges) {
        const [x, y] = [this.cluster.nodes[a], this.cluster.nodes[b]];
        if (x.running) throw new Error(`${x.name} is running: static peers (via flags) are given at start; use "via": "rpc"`);
        if (!x.peers.includes(y)) x.peers.push(y);
      }
    } else if (via === "rpc") {
      for (const [a, b] of edges) {
        const [x, y] = [this.cluster.nodes[a], this.cluster.nodes[b]];
        const r = await x.connectPeer(y);
        assert.equal(r.ok, true, `ConnectPeer ${x.name} → ${y.name}: ${r.code} ${r.errorMessage}`);
      }
    } else throw new Error(`connect: via must be "flags" or "rpc", got ${via}`);
    this.edges.push(...edges);
    const live = this.liveEdges(edges);
    if (via === "rpc" && p.wait !== false && live.length) await this.cluster.waitEdgesConnected(live, p.within_ms ?? 60_000);
    return `${this.edgeNames(edges)} (${via})`;
  }

  async step_disconnect(p) {
    const [x, y] = [this.node(p.a), this.node(p.b)];
    await x.disconnectPeer(y);
    const ids = [this.index(p.a), this.index(p.b)];
    this.edges.splice(0, this.edges.length, ...this.edges.filter(([a, b]) => !(ids.includes(a) && ids.includes(b))));
  }

  async step_expect_connected(p) {
    const edges = p.edges ? this.edgeList({ edges: p.edges }) : this.liveEdges();
    const t0 = Date.now();
    await this.cluster.waitEdgesConnected(edges, p.within_ms ?? 60_000);
    return `${edges.length} edge(s) connected after ${fmtS(Date.now() - t0)}`;
  }

  // ---- processes -----------------------------------------------------------------------------

  async startNodes(names, { args, within }) {
    await Promise.all(
      names.map(async (n) => {
        const nd = this.node(n);
        if (args) nd.args = [...this.attachArgs(n), ...args];
        await nd.start({ timeoutMs: 30_000 });
      }),
    );
    const edges = this.liveEdges().filter(([a, b]) => names.includes(this.cluster.nodes[a].name) || names.includes(this.cluster.nodes[b].name));
    return { edges, wait: () => this.cluster.waitEdgesConnected(edges, within) };
  }

  async step_start(p) {
    const names = this.names(p);
    const { edges, wait } = await this.startNodes(names, { args: p.args, within: p.within_ms ?? 60_000 });
    const t0 = Date.now();
    if (p.wait_connected !== false && edges.length) await wait();
    return `${names.join(", ")} up${edges.length && p.wait_connected !== false ? `; ${edges.length} edge(s) connected after ${fmtS(Date.now() - t0)}` : ""}`;
  }

  async step_kill(p) {
    const names = this.names(p, undefined);
    await Promise.all(names.map((n) => this.node(n).kill()));
    return `${names.join(", ")} SIGKILLed`;
  }

  async step_stop(p) {
    const names = this.names(p, undefined);
    const res = await Promise.all(names.map((n) => this.node(n).stop()));
    return names.map((n, i) => `${n} exit ${res[i]?.code ?? res[i]?.signal} in ${res[i]?.elapsedMs} ms`).join(", ");
  }

  /** kill -9 if running, then start on the same data dir (same args unless given); does not wait for peers. */
  async step_restart(p) {
    const names = this.names(p, undefined);
    for (const n of names) if (this.node(n).running) await this.node(n).kill();
    await this.startNodes(names, { args: p.args });
    return `${names.join(", ")} restarted`;
  }

  async step_stop_sync(p) {
    const names = this.names(p, "running");
    for (const n of names) await this.node(n).stopSync();
    return names.join(", ");
  }

  async step_start_sync(p) {
    const names = this.names(p, "running");
    for (const n of names) await this.node(n).startSync();
    return names.join(", ");
  }

  // ---- links ---------------------------------------------------------------------------------

  async step_link(p) {
    this.requireNet();
    const { a, b, ...params } = p;
    delete params.do;
    delete params.note;
    const n = await this.net.set(a, b, params);
    return `${n} directional link(s)`;
  }

  async step_links(p) {
    this.requireNet();
    const { do: _d, note: _n, ...params } = p;
    const n = await this.net.setAll(params);
    return `${n} directional link(s)`;
  }

  async step_partition(p, label) {
    this.requireNet();
    for (const g of p.groups) for (const h of g) this.node(h);
    const r = await this.net.partition(...p.groups);
    this.lastNet = { label, what: "partition", at: Date.now() };
    return `${r.links_down} directional link(s) down`;
  }

  async step_heal(p, label) {
    this.requireNet();
    await this.net.heal();
    this.lastNet = { label, what: "heal", at: Date.now() };
  }

  // ---- documents -----------------------------------------------------------------------------

  /** Document ids of a write/delete step: ids, or prefix + start .. start + count - 1. */
  ids(p) {
    if (p.ids) return p.ids;
    const prefix = p.prefix ?? `${p.node}-`;
    return Array.from({ length: p.count }, (_, i) => `${prefix}${(p.start ?? 0) + i}`);
  }

  async step_write(p) {
    const nd = this.node(p.node);
    const rev = p.rev ?? 0;
    const entries = this.ids(p).map((id, i) => {
      const doc = { ...makeDoc((p.start ?? 0) + i, rev), doc_id: id, writer: nd.name };
      const len = Buffer.byteLength(JSON.stringify(doc));
      if (p.size && p.size > len + 10) doc.pad = "x".repeat(p.size - len - 10); // `,"pad":""` is 10 bytes
      return [id, doc];
    });
    const bytes = entries.reduce((s, [, d]) => s + Buffer.byteLength(JSON.stringify(d)), 0);
    await nd.putMany(p.collection, entries, { inflight: p.inflight ?? 16 });
    this.collections.add(p.collection);
    this.jsonWritten += bytes;
    return `${entries.length} doc(s) rev ${rev} on ${nd.name}/${p.collection}, ${kib(bytes)} of JSON`;
  }

  async step_delete(p) {
    const nd = this.node(p.node);
    const ids = this.ids(p);
    for (const id of ids) await nd.del(p.collection, id);
    this.collections.add(p.collection);
    return `${ids.length} doc(s) deleted on ${nd.name}/${p.collection}`;
  }

  async step_show(p) {
    const text = await this.node(p.node).getText(p.collection, p.id);
    return `${p.node}: ${p.collection}/${p.id} = ${text ?? "(absent)"}`;
  }

  // ---- time ----------------------------------------------------------------------------------

  async step_wait(p) {
    if (typeof p.ms !== "number" || !(p.ms >= 0)) throw new Error(`wait: ms must be a number ≥ 0, got ${JSON.stringify(p.ms)}`);
    await new Promise((r) => setTimeout(r, p.ms));
  }

  async step_repeat(p, label) {
    if (!Number.isInteger(p.times) || p.times < 0) throw new Error(`repeat: times must be an integer ≥ 0, got ${JSON.stringify(p.times)}`);
    for (let i = 1; i <= p.times; i++) await this.steps(substituteIteration(p.steps, i), `${label}.${i}.`);
  }

  // ---- expectations --------------------------------------------------------------------------

  async step_expect_converged(p) {
    const nodes = p.nodes ? this.names(p).map((n) => this.node(n)) : this.cluster.running;
    for (const nd of nodes) if (!nd.running) throw new Error(`${nd.name} is not running`);
    const collections = p.collections ?? [...this.collections].sort();
    if (!collections.length) throw new Error("no collections written yet (give collections)");
    const t0 = Date.now();
    const minCount = Math.max(1, p.min_count ?? 0, p.count ?? 0);
    const state = await this.cluster.waitConverged(collections, { timeoutMs: p.within_ms ?? 60_000, intervalMs: 250, nodes, minCount });
    const ms = Date.now() - t0;
    if (p.count !== undefined) assert.equal(state.count, p.count, `converged on ${state.count} docs, expected ${p.count}`);
    const since = this.lastNet ? ` (${fmtS(Date.now() - this.lastNet.at)} after the ${this.lastNet.what} of step #${this.lastNet.label})` : "";
    return `${nodes.map((nd) => nd.name).join(", ")} converged after ${fmtS(ms)}${since}: ${state.count} docs, digest ${state.hash.slice(0, 12)}`;
  }

  async step_expect_doc(p) {
    const nd = this.node(p.node);
    const present = p.present ?? true;
    const fieldsOk = (text) => {
      if (!p.fields) return true;
      const d = JSON.parse(text);
      return Object.entries(p.fields).every(([k, v]) => JSON.stringify(d[k]) === JSON.stringify(v));
    };
    const want = present ? `present${p.fields ? ` with ${JSON.stringify(p.fields)}` : ""}` : "absent";
    const text = await waitDoc(nd, p.collection, p.id, (s) => (present ? s !== undefined && fieldsOk(s) : s === undefined), {
      timeoutMs: p.within_ms ?? 0,
      intervalMs: 200,
      what: `${p.collection}/${p.id} ${want} on ${nd.name}`,
    });
    return `${nd.name}: ${p.collection}/${p.id} ${want}${text ? ` (${text.length} B)` : ""}`;
  }

  /** Per node: GetSyncStats total (sent + received) and its process; netem bytes per link. */
  async snapshot() {
    const bytes = new Map();
    for (const nd of this.cluster.running) bytes.set(nd.name, { total: (await nd.syncStats()).total, proc: nd.proc });
    const links = (await this.net.stats()).links;
    return { bytes, links, json: this.jsonWritten, at: Date.now() };
  }

  async step_mark(p) {
    const s = await this.snapshot();
    this.marks.set(p.name, s);
    return `${[...s.bytes].map(([n, b]) => `${n} ${kib(b.total)}`).join(", ")}; ${kib(s.json)} of JSON written so far`;
  }

  async step_expect_bytes(p) {
    const nd = this.node(p.node);
    const since = this.marks.get(p.since);
    const changedSince = this.marks.get(p.changed_since ?? p.since);
    if (!since || !changedSince) throw new Error(`no mark named ${!since ? p.since : p.changed_since}`);
    const before = since.bytes.get(nd.name);
    if (!before) throw new Error(`${nd.name} was not running at mark ${p.since}`);
    if (before.proc !== nd.proc) throw new Error(`${nd.name} restarted since mark ${p.since}: its counters started again from zero`);
    const now = await this.snapshot();
    const moved = now.bytes.get(nd.name).total - before.total;
    const changed = now.json - changedSince.json;
    // IP bytes on the emulated links touching this node (includes TCP/TLS overhead and retransmissions)
    const ipBytes = now.links
      .filter((l) => l.a === nd.name || l.b === nd.name)
      .reduce((s, l) => s + l.out_bytes - (since.links.find((o) => o.a === l.a && o.b === l.b)?.out_bytes ?? 0), 0);
    const bounds = [];
    if (p.max_ratio_of_changed !== undefined) bounds.push(["changed-data bound", p.max_ratio_of_changed * changed + (p.plus_bytes ?? 0), `${p.max_ratio_of_changed} × ${kib(changed)} changed JSON + ${kib(p.plus_bytes ?? 0)}`]);
    if (p.max_bytes !== undefined) bounds.push(["max_bytes", p.max_bytes, kib(p.max_bytes)]);
    if (!bounds.length) throw new Error("expect_bytes: give max_ratio_of_changed and/or max_bytes");
    const detail = `${nd.name} moved ${kib(moved)} (GetSyncStats sent+received) since mark ${p.since}; IP bytes on its links ${kib(ipBytes)}; changed JSON since ${p.changed_since ?? p.since}: ${kib(changed)}`;
    for (const [name, limit, how] of bounds) assert.ok(moved <= limit, `${detail}: exceeds the ${name} ${kib(limit)} (${how})`);
    return `${detail}; bound ${bounds.map(([, limit, how]) => `${kib(limit)} (${how})`).join(", ")}`;
  }

  // ---- attachments ---------------------------------------------------------------------------
  // Every node runs with --attachment-root files=<attachDir>/<node>/root and --attachment-inbox
  // <attachDir>/<node>/inbox. send_file remembers a handle under `file`; the other verbs name it.

  rootDir(name) {
    return path.join(this.attachDir, name, "root");
  }
  inboxDir(name) {
    return path.join(this.attachDir, name, "inbox");
  }
  attachArgs(name) {
    return ["--attachment-root", `files=${this.rootDir(name)}`, "--attachment-inbox", this.inboxDir(name)];
  }
  file(name) {
    const f = this.files.get(name);
    if (!f) throw new Error(`no file "${name}" (send_file it first; have ${[...this.files.keys()].join(", ") || "none"})`);
    return f;
  }
  /** Names of the nodes a file-check step looks at: nodes/node, default the file's targets. */
  fileNodes(p, f) {
    return p.nodes || p.node ? this.names(p) : f.targetNames;
  }

  async step_send_file(p) {
    const nd = this.node(p.node);
    if (!p.file) throw new Error("send_file: give file (the handle's name)");
    if (this.files.has(p.file)) throw new Error(`send_file: file "${p.file}" sent already`);
    if (!Number.isInteger(p.bytes) || p.bytes < 0) throw new Error(`send_file: bytes must be an integer ≥ 0, got ${JSON.stringify(p.bytes)}`);
    const rel = p.path ?? `${p.file}.bin`;
    const abs = path.join(this.rootDir(nd.name), rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    const sha256 = writeSeededFile(abs, p.bytes, `${p.seed ?? p.file}`);
    const scopeNames = p.scope === undefined || p.scope === "all" ? null : asList(p.scope);
    for (const n of scopeNames ?? []) this.node(n);
    const scope = scopeNames ? { nodeList: { nodeIds: scopeNames.map((n) => this.node(n).shortId) } } : { allNodes: {} };
    const priority = `ATTACHMENT_PRIORITY_${String(p.priority ?? "routine").toUpperCase()}`;
    const req = { files: [{ rootName: "files", relativePath: rel, sizeBytes: String(p.bytes), sha256: Buffer.from(sha256, "hex") }], scope, priority };
    if (p.bundle_id !== undefined) req.bundleId = p.bundle_id;
    const recvBase = new Map();
    for (const x of this.cluster.running) recvBase.set(x.name, { proc: x.proc, bytes: await this.blobReceived(x) });
    const t0 = Date.now();
    const r = await nd.callRaw("SendAttachments", req, { timeoutMs: 120_000 });
    assert.equal(r.ok, true, `SendAttachments on ${nd.name}: ${r.code} ${r.errorMessage}`);
    const h = r.message.handles[0];
    const targetNames = scopeNames ?? this.cluster.nodes.filter((x) => x !== nd).map((x) => x.name);
    this.files.set(p.file, {
      name: p.file,
      sender: nd.name,
      rel,
      size: p.bytes,
      sha256,
      bundleId: r.message.bundleId,
      distributionId: h.distributionId,
      root: h.blobToken,
      targetNames,
      sentAt: t0,
      recvBase, // node → {proc, bytes}: blob bytes it had received before the send (wait_blob_progress)
      delivered: new Map(), // node → first time the inbox monitor saw the whole file
      seen: new Map(), // node → "size:mtime:ino" last hashed
    });
    this.watchInboxes();
    return `${kib(p.bytes)} ${rel} from ${nd.name} (${priority.slice(20).toLowerCase()}, ${scopeNames ? `node_list ${scopeNames.join(",")}` : "all_nodes"}) in ${fmtS(Date.now() - t0)}: distribution ${h.distributionId}, root ${h.blobToken.slice(0, 12)}, sha256 ${sha256.slice(0, 12)}`;
  }

  /**
   * Every 100 ms, every sent file in every other node's inbox: a file with the final name must be
   * whole (its size and SHA-256); anything else is a violation ("partial visible"), reported by
   * expect_inbox / expect_no_file. Records when each node first held the whole file.
   */
  watchInboxes() {
    if (this.inboxWatch) return;
    const w = { busy: false, timer: null };
    w.timer = setInterval(async () => {
      if (w.busy) return;
      w.busy = true;
      try {
        for (const f of this.files.values()) {
          for (const nd of this.cluster.nodes) {
            if (nd.name === f.sender) continue;
            const abs = path.join(this.inboxDir(nd.name), f.rel);
            let st;
            try {
              st = await fs.promises.stat(abs);
            } catch {
              continue;
            }
            const key = `${st.size}:${st.mtimeMs}:${st.ino}`;
            if (f.seen.get(nd.name) === key) continue;
            f.seen.set(nd.name, key);
            const at = Date.now();
            let bad = null;
            if (st.size !== f.size) bad = `size ${st.size}, expected ${f.size}`;
            else {
              const sha = crypto.createHash("sha256").update(await fs.promises.readFile(abs)).digest("hex");
              if (sha !== f.sha256) bad = `sha256 ${sha.slice(0, 12)}, expected ${f.sha256.slice(0, 12)}`;
            }
            if (bad) this.inboxViolations.push({ file: f.name, node: nd.name, at, what: `${nd.name}: ${f.rel} visible in the inbox with ${bad} at +${fmtS(at - this.t0)}` });
            else if (!f.delivered.has(nd.name)) f.delivered.set(nd.name, at);
          }
        }
      } catch (e) {
        this.inboxViolations.push({ file: "*", node: "*", at: Date.now(), what: `inbox monitor: ${e.message}` });
      } finally {
        w.busy = false;
      }
    }, 100);
    this.inboxWatch = w;
  }

  checkViolations(f) {
    const v = this.inboxViolations.filter((x) => x.file === f.name || x.file === "*");
    if (v.length) throw new Error(`a partial or wrong file was visible: ${v.map((x) => x.what).join("; ")}`);
  }

  async step_expect_inbox(p) {
    const f = this.file(p.file);
    const names = this.fileNodes(p, f);
    const t0 = Date.now();
    await waitFor(
      () => {
        this.checkViolations(f);
        return names.every((n) => f.delivered.has(n));
      },
      { timeoutMs: p.within_ms ?? 60_000, intervalMs: 100, what: `${f.rel} whole in the inbox of ${names.join(", ")}`, describe: () => `delivered to ${[...f.delivered.keys()].join(", ") || "none"}` },
    ).catch((e) => {
      this.checkViolations(f);
      throw e;
    });
    this.checkViolations(f);
    const per = names.map((n) => `${n} at ${fmtS(f.delivered.get(n) - f.sentAt)}`).join(", ");
    const goodput = Math.max(...names.map((n) => f.delivered.get(n) - f.sentAt));
    f.slowestMs = goodput;
    let bound = "";
    if (p.max_ms !== undefined) {
      assert.ok(goodput <= p.max_ms, `${f.rel} took ${fmtS(goodput)} from the send to the last inbox (${per}): over ${fmtS(p.max_ms)}`);
      bound += `; ≤ ${fmtS(p.max_ms)}`;
    }
    if (p.max_ratio_of !== undefined) {
      const ref = this.file(p.max_ratio_of);
      if (ref.slowestMs === undefined) throw new Error(`expect_inbox: ${p.max_ratio_of} has not been expect_inbox'ed yet`);
      const ratio = p.max_ratio ?? 1;
      assert.ok(goodput <= ratio * ref.slowestMs, `${f.rel} took ${fmtS(goodput)} (${per}): over ${ratio} × the ${fmtS(ref.slowestMs)} of ${ref.name}`);
      bound += `; ${(goodput / ref.slowestMs).toFixed(2)} × ${ref.name} (≤ ${ratio})`;
    }
    return `${f.rel} byte-identical (SHA-256) in ${names.length} inbox(es), never a partial visible; after the send: ${per} (waited ${fmtS(Date.now() - t0)}; ${((f.size * 8) / Math.max(1, goodput)).toFixed(0)} kbit/s end to end)${bound}`;
  }

  /** Partials: `.partial` temporaries in the inbox, and the blob store's partial of the file's root. */
  partialsOf(name, f) {
    const out = [];
    const walk = (d) => {
      let ents = [];
      try {
        ents = fs.readdirSync(d, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of ents) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (e.name.endsWith(".partial")) out.push(path.join(d, e.name));
      }
    };
    walk(this.inboxDir(name));
    const partialDir = path.join(this.node(name).dataDir, "blobs", "partial");
    if (!fs.existsSync(partialDir)) throw new Error(`${partialDir} does not exist: the blob store layout changed (see src/blob/blob_store.h)`);
    const blobPartial = path.join(this.node(name).dataDir, "blobs", "partial", f.root);
    if (fs.existsSync(blobPartial)) out.push(blobPartial);
    return out;
  }

  async step_expect_no_file(p) {
    const f = this.file(p.file);
    const names = this.fileNodes(p, f);
    const present = () => names.filter((n) => fs.existsSync(path.join(this.inboxDir(n), f.rel)));
    const end = Date.now() + (p.for_ms ?? 0);
    for (;;) {
      this.checkViolations(f);
      const got = present();
      if (got.length) throw new Error(`${f.rel} is in the inbox of ${got.join(", ")}`);
      if (Date.now() >= end) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (p.partials === false) return `${f.rel} absent from ${names.join(", ")}${p.for_ms ? ` for ${fmtS(p.for_ms)}` : ""}`;
    const t0 = Date.now();
    await waitFor(() => names.every((n) => this.partialsOf(n, f).length === 0), {
      timeoutMs: p.within_ms ?? 10_000,
      intervalMs: 100,
      what: `no partial of ${f.rel} left on ${names.join(", ")}`,
      describe: () => names.flatMap((n) => this.partialsOf(n, f)).join(", "),
    });
    return `${f.rel} absent from ${names.join(", ")}${p.for_ms ? ` for ${fmtS(p.for_ms)}` : ""}; no inbox .partial and no blob partial (after ${fmtS(Date.now() - t0)})`;
  }

  async getDistribution(nd, f) {
    const r = await nd.callRaw("GetAttachmentDistribution", { distributionId: f.distributionId }, { timeoutMs: 10_000 });
    assert.equal(r.ok, true, `GetAttachmentDistribution on ${nd.name}: ${r.code} ${r.errorMessage}`);
    const m = r.message;
    return {
      status: shortStatus(m.status),
      transferred: Number(m.bytesTransferred ?? 0),
      total: Number(m.bytesTotal ?? 0),
      error: m.error,
      perNode: Object.fromEntries((m.perNode ?? []).map((x) => [x.nodeId, { status: shortStatus(x.status), bytes: Number(x.bytesTransferred ?? 0) }])),
    };
  }

  async step_expect_distribution(p) {
    const f = this.file(p.file);
    const nd = this.node(p.node ?? f.sender);
    const want = String(p.status).toUpperCase();
    const byShort = new Map(this.cluster.nodes.map((x) => [x.shortId, x.name]));
    const perNodeOk = (d) =>
      !p.per_node ||
      Object.entries(p.per_node).every(([n, s]) => {
        const e = d.perNode[this.node(n).shortId] ?? d.perNode[n];
        return e && e.status === String(s).toUpperCase();
      });
    const t0 = Date.now();
    let last;
    await waitFor(
      async () => {
        last = await this.getDistribution(nd, f);
        return last.status === want && (p.error === undefined || (last.error ?? "").includes(p.error)) && perNodeOk(last);
      },
      { timeoutMs: p.within_ms ?? 60_000, intervalMs: 100, what: `distribution ${f.name} ${want}${p.error ? ` with error containing "${p.error}"` : ""} on ${nd.name}`, describe: () => JSON.stringify(last) },
    );
    const per = Object.entries(last.perNode)
      .map(([id, e]) => `${byShort.get(id) ?? id} ${e.status} ${kib(e.bytes)}`)
      .join(", ");
    const since = f.cancelledAt ? `${fmtS(Date.now() - f.cancelledAt)} after the cancel` : `${fmtS(Date.now() - f.sentAt)} after the send`;
    return `${f.name} on ${nd.name}: ${last.status} (${since}; waited ${fmtS(Date.now() - t0)}), ${kib(last.transferred)} of ${kib(last.total)}${last.error ? `, error "${last.error}"` : ""}; per node: ${per || "none"}`;
  }

  /**
   * The target `node`'s own status document (file_distribution_status/<distribution id>:<its
   * short id>), read on `on` (default: the target itself), has `status` (and `error` within).
   */
  async step_expect_target_status(p) {
    const f = this.file(p.file);
    const target = this.node(p.node);
    const on = this.node(p.on ?? p.node);
    const id = `${f.distributionId}:${target.shortId}`;
    const want = String(p.status).toLowerCase();
    const t0 = Date.now();
    const text = await waitDoc(
      on,
      "file_distribution_status",
      id,
      (s) => {
        if (s === undefined) return false;
        const d = JSON.parse(s);
        return d.status === want && (p.error === undefined || String(d.error ?? "").includes(p.error));
      },
      { timeoutMs: p.within_ms ?? 0, intervalMs: 100, what: `${target.name}'s status doc of ${f.name} ${want} on ${on.name}` },
    );
    const d = JSON.parse(text);
    return `file_distribution_status/${id.slice(0, 8)}…:${target.shortId} on ${on.name}: ${d.status}, progress ${kib(d.progress_bytes ?? 0)}${d.error ? `, error "${d.error}"` : ""} (after ${fmtS(Date.now() - t0)}${f.cancelledAt ? `; ${fmtS(Date.now() - f.cancelledAt)} after the cancel` : ""})`;
  }

  async step_cancel(p) {
    const f = this.file(p.file);
    const nd = this.node(p.node ?? f.sender);
    const t0 = Date.now();
    const r = await nd.callRaw("CancelAttachmentDistribution", { distributionId: f.distributionId }, { timeoutMs: 10_000 });
    assert.equal(r.ok, true, `CancelAttachmentDistribution on ${nd.name}: ${r.code} ${r.errorMessage}`);
    const was = !!r.message.wasCancelled;
    assert.equal(was, p.was_cancelled ?? true, `was_cancelled ${was}`);
    f.cancelledAt = t0;
    return `${f.name} on ${nd.name}: was_cancelled ${was} in ${fmtS(Date.now() - t0)}, ${fmtS(t0 - f.sentAt)} after the send`;
  }

  /** Blob piece bytes the node received (peat_blob_bytes_received_total, every peer, since its start). */
  async blobReceived(nd) {
    return (await nd.metric("peat_blob_bytes_received_total")) ?? 0;
  }

  async step_wait_blob_progress(p) {
    const f = this.file(p.file);
    const nd = this.node(p.node);
    const want = p.bytes ?? Math.ceil((f.size * (p.percent ?? 50)) / 100);
    const t0 = Date.now();
    const base = f.recvBase.get(nd.name);
    const since = base && base.proc === nd.proc ? base.bytes : 0; // restarted since the send: counted from its start
    let got = 0;
    await waitFor(
      async () => {
        got = (await this.blobReceived(nd)) - since;
        return got >= want;
      },
      { timeoutMs: p.within_ms ?? 60_000, intervalMs: 50, what: `${nd.name} to receive ${kib(want)} of blob pieces`, describe: () => kib(got) },
    );
    return `${nd.name} received ${kib(got)} of blob pieces since the send (≥ ${kib(want)}, ${((100 * got) / Math.max(1, f.size)).toFixed(0)} % of ${f.name}) after ${fmtS(Date.now() - t0)}, ${fmtS(Date.now() - f.sentAt)} after the send`;
  }

  /**
   * On each node, the sum of the /metrics samples `name` matching `labels` (absent = 0) is within
   * [min, max]; with within_ms, polls until it is (counters since each node's last start).
   */
  async step_expect_metric(p) {
    const names = this.names(p, undefined);
    if (typeof p.name !== "string") throw new Error("expect_metric: give name");
    if (p.min === undefined && p.max === undefined) throw new Error("expect_metric: give min and/or max");
    const ok = (v) => (p.min === undefined || v >= p.min) && (p.max === undefined || v <= p.max);
    const want = `${p.name}${JSON.stringify(p.labels ?? {})} in [${p.min ?? "-inf"}, ${p.max ?? "inf"}]`;
    const values = new Map();
    const readAll = async () => {
      for (const n of names) values.set(n, (await this.node(n).metric(p.name, p.labels ?? {})) ?? 0);
      return names.every((n) => ok(values.get(n)));
    };
    const show = () => names.map((n) => `${n} ${values.get(n)}`).join(", ");
    if (p.within_ms) {
      await waitFor(readAll, { timeoutMs: p.within_ms, intervalMs: 200, what: want, describe: show });
    } else {
      assert.ok(await readAll(), `${want}: ${show()}`);
    }
    return `${want}: ${show()}`;
  }

  async step_expect_blob_dup_bytes(p) {
    const names = this.names(p, undefined);
    if (typeof p.max_bytes !== "number") throw new Error("expect_blob_dup_bytes: give max_bytes");
    const out = [];
    for (const n of names) {
      const nd = this.node(n);
      const dup = (await nd.metric("peat_blob_duplicate_bytes_total")) ?? 0;
      const recv = await this.blobReceived(nd);
      out.push(`${n} ${kib(dup)} duplicate of ${kib(recv)} received`);
      assert.ok(dup <= p.max_bytes, `${n}: peat_blob_duplicate_bytes_total ${dup} (${kib(dup)}) > ${p.max_bytes} (${kib(p.max_bytes)}); received ${kib(recv)} since its start`);
    }
    return `${out.join(", ")} (≤ ${kib(p.max_bytes)}; counters since each node's last start)`;
  }

  /** Blob piece bytes `node` served (to `to`, or to everyone) since its start ≤ max_bytes, or ≤ the file's size + max_extra_bytes. */
  async step_expect_blob_sent(p) {
    const nd = this.node(p.node);
    const labels = p.to ? { peer: this.node(p.to).shortId } : {};
    const sent = (await nd.metric("peat_blob_bytes_sent_total", labels)) ?? 0;
    let limit = p.max_bytes;
    if (p.max_extra_bytes !== undefined) {
      const f = this.file(p.file);
      limit = f.size + p.max_extra_bytes;
    }
    if (typeof limit !== "number") throw new Error("expect_blob_sent: give max_bytes, or file and max_extra_bytes");
    const extra = p.file ? `; ${kib(sent - this.file(p.file).size)} more than ${p.file}` : "";
    const all = [];
    for (const x of this.cluster.running) all.push(`${x.name} ${kib((await x.metric("peat_blob_bytes_sent_total")) ?? 0)}`);
    const detail = `${nd.name} served ${kib(sent)}${p.to ? ` to ${p.to}` : ""}${extra}`;
    assert.ok(sent <= limit, `${detail}: more than ${kib(limit)} (${limit} bytes); every node served: ${all.join(", ")}`);
    return `${detail} (≤ ${kib(limit)}); every node served: ${all.join(", ")}`;
  }

  /**
   * Writes `count` documents on `node`, one every interval_ms; after each, polls `to` (every
   * 10 ms) until it holds it. Latency = from before the PutDocument to the first Get that finds it.
   */
  async step_expect_doc_latency(p) {
    const w = this.node(p.node);
    const r = this.node(p.to);
    const count = p.count ?? 10;
    const lat = [];
    for (let i = 0; i < count; i++) {
      const id = `${p.prefix ?? `${w.name}-urgent-`}${i}`;
      const doc = { ...makeDoc(i, 0), doc_id: id, writer: w.name };
      if (p.size) doc.pad = "x".repeat(Math.max(0, p.size - Buffer.byteLength(JSON.stringify(doc)) - 10));
      const t0 = Date.now();
      await w.put(p.collection, id, doc);
      this.jsonWritten += Buffer.byteLength(JSON.stringify(doc));
      await waitDoc(r, p.collection, id, (s) => s !== undefined, { timeoutMs: p.max_ms ?? 10_000, intervalMs: 10, what: `${p.collection}/${id} on ${r.name}` });
      lat.push(Date.now() - t0);
      if (p.interval_ms && i + 1 < count) await new Promise((res) => setTimeout(res, p.interval_ms));
    }
    this.collections.add(p.collection);
    const sorted = [...lat].sort((a, b) => a - b);
    const p50 = sorted[Math.floor((sorted.length - 1) / 2)];
    const detail = `${count} doc(s) ${w.name} → ${r.name}: p50 ${p50} ms, max ${sorted.at(-1)} ms (${lat.join(", ")} ms)`;
    if (p.max_p50_ms !== undefined) assert.ok(p50 <= p.max_p50_ms, `${detail}: p50 over ${p.max_p50_ms} ms`);
    return detail;
  }

  // ---- failure and cleanup -------------------------------------------------------------------

  /** One line per running node from its /metrics (since its last start): changes, sessions, stalls. */
  async meshSummary() {
    const out = [];
    for (const nd of this.cluster?.running ?? []) {
      try {
        const m = await nd.metrics();
        const v = (name) => m.filter((x) => x.name === name).reduce((a, x) => a + x.value, 0);
        out.push(
          `${nd.name}: changes received ${v("peat_mesh_changes_received_total")}, sent ${v("peat_mesh_changes_sent_total")}; ` +
            `sessions established ${v("peat_mesh_sessions_established_total")}, handshake failures ${v("peat_mesh_handshake_failures_total")}, ` +
            `stalls ${v("peat_mesh_stalls_total")}, merge failures ${v("peat_mesh_merge_failures_total")}`,
        );
      } catch (e) {
        out.push(`${nd.name}: /metrics failed: ${e.message}`);
      }
    }
    return out;
  }

  async dump(err) {
    const n = Number(process.env.PEAT_SCENARIO_LOG_LINES || 40);
    this.say(`scenario ${this.scenario.name}: FAILED at ${this.current}`);
    this.log(String(err?.message ?? err));
    for (const nd of this.cluster?.nodes ?? []) {
      if (!nd.procs.length) continue;
      const lines = nd.allLogs().trimEnd().split("\n");
      this.log(`--- ${nd.name} (${nd.running ? `running, pid ${nd.proc.pid}` : "not running"}; ${nd.procs.length} start(s)): last ${Math.min(n, lines.length)} of ${lines.length} log lines ---`);
      this.log(lines.slice(-n).join("\n"));
    }
    this.log("--- mesh counters of the running nodes ---");
    for (const l of await this.meshSummary()) this.log(l);
    if (this.net && !this.net.closed) {
      const st = await this.net.stats("*", "*", { active: true });
      this.log(`--- netem-lite links that carried traffic (seed ${this.seed}) ---`);
      for (const l of st.links) this.log(`${l.a}→${l.b}: in ${l.in_pkts} pkts / ${kib(l.in_bytes)}, out ${l.out_pkts}, drop loss ${l.drop_loss} down ${l.drop_down} queue ${l.drop_queue}`);
    }
  }

  /** With PEAT_SCENARIO_LOG_DIR: every node's full log (all starts) to <dir>/<scenario>/<node>.log. */
  saveLogs() {
    const dir = process.env.PEAT_SCENARIO_LOG_DIR;
    if (!dir || !this.cluster) return;
    const out = path.join(path.resolve(dir), this.scenario.name);
    fs.mkdirSync(out, { recursive: true });
    for (const nd of this.cluster.nodes) if (nd.procs.length) fs.writeFileSync(path.join(out, `${nd.name}.log`), nd.allLogs());
    this.say(`node logs in ${out}`);
  }

  async close() {
    clearInterval(this.inboxWatch?.timer);
    for (const nd of this.cluster?.nodes ?? []) await nd.kill().catch(() => {});
    this.saveLogs();
    await this.net?.close();
    if (this.attachDir) fs.rmSync(this.attachDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

async function main(argv) {
  const all = argv.includes("--all");
  const ci = argv.includes("--ci");
  const files = argv.filter((a) => !a.startsWith("--"));
  if (!files.length && !all && !ci) {
    console.error("usage: node tests/scenarios/run.mjs (--ci | --all | FILE.json...)");
    return 2;
  }
  const chosen = files.length ? files.map((f) => ({ file: f, scenario: loadScenario(f) })) : listScenarios().filter((s) => all || s.scenario.ci === true);
  const results = [];
  for (const { file, scenario } of chosen) {
    try {
      const r = await runScenario(scenario);
      results.push(`PASS ${scenario.name} (${fmtS(r.ms)})`);
    } catch (e) {
      results.push(`FAIL ${scenario.name} (${path.relative(process.cwd(), file)}): ${e.message.split("\n")[0]}`);
    }
  }
  console.log(`\n${results.join("\n")}`);
  return results.every((r) => r.startsWith("PASS")) ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
