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
    this.say(`scenario ${scenario.name}: ${scenario.description ?? ""}`.trimEnd());
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
    for (const nd of nodes) this.byName.set(nd.name, nd);
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
        if (args) nd.args = args;
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
    for (const nd of this.cluster?.nodes ?? []) await nd.kill().catch(() => {});
    this.saveLogs();
    await this.net?.close();
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
