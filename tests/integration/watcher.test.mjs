// The agent watcher end to end (docs/spec/WATCHER.md §8, all 13 tests, plus --agent-refresh-secs):
// real peat-node processes polling the fake UDS Remote Agent (lib/fake_agent.mjs) with a 1 s poll
// interval. Every node has its own data dir, API port and mesh port; independent cases run
// concurrently (two groups: the timing tests 1–4 first, on a quiet machine, then the rest; 50–65 s
// in all on 2 busy cores). Every wait polls a condition with a deadline: the watcher's progress is read from
// its metrics (a cycle ends with the ListPulledPackages call, so `peat_agent_polls_total{call=
// "list_pulled_packages"}` counts finished cycles, writes and deletes included) and from the
// fake's request records (one /status request per cycle start).
//
// Test 5 (each failure mode on each call) runs one node per call position, each with a fake in a
// process of its own, and switches the fake's behaviour right after a cycle ends; each step also
// changes a field of every fixture, so the failing call must leave its docs exactly as they were
// while the two others must write the new values.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/watcher.test.mjs

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { targetOf } from "./lib/clients.mjs";
import { bytewiseCompare, preview } from "./lib/documents.mjs";
import { FakeAgent, PACKAGE_STATUS_NAMES, PULL_STATUS_NAMES, defaultFixtures, makeCerts } from "./lib/fake_agent.mjs";
import { LOOPBACK, MeshNode, filesContaining, randomKey, waitFor } from "./lib/mesh_cluster.mjs";
import { httpGet, runNodeBinary } from "./lib/raw.mjs";

const INTERVAL_MS = 1000;
// Cycle starts are read from the fakes' request records, stamped by an event loop that may lag a
// little (this process spawns many processes): two starts closer than half an interval are a
// burst (catch-up cycles come back to back, a few ms apart).
const NO_BURST_MS = INTERVAL_MS / 2;
// The metric label of each call (the fake's route names) and the collection it writes.
const CALL = { status: "status", packages: "list_packages", pulled: "list_pulled_packages" };
const COLLECTION = { status: "nodes", packages: "deployments", pulled: "packages" };
const ROUTES = Object.keys(CALL);
const WATCHER_NODE_KEYS = ["agent_id", "architecture", "classification", "k8s_node_status", "k8s_version", "last_seen", "node_type",
  "run_mode", "version", "zarf_version"];

// ---------------------------------------------------------------------------------------------
// Expected documents (§4), computed from the fake's fixtures
// ---------------------------------------------------------------------------------------------

