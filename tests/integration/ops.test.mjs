// Operations (BEHAVIOR.md "Operations"; CONTRACT.md "How it is served", "Identity",
// "Configuration surface"; LESSONS.md 18, 19, 22): /livez, /readyz, /metrics, grpc.health.v1,
// SIGTERM/SIGINT, log formats, --print-config redaction, flag/env validation, --version, and
// identity persistence.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/ops.test.mjs

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startNode } from "./lib/node_process.mjs";
import { HEALTH, SIDECAR, curlPost, makeClient, targetOf } from "./lib/clients.mjs";
import { httpGet, metricValue, runNodeBinary, scrapeMetrics, spawnNodeExact } from "./lib/raw.mjs";

const HEX64 = /^[0-9a-f]{64}$/;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const GET_STATUS = `/${SIDECAR}/GetStatus`;

async function getStatus(target) {
  const r = await curlPost(target, GET_STATUS, "{}");
  assert.equal(r.httpStatus, 200, `GetStatus: HTTP ${r.httpStatus} ${r.body}`);
  return r.json;
}

/** A fresh temp dir removed after the test. */
function tempDir(t) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "peat-it-ops-"));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/**
 * Sends `signal` and waits (bounded) for exit WITHOUT the harness's cleanup, so the caller can
 * still inspect the temp dir (e.g. the unix socket file). Resolves {code, signal, elapsedMs, timedOut}.
 */
