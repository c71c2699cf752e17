// The `peat` CLI (issue 14, docs/CLI.md) against real nodes: every command, every output format
// (text compared with golden files in tests/integration/golden/cli/, volatile fields normalised),
// every exit code (0 ok, 1 unreachable / RPC error, 2 auth, 3 not found, 4 malformed input, 130
// SIGINT during observe and attach watch), over TCP and the unix socket, --help everywhere and
// the bash completion script.
//
// The peat binary is the one beside PEAT_NODE_BIN (build/peat), or PEAT_BIN.
// Regenerate the golden files after an intended change of the text output:
//   PEAT_UPDATE_GOLDEN=1 PEAT_NODE_BIN=build/peat-node node --test tests/integration/cli.test.mjs
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/cli.test.mjs

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { REPO_ROOT, nodeBinary, startNode } from "./lib/node_process.mjs";

const PEAT = process.env.PEAT_BIN ? path.resolve(REPO_ROOT, process.env.PEAT_BIN) : path.join(path.dirname(nodeBinary()), "peat");
const GOLDEN_DIR = path.join(REPO_ROOT, "tests/integration/golden/cli");
const UPDATE = process.env.PEAT_UPDATE_GOLDEN === "1";

// CONTRACT.md "Identity": fixed identities, so status and peers are the same on every run.
const KEY = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio="; // 32 × 0x2a
const ID_A = "4229afe8d9c12d0acfd98cb56d4e2edd0e844442651a70a6995c2ed7ef100684"; // node-a
const ID_B = "f0782d206a443de24a744a6682851c11b71813fd1c03c9447ddecd9a5e9df279"; // node-b

function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PEAT_NODE_")) env[k] = v;
  return { ...env, ...extra };
}