/** Canonical JSON as the store renders it: keys in bytewise order, compact. */
function canon(v) {
  if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort(bytewiseCompare).map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

const nul = (v) => v ?? null;
const withoutWatcherKeys = (doc) => Object.fromEntries(Object.entries(doc).filter(([k]) => !WATCHER_NODE_KEYS.includes(k)));

/** {nodes, deployments, packages}: doc id → expected document without last_seen. */
function expectedDocs(id, fx) {
  const s = fx.status;
  const nodes = {
    [id]: {
      agent_id: id, architecture: nul(s.architecture), classification: nul(s.classification), k8s_node_status: nul(s.k8sNodeStatus),
      k8s_version: nul(s.k8sVersion), node_type: "uds-remote-agent", run_mode: nul(s.runMode), version: nul(s.version), zarf_version: nul(s.zarfVersion),
    },
  };
  const deployments = {};
  for (const p of fx.packages) {
    deployments[`${id}:${p.name ?? "unknown"}`] = {
      agent_id: id, annotations: p.annotations ?? {}, flavor: nul(p.flavor), namespace_override: nul(p.namespaceOverride),
      package: p.name ?? "unknown", status: nul(p.status), version: nul(p.version),
    };
  }
  const packages = {};
  for (const r of fx.registries) {
    for (const p of r.packages ?? []) {
      for (const tag of p.tags ?? []) {
        packages[`${id}:${tag.reference ?? "unknown"}-${tag.arch ?? "unknown"}`] = {
          agent_id: id, arch: nul(tag.arch), package: nul(p.packageName), pull_status: tag.pullInfo?.status ?? 0, reference: nul(tag.reference),
          registry: nul(r.host), total_bytes: nul(tag.totalBytes), version: nul(tag.version),
        };
      }
    }
  }
  return { nodes, deployments, packages };
}

/**
 * Why `text` is not `expected` plus a last_seen at most `maxAgeS` old and not in the future (5 s
 * of clock slack), or null when it is. Only nodes/<id> is rewritten at every poll: the other docs
 * keep the last_seen of their last change.
 */
function mismatch(text, expected, maxAgeS = 5) {
  if (text === undefined) return "absent";
  const doc = JSON.parse(text);
  const now = Date.now() / 1000;
  if (!Number.isInteger(doc.last_seen) || doc.last_seen < now - maxAgeS || doc.last_seen > now + 5) {
    return `last_seen ${doc.last_seen} is not within [now - ${maxAgeS} s, now + 5 s] (now ${Math.round(now)}): ${text}`;
  }
  const want = canon({ ...expected, last_seen: doc.last_seen });
  return text === want ? null : `got ${text}\n  want ${want}`;
}

// ---------------------------------------------------------------------------------------------
// Nodes, metrics, documents
// ---------------------------------------------------------------------------------------------

/**
 * A free port below Linux's ephemeral range (32768–60999): no process binding port 0 can take it
 * while nothing listens there (test 4's agent is down at first, then starts on it).
 */
async function portOutsideEphemeralRange() {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + crypto.randomInt(10_000);
    const free = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, LOOPBACK, () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error("no free port in 20000–29999");
}

async function startAgent(t, opts) {
  const agent = new FakeAgent(opts);
  await agent.start();
  t.after(() => agent.stop());
  return agent;
}

/**
 * A peat-node watching 127.0.0.1:<port> (the agent's by default) every second; its own data dir,
 * API port and mesh port (both picked by the OS: a port reserved in advance may be taken by one of
 * the many processes starting at the same time). env: extra environment of the process.
 */
async function startWatched(t, { id, agent, port = agent?.port, scheme = "http", host = "127.0.0.1", args = [], env, start = true, ...more }) {
  const spawnFn = env ? (bin, argv, opts) => spawn(bin, argv, { ...opts, env: { ...opts.env, ...env } }) : undefined;
  const n = new MeshNode({
    name: id, nodeId: id, meshPort: 0, t, spawnFn,
    args: ["--agent-addr", `${scheme}://${host}:${port}`, "--agent-poll-interval", String(INTERVAL_MS / 1000), ...args], ...more,
  });
  if (start) await n.start();
  return n;
}

const metric = async (n, name, labels = {}) => (await n.metric(name, labels)) ?? 0;
const polls = (n, route, result) => metric(n, "peat_agent_polls_total", result ? { call: CALL[route], result } : { call: CALL[route] });
/** Finished cycles: the last call of a cycle is ListPulledPackages, whatever its result. */
const cyclesDone = (n) => polls(n, "pulled");

/** Waits until k more cycles have finished (counted from now). */
async function waitCycles(n, k = 1, timeoutMs = k * INTERVAL_MS + 17_000) {
  const base = await cyclesDone(n);
  await waitFor(async () => (await cyclesDone(n)) >= base + k, { timeoutMs, what: `${k} more watcher cycle(s) on ${n.name} (from ${base})` });
}

/** Our docs of a collection: doc id → canonical JSON (nodes: <id>; others: ids starting "<id>:"). */
async function ourDocs(n, collection, id) {
  const ids = (await n.list(collection)).filter((d) => (collection === "nodes" ? d === id : d.startsWith(`${id}:`)));
  const out = {};
  for (const d of ids) {
    const text = await n.getText(collection, d);
    if (text !== undefined) out[d] = text;
  }
  return out;
}

/** Why our docs of `collection` are not exactly `expected` (doc id → doc without last_seen), or null. */
async function docsMismatch(n, collection, id, expected, maxAgeS = 5) {
  const have = await ourDocs(n, collection, id);
  const [got, want] = [Object.keys(have).sort(), Object.keys(expected).sort()];
  if (got.join("\n") !== want.join("\n")) return `${collection}: ids ${preview(got)}, want ${preview(want)}`;
  for (const d of want) {
    const why = mismatch(have[d], expected[d], maxAgeS);
    if (why) return `${collection}/${d}: ${why}`;
  }
  return null;
}

/**
 * Waits until all three collections hold exactly the expected docs of node id, each with a
 * last_seen at most maxAgeS old (default: not older than the node's process, as a slow start on a
 * loaded machine may leave the docs of its first poll a few seconds old by the time we look).
 */
async function waitExpected(n, id, expected, { timeoutMs = 10_000, collections = ["nodes", "deployments", "packages"], maxAgeS } = {}) {
  let why = null;
  await waitFor(
    async () => {
      for (const c of collections) {
        why = await docsMismatch(n, c, id, expected[c], maxAgeS ?? Math.max(5, (Date.now() - n.proc.startedAt) / 1000 + 2));
        if (why) return false;
      }
      return true;
    },
    { timeoutMs, intervalMs: 20, what: `the watcher's docs on ${n.name}`, describe: () => why },
  );
}

async function assertServing(n, what) {
  assert.equal(n.proc.exit, null, `${n.name} exited ${what}: ${JSON.stringify(n.proc.exit)}\n${n.allLogs()}`);
  const r = await httpGet(targetOf(n.proc, "tcp"), "/readyz", { timeoutMs: 2_000 });
  assert.equal(r.status, 200, `${n.name} /readyz ${what}: ${r.status} ${r.body}`);
  const s = await n.call("GetStatus");
  assert.ok(s.nodeId, `${n.name} GetStatus ${what}: ${preview(s)}`);
}

/** Status records of the fake (one per cycle: /status is the first call). */
/** [path of field names, value] of every leaf of a parsed document (arrays are leaves; {} has none). */
function leaves(v, names = []) {
  if (v && typeof v === "object" && !Array.isArray(v)) return Object.entries(v).flatMap(([k, x]) => leaves(x, [...names, k]));
  return [[names, v]];
}

/**
 * The fake agent in a process of its own (its CLI, driven through its control port), for test 5:
 * building an 8 MiB body blocks an event loop for a while, and the in-process fakes of the other
 * tests would stamp their requests late meanwhile. Same methods as FakeAgent, but async.
 */
class RemoteAgent {
  static async start(t) {
    const proc = spawn(process.execPath, [FAKE_AGENT_CLI], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve(code ?? signal)));
    t.after(async () => {
      proc.kill("SIGTERM");
      await exited;
    });
    let out = "";
    let err = "";
    proc.stderr.on("data", (c) => (err += c));
    const info = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fake agent: no {port, control} line within 10 s; stderr: ${err}`)), 10_000);
      proc.stdout.on("data", (c) => {
        out += c;
        if (out.includes("\n")) {
          clearTimeout(timer);
          resolve(JSON.parse(out.slice(0, out.indexOf("\n"))));
        }
      });
      exited.then((code) => reject(new Error(`fake agent exited ${code}; stderr: ${err}`)));
    });
    const agent = new RemoteAgent();
    agent.port = info.port;
    agent.controlPort = info.control;
    return agent;
  }

  /** One control command; resolves its answer, throws unless {ok: true}. */
  control(cmd) {
    return new Promise((resolve, reject) => {
      const body = JSON.stringify(cmd);
      const req = http.request({ host: "127.0.0.1", port: this.controlPort, path: "/control", method: "POST", agent: false,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => {
          const answer = JSON.parse(text);
          answer.ok ? resolve(answer) : reject(new Error(`fake agent control ${body}: ${text}`));
        });
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  setBehaviour(route, behaviour) {
    return this.control({ op: "behaviour", route, behaviour });
  }
  setFixtures(fx) {
    return this.control({ op: "fixtures", ...fx });
  }
  async records() {
    return (await this.control({ op: "records" })).records;
  }
}
const FAKE_AGENT_CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), "lib", "fake_agent.mjs");

/**
 * <dir>/<name>.crt + .key: a certificate of the run's CA (subject O=peat-fake-agent/CN=<cn>) with
 * the extension lines `ext`, made with openssl without blocking the event loop.
 */
async function makeLeaf(dir, name, cn, ext) {
  const openssl = (...a) => promisify(execFile)("openssl", a, { cwd: dir });
  fs.writeFileSync(path.join(dir, `${name}.ext`), `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n${ext}\n`);
  await openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`,
    "-subj", `/O=peat-fake-agent/CN=${cn}`);
  await openssl("x509", "-req", "-in", `${name}.csr`, "-CA", certs.ca, "-CAkey", certs.caKey, "-set_serial", `0x${crypto.randomBytes(8).toString("hex")}`,
    "-days", "2", "-out", `${name}.crt`, "-extfile", `${name}.ext`);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

// One PKI for tests 8–10, made at load time: makeCerts runs openssl synchronously, and while it
// runs no fake in this process answers or stamps a request.
const certs = makeCerts();
process.on("exit", () => certs.cleanup());

const statusTimes = (agent) => agent.records().filter((r) => r.route === "status").map((r) => r.time);
const gaps = (times) => times.slice(1).map((x, i) => x - times[i]);

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

// Timing-sensitive cases first, on their own (few processes starting at once).
describe("agent watcher: timing (WATCHER.md §8 tests 1–4)", { concurrency: true }, () => {
  it("1–2. happy path over h2c: the §4 docs within 2 s, the wire, the metrics", async (t) => {
    const id = "w-happy";
    const agent = await startAgent(t);
    const n = await startWatched(t, { id, agent });
    const expected = expectedDocs(id, defaultFixtures());

    await t.test("1. nodes/<id>, deployments/<id>:nginx, :podinfo and packages/<id>:0.1.0-amd64 equal §4 within 2 s of start", async () => {
      await waitExpected(n, id, expected, { timeoutMs: 10_000, maxAgeS: 5 });
      const ms = Date.now() - n.proc.startedAt;
      t.diagnostic(`docs complete ${ms} ms after the process was spawned`);
      assert.ok(ms <= 2_000, `the docs took ${ms} ms from the start of the process`);
      // the §4 example, spelled out once (the expectation above is computed from the fixtures)
      const nginx = JSON.parse(await n.getText("deployments", `${id}:nginx`));
      assert.equal(
        await n.getText("deployments", `${id}:nginx`),
        `{"agent_id":"${id}","annotations":{"team":"edge"},"flavor":"upstream","last_seen":${nginx.last_seen},"namespace_override":null,"package":"nginx","status":3,"version":"1.25.3"}`,
      );
      // typed GetNodes sees the watcher's doc with defaults (§4)
      const nodes = (await n.call("GetNodes")).nodes ?? [];
      const mine = nodes.find((x) => x.id === id);
      assert.ok(mine, `GetNodes lacks ${id}: ${preview(nodes)}`);
      assert.equal(mine.nodeType, "uds-remote-agent");
      assert.equal(mine.name ?? "", "");
    });

    await t.test("2. wire: GET /status, then the two POSTs, content-type application/json, body {}, HTTP/2 (h2c), Connect headers", async () => {
      await waitCycles(n, 2);
      const recs = agent.records();
      assert.ok(recs.length >= 6, `only ${recs.length} requests recorded`);
      const order = ["status", "packages", "pulled"];
      recs.forEach((r, i) => {
        const what = `request ${i} ${preview(r, 400)}`;
        assert.equal(r.route, order[i % 3], `out of order: ${what}`);
        assert.equal(r.method, r.route === "status" ? "GET" : "POST", what);
        assert.equal(r.httpVersion, "2.0", what);
        assert.equal(r.alpn, "h2c", what);
        assert.equal(r.headers["connect-protocol-version"], "1", what);
        assert.match(r.headers.accept ?? "", /application\/json/, what);
        assert.match(r.headers["user-agent"] ?? "", /^peat-node\/\S+/, what);
        if (r.method === "POST") {
          assert.equal(r.headers["content-type"], "application/json", what);
          assert.equal(r.body, "{}", what);
        } else {
          assert.equal(r.bodyBytes, 0, what);
        }
      });
      assert.equal(agent.counts().other, 0, "requests to unknown paths");
    });

    await t.test("metrics: up, ok polls per call, last success, durations, docs written, cycles", async () => {
      const m = await n.metrics();
      const v = (name, labels = {}) => m.filter((s) => s.name === name && Object.entries(labels).every(([k, x]) => s.labels[k] === x));
      assert.equal(v("peat_agent_up")[0]?.value, 1, "peat_agent_up");
      const now = Date.now() / 1000;
      for (const route of ROUTES) {
        const call = CALL[route];
        assert.ok(v("peat_agent_polls_total", { call, result: "ok" })[0]?.value >= 2, `polls_total{call=${call},result=ok}`);
        const failed = v("peat_agent_polls_total", { call }).filter((s) => s.labels.result !== "ok" && s.value > 0);
        assert.deepEqual(failed, [], `failed polls of ${call}`);
        const last = v("peat_agent_last_success_timestamp_seconds", { call })[0]?.value;
        assert.ok(Math.abs(last - now) <= 5, `last_success_timestamp_seconds{call=${call}} = ${last}, now ${now}`);
        assert.ok(v("peat_agent_poll_duration_seconds_count", { call })[0]?.value >= 2, `poll_duration_seconds_count{call=${call}}`);
      }
      for (const c of ["nodes", "deployments", "packages"]) {
        assert.ok(v("peat_agent_docs_written_total", { collection: c })[0]?.value >= 1, `docs_written_total{collection=${c}}`);
        assert.equal(v("peat_agent_docs_deleted_total", { collection: c }).reduce((a, s) => a + s.value, 0), 0, `docs_deleted_total{collection=${c}}`);
      }
      assert.ok(v("peat_agent_cycles_total")[0]?.value >= 2, "peat_agent_cycles_total");
      // steady state: the unchanged deployments/packages docs were written once (refresh is 300 s)
      assert.equal(v("peat_agent_docs_written_total", { collection: "deployments" })[0]?.value, 2, "deployments written more than once each");
      assert.equal(v("peat_agent_docs_written_total", { collection: "packages" })[0]?.value, 1, "packages written more than once");
    });
  });

  it("3a. interval: the first cycle is immediate, ≥ 3 cycles in 3.5 s, each one interval after the previous one started", async (t) => {
    const agent = await startAgent(t);
    agent.setBehaviour("packages", "delay:600"); // a cycle of ≥ 600 ms: the interval counts from cycle start
    const n = await startWatched(t, { id: "w-interval", agent });
    await waitFor(() => statusTimes(agent).length >= 5, { timeoutMs: 10_000, what: "5 cycles" });
    const times = statusTimes(agent);
    const t0 = n.proc.startedAt;
    t.diagnostic(`cycle starts (ms after spawn): ${times.map((x) => x - t0).join(", ")}`);
    assert.ok(times[0] - t0 <= 2_000, `first /status ${times[0] - t0} ms after the start`);
    assert.ok(times.filter((x) => x - t0 <= 3_500).length >= 3, `fewer than 3 cycles within 3.5 s of the start: ${times.map((x) => x - t0)}`);
    // the first request of a process may take a few hundred ms more to arrive (first connection)
    const [first, ...rest] = gaps(times.slice(0, 5));
    assert.ok(first >= NO_BURST_MS && first <= 1_400, `the first two cycles started ${first} ms apart: ${gaps(times)}`);
    for (const g of rest) assert.ok(g >= 800 && g <= 1_400, `cycle starts ${g} ms apart (interval 1 s, cycles of 600 ms): ${gaps(times)}`);
  });

  it("4. agent down at boot: node READY, RPCs work, peat_agent_up 0, no docs; the agent starts → docs within one interval", async (t) => {
    const id = "w-down";
    const port = await portOutsideEphemeralRange();
    const n = await startWatched(t, { id, port });
    await waitFor(async () => (await polls(n, "status", "connect_error")) >= 2 && (await polls(n, "pulled", "connect_error")) >= 2, {
      timeoutMs: 10_000, what: "two cycles of connect_error",
    });
    await assertServing(n, "with the agent down");
    assert.equal(await n.metric("peat_agent_up"), 0, "peat_agent_up");
    for (const route of ROUTES) assert.equal(await polls(n, route, "ok"), 0, `ok polls of ${route}`);
    for (const c of Object.values(COLLECTION)) assert.deepEqual(await ourDocs(n, c, id), {}, `${c} docs with the agent down`);
    await n.put("notes", "n1", { hello: "world" });
    assert.deepEqual(await n.get("notes", "n1"), { hello: "world" });
    assert.deepEqual(await n.list("notes"), ["n1"]);

    const agent = new FakeAgent({ port });
    await agent.start();
    t.after(() => agent.stop());
    const up = Date.now();
    await waitExpected(n, id, expectedDocs(id, defaultFixtures()), { timeoutMs: 10_000 });
    const ms = Date.now() - up;
    t.diagnostic(`docs ${ms} ms after the agent started listening`);
    assert.ok(ms <= INTERVAL_MS + 1_000, `docs appeared ${ms} ms after the agent came up (interval ${INTERVAL_MS} ms)`);
    await waitFor(async () => (await n.metric("peat_agent_up")) === 1, { timeoutMs: 3_000, what: "peat_agent_up 1" });
  });
});

describe("agent watcher: failures, data, TLS, mesh (WATCHER.md §8 tests 3b, 5–13)", { concurrency: true }, () => {
  it("3b. with /status hanging, cycles never come closer than the interval (no burst once it answers again); SIGTERM cancels a hanging call", async (t) => {
    const agent = await startAgent(t);
    agent.setBehaviour("status", "hang");
    const n = await startWatched(t, { id: "w-burst", agent });
    await waitFor(async () => (await polls(n, "status", "timeout")) >= 2, { timeoutMs: 20_000, what: "two /status timeouts" });
    const hung = statusTimes(agent).length;
    agent.setBehaviour("status", "ok");
    await waitFor(() => statusTimes(agent).length >= hung + 4, { timeoutMs: 15_000, what: "4 cycles after /status answers again" });
    const times = statusTimes(agent);
    t.diagnostic(`gaps between cycle starts (ms): ${gaps(times).join(", ")}`);
    for (const [i, g] of gaps(times).entries()) {
      assert.ok(g >= NO_BURST_MS, `cycles ${i} and ${i + 1} started ${g} ms apart: a burst (gaps ${gaps(times)})`);
      assert.ok(g <= 15_500, `a cycle took ${g} ms (> 3 × 5 s)`);
    }
    await assertServing(n, "after /status hung");

    // §5 shutdown: SIGTERM while /status hangs; the drain cancels the call at once (it would last 5 s)
    agent.setBehaviour("status", "hang");
    const from = agent.records().length;
    await waitFor(() => agent.records().slice(from).some((r) => r.route === "status"), { timeoutMs: 5_000, what: "a hanging /status" });
    const r = await n.stop("SIGTERM", 10_000);
    t.diagnostic(`SIGTERM with /status hanging: exit ${r.code} after ${r.elapsedMs} ms`);
    assert.equal(r.timedOut, false, "no exit within 10 s of SIGTERM");
    assert.equal(r.code, 0, `exit code after SIGTERM\n${r.stderr}`);
    assert.ok(r.elapsedMs < 3_000, `exit took ${r.elapsedMs} ms with a /status call hanging`);
  });

  // 5: one node per call position; 9 behaviours each, switched between cycles.
  const FAILURES = [
    ["status:500", "http_error"],
    ["garbage", "parse_error"],
    ["wrong_types", "parse_error"],
    ["truncated", "parse_error"],
    ["huge:8", "parse_error"],
    ["hang", "timeout"],
    ["drip", "timeout"],
    ["reset", "http_error"],
    ["close", "connect_error"],
  ];
  /** The default fixtures with one field of every route marked with step k. */
  const variant = (k) => {
    const fx = defaultFixtures();
    fx.status.version = `0.9.1-step${k}`;
    fx.packages[0].version = `1.25.3-step${k}`;
    fx.registries[0].packages[0].tags[0].version = `0.1.0-step${k}`;
    return fx;
  };
  for (const failing of ROUTES) {
    it(`5. each failure mode on ${failing} (${FAILURES.map((f) => f[0]).join(", ")}): right result label, the other calls write, nothing deleted`, async (t) => {
      const id = `w-fail-${failing}`;
      const agent = await RemoteAgent.start(t);
      const n = await startWatched(t, { id, agent });
      await waitExpected(n, id, expectedDocs(id, defaultFixtures()));
      const coll = COLLECTION[failing];
      const others = ROUTES.filter((r) => r !== failing);
      const deleted = async () => metric(n, "peat_agent_docs_deleted_total");
      const firstSwitch = Date.now();
      for (const [k, [behaviour, result]] of FAILURES.entries()) {
        const what = `${failing}=${behaviour}`;
        await waitCycles(n); // switch right after a cycle ended
        let frozen = await ourDocs(n, coll, id);
        const before = await polls(n, failing, result);
        const deletedBefore = await deleted();
        const okBefore = await Promise.all(others.map((o) => polls(n, o, "ok")));
        const fx = variant(k);
        await agent.setBehaviour(failing, behaviour); // first: a request after it fails, whatever its fixtures
        await agent.setFixtures(fx);
        const exp = expectedDocs(id, fx);
        // Before the first step the call succeeded, and an ok poll late for the switch may still
        // write (nodes/<id> is written at every poll): there, look from the first failure on.
        const failures = k === 0 ? 2 : 1;
        if (k === 0) {
          await waitFor(async () => (await polls(n, failing, result)) >= before + 1, { timeoutMs: 20_000, what: `${what}: the first failure` });
          frozen = await ourDocs(n, coll, id);
        }
        let why = null;
        await waitFor(
          async () => {
            why = `polls_total{call=${CALL[failing]},result=${result}} = ${await polls(n, failing, result)} (was ${before})`;
            if ((await polls(n, failing, result)) < before + failures) return false;
            for (const o of others) {
              why = await docsMismatch(n, COLLECTION[o], id, exp[COLLECTION[o]], 60);
              if (why) return false;
            }
            return true;
          },
          { timeoutMs: 20_000, what: `${what}: the failure counted and the other calls' new values written`, describe: () => why },
        );
        assert.deepEqual(await ourDocs(n, coll, id), frozen, `${what}: the failing call's docs changed`);
        assert.equal(await deleted(), deletedBefore, `${what}: docs deleted`);
        if (failing === "status") assert.equal(await n.metric("peat_agent_up"), 0, `${what}: peat_agent_up`);
        for (const [i, o] of others.entries()) assert.ok((await polls(n, o, "ok")) > okBefore[i], `${what}: no ok poll of ${o}`);
        await assertServing(n, `with ${what}`);
      }
      // recovery: the call writes the last step's values; every cycle took ≤ 3 × 5 s; no burst
      await agent.setBehaviour(failing, "ok");
      const streakMs = Date.now() - firstSwitch;
      await waitExpected(n, id, expectedDocs(id, variant(FAILURES.length - 1)), { timeoutMs: 10_000, maxAgeS: 60 });
      if (failing === "status") await waitFor(async () => (await n.metric("peat_agent_up")) === 1, { timeoutMs: 3_000, what: "peat_agent_up back to 1" });
      const g = gaps((await agent.records()).filter((r) => r.route === "status").map((r) => r.time));
      t.diagnostic(`${g.length + 1} cycles; longest ${Math.max(...g)} ms, shortest ${Math.min(...g)} ms between starts`);
      assert.ok(Math.max(...g) <= 15_500, `a cycle took ${Math.max(...g)} ms (> 3 × 5 s)`);
      assert.ok(Math.min(...g) >= NO_BURST_MS, `two cycles started ${Math.min(...g)} ms apart (a burst)`);
      assert.equal(await deleted(), 0, "docs deleted");
      // every failure was counted under its label, and under no other
      for (const result of new Set(FAILURES.map((f) => f[1]))) {
        const want = FAILURES.filter((f) => f[1] === result).length;
        assert.ok((await polls(n, failing, result)) >= want, `polls_total{call=${CALL[failing]},result=${result}} < ${want}`);
      }
      for (const result of ["tls_error", "write_error"]) assert.equal(await polls(n, failing, result), 0, `result=${result}`);
      // logs: one streak of failures, warned at its start and then at most once a minute; recovery at info
      await n.proc.waitForLine((l) => l.includes(`info agent watcher: ${CALL[failing]} recovered`), 5_000, "the recovery log line");
      const warns = n.allLogs().split("\n").filter((l) => / warn(ing)? agent watcher: /.test(l) && l.includes(`agent watcher: ${CALL[failing]} failed`));
      assert.ok(warns.length >= 1 && warns.length <= 1 + Math.floor(streakMs / 60_000), `${warns.length} warnings over a streak of ${streakMs} ms:\n${warns.join("\n")}`);
      for (const o of others) assert.ok(!n.allLogs().includes(`agent watcher: ${CALL[o]} failed`), `${o} logged a failure`);
    });
  }

  it("6. lenient numbers: int64 as strings and enums as names are accepted (§3, decision 1)", async (t) => {
    const id = "w-lenient";
    const agent = await startAgent(t);
    agent.setNumberStyle({ ints: "string", enums: "number" });
    assert.equal(agent.body("packages").packages[0].status, "3", "the fake sends the status as a string");
    const n = await startWatched(t, { id, agent });
    const exp = expectedDocs(id, defaultFixtures());
    await waitExpected(n, id, exp); // numeric strings become numbers
    agent.setNumberStyle({ enums: "name" });
    for (const d of Object.values(exp.deployments)) d.status = PACKAGE_STATUS_NAMES[d.status];
    for (const d of Object.values(exp.packages)) d.pull_status = PULL_STATUS_NAMES[d.pull_status];
    await waitExpected(n, id, exp); // a name is stored as that string
    for (const route of ROUTES) assert.equal(await polls(n, route, "parse_error"), 0, `parse errors on ${route}`);
  });

  it("7. stale removal: removed item deleted at the next poll; others' docs untouched; no deletes after a failure; restart cleans leftovers; empty list needs 2 polls", async (t) => {
    const id = "w-stale";
    const agent = await startAgent(t);
    // /status answers after 900 ms: while a cycle's /status request is the fake's last record,
    // the cycle before it is complete and this cycle's lists are not answered yet. So a fixture set
    // then is what this cycle lists (atCycleStart), and the state read then is exactly that of the
    // cycles before (inCycleWindow, which fails loudly if the window closed meanwhile).
    agent.setBehaviour("status", "delay:900");
    const started = () => agent.counts().status;
    const waitStarts = (count) => waitFor(() => started() >= count, { timeoutMs: 10_000, what: `cycle start #${count}` });
    const inWindow = () => agent.records().at(-1)?.route === "status";
    const atCycleStart = async (change) => {
      do await waitStarts(started() + 1);
      while (!inWindow());
      change();
    };
    const inCycleWindow = async (check, cycles = 1) => {
      await waitStarts(started() + cycles);
      const cycle = started();
      assert.ok(inWindow(), "the lists of the new cycle were answered before the test could look (machine too slow?)");
      await check();
      assert.ok(inWindow() && started() === cycle, "the cycle moved on while the test looked (machine too slow?)");
    };
    const n = await startWatched(t, { id, agent });
    const fx = defaultFixtures();
    await waitExpected(n, id, expectedDocs(id, fx));
    const foreign = [
      ["deployments", `${id}:ghost`, { agent_id: "another-agent", package: "ghost" }],
      ["deployments", `${id}:manual`, { note: "no agent_id" }],
      ["deployments", "other-node:nginx", { agent_id: "other-node", package: "nginx" }],
      ["packages", `${id}:9.9.9-arm64`, { agent_id: "another-agent", reference: "9.9.9" }],
    ];
    for (const [c, d, doc] of foreign) await n.put(c, d, doc);
    const foreignTexts = await Promise.all(foreign.map(([c, d]) => n.getText(c, d)));
    const ours = (c) => ourDocs(n, c, id).then((m) => Object.keys(m).filter((d) => !foreign.some((f) => f[1] === d)).sort());
    const deleted = (c) => metric(n, "peat_agent_docs_deleted_total", { collection: c });

    await t.test("podinfo removed → its doc deleted at the next poll", async () => {
      await atCycleStart(() => {
        fx.packages = fx.packages.filter((p) => p.name !== "podinfo");
        agent.setFixtures(fx);
      });
      await inCycleWindow(async () => {
        assert.deepEqual(await ours("deployments"), [`${id}:nginx`]);
        assert.equal(await deleted("deployments"), 1);
      });
    });

    await t.test("a failure after a success deletes nothing", async () => {
      await atCycleStart(() => {
        agent.setBehaviour("packages", "status:500");
        agent.setBehaviour("pulled", "garbage");
        agent.setFixtures({ packages: [], registries: [] });
      });
      await inCycleWindow(async () => {
        assert.ok((await polls(n, "packages", "http_error")) >= 2 && (await polls(n, "pulled", "parse_error")) >= 2, "the failures were not counted");
        assert.deepEqual(await ours("deployments"), [`${id}:nginx`]);
        assert.deepEqual(await ours("packages"), [`${id}:0.1.0-amd64`]);
        assert.equal(await deleted("deployments"), 1);
        assert.equal(await deleted("packages"), 0);
      }, 2);
    });

    await t.test("a restart with a changed fixture cleans the leftovers at its first poll", async () => {
      const r = await n.stop();
      assert.equal(r.code, 0, `exit code ${r.code}`);
      agent.setBehaviour("packages", "ok");
      agent.setBehaviour("pulled", "ok");
      const changed = defaultFixtures();
      changed.packages = [{ name: "grafana", version: "11.0.0", status: 3 }];
      changed.registries[0].packages[0].tags[0].reference = "0.2.0";
      agent.setFixtures(changed);
      const before = started();
      await n.start();
      await waitStarts(before + 1);
      // in the window of the second cycle of the new process: exactly one poll ran
      await inCycleWindow(async () => {
        assert.deepEqual(await ours("deployments"), [`${id}:grafana`]);
        assert.deepEqual(await ours("packages"), [`${id}:0.2.0-amd64`]);
        const exp = expectedDocs(id, changed);
        assert.equal(mismatch(await n.getText("deployments", `${id}:grafana`), exp.deployments[`${id}:grafana`]), null);
        assert.equal(mismatch(await n.getText("packages", `${id}:0.2.0-amd64`), exp.packages[`${id}:0.2.0-amd64`]), null);
      });
    });

    await t.test("an empty list after a non-empty one deletes only at the second empty poll", async () => {
      const before = { deployments: await deleted("deployments"), packages: await deleted("packages") };
      await atCycleStart(() => agent.setFixtures({ packages: [], registries: [] }));
      await inCycleWindow(async () => {
        assert.deepEqual(await ours("deployments"), [`${id}:grafana`], "deleted at the first empty list");
        assert.deepEqual(await ours("packages"), [`${id}:0.2.0-amd64`], "deleted at the first empty list");
      });
      await inCycleWindow(async () => {
        assert.deepEqual(await ours("deployments"), [], "not deleted at the second empty list");
        assert.deepEqual(await ours("packages"), [], "not deleted at the second empty list");
        assert.equal(await deleted("deployments"), before.deployments + 1);
        assert.equal(await deleted("packages"), before.packages + 1);
      });
    });

    await t.test("other writers' docs (another agent_id, none, another prefix) and nodes/<id> are untouched", async () => {
      assert.deepEqual(await Promise.all(foreign.map(([c, d]) => n.getText(c, d))), foreignTexts);
      assert.ok(await n.getText("nodes", id), "nodes/<id> deleted");
    });
  });

  it("8. TLS: mTLS ok with the expected client subject; server cert of another CA, client cert of another CA → tls_error; https without a client cert → ok", { concurrency: true }, async (t) => {
    const mtls = ["--agent-tls-cert", certs.clientCert, "--agent-tls-key", certs.clientKey, "--agent-tls-ca", certs.ca];
    const expectOk = async (name, agent, n, subject) => {
      await waitExpected(n, name, expectedDocs(name, defaultFixtures()));
      const recs = agent.records();
      for (const r of recs) {
        assert.equal(r.clientCertSubject, subject, `${name}: client subject ${preview(r)}`);
        assert.equal(r.alpn, "h2", `${name}: ALPN ${preview(r)}`);
      }
      assert.equal(await n.metric("peat_agent_up"), 1, `${name}: peat_agent_up`);
    };
    const expectTlsError = async (name, agent, n) => {
      await waitFor(async () => (await Promise.all(ROUTES.map((r) => polls(n, r, "tls_error")))).every((v) => v >= 2), {
        timeoutMs: 10_000, what: `${name}: two tls_error polls of every call`,
      });
      for (const r of ROUTES) assert.equal(await polls(n, r, "ok"), 0, `${name}: ok polls of ${r}`);
      for (const c of Object.values(COLLECTION)) assert.deepEqual(await ourDocs(n, c, name), {}, `${name}: ${c} docs`);
      assert.equal(await n.metric("peat_agent_up"), 0, `${name}: peat_agent_up`);
      assert.equal(agent.records().length, 0, `${name}: the fake answered requests`);
    };
    await Promise.all([
      t.test("cert + key + CA against an mTLS agent → ok, the agent sees CN=peat-node-watcher", async (tt) => {
        const agent = await startAgent(tt, { tls: certs, mtls: true });
        const n = await startWatched(tt, { id: "w-mtls", agent, scheme: "https", args: mtls });
        await expectOk("w-mtls", agent, n, "O=peat-fake-agent,CN=peat-node-watcher");
      }),
      t.test("a server cert not signed by the pinned CA → tls_error, no docs", async (tt) => {
        const agent = await startAgent(tt, { tls: { cert: certs.otherServerCert, key: certs.otherServerKey } });
        const n = await startWatched(tt, { id: "w-badserver", agent, scheme: "https", args: mtls });
        await expectTlsError("w-badserver", agent, n);
      }),
      t.test("a client cert from the wrong CA → tls_error, no docs", async (tt) => {
        const agent = await startAgent(tt, { tls: certs, mtls: true });
        const args = ["--agent-tls-cert", certs.otherClientCert, "--agent-tls-key", certs.otherClientKey, "--agent-tls-ca", certs.ca];
        const n = await startWatched(tt, { id: "w-badclient", agent, scheme: "https", args });
        await expectTlsError("w-badclient", agent, n);
      }),
      t.test("https:// without a client cert, server trusted through the system store (SSL_CERT_FILE) → ok", async (tt) => {
        const agent = await startAgent(tt, { tls: certs });
        const n = await startWatched(tt, { id: "w-https", agent, scheme: "https", env: { SSL_CERT_FILE: certs.ca } });
        await expectOk("w-https", agent, n, null);
      }),
      t.test("https://localhost (the DNS name of the server cert) → ok", async (tt) => {
        const agent = await startAgent(tt, { tls: certs, mtls: true });
        const n = await startWatched(tt, { id: "w-localhost", agent, scheme: "https", host: "localhost", args: mtls });
        await expectOk("w-localhost", agent, n, "O=peat-fake-agent,CN=peat-node-watcher");
      }),
      t.test("a server cert of the pinned CA but for another name → tls_error (hostname verification)", async (tt) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peat-it-wrongname-"));
        tt.after(() => fs.rmSync(dir, { recursive: true, force: true }));
        const wrong = await makeLeaf(dir, "server", "agent.example", "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:agent.example");
        const agent = await startAgent(tt, { tls: wrong });
        const n = await startWatched(tt, { id: "w-wrongname", agent, scheme: "https", args: mtls });
        await expectTlsError("w-wrongname", agent, n);
      }),
      t.test("https:// without a client cert, the agent's CA not in the system store → tls_error", async (tt) => {
        const agent = await startAgent(tt, { tls: certs });
        const n = await startWatched(tt, { id: "w-untrusted", agent, scheme: "https" });
        await expectTlsError("w-untrusted", agent, n);
      }),
    ]);
  });

  it("9. startup errors exit 2 naming the flag (the cases ops.test.mjs does not cover)", async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peat-it-watcher-"));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const junk = path.join(dir, "junk.pem");
    fs.writeFileSync(junk, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
    const missing = path.join(dir, "missing.pem");
    const https = ["--agent-addr", "https://127.0.0.1:9"];
    const cert = ["--agent-tls-cert", certs.clientCert];
    const key = ["--agent-tls-key", certs.clientKey];
    const ca = ["--agent-tls-ca", certs.ca];
    const cases = [
      ["cert without key", [...https, ...cert, ...ca], /--agent-tls-cert/],
      ["key without cert", [...https, ...key, ...ca], /--agent-tls-key/],
      ["CA alone", [...https, ...ca], /--agent-tls-ca/],
      ["cert + key + CA without an addr", [...cert, ...key, ...ca], /--agent-addr/],
      ["cert + key without an addr", [...cert, ...key], /--agent-addr/],
      ["CA alone without an addr", [...ca], /--agent-tls-ca|--agent-addr/],
      ["an unreadable key", [...https, ...cert, "--agent-tls-key", missing, ...ca], /--agent-tls-key/],
      ["an unreadable CA", [...https, ...cert, ...key, "--agent-tls-ca", missing], /--agent-tls-ca/],
      ["a directory as the cert", [...https, "--agent-tls-cert", dir, ...key, ...ca], /--agent-tls-cert/],
      ["bad PEM cert", [...https, "--agent-tls-cert", junk, ...key, ...ca], /--agent-tls-cert/],
      ["bad PEM key", [...https, ...cert, "--agent-tls-key", junk, ...ca], /--agent-tls-key/],
      ["interval 0", ["--agent-addr", "http://127.0.0.1:9", "--agent-poll-interval", "0"], /--agent-poll-interval/],
      ["interval -1", ["--agent-addr", "http://127.0.0.1:9", "--agent-poll-interval", "-1"], /--agent-poll-interval/],
      ["refresh 0", ["--agent-addr", "http://127.0.0.1:9", "--agent-refresh-secs", "0"], /--agent-refresh-secs/],
      ["ftp:// addr", ["--agent-addr", "ftp://127.0.0.1:21"], /--agent-addr/],
      ["scheme only", ["--agent-addr", "https://"], /--agent-addr/],
      ["no host", ["--agent-addr", "http://:8080"], /--agent-addr/],
      ["a query", ["--agent-addr", "http://127.0.0.1:8080?x=1"], /--agent-addr/],
    ];
    const envCases = [
      ["PEAT_NODE_AGENT_POLL_INTERVAL=0", { PEAT_NODE_AGENT_POLL_INTERVAL: "0", PEAT_NODE_AGENT_ADDR: "http://127.0.0.1:9" }, /AGENT_POLL_INTERVAL|--agent-poll-interval/],
      ["PEAT_NODE_AGENT_TLS_CA alone", { PEAT_NODE_AGENT_TLS_CA: certs.ca, PEAT_NODE_AGENT_ADDR: "https://127.0.0.1:9" }, /AGENT_TLS_CA|--agent-tls-ca/],
    ];
    const base = (i) => ["--listen", "tcp://127.0.0.1:0", "--data-dir", path.join(dir, `data${i}`), "--disable-mdns"];
    const runs = [
      ...cases.map(([, args], i) => () => runNodeBinary([...base(i), ...args], { cwd: dir })),
      ...envCases.map(([, env], i) => () => runNodeBinary(base(cases.length + i), { env, cwd: dir })),
    ];
    // 4 at a time, so the other tests' nodes keep their timing
    const results = [];
    let next = 0;
    const worker = async () => {
      while (next < runs.length) {
        const i = next++;
        results[i] = await runs[i]();
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const failures = [];
    for (const [i, [what, , re]] of [...cases, ...envCases].entries()) {
      const r = results[i];
      if (r.timedOut) failures.push(`${what}: the node started`);
      else if (r.code !== 2) failures.push(`${what}: exit ${r.code}: ${r.stderr.trim().split("\n").pop()}`);
      else if (!re.test(r.stderr)) failures.push(`${what}: stderr does not name the flag: ${r.stderr.trim()}`);
      else if (/unknown flag/i.test(r.stderr)) failures.push(`${what}: the flag is unknown: ${r.stderr.trim()}`);
    }
    assert.deepEqual(failures, []);
  });

  it("10. rotation: replacing the client cert files → the next poll presents the new subject", async (t) => {
    const live = fs.mkdtempSync(path.join(os.tmpdir(), "peat-it-rotate-"));
    t.after(() => fs.rmSync(live, { recursive: true, force: true }));
    const [liveCert, liveKey] = [path.join(live, "client.crt"), path.join(live, "client.key")];
    fs.copyFileSync(certs.clientCert, liveCert);
    fs.copyFileSync(certs.clientKey, liveKey);
    const agent = await startAgent(t, { tls: certs, mtls: true });
    const args = ["--agent-tls-cert", liveCert, "--agent-tls-key", liveKey, "--agent-tls-ca", certs.ca];
    const n = await startWatched(t, { id: "w-rotate", agent, scheme: "https", args });
    await waitExpected(n, "w-rotate", expectedDocs("w-rotate", defaultFixtures()));
    assert.ok(agent.records().every((r) => r.clientCertSubject === "O=peat-fake-agent,CN=peat-node-watcher"), preview(agent.records()));

    // a new client cert of the same CA, made next to the live files and renamed over them
    const cn = "peat-node-watcher-rotated";
    await makeLeaf(live, "new", cn, "extendedKeyUsage=clientAuth");
    // Rename while the node waits for a /status answer the fake holds back 900 ms: the record is
    // the last one and younger than 800 ms, so the answer is not sent yet and no later call of the
    // node can have begun. Every call after that /status must present the new certificate.
    agent.setBehaviour("status", "delay:900");
    const delayedFrom = agent.records().length; // a /status before this one was answered at once
    let rotatedAfter = null;
    let rotation = "";
    await waitFor(
      () => {
        const recs = agent.records();
        const last = recs.at(-1);
        if (recs.length <= delayedFrom || last.route !== "status" || Date.now() - last.time >= 800) return false;
        fs.renameSync(path.join(live, "new.key"), liveKey);
        fs.renameSync(path.join(live, "new.crt"), liveCert);
        rotatedAfter = recs.length;
        rotation = `renamed at ${new Date().toISOString()}, ${Date.now() - last.time} ms after the /status request #${recs.length - 1}`;
        return true;
      },
      { timeoutMs: 10_000, intervalMs: 10, what: "a /status request in flight" },
    );
    await waitCycles(n, 2);
    const after = agent.records().slice(rotatedAfter);
    assert.ok(after.length >= 5, `only ${after.length} requests after the rotation`);
    const watcherLog = () => n.allLogs().split("\n").filter((l) => /agent watcher/.test(l)).join("\n");
    assert.deepEqual(
      after.map((r) => `${r.route} ${r.clientCertSubject}`),
      after.map((r) => `${r.route} O=peat-fake-agent,CN=${cn}`),
      `subjects after the rotation (${rotation}; then requests at ${after.map((r) => new Date(r.time).toISOString()).join(", ")})\n${watcherLog()}`,
    );
    for (const r of ROUTES) assert.equal(await polls(n, r, "tls_error"), 0, `tls_error on ${r}`);
  });

  it("11. encryption and replication: plaintext on the writer, ciphertext in its store and on a keyless peer; in steady state only nodes/<id> changes", async (t) => {
    const CANARY = `CANARY-${crypto.randomBytes(6).toString("hex")}`;
    const agent = await startAgent(t);
    const fx = defaultFixtures();
    fx.packages[0].flavor = CANARY;
    fx.status.classification = `${CANARY}-class`;
    agent.setFixtures(fx);
    const sharedKey = randomKey();
    const appId = `watcher-${crypto.randomBytes(3).toString("hex")}`;
    const [ida, idb] = ["w-enc-a", "w-enc-b"];
    const a = await startWatched(t, { id: ida, agent, sharedKey, appId, args: ["--encryption-key", randomKey()] });
    a.meshPort = Number(a.proc.meshListeners[0].split(":").pop()); // B dials A
    const b = new MeshNode({ name: idb, nodeId: idb, sharedKey, appId, meshPort: 0, t });
    b.peers.push(a);
    await b.start();
    await waitFor(async () => (await a.isConnectedTo(b)) && (await b.isConnectedTo(a)), { timeoutMs: 15_000, what: "A–B connected" });

    // A (the key): GetDocument is plaintext, exactly §4
    const exp = expectedDocs(ida, fx);
    await waitExpected(a, ida, exp);
    assert.ok((await a.getText("deployments", `${ida}:nginx`)).includes(CANARY));

    // B (no key): the docs arrive, every value ENC:v1:, no canary
    const ids = Object.entries(exp).flatMap(([c, m]) => Object.keys(m).map((d) => [c, d]));
    for (const [c, d] of ids) {
      const text = await waitFor(() => b.getText(c, d), { timeoutMs: 15_000, what: `${c}/${d} on the peer` });
      assert.ok(!text.includes(CANARY), `the keyless peer reads the canary in ${c}/${d}: ${text}`);
      const doc = JSON.parse(text);
      assert.equal(leaves(doc).length, leaves(JSON.parse(await a.getText(c, d))).length, `${c}/${d} on the peer has another shape: ${text}`);
      for (const [names, v] of leaves(doc)) {
        for (const name of names) assert.match(name, /^ENC:n1:/, `${c}/${d} on the peer: a field name in clear: ${text}`);
        assert.ok(v === null || (typeof v === "string" && v.startsWith("ENC:v1:")), `${c}/${d} on the peer: ${preview(v)} is not ENC:v1: (${text})`);
      }
    }

    // steady state: 5 polls; nodes/<A> keeps changing on B, deployments/packages are not written again
    const sub = b.subscribe(["nodes", "deployments", "packages"]);
    t.after(() => sub.cancel());
    const events = (c, d) => sub.messages.filter((m) => m.collection === c && (d === undefined || m.docId === d)).length;
    await waitFor(() => ids.every(([c, d]) => events(c, d) >= 1), { timeoutMs: 10_000, what: "the subscription's snapshot on the peer" });
    const written = async () => Promise.all(["nodes", "deployments", "packages"].map((c) => metric(a, "peat_agent_docs_written_total", { collection: c })));
    const [w0, texts0, nodeEvents0] = [await written(), await Promise.all(ids.map(([c, d]) => a.getText(c, d))), events("nodes", ida)];
    await waitCycles(a, 6); // 5 whole polls inside the window
    await waitFor(() => events("nodes", ida) >= nodeEvents0 + 2, { timeoutMs: 5_000, what: "heartbeats of nodes/<A> reaching the peer" });
    const w1 = await written();
    t.diagnostic(`docs written by A over 6 polls: nodes ${w1[0] - w0[0]}, deployments ${w1[1] - w0[1]}, packages ${w1[2] - w0[2]}`);
    assert.ok(w1[0] - w0[0] >= 5, "nodes/<A> is not written every poll");
    assert.equal(w1[1] - w0[1], 0, "deployments docs written again in steady state");
    assert.equal(w1[2] - w0[2], 0, "packages docs written again in steady state");
    const texts1 = await Promise.all(ids.map(([c, d]) => a.getText(c, d)));
    ids.forEach(([c, d], i) => (c === "nodes" ? assert.notEqual(texts1[i], texts0[i], "nodes/<A> unchanged") : assert.equal(texts1[i], texts0[i], `${c}/${d} changed`)));
    for (const [c, d] of ids.filter(([c]) => c !== "nodes")) assert.equal(events(c, d), 1, `${c}/${d}: changes reached the peer in steady state`);

    // A's store holds ciphertext only (SIGKILL: nothing tidied up first)
    await a.kill();
    assert.deepEqual(filesContaining(a.dataDir, CANARY), [], "the canary is in A's store files");
  });

  it("12. patch: after PutNode{id:<node_id>, name:\"Alpha Edge\"} and a poll, name is still \"Alpha Edge\"", async (t) => {
    const id = "w-patch";
    const agent = await startAgent(t);
    const n = await startWatched(t, { id, agent });
    await waitExpected(n, id, expectedDocs(id, defaultFixtures()), { collections: ["nodes"] });
    await waitCycles(n);
    const written = () => metric(n, "peat_agent_docs_written_total", { collection: "nodes" });
    const w0 = await written();
    const putAt = new Date().toISOString();
    await n.call("PutNode", { node: { id, name: "Alpha Edge", latitude: 59.3, capabilities: ["radio"] } });
    const putText = await n.getText("nodes", id);
    const put = JSON.parse(putText);
    assert.equal(put.name, "Alpha Edge");
    // 3 polls: last_seen is the second a heartbeat was written, and two in a row may share one
    // (a slow /status answer, then a quick one); a poll may even have merged before the read above
    await waitCycles(n, 3);
    const docText = await n.getText("nodes", id);
    const doc = JSON.parse(docText);
    const story = `PutNode at ${putAt} (heartbeats written before: ${w0}, after: ${await written()}), then ${putText}, 3 polls later ${docText}`;
    assert.equal(doc.name, "Alpha Edge", `name lost: ${preview(doc)}`);
    assert.equal(doc.node_type, "uds-remote-agent");
    // every other field as PutNode left it, the watcher's keys as §4 (floats compare parsed: the
    // store writes 0.0)
    assert.deepEqual(doc, { ...withoutWatcherKeys(put), ...expectedDocs(id, defaultFixtures()).nodes[id], last_seen: doc.last_seen });
    assert.ok(Math.abs(doc.last_seen - Date.now() / 1000) <= 5, `last_seen ${doc.last_seen}`);
    if (put.last_seen !== undefined) assert.ok(doc.last_seen > put.last_seen, `no poll wrote the doc: ${story}`);
    const mine = ((await n.call("GetNodes")).nodes ?? []).find((x) => x.id === id);
    assert.equal(mine?.name, "Alpha Edge", preview(mine));
    assert.equal(mine?.nodeType, "uds-remote-agent", preview(mine));
  });

  it("13. invalid items: names with NUL or of 2 KiB are skipped and counted; the other items are written", async (t) => {
    const id = "w-invalid";
    const agent = await startAgent(t);
    const fx = defaultFixtures();
    const good = defaultFixtures();
    const long = "x".repeat(2048);
    fx.packages = [{ name: "bad\u0000name", version: "1" }, ...fx.packages.slice(0, 1), { name: long, version: "1" }, ...fx.packages.slice(1)];
    const tags = fx.registries[0].packages[0].tags;
    tags.unshift({ reference: "bad\u0000ref", arch: "amd64", version: "1" }, { reference: long, arch: "amd64", version: "1" });
    agent.setFixtures(fx);
    const n = await startWatched(t, { id, agent });
    await waitExpected(n, id, expectedDocs(id, good));
    const skipped = (route, reason) => metric(n, "peat_agent_items_skipped_total", { call: CALL[route], reason });
    for (const route of ["packages", "pulled"]) {
      assert.ok((await skipped(route, "nul")) >= 1, `items_skipped_total{call=${CALL[route]},reason=nul}`);
      assert.ok((await skipped(route, "too_long")) >= 1, `items_skipped_total{call=${CALL[route]},reason=too_long}`);
      assert.ok((await polls(n, route, "ok")) >= 1, `the ${route} call failed as a whole`);
    }
  });

  it("refresh: with --agent-refresh-secs 2, unchanged deployments/packages docs are rewritten about every 2 s, not every poll", async (t) => {
    const id = "w-refresh";
    const agent = await startAgent(t);
    const n = await startWatched(t, { id, agent, args: ["--agent-refresh-secs", "2"] });
    await waitExpected(n, id, expectedDocs(id, defaultFixtures()));
    const written = () => metric(n, "peat_agent_docs_written_total", { collection: "deployments" });
    const [w0, seen0] = [await written(), JSON.parse(await n.getText("deployments", `${id}:nginx`)).last_seen];
    await waitCycles(n, 6);
    const [w1, seen1] = [await written(), JSON.parse(await n.getText("deployments", `${id}:nginx`)).last_seen];
    t.diagnostic(`deployments writes over 6 polls: ${w1 - w0} (2 docs)`);
    assert.ok(seen1 > seen0, "nginx's last_seen did not advance");
    // each doc every 2nd poll: 2 or 3 times each (a poll that starts late may cross two second
    // boundaries); every poll would be 12
    assert.ok(w1 - w0 >= 4 && w1 - w0 <= 10, `${w1 - w0} deployments writes over 6 polls of 2 unchanged docs with a 2 s refresh`);
  });
});