async function signalAndWait(node, signal, timeoutMs) {
  const t0 = Date.now();
  node.proc.kill(signal);
  let timer;
  const timedOut = await Promise.race([
    node.exited.then(() => false),
    new Promise((r) => {
      timer = setTimeout(() => r(true), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  return { ...node.exit, elapsedMs: Date.now() - t0, timedOut };
}

const runBinary = (args, opts) => runNodeBinary(args, opts);

describe("ops endpoints and health on a running node", () => {
  let node;
  before(async () => {
    node = await startNode();
  });
  after(async () => {
    await node?.kill();
  });

  for (const via of ["tcp", "unix"]) {
    it(`GET /livez → 200 and GET /readyz → 200 while running (${via})`, async () => {
      const target = targetOf(node, via);
      const live = await httpGet(target, "/livez");
      assert.equal(live.status, 200, `/livez: ${live.status} ${live.body}`);
      const ready = await httpGet(target, "/readyz");
      assert.equal(ready.status, 200, `/readyz: ${ready.status} ${ready.body}`);
    });
  }

  it("GET /metrics is Prometheus text and counts one GetStatus call with code=\"ok\"", async () => {
    const target = targetOf(node, "tcp");
    const before = await scrapeMetrics(target);
    assert.match(before.contentType ?? "", /^text\/plain/, "content-type");
    const labels = { method: GET_STATUS, code: "ok" };
    const okBefore = metricValue(before.samples, "peat_rpc_requests_total", labels) ?? 0;
    const latBefore = metricValue(before.samples, "peat_rpc_latency_seconds_count", labels) ?? 0;

    await getStatus(target);

    const m = await scrapeMetrics(target);
    const text = m.text;
    assert.match(text, /^# TYPE peat_rpc_requests_total counter$/m);
    assert.match(text, /^# TYPE peat_rpc_latency_seconds histogram$/m);
    assert.match(text, /^# TYPE peat_rpc_open_connections gauge$/m);
    assert.match(text, /^# TYPE peat_rpc_open_streams gauge$/m);
    assert.match(text, /^# TYPE peat_rpc_connections_closed_total counter$/m);
    assert.match(text, /^# TYPE peat_node_phase gauge$/m);

    assert.equal((metricValue(m.samples, "peat_rpc_requests_total", labels) ?? 0) - okBefore, 1, "peat_rpc_requests_total{GetStatus,ok} delta");
    assert.equal((metricValue(m.samples, "peat_rpc_latency_seconds_count", labels) ?? 0) - latBefore, 1, "peat_rpc_latency_seconds_count{GetStatus,ok} delta");

    // Histogram buckets for GetStatus/ok: cumulative, ending in le="+Inf" == _count.
    const buckets = m.samples
      .filter((s) => s.name === "peat_rpc_latency_seconds_bucket" && s.labels.method === GET_STATUS && s.labels.code === "ok")
      .map((s) => ({ le: s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), v: s.value }))
      .sort((a, b) => a.le - b.le);
    assert.ok(buckets.length >= 2, "latency buckets present");
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].v >= buckets[i - 1].v, `buckets not cumulative at le=${buckets[i].le}`);
    assert.equal(buckets.at(-1).le, Infinity, "last bucket is le=\"+Inf\"");
    assert.equal(buckets.at(-1).v, metricValue(m.samples, "peat_rpc_latency_seconds_count", labels), "+Inf bucket == _count");
    const sum = metricValue(m.samples, "peat_rpc_latency_seconds_sum", labels);
    assert.ok(sum > 0 && sum < 60, `latency sum ${sum}`);

    // Gauges.
    for (const protocol of ["http1", "http2"]) {
      assert.notEqual(metricValue(m.samples, "peat_rpc_open_connections", { protocol }), undefined, `peat_rpc_open_connections{protocol="${protocol}"}`);
    }
    assert.ok(metricValue(m.samples, "peat_rpc_open_connections", { protocol: "http1" }) >= 1, "the scrape's own HTTP/1.1 connection is open");
    assert.notEqual(metricValue(m.samples, "peat_rpc_open_streams"), undefined, "peat_rpc_open_streams");
    // --auto-sync is on by default, so the phase is SYNCING: the metric shows what GetStatus shows.
    assert.equal(metricValue(m.samples, "peat_node_phase", { phase: "SYNCING" }), 1, "peat_node_phase{phase=\"SYNCING\"}");
    assert.equal(metricValue(m.samples, "peat_node_phase", { phase: "READY" }), 0, "peat_node_phase{phase=\"READY\"}");
  });

  for (const [kind, via] of [
    ["grpc-js", "tcp"],
    ["grpc-js", "unix"],
    ["cn-connect-json-h1", "tcp"],
  ]) {
    it(`grpc.health.v1.Health/Check via ${kind} over ${via}: SERVING for "" and the sidecar service, NOT_FOUND for an unknown one`, async () => {
      const c = makeClient(kind, node, via);
      try {
        for (const service of ["", SIDECAR]) {
          const r = await c.unary(HEALTH, "Check", { service }, { timeoutMs: 10_000 });
          assert.equal(r.ok, true, `Check(${JSON.stringify(service)}): ${r.code} ${r.errorMessage}`);
          assert.equal(r.message.status, "SERVING", `Check(${JSON.stringify(service)}): ${JSON.stringify(r.message)}`);
        }
        const r = await c.unary(HEALTH, "Check", { service: "no.such.v1.Service" }, { timeoutMs: 10_000 });
        assert.equal(r.ok, false, `Check(unknown) answered ${JSON.stringify(r.message)}`);
        assert.equal(r.code, "not_found", `Check(unknown): ${r.code} ${r.errorMessage}`);
      } finally {
        c.close();
      }
    });
  }

  it("grpc.health.v1.Health/Watch (grpc-js) first sends SERVING and stays open", async () => {
    const c = makeClient("grpc-js", node, "tcp");
    try {
      const h = c.openStream(HEALTH, "Watch", { service: "" });
      const [first] = await h.waitForMessages(1, 10_000);
      assert.equal(first.status, "SERVING", JSON.stringify(first));
      assert.equal(h.ended, false, `Watch ended early: ${JSON.stringify(h.error)}`);
      h.cancel();
      await h.done;
    } finally {
      c.close();
    }
  });
});

describe("signals", () => {
  const GRACE_S = 3;

  it(`SIGTERM: exit 0 within --shutdown-grace-secs (${GRACE_S} s), unix socket file removed, open Watch stream ended`, async (t) => {
    const node = await startNode({ args: ["--shutdown-grace-secs", String(GRACE_S)], t });
    assert.ok(fs.existsSync(node.unixPath), "unix socket file exists while running");
    const c = makeClient("grpc-js", node, "unix");
    t.after(() => c.close());
    const watch = c.openStream(HEALTH, "Watch", { service: "" });
    await watch.waitForMessages(1, 10_000);
    assert.equal(watch.ended, false, "Watch open before SIGTERM");

    const r = await signalAndWait(node, "SIGTERM", (GRACE_S + 5) * 1000);
    assert.equal(r.timedOut, false, `no exit within ${GRACE_S + 5} s of SIGTERM\n${node.stderrText}`);
    assert.equal(r.signal, null, `killed by ${r.signal}`);
    assert.equal(r.code, 0, `exit code after SIGTERM\n${node.stderrText}`);
    assert.ok(r.elapsedMs <= GRACE_S * 1000 + 1000, `exit took ${r.elapsedMs} ms, grace is ${GRACE_S} s`);
    assert.equal(fs.existsSync(node.unixPath), false, `unix socket ${node.unixPath} left behind`);
    const ended = await Promise.race([watch.done.then(() => true), new Promise((res) => setTimeout(() => res(false), 5000))]);
    assert.ok(ended, "Watch stream did not end after the server exited");
  });

  it("SIGINT: exit 0, unix socket file removed", async (t) => {
    const node = await startNode({ args: ["--shutdown-grace-secs", String(GRACE_S)], t });
    await getStatus(targetOf(node, "unix"));
    const r = await signalAndWait(node, "SIGINT", (GRACE_S + 5) * 1000);
    assert.equal(r.timedOut, false, `no exit within ${GRACE_S + 5} s of SIGINT\n${node.stderrText}`);
    assert.equal(r.signal, null, `killed by ${r.signal}`);
    assert.equal(r.code, 0, `exit code after SIGINT\n${node.stderrText}`);
    assert.ok(r.elapsedMs <= GRACE_S * 1000 + 1000, `exit took ${r.elapsedMs} ms, grace is ${GRACE_S} s`);
    assert.equal(fs.existsSync(node.unixPath), false, `unix socket ${node.unixPath} left behind`);
  });
});

describe("logging and configuration surface", () => {
  /** Asserts every non-empty stderr line is a JSON object with a string msg. */
  function assertJsonLines(stderr) {
    const lines = stderr.split("\n").filter((l) => l.length > 0);
    assert.ok(lines.length >= 3, `expected several log lines, got ${lines.length}:\n${stderr}`);
    for (const line of lines) {
      let o;
      try {
        o = JSON.parse(line);
      } catch (e) {
        assert.fail(`stderr line is not JSON (${e.message}): ${JSON.stringify(line)}`);
      }
      assert.ok(o && typeof o === "object" && !Array.isArray(o), `not a JSON object: ${line}`);
      assert.equal(typeof o.msg, "string", `no string "msg" field: ${line}`);
    }
    return lines.map((l) => JSON.parse(l));
  }

  it("--log-format json: every stderr line (startup, serving, shutdown) is a JSON object with a msg field", async (t) => {
    const node = await startNode({ args: ["--log-format", "json"], t });
    await getStatus(targetOf(node, "tcp"));
    const r = await node.stop("SIGTERM", 15_000);
    assert.equal(r.code, 0, r.stderr);
    const objs = assertJsonLines(r.stderr);
    assert.ok(objs.some((o) => /listening on tcp:\/\//.test(o.msg)), "a listening line");
  });

  it("PEAT_NODE_LOG_FORMAT=json is honoured without the flag, and --log-format beats it", async (t) => {
    const a = await spawnNodeExact({ argv: ["--listen", "tcp://127.0.0.1:0", "--data-dir", "{tmp}/data", "--disable-mdns"], env: { PEAT_NODE_LOG_FORMAT: "json" }, t });
    const ra = await a.stop("SIGTERM", 15_000);
    assert.equal(ra.code, 0, ra.stderr);
    assertJsonLines(ra.stderr);

    const b = await spawnNodeExact({ argv: ["--listen", "tcp://127.0.0.1:0", "--data-dir", "{tmp}/data", "--disable-mdns", "--log-format", "text"], env: { PEAT_NODE_LOG_FORMAT: "json" }, t });
    const rb = await b.stop("SIGTERM", 15_000);
    assert.equal(rb.code, 0, rb.stderr);
    for (const line of rb.stderr.split("\n").filter(Boolean)) assert.ok(!line.trimStart().startsWith("{"), `JSON line although --log-format text: ${line}`);
  });

  it("PEAT_NODE_LOG_FORMAT=\"\" counts as unset: the node starts (text logs) and serves", async (t) => {
    const node = await spawnNodeExact({ argv: ["--listen", "tcp://127.0.0.1:0", "--data-dir", "{tmp}/data", "--disable-mdns"], env: { PEAT_NODE_LOG_FORMAT: "" }, t });
    await getStatus(targetOf(node, "tcp"));
    assert.ok(!node.stderrText.trimStart().startsWith("{"), "default log format is text");
  });

  // Every flag of CONTRACT.md's configuration table, as PEAT_NODE_<UPPER_SNAKE> (peer → PEERS).
  const ENV_VARS = [
    "LISTEN", "DATA_DIR", "NODE_ID", "APP_ID", "SHARED_KEY", "ENCRYPTION_KEY", "PEERS", "AUTO_SYNC", "PRINT_CONFIG",
    "TOMBSTONE_TTL_HOURS", "GC_INTERVAL_SECS", "GC_BATCH_SIZE", "ATTACHMENT_ROOT", "ATTACHMENT_MAX_FILE_BYTES",
    "ATTACHMENT_MAX_BUNDLE_BYTES", "ATTACHMENT_MAX_FILES_PER_BUNDLE", "ATTACHMENT_MAX_NODE_LIST_LEN",
    "ATTACHMENT_MAX_CONCURRENT_DISTRIBUTIONS", "ATTACHMENT_DEFAULT_PRIORITY", "ATTACHMENT_DISCOVERY_GRACE_SECS",
    "ATTACHMENT_HANDLE_RETENTION_SECS", "ATTACHMENT_INBOX", "ATTACHMENT_INBOX_POLL_SECS", "ATTACHMENT_OUTBOX_WATCH",
    "ATTACHMENT_OUTBOX_POLL_SECS", "AGENT_ADDR", "AGENT_POLL_INTERVAL", "AGENT_TLS_CERT", "AGENT_TLS_KEY", "AGENT_TLS_CA",
    "DISABLE_MDNS", "ENABLE_KUBERNETES_DISCOVERY", "DISCOVERY_NAMESPACE", "DISCOVERY_LABEL_SELECTOR",
    "DISCOVERY_ANNOTATION_PREFIX", "DISCOVERY_INTERVAL_SECS", "RPC_DEFAULT_TIMEOUT_SECS", "RPC_MAX_TIMEOUT_SECS",
    "HTTP_HEADER_READ_TIMEOUT_SECS", "HTTP_MAX_CONNECTION_IDLE_SECS", "HTTP2_KEEPALIVE_INTERVAL_SECS",
    "HTTP2_KEEPALIVE_TIMEOUT_SECS", "HTTP2_MAX_CONCURRENT_STREAMS", "IROH_UDP_PORT", "LOG_FORMAT", "LOG_LEVEL",
    "MAX_MESSAGE_BYTES", "MAX_CONNECTIONS", "SHUTDOWN_GRACE_SECS",
  ];

  it("every PEAT_NODE_* variable set to the empty string counts as unset: the node starts and serves (LESSONS 18)", async (t) => {
    const env = Object.fromEntries(ENV_VARS.map((k) => [`PEAT_NODE_${k}`, ""]));
    // Flags on the command line would mask the env vars, so give only what a test must (port 0, temp dir).
    const node = await spawnNodeExact({ argv: ["--listen", "tcp://127.0.0.1:0", "--data-dir", "{tmp}/data"], env, t });
    const s = await getStatus(targetOf(node, "tcp"));
    assert.match(s.nodeId ?? "", UUID_V4, `nodeId with PEAT_NODE_NODE_ID="" should be a random UUIDv4: ${JSON.stringify(s)}`);
    assert.match(s.endpointAddr ?? "", HEX64);
  });

  it("--print-config logs the effective configuration; --shared-key and --encryption-key values never appear in stderr", async (t) => {
    const sharedKey = crypto.randomBytes(32);
    const encKey = crypto.randomBytes(32);
    const node = await startNode({
      args: ["--print-config", "--shared-key", sharedKey.toString("base64"), "--encryption-key", encKey.toString("base64"), "--node-id", "cfg-node", "--max-message-bytes", "123457"],
      t,
    });
    await getStatus(targetOf(node, "tcp"));
    const r = await node.stop("SIGTERM", 15_000);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stderr + node.stdoutText;
    // The config was logged: our distinctive values and the secret flags' names show up.
    assert.match(out, /123457/, "--print-config did not log max-message-bytes");
    assert.match(out, /shared.key/i, "--print-config did not mention shared-key");
    assert.match(out, /encryption.key/i, "--print-config did not mention encryption-key");
    for (const [name, key] of [
      ["shared key", sharedKey],
      ["encryption key", encKey],
    ]) {
      for (const form of [key.toString("base64"), key.toString("base64url"), key.toString("hex"), key.toString("base64").slice(0, 16)]) {
        assert.ok(!out.includes(form), `${name} appears in the logs (as ${JSON.stringify(form)})`);
      }
    }
  });

  // [flag, invalid value, pattern the error must contain]
  const INVALID = [
    ["--shared-key", "notbase64", /--shared-key/],
    ["--shared-key", Buffer.alloc(16).toString("base64"), /--shared-key/],
    ["--encryption-key", "notbase64", /--encryption-key/],
    ["--encryption-key", Buffer.alloc(33).toString("base64"), /--encryption-key/],
    ["--listen", "unix://relative", /--listen/],
    ["--listen", "tcp://127.0.0.1:99999", /--listen/],
    ["--log-format", "xml", /--log-format/],
    ["--log-level", "loud", /--log-level/],
    ["--peer", "garbage", /--peer/],
    ["--auto-sync", "maybe", /--auto-sync/],
    ["--attachment-root", "noequals", /--attachment-root/],
    ["--attachment-default-priority", "urgent", /--attachment-default-priority/],
    ["--max-message-bytes", "abc", /--max-message-bytes/],
    ["--max-connections", "-1", /--max-connections/],
    ["--http-header-read-timeout-secs", "abc", /--http-header-read-timeout-secs/],
    ["--http2-max-concurrent-streams", "abc", /--http2-max-concurrent-streams/],
    ["--shutdown-grace-secs", "abc", /--shutdown-grace-secs/],
    ["--iroh-udp-port", "70000", /--iroh-udp-port/],
    ["--agent-addr", "agent:8080", /--agent-addr/],
    ["--agent-addr", "http://agent:8080/api", /--agent-addr/],
    ["--agent-addr", "http://agent:0", /--agent-addr/],
  ];

  it("an invalid flag value exits with code 2 and stderr names the flag", async (t) => {
    const dir = tempDir(t);
    for (const [flag, value, re] of INVALID) {
      const r = await runBinary(["--listen", "tcp://127.0.0.1:0", "--data-dir", path.join(dir, "data"), flag, value], { cwd: dir });
      assert.equal(r.timedOut, false, `${flag} ${value}: the node started instead of rejecting the value`);
      assert.equal(r.code, 2, `${flag} ${value}: exit code ${r.code}; stderr: ${r.stderr}`);
      assert.match(r.stderr, re, `${flag} ${value}: stderr does not name the flag: ${r.stderr}`);
    }
  });

  it("an invalid PEAT_NODE_* value exits with code 2 and stderr names the flag or variable", async (t) => {
    const dir = tempDir(t);
    for (const [flag, value, re] of INVALID) {
      if (flag === "--listen") continue; // the test itself must pass --listen (port 0), which beats the env var
      const name = `PEAT_NODE_${flag.slice(2).toUpperCase().replaceAll("-", "_")}${flag === "--peer" ? "S" : ""}`;
      const r = await runBinary(["--listen", "tcp://127.0.0.1:0", "--data-dir", path.join(dir, "data")], { env: { [name]: value }, cwd: dir });
      assert.equal(r.timedOut, false, `${name}=${value}: the node started instead of rejecting the value`);
      assert.equal(r.code, 2, `${name}=${value}: exit code ${r.code}; stderr: ${r.stderr}`);
      assert.ok(re.test(r.stderr) || r.stderr.includes(name), `${name}=${value}: stderr names neither the flag nor the variable: ${r.stderr}`);
    }
  });

  it("a half-configured agent TLS setup is a startup error, not a silent plaintext fallback (LESSONS 19)", async (t) => {
    const dir = tempDir(t);
    const pem = path.join(dir, "x.pem");
    fs.writeFileSync(pem, "not really a certificate\n");
    for (const extra of [["--agent-tls-cert", pem], ["--agent-tls-key", pem]]) {
      const r = await runBinary(["--listen", "tcp://127.0.0.1:0", "--data-dir", path.join(dir, "data"), "--agent-addr", "https://127.0.0.1:9", ...extra], { cwd: dir });
      assert.equal(r.timedOut, false, `${extra[0]} alone: the node started`);
      assert.notEqual(r.code, 0, `${extra[0]} alone: exit code ${r.code}`);
      assert.match(r.stderr, /agent-tls/, `${extra[0]} alone: stderr does not name the TLS flags: ${r.stderr}`);
    }
    // Complete flags, but bad files or a plaintext address: still exit 2 at startup (WATCHER.md §2).
    const { makeCerts } = await import("./lib/fake_agent.mjs");
    const certs = makeCerts(path.join(dir, "pki"));
    const good = ["--agent-tls-cert", certs.clientCert, "--agent-tls-key", certs.clientKey, "--agent-tls-ca", certs.ca];
    const cases = [
      ["http:// with TLS flags", "http://127.0.0.1:9", good, /--agent-tls-cert.*https/],
      ["unreadable cert", "https://127.0.0.1:9", ["--agent-tls-cert", path.join(dir, "missing.pem"), ...good.slice(2)], /--agent-tls-cert/],
      ["bad PEM CA", "https://127.0.0.1:9", [...good.slice(0, 4), "--agent-tls-ca", pem], /--agent-tls-ca/],
      ["key of another cert", "https://127.0.0.1:9", [...good.slice(0, 2), "--agent-tls-key", certs.otherClientKey], /--agent-tls-key/],
    ];
    for (const [what, addr, extra, re] of cases) {
      const r = await runBinary(["--listen", "tcp://127.0.0.1:0", "--data-dir", path.join(dir, "data"), "--agent-addr", addr, ...extra], { cwd: dir });
      assert.equal(r.timedOut, false, `${what}: the node started`);
      assert.equal(r.code, 2, `${what}: exit code ${r.code}; stderr: ${r.stderr}`);
      assert.match(r.stderr, re, `${what}: stderr does not name the flag: ${r.stderr}`);
    }
  });

  it("--version prints a version and exits 0", async () => {
    const r = await runBinary(["--version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /\b\d+\.\d+\.\d+\b/, `no version in: ${r.stdout} ${r.stderr}`);
  });
});

describe("identity", () => {
  it("the node id and endpoint id survive a restart with the same data dir", async (t) => {
    const dataDir = path.join(tempDir(t), "data");
    const a = await startNode({ args: ["--data-dir", dataDir], t });
    const s1 = await getStatus(targetOf(a, "tcp"));
    assert.match(s1.nodeId ?? "", UUID_V4, `default node id is a random UUIDv4: ${JSON.stringify(s1)}`);
    assert.match(s1.endpointAddr ?? "", HEX64);
    const ra = await a.stop("SIGTERM", 15_000);
    assert.equal(ra.code, 0, ra.stderr);

    const b = await startNode({ args: ["--data-dir", dataDir], t });
    const s2 = await getStatus(targetOf(b, "tcp"));
    assert.equal(s2.nodeId, s1.nodeId, "nodeId changed across restart");
    assert.equal(s2.endpointAddr, s1.endpointAddr, "endpointAddr changed across restart");

    // A different data dir is a different node.
    const c = await startNode({ t });
    const s3 = await getStatus(targetOf(c, "tcp"));
    assert.notEqual(s3.nodeId, s1.nodeId, "two data dirs share a node id");
    assert.notEqual(s3.endpointAddr, s1.endpointAddr, "two data dirs share an endpoint id");
  });

  for (const [key, nodeId, expected] of [
    ["KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=", "node-a", "4229afe8d9c12d0acfd98cb56d4e2edd0e844442651a70a6995c2ed7ef100684"],
    ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "attach-b", "70de0ba0781a5e9698106335b7fa8733813db4063c110a375f0c5ed798f4e6f9"],
  ]) {
    it(`--shared-key + --node-id ${nodeId}: GetStatus endpointAddr equals derive-id's output`, async (t) => {
      const d = await runBinary(["derive-id", "--shared-key", key, "--node-id", nodeId]);
      assert.equal(d.code, 0, d.stderr);
      const derived = d.stdout.trim();
      assert.equal(derived, expected, "derive-id known answer");
      const node = await startNode({ args: ["--shared-key", key, "--node-id", nodeId], t });
      const s = await getStatus(targetOf(node, "unix"));
      assert.equal(s.endpointAddr, derived, "endpointAddr vs derive-id");
      assert.equal(s.nodeId, nodeId, "nodeId");
    });
  }
});