/** Runs peat to completion: {code, signal, stdout, stderr}. */
function peat(args, { input = "", env = {}, timeoutMs = 20_000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(PEAT, args, { env: childEnv(env), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", reject);
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    p.stdin.on("error", () => {});
    p.stdin.end(input);
  });
}

/** peat that must exit 0; returns stdout. */
async function ok(args, opts) {
  const r = await peat(args, opts);
  assert.equal(r.code, 0, `peat ${args.join(" ")} exited ${r.code} (${r.signal}): ${r.stderr}`);
  assert.equal(r.stderr, "", `peat ${args.join(" ")} wrote to stderr`);
  return r.stdout;
}

/** A long-running peat (observe, watch): lines as they arrive, waitFor(pred), interrupt(). */
function peatStream(args) {
  const p = spawn(PEAT, args, { env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
  const s = { stdout: "", stderr: "", waiters: new Set() };
  s.exited = new Promise((resolve) => p.on("close", (code, signal) => resolve({ code, signal })));
  const wake = () => {
    for (const w of s.waiters) w();
  };
  p.stdout.on("data", (d) => {
    s.stdout += d;
    wake();
  });
  p.stderr.on("data", (d) => (s.stderr += d));
  s.waitFor = (pred, what, timeoutMs = 10_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (!pred(s.stdout)) return false;
        clearTimeout(timer);
        s.waiters.delete(check);
        resolve(s.stdout);
        return true;
      };
      const timer = setTimeout(() => {
        s.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; stdout so far:\n${s.stdout}\nstderr:\n${s.stderr}`));
      }, timeoutMs);
      s.waiters.add(check);
      check();
    });
  s.signal = (sig) => p.kill(sig);
  s.kill = () => p.kill("SIGKILL");
  return s;
}

/** Every line of text output fits 80 columns (code points). */
function assertFits(text) {
  for (const line of text.split("\n")) assert.ok([...line].length <= 80, `line wider than 80 columns: ${JSON.stringify(line)}`);
}

const normalise = (text) =>
  text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<UUID>")
    .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<PORT>")
    .replace(/\/tmp\/[^\s"']+/g, "<TMP>");

/** Compares text output with golden/cli/<name>.txt (after normalise); PEAT_UPDATE_GOLDEN=1 writes it. */
function golden(name, text, { fits = true } = {}) {
  if (fits) assertFits(text);
  const file = path.join(GOLDEN_DIR, `${name}.txt`);
  const actual = normalise(text);
  if (UPDATE) {
    fs.mkdirSync(GOLDEN_DIR, { recursive: true });
    fs.writeFileSync(file, actual);
    return;
  }
  assert.ok(fs.existsSync(file), `golden file ${path.relative(REPO_ROOT, file)} is missing (PEAT_UPDATE_GOLDEN=1 writes it)`);
  assert.equal(actual, fs.readFileSync(file, "utf8"), `text output differs from ${path.relative(REPO_ROOT, file)}`);
}

const ndjson = (text) => text.trimEnd().split("\n").filter(Boolean).map((l) => JSON.parse(l));

describe("peat CLI", () => {
  let a; // node-a: TCP + unix socket, attachment root
  let tcp;
  let unix;
  let files;

  before(async () => {
    assert.ok(fs.existsSync(PEAT), `peat binary not found at ${PEAT} (build the target peat, or set PEAT_BIN)`);
    files = fs.mkdtempSync(path.join(os.tmpdir(), "peat-cli-files-"));
    fs.writeFileSync(path.join(files, "hello.txt"), "hello, formation\n");
    a = await startNode({
      args: ["--shared-key", KEY, "--node-id", "node-a", "--mesh-listen", "tcp://127.0.0.1:0", "--attachment-root", `files=${files}`],
    });
    tcp = ["--node", a.tcpAddr];
    unix = ["--node", `unix:${a.unixPath}`];
  });
  after(async () => {
    await a?.kill();
    if (files) fs.rmSync(files, { recursive: true, force: true });
  });

  describe("status", () => {
    it("text (golden) over TCP and the unix socket, the same", async () => {
      const viaTcp = await ok([...tcp, "status"]);
      golden("status", viaTcp);
      assert.equal(await ok([...unix, "status"]), viaTcp);
      assert.equal(await ok(["status"], { env: { PEAT_NODE_ADDR: `unix:${a.unixPath}` } }), viaTcp, "PEAT_NODE_ADDR");
    });
    it("json and ndjson: the GetStatus answer with defaults printed", async () => {
      const pretty = await ok([...tcp, "status", "-o", "json"]);
      assert.match(pretty, /^\{\n  "nodeId": "node-a",\n/);
      const one = ndjson(await ok([...unix, "status", "--output", "ndjson"]));
      assert.equal(one.length, 1);
      assert.deepEqual(one[0], JSON.parse(pretty));
      assert.deepEqual(one[0], { nodeId: "node-a", endpointAddr: ID_A, syncActive: true, connectedPeers: 0, phase: "NODE_PHASE_SYNCING" });
    });
  });

  describe("documents", () => {
    it("put from an argument, --file and stdin; get in every format (golden text)", async () => {
      const file = path.join(files, "doc.json");
      fs.writeFileSync(file, '{"type":"car","fuel":0.3,"crew":["ann","bo"]}');
      golden("put", await ok([...tcp, "put", "vehicles", "v-1", '{"type":"truck","fuel":0.8,"pos":{"lat":51.5,"lon":-0.1}}']));
      assert.equal(await ok([...unix, "put", "vehicles", "v-2", "--file", file]), "put vehicles/v-2\n");
      assert.equal(await ok([...tcp, "put", "vehicles", "v-3"], { input: '{"type":"truck","fuel":0.1}' }), "put vehicles/v-3\n");
      assert.equal(await ok([...tcp, "put", "vehicles", "v-4", "-", "-o", "json"], { input: '{"type":"bike","note":"' + "x".repeat(120) + '"}' }), "{}\n");
      golden("get", await ok([...tcp, "get", "vehicles", "v-1"]));
      const want = { collection: "vehicles", docId: "v-2", document: { crew: ["ann", "bo"], fuel: 0.3, type: "car" } };
      assert.deepEqual(JSON.parse(await ok([...tcp, "get", "vehicles", "v-2", "-o", "json"])), want);
      assert.deepEqual(ndjson(await ok([...unix, "get", "vehicles", "v-2", "-o", "ndjson"])), [want]);
    });

    it("query: all, --where, --any, --query; text (golden, long documents cut at 80 columns), json, ndjson", async () => {
      golden("query", await ok([...tcp, "query", "vehicles"]));
      golden("query_where", await ok([...tcp, "query", "vehicles", "--where", "type=truck", "-w", "fuel>0.5"]));
      const any = ndjson(await ok([...tcp, "query", "vehicles", "-w", "type=car", "-w", "type=bike", "--any", "-o", "ndjson"]));
      assert.deepEqual(any.map((r) => r.docId), ["v-2", "v-4"]);
      const nested = JSON.parse(await ok([...unix, "query", "vehicles", "--query", '{"lt":{"field":"pos.lon","value":"0"}}', "-o", "json"]));
      assert.deepEqual(nested, [{ collection: "vehicles", docId: "v-1", document: { fuel: 0.8, pos: { lat: 51.5, lon: -0.1 }, type: "truck" } }]);
      assert.equal(await ok([...tcp, "query", "nothing-here", "-o", "json"]), "[]\n");
      assert.equal(await ok([...tcp, "query", "nothing-here", "-o", "ndjson"]), "");
    });

    it("delete, then get exits 3 (not found); delete again is still ok", async () => {
      golden("delete", await ok([...tcp, "delete", "vehicles", "v-3"]));
      const r = await peat([...tcp, "get", "vehicles", "v-3"]);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, "peat: GetDocument: NOT_FOUND: no document 'v-3' in collection 'vehicles'\n");
      assert.equal(await ok([...tcp, "delete", "vehicles", "v-3", "-o", "ndjson"]), "{}\n");
    });

    it("malformed input exits 4: bad JSON, not an object, a bad --where, the node's INVALID_ARGUMENT", async () => {
      for (const [args, input, re] of [
        [["put", "vehicles", "x", "{bad"], "", /^peat: put: INVALID_ARGUMENT: the document is not valid JSON: /],
        [["put", "vehicles", "x"], "[1,2]", /^peat: put: INVALID_ARGUMENT: the document must be a JSON object, got array\n$/],
        [["query", "vehicles", "-w", "fuel"], "", /^peat: query: INVALID_ARGUMENT: --where 'fuel': no operator/],
        [["query", "vehicles", "--query", "{}"], "", /^peat: query: INVALID_ARGUMENT: query: no condition set/],
        [["put", "", "x", "{}"], "", /^peat: PutDocument: INVALID_ARGUMENT: .*collection/],
        [["get", "vehicles", "x", "-o", "yaml"], "", /^peat: .*yaml.* \(see peat get --help\)\n$/],
        [["--node", "unix:relative.sock", "status"], "", /^peat: --node: invalid node address 'unix:relative.sock'/],
      ]) {
        const r = await peat([...tcp, ...args], { input });
        assert.equal(r.code, 4, `${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
        assert.match(r.stderr, re, args.join(" "));
        assert.equal(r.stdout, "");
      }
    });
  });

  describe("observe", () => {
    it("snapshot then live changes until SIGINT, which exits 130 (text golden)", async () => {
      await ok([...tcp, "put", "fleet", "f-1", '{"n":1}']);
      const s = peatStream([...tcp, "observe", "fleet"]);
      try {
        await s.waitFor((o) => o.includes("fleet/f-1"), "the snapshot");
        await ok([...unix, "put", "fleet", "f-2", '{"n":2,"long":"' + "y".repeat(100) + '"}']);
        await ok([...tcp, "delete", "fleet", "f-1"]);
        await s.waitFor((o) => o.includes("DELETE  fleet/f-1"), "the live delete");
        s.signal("SIGINT");
        const exit = await s.exited;
        assert.equal(exit.code, 130, `exit ${JSON.stringify(exit)}: ${s.stderr}`);
        assert.equal(s.stderr, "");
        golden("observe", s.stdout);
      } finally {
        s.kill();
      }
    });

    it("--since-now skips the current documents; ndjson events; --where filters; SIGTERM also exits 130", async () => {
      const s = peatStream([...unix, "observe", "fleet", "--since-now", "-o", "ndjson", "-w", "n>1"]);
      try {
        // f-2 exists already (skipped); f-3 matches; f-4 does not (n = 0).
        await waitUntilSubscribed(s, tcp);
        await ok([...tcp, "put", "fleet", "f-4", '{"n":0}']);
        await ok([...tcp, "put", "fleet", "f-3", '{"n":3}']);
        await s.waitFor((o) => o.includes('"f-3"'), "f-3");
        s.signal("SIGTERM");
        assert.equal((await s.exited).code, 130);
        const events = ndjson(s.stdout).filter((e) => e.collection === "fleet" && !e.docId.startsWith("probe-"));
        assert.deepEqual(events, [{ changeType: "UPSERT", collection: "fleet", docId: "f-3", document: { n: 3 } }]);
      } finally {
        s.kill();
      }
    });

    it("--since-now without collections is malformed input (4)", async () => {
      const r = await peat([...tcp, "observe", "--since-now"]);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /--since-now needs the collections/);
    });
  });

  describe("peers and sync", () => {
    let b;
    before(async () => {
      b = await startNode({ unix: false, args: ["--shared-key", KEY, "--node-id", "node-b", "--mesh-listen", "tcp://127.0.0.1:0"] });
      await b.waitForLine(() => b.meshListeners.length > 0, 10_000, "node-b's mesh listener");
    });
    after(async () => b?.kill());

    it("sync stats / stop / start (golden text) and json", async () => {
      golden("sync_stats", await ok(["--node", b.tcpAddr, "sync", "stats"]));
      golden("sync_stop", await ok(["--node", b.tcpAddr, "sync", "stop"]));
      assert.equal(JSON.parse(await ok(["--node", b.tcpAddr, "sync", "stats", "-o", "json"])).syncActive, false);
      assert.equal(await ok(["--node", b.tcpAddr, "sync", "start", "-o", "ndjson"]), "{}\n");
      assert.equal(ndjson(await ok(["--node", b.tcpAddr, "sync", "stats", "-o", "ndjson"]))[0].syncActive, true);
    });

    it("peers connect, list until connected (golden), disconnect", async () => {
      const meshAddr = b.meshListeners[0].replace(/^tcp:\/\//, "");
      golden("peers_connect", await ok([...tcp, "peers", "connect", ID_B, meshAddr]));
      const deadline = Date.now() + 15_000;
      let peers;
      for (;;) {
        peers = ndjson(await ok([...tcp, "peers", "list", "-o", "ndjson"]));
        if (peers.some((p) => p.endpointId === ID_B && p.connected)) break;
        assert.ok(Date.now() < deadline, `node-b never connected: ${JSON.stringify(peers)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      golden("peers_list", await ok([...unix, "peers", "list"]));
      assert.deepEqual(JSON.parse(await ok([...tcp, "peers", "list", "-o", "json"])).peers.map((p) => p.endpointId), [ID_B]);
      assert.match(await ok([...tcp, "status"]), /peers +1 connected/);
      golden("peers_disconnect", await ok([...tcp, "peers", "disconnect", ID_B]));
      const bad = await peat([...tcp, "peers", "connect", "not-an-id"]);
      assert.equal(bad.code, 4, bad.stderr);
      assert.match(bad.stderr, /^peat: ConnectPeer: INVALID_ARGUMENT: /);
    });
  });

  describe("attach", () => {
    it("send (golden), status (golden), watch until settled, cancel; json and ndjson", async () => {
      const sent = await ok([...tcp, "attach", "send", "--root", "files", "--dir", files, "hello.txt", "--bundle-id", "cli-bundle-1"]);
      golden("attach_send", sent);
      const handles = JSON.parse(await ok([...tcp, "attach", "send", "--root", "files", "--dir", files, "hello.txt", "--bundle-id", "cli-bundle-2", "-o", "json", "--priority", "critical"]));
      assert.equal(handles.bundleId, "cli-bundle-2");
      const dist = handles.handles[0].distributionId;
      // No other node: the distribution settles at once.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const st = ndjson(await ok([...unix, "attach", "status", dist, "-o", "ndjson"]))[0];
        if (st.status === "DISTRIBUTION_STATUS_COMPLETED") break;
        assert.ok(Date.now() < deadline, `distribution never completed: ${JSON.stringify(st)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      golden("attach_status", await ok([...tcp, "attach", "status", dist]));
      const watched = await ok([...tcp, "attach", "watch", "cli-bundle-2", "-o", "ndjson"]);
      assert.ok(ndjson(watched).some((p) => p.distributionId === dist && p.status === "DISTRIBUTION_STATUS_COMPLETED"), watched);
      golden("attach_watch", await ok([...tcp, "attach", "watch", "cli-bundle-2"]));
      golden("attach_cancel", await ok([...tcp, "attach", "cancel", dist]));
      assert.deepEqual(JSON.parse(await ok([...tcp, "attach", "cancel", dist, "-o", "json"])), { wasCancelled: false });
      const missing = await peat([...tcp, "attach", "status", "no-such-distribution"]);
      assert.equal(missing.code, 3, missing.stderr);
      assert.match(missing.stderr, /^peat: GetAttachmentDistribution: NOT_FOUND: /);
      const noFile = await peat([...tcp, "attach", "send", "--root", "files", "--dir", files, "missing.bin"]);
      assert.equal(noFile.code, 4, noFile.stderr);
    });

    it("a node without --attachment-root answers UNIMPLEMENTED: exit 1 naming the RPC", async (t) => {
      const plain = await startNode({ unix: false, t });
      const r = await peat(["--node", plain.tcpAddr, "attach", "status", "x"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "peat: GetAttachmentDistribution: UNIMPLEMENTED: GetAttachmentDistribution requires --attachment-root to be configured\n");
    });
  });

  describe("configs", () => {
    it("lists collection configs (golden text, json, ndjson)", async () => {
      golden("configs_empty", await ok([...tcp, "configs"]));
      for (const body of [
        '{"config":{"collection":"audit","deletionPolicy":"DELETION_POLICY_IMMUTABLE"}}',
        '{"config":{"collection":"scratch","deletionPolicy":"DELETION_POLICY_TOMBSTONE","tombstoneTtlSecs":"3600"}}',
      ]) {
        const res = await fetch(`${a.baseUrl}/peat.sidecar.v1.PeatSidecar/SetCollectionConfig`, { method: "POST", headers: { "content-type": "application/json" }, body });
        assert.equal(res.status, 200, await res.text());
      }
      golden("configs", await ok([...unix, "configs"]));
      assert.deepEqual(JSON.parse(await ok([...tcp, "configs", "-o", "json"])).configs.map((c) => c.collection), ["audit", "scratch"]);
      assert.equal(ndjson(await ok([...tcp, "configs", "-o", "ndjson"])).length, 2);
    });
  });

  describe("console", () => {
    it("forwards a loopback port to the node's unix socket: the console, an RPC and the mesh JSON through it; SIGINT exits 130", async () => {
      const s = peatStream([...unix, "console", "-o", "json"]);
      try {
        const out = await s.waitFor((o) => o.trimEnd().endsWith("}"), "the console's URL");
        const info = JSON.parse(out);
        assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+\/console\/$/);
        assert.equal(info.node, `unix:${a.unixPath}`);
        assert.match(info.endpointId, /^[0-9a-f]{64}$/);
        const base = info.url.replace(/console\/$/, "");
        // Whatever the node answers at /console/ (the page, or "built without" in a -DPEAT_CONSOLE=OFF
        // build) comes through unchanged, with the node's security headers.
        const page = await fetch(info.url);
        assert.ok([200, 404].includes(page.status), `status ${page.status}`);
        assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
        const put = await fetch(`${base}peat.sidecar.v1.PeatSidecar/PutDocument`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ collection: "via-forward", doc_id: "d1", json_data: '{"ok":true}' }),
        });
        assert.equal(put.status, 200, await put.text());
        assert.deepEqual(JSON.parse(await ok([...tcp, "get", "via-forward", "d1"])), { ok: true });
        const mesh = await (await fetch(`${base}console/api/mesh`)).json();
        assert.equal(mesh.node_id, info.endpointId);
        assert.deepEqual(mesh.collections.find((c) => c.name === "via-forward"), { name: "via-forward", documents: 1 });
        s.signal("SIGINT");
        const exit = await s.exited;
        assert.equal(exit.code, 130, `exit ${JSON.stringify(exit)}: ${s.stderr}`);
      } finally {
        s.kill();
      }
    });

    it("refuses a non-loopback --listen (4) and an unreachable node (1) before listening", async () => {
      const wide = await peat([...unix, "console", "--listen", "0.0.0.0:0"]);
      assert.equal(wide.code, 4, wide.stderr);
      assert.match(wide.stderr, /^peat: console --listen: INVALID_ARGUMENT: '0\.0\.0\.0:0' is not a loopback address/);
      const gone = await peat(["--node", "unix:/nonexistent/api.sock", "console"]);
      assert.equal(gone.code, 1, gone.stderr);
      assert.match(gone.stderr, /^peat: GetStatus: UNAVAILABLE: cannot connect to unix:\/nonexistent\/api.sock/);
    });
  });

  describe("exit codes without a node", () => {
    it("an unreachable node exits 1 naming the RPC, the code and the address", async () => {
      const r = await peat(["--node", "127.0.0.1:1", "status"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "peat: GetStatus: UNAVAILABLE: cannot connect to 127.0.0.1:1: Connection refused\n");
      const u = await peat(["--node", "unix:/nonexistent/api.sock", "peers", "list"]);
      assert.equal(u.code, 1);
      assert.match(u.stderr, /^peat: ListPeers: UNAVAILABLE: cannot connect to unix:\/nonexistent\/api.sock: /);
    });

    it("UNAUTHENTICATED and PERMISSION_DENIED exit 2; a node that does not answer exits 1 after --timeout", async (t) => {
      let mode = "permission_denied";
      const server = http.createServer((req, res) => {
        if (mode === "hang") return; // never answers
        res.writeHead(mode === "unauthenticated" ? 401 : 403, { "content-type": "application/json" });
        res.end(JSON.stringify({ code: mode, message: "token required" }));
      });
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      t.after(() => server.close());
      server.unref();
      const node = ["--node", `127.0.0.1:${server.address().port}`];
      let r = await peat([...node, "status"]);
      assert.equal(r.code, 2);
      assert.equal(r.stderr, "peat: GetStatus: PERMISSION_DENIED: token required\n");
      mode = "unauthenticated";
      r = await peat([...node, "get", "c", "d"]);
      assert.equal(r.code, 2);
      assert.equal(r.stderr, "peat: GetDocument: UNAUTHENTICATED: token required\n");
      mode = "hang";
      r = await peat([...node, "--timeout", "0.3", "status"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^peat: GetStatus: DEADLINE_EXCEEDED: .*no answer within 300 ms\n$/);
      server.closeAllConnections?.();
    });

    it("derive-id matches CONTRACT.md's vectors (text, json); a bad key exits 4", async () => {
      assert.equal(await ok(["derive-id", "--shared-key", KEY, "--node-id", "node-b"]), `${ID_B}\n`);
      assert.deepEqual(JSON.parse(await ok(["derive-id", "--shared-key", KEY, "--node-id", "node-a", "-o", "json"])), { endpointId: ID_A, nodeId: "node-a" });
      const r = await peat(["derive-id", "--shared-key", "AAAA", "--node-id", "n"]);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /^peat derive-id: .*shared/);
    });
  });

  describe("help and completion", () => {
    const COMMANDS = [
      [], ["status"], ["peers"], ["peers", "list"], ["peers", "connect"], ["peers", "disconnect"], ["sync"], ["sync", "start"], ["sync", "stop"], ["sync", "stats"],
      ["query"], ["get"], ["put"], ["delete"], ["observe"], ["attach"], ["attach", "send"], ["attach", "status"], ["attach", "watch"], ["attach", "cancel"],
      ["configs"], ["console"], ["derive-id"], ["completion"],
    ];
    it("--help for every command and subcommand exits 0 with its usage (top level: golden)", async () => {
      for (const cmd of COMMANDS) {
        const out = await ok([...cmd, "--help"]);
        assert.ok(out.includes(`Usage: peat${cmd.length ? " " + cmd.join(" ") : ""}`) || out.includes(`Usage: ${cmd.at(-1)}`), `${cmd.join(" ")} --help:\n${out}`);
        assert.match(out, /Exit codes: 0 ok; 1 error/);
        if (cmd.length === 0) golden("help", out, { fits: false }); // CLI11 does not wrap help text
      }
    });
    it("completion bash is valid bash (and shellcheck-clean when shellcheck is installed) and completes subcommands", async (t) => {
      const script = await ok(["completion", "bash"]);
      const syntax = spawnSync("bash", ["-n"], { input: script });
      assert.equal(syntax.status, 0, String(syntax.stderr));
      const sc = spawnSync("shellcheck", ["-s", "bash", "-"], { input: script });
      if (sc.error) t.diagnostic("SKIPPED shellcheck: not installed");
      else assert.equal(sc.status, 0, String(sc.stdout));
      const complete = (words) =>
        spawnSync("bash", ["-c", `${script}\nCOMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _peat; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: "utf8" }).stdout.trim().split("\n");
      assert.deepEqual(complete("peat pe"), ["peers"]);
      assert.deepEqual(complete("peat peers ''").filter((w) => !w.startsWith("-")).sort(), ["connect", "disconnect", "list"]);
      assert.ok(complete("peat observe --si").includes("--since-now"));
    });
  });
});

/** Puts probe docs into `fleet` until the observer shows one: the subscription is then live. */
async function waitUntilSubscribed(s, node) {
  const deadline = Date.now() + 10_000;
  for (let i = 0; ; i++) {
    await ok([...node, "put", "fleet", `probe-${i}`, '{"n":100}']);
    try {
      await s.waitFor((o) => o.includes(`"probe-${i}"`), "a probe", 200);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
  }
}
