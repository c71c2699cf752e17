// Startup safety (issue 17): what a new user trips over before the first request.
//
// - One node per data dir: a second node on it exits 2 at once naming the first one's pid; a
//   LOCK file left by a kill -9'd node does not block a restart.
// - A unix socket is never taken from a live server; a stale one (kill -9) is replaced; a regular
//   file at the path is never removed.
// - The data dir is 0700 and every file in it 0600 (SQLite's -wal/-shm included); existing ones
//   are tightened at start, with one log line; the socket gets --unix-socket-mode (default 0660).
// - A --data-dir that cannot be created exits 2 naming --data-dir; a --listen or --mesh-listen port
//   another process holds exits 2 naming the flag.
// - Errors that teach: the nearest flag for a mistyped one; the recipe for a key.
// - The phase logged is the phase GetStatus and /metrics report, and changes are logged.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/startup_safety.test.mjs

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { describe, it } from "node:test";
import { makeClient } from "./lib/clients.mjs";
import { makeDataDir, ok, startNodeOn } from "./lib/documents.mjs";
import { PHASE_READY, PHASE_SYNCING, waitFor } from "./lib/mesh_cluster.mjs";
import { startNode } from "./lib/node_process.mjs";
import { httpGet, metricValue, runNodeBinary, scrapeMetrics, spawnNodeExact } from "./lib/raw.mjs";

/** Permission bits of a path (lstat: a socket or symlink itself, never its target). */
const modeOf = (p) => fs.lstatSync(p).mode & 0o7777;
const octal = (m) => `0${m.toString(8).padStart(3, "0")}`;

/** Runs peat-node to completion with an API on 127.0.0.1:0 (never a fixed port) and `args`. */
const runOnce = (args, opts) => runNodeBinary(["--listen", "tcp://127.0.0.1:0", "--disable-mdns", ...args], opts);

function assertRefusedQuickly(r, re, what) {
  assert.equal(r.timedOut, false, `${what}: the second node kept running instead of exiting\n${r.stderr}`);
  assert.equal(r.code, 2, `${what}: exit code ${r.code}\n${r.stderr}`);
  assert.match(r.stderr, re, `${what}: stderr`);
}

describe("one node per data dir (LOCK)", () => {
  it("a second node on a data dir in use exits 2 at once naming the first one's pid; after kill -9 of the first a new node starts", async (t) => {
    const dataDir = makeDataDir();
    const first = await startNodeOn(dataDir, { t });
    const before = fs.readdirSync(dataDir).sort();

    const t0 = Date.now();
    const second = await runOnce(["--data-dir", dataDir], { timeoutMs: 10_000 });
    assertRefusedQuickly(second, new RegExp(`data dir ${dataDir} is in use by pid ${first.pid}\\b`), "second node");
    assert.ok(Date.now() - t0 < 5_000, `the refusal took ${Date.now() - t0} ms`);
    assert.doesNotMatch(second.stderr, /listening on|node id /, "the second node got as far as the identity or the listeners");
    assert.deepEqual(fs.readdirSync(dataDir).sort(), before, "the refused node created or removed files in the data dir");
    // The first one is unharmed.
    assert.equal((await httpGet({ via: "tcp", addr: first.tcpAddr }, "/readyz")).status, 200, "first node /readyz");

    await first.kill(); // SIGKILL: nothing cleans up, the LOCK file stays with the dead pid in it
    assert.equal(fs.readFileSync(path.join(dataDir, "LOCK"), "utf8"), `${first.pid}\n`, "LOCK after kill -9");
    const third = await startNodeOn(dataDir, { t });
    assert.equal(fs.readFileSync(path.join(dataDir, "LOCK"), "utf8"), `${third.pid}\n`, "LOCK holds the new pid");
    assert.equal((await httpGet({ via: "tcp", addr: third.tcpAddr }, "/readyz")).status, 200);
  });

  it("derive-id, --help and --version do not touch a data dir that is in use", async (t) => {
    const dataDir = makeDataDir();
    await startNodeOn(dataDir, { t });
    const env = { PEAT_NODE_DATA_DIR: dataDir };
    const d = await runNodeBinary(["derive-id", "--shared-key", Buffer.alloc(32, 1).toString("base64"), "--node-id", "n"], { env });
    assert.equal(d.code, 0, d.stderr);
    for (const args of [["--help"], ["--version"]]) {
      const r = await runNodeBinary(args, { env });
      assert.equal(r.code, 0, `${args}: ${r.stderr}`);
    }
  });
});

describe("unix socket: never taken from a live server", () => {
  it("a live socket: the second node exits 2 'served by another process' and the first still answers on it", async (t) => {
    const first = await startNode({ t });
    const r = await runOnce(["--listen", `unix://${first.unixPath}`, "--data-dir", path.join(makeDataDir(), "d")]);
    assertRefusedQuickly(r, new RegExp(`unix://${first.unixPath} is served by another process`), "second node");
    assert.ok(fs.lstatSync(first.unixPath).isSocket(), "the socket file is gone");
    const live = await httpGet({ via: "unix", unixPath: first.unixPath }, "/livez");
    assert.equal(live.status, 200, "first node over its socket after the attempt");
  });

  it("a stale socket file left by a kill -9'd node is removed and the new node serves on it", async (t) => {
    const dir = makeDataDir();
    const sock = path.join(dir, "api.sock");
    const argv = (name) => ["--listen", `unix://${sock}`, "--data-dir", path.join(dir, name), "--disable-mdns"];
    const a = await spawnNodeExact({ argv: argv("a"), t });
    await a.kill();
    assert.ok(fs.lstatSync(sock).isSocket(), "kill -9 should leave the socket file behind");

    const b = await spawnNodeExact({ argv: argv("b"), t });
    assert.match(b.stderrText, new RegExp(`removed stale socket file ${sock}`));
    assert.equal((await httpGet({ via: "unix", unixPath: sock }, "/livez")).status, 200, "new node over the socket");
  });

  it("a regular file at the socket path: exit 2, the file is left intact", async () => {
    const dir = makeDataDir();
    const file = path.join(dir, "not-a-socket");
    fs.writeFileSync(file, "precious\n");
    const r = await runOnce(["--listen", `unix://${file}`, "--data-dir", path.join(dir, "d")]);
    assertRefusedQuickly(r, /exists and is not a socket; refusing to replace it/, "regular file");
    assert.equal(fs.readFileSync(file, "utf8"), "precious\n");
  });
});

describe("file modes", () => {
  it("a fresh data dir is 0700, every file in it 0600 (peat.db, -wal, -shm, identity, lock, the blob store), every directory 0700, the socket 0660", async (t) => {
    const node = await startNode({ t });
    assert.equal(octal(modeOf(node.dataDir)), "0700", "data dir");
    const files = fs.readdirSync(node.dataDir).sort();
    for (const name of ["LOCK", "identity.key", "node-id", "peat.db", "peat.db-shm", "peat.db-wal", "blobs"]) {
      assert.ok(files.includes(name), `${name} missing from ${files.join(", ")}`);
    }
    const entries = fs.readdirSync(node.dataDir, { recursive: true }).map((name) => path.join(node.dataDir, name));
    assert.ok(entries.some((p) => p.endsWith(path.join("blobs", "index.db"))), entries.join(", "));
    for (const p of entries) {
      const dir = fs.statSync(p).isDirectory();
      assert.equal(octal(modeOf(p)), dir ? "0700" : "0600", path.relative(node.dataDir, p));
    }
    assert.equal(octal(modeOf(node.unixPath)), "0660", "unix socket (default --unix-socket-mode)");
  });

  it("--unix-socket-mode 0600 and PEAT_NODE_UNIX_SOCKET_MODE=0640 set the socket's mode", async (t) => {
    const a = await startNode({ args: ["--unix-socket-mode", "0600"], t });
    assert.equal(octal(modeOf(a.unixPath)), "0600");
    const b = await startNode({ env: { PEAT_NODE_UNIX_SOCKET_MODE: "0640" }, t });
    assert.equal(octal(modeOf(b.unixPath)), "0640");
    const bad = await runOnce(["--unix-socket-mode", "0999", "--data-dir", path.join(makeDataDir(), "d")]);
    assertRefusedQuickly(bad, /--unix-socket-mode: must be an octal mode from 0000 to 0777/, "bad mode");
  });

  it("a pre-existing 0755 data dir and 0644 files are tightened at start and the change is logged once", async (t) => {
    const dataDir = makeDataDir();
    const first = await startNodeOn(dataDir, { t });
    const stopped = await first.stop("SIGTERM", 15_000);
    assert.equal(stopped.code, 0, stopped.stderr);
    fs.chmodSync(dataDir, 0o755);
    fs.chmodSync(path.join(dataDir, "peat.db"), 0o644);
    fs.chmodSync(path.join(dataDir, "node-id"), 0o640);

    const node = await startNodeOn(dataDir, { t });
    const lines = node.stderrText.split("\n").filter((l) => /removed group\/other permissions/.test(l));
    assert.equal(lines.length, 1, `one log line about permissions:\n${node.stderrText}`);
    for (const change of ["directory 0755→0700", "peat.db 0644→0600", "node-id 0640→0600"]) {
      assert.ok(lines[0].includes(change), `"${change}" missing from: ${lines[0]}`);
    }
    assert.equal(octal(modeOf(dataDir)), "0700");
    for (const name of fs.readdirSync(dataDir)) {
      const p = path.join(dataDir, name);
      assert.equal(octal(modeOf(p)), fs.statSync(p).isDirectory() ? "0700" : "0600", name);
    }

    // Nothing to change the next time: no such line.
    const again = await node.stop("SIGTERM", 15_000);
    assert.equal(again.code, 0, again.stderr);
    const quiet = await startNodeOn(dataDir, { t });
    assert.doesNotMatch(quiet.stderrText, /removed group\/other permissions/);
  });
});

describe("--data-dir errors", () => {
  it("a data dir that cannot be created (below a regular file) exits 2 naming --data-dir", async () => {
    const dir = makeDataDir();
    const file = path.join(dir, "file");
    fs.writeFileSync(file, "x");
    const r = await runOnce(["--data-dir", path.join(file, "data")]);
    assertRefusedQuickly(r, new RegExp(`--data-dir ${file}/data: cannot create: Not a directory`), "below a file");
    assert.doesNotMatch(r.stderr, /\(the default\)/, "an explicit --data-dir is not the default");

    const isFile = await runOnce([], { env: { PEAT_NODE_DATA_DIR: file } });
    assertRefusedQuickly(isFile, new RegExp(`--data-dir ${file}: exists and is not a directory`), "a regular file");
  });
});

describe("listen addresses taken by another process", () => {
  it("a --mesh-listen port another process holds exits 2 naming --mesh-listen, like --listen", async () => {
    const holder = net.createServer();
    await new Promise((resolve) => holder.listen(0, "127.0.0.1", resolve));
    try {
      const port = holder.address().port;
      const mesh = await runOnce(["--data-dir", makeDataDir(), "--mesh-listen", `tcp://127.0.0.1:${port}`]);
      assertRefusedQuickly(mesh, new RegExp(`--mesh-listen 127\\.0\\.0\\.1:${port}: Address already in use`), "mesh port taken");
      const api = await runNodeBinary(["--listen", `tcp://127.0.0.1:${port}`, "--disable-mdns", "--data-dir", makeDataDir()]);
      assertRefusedQuickly(api, new RegExp(`--listen tcp://127\\.0\\.0\\.1:${port}: Address already in use`), "API port taken");
    } finally {
      holder.close();
    }
  });
});

describe("errors that teach", () => {
  it("an unknown flag suggests the nearest one, also in --flag=value form, without echoing the value", async () => {
    const secret = Buffer.alloc(32, 9).toString("base64");
    for (const [args, expected] of [
      [["--shared-kye", secret], "unknown flag --shared-kye; did you mean --shared-key?"],
      [[`--shared-kye=${secret}`], "unknown flag --shared-kye; did you mean --shared-key?"],
      [["--lisen", "tcp://127.0.0.1:0"], "unknown flag --lisen; did you mean --listen?"],
      [["--unix-socket-mod", "0600"], "unknown flag --unix-socket-mod; did you mean --unix-socket-mode?"],
      [["--frobnicate"], "unknown flag --frobnicate (see peat-node --help)"],
    ]) {
      const r = await runNodeBinary(args);
      assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}`);
      assert.equal(r.stderr, `peat-node: ${expected}\n`, args.join(" "));
      assert.ok(!r.stderr.includes(secret), "the value was echoed");
    }
  });

  it("a bad --shared-key / --encryption-key says how to make one, and the recipe makes a key the node accepts", async () => {
    const recipe = "make one with: head -c 32 /dev/urandom | base64";
    const cases = [
      [["--shared-key", "AAAA"], {}, "--shared-key: must be base64 of exactly 32 bytes (decodes to 3 bytes); "],
      [[], { PEAT_NODE_ENCRYPTION_KEY: "not base64" }, "--encryption-key (from PEAT_NODE_ENCRYPTION_KEY): must be base64 of exactly 32 bytes"],
      [["derive-id", "--shared-key", "AAAA", "--node-id", "n"], {}, "--shared-key: must be base64 of exactly 32 bytes"],
    ];
    for (const [args, env, prefix] of cases) {
      const r = await runNodeBinary(args, { env });
      assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}`);
      assert.ok(r.stderr.includes(prefix), `${args.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.includes(recipe), `${args.join(" ")}: no recipe in ${r.stderr}`);
    }
    const key = execFileSync("sh", ["-c", recipe.slice("make one with: ".length)], { encoding: "utf8" }).trim();
    const d = await runNodeBinary(["derive-id", "--shared-key", key, "--node-id", "n"]);
    assert.equal(d.code, 0, `the recipe's key was rejected: ${d.stderr}`);
  });
});

describe("phase: the log says what GetStatus and /metrics say", () => {
  const phaseLines = (node) => node.stderrText.split("\n").filter((l) => /\bphase [A-Z_]+$/.test(l)).map((l) => l.split(" ").pop());

  async function reported(node, c) {
    const st = await ok(c, "GetStatus", {});
    const m = await scrapeMetrics({ via: "tcp", addr: node.tcpAddr });
    const metric = ["INITIALIZING", "READY", "SYNCING", "SHUTTING_DOWN"].filter((p) => metricValue(m.samples, "peat_node_phase", { phase: p }) === 1);
    return { status: st.phase, metric };
  }

  it("auto-sync on: SYNCING in the log, GetStatus and peat_node_phase; StopSync/StartSync are logged as READY/SYNCING", async (t) => {
    const node = await startNode({ unix: false, t });
    const c = makeClient("curl-json-h1", node, "tcp");
    t.after(() => c.close?.());
    await node.waitForLine((l) => /\bphase SYNCING$/.test(l), 10_000, "phase SYNCING log line");
    assert.deepEqual(phaseLines(node), ["INITIALIZING", "SYNCING"], "startup phase lines");
    assert.deepEqual(await reported(node, c), { status: PHASE_SYNCING, metric: ["SYNCING"] });

    await ok(c, "StopSync", {});
    await waitFor(() => phaseLines(node).at(-1) === "READY", { what: "phase READY log line after StopSync", describe: () => phaseLines(node) });
    assert.deepEqual(await reported(node, c), { status: PHASE_READY, metric: ["READY"] });

    await ok(c, "StartSync", {});
    await waitFor(() => phaseLines(node).at(-1) === "SYNCING", { what: "phase SYNCING log line after StartSync", describe: () => phaseLines(node) });
    assert.deepEqual(await reported(node, c), { status: PHASE_SYNCING, metric: ["SYNCING"] });
    assert.deepEqual(phaseLines(node), ["INITIALIZING", "SYNCING", "READY", "SYNCING"]);

    const r = await node.stop("SIGTERM", 15_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(phaseLines(node).at(-1), "SHUTTING_DOWN");
  });

  it("--auto-sync false: READY in the log, GetStatus and peat_node_phase", async (t) => {
    const node = await startNode({ unix: false, args: ["--auto-sync", "false"], t });
    const c = makeClient("curl-json-h1", node, "tcp");
    t.after(() => c.close?.());
    await node.waitForLine((l) => /\bphase READY$/.test(l), 10_000, "phase READY log line");
    assert.deepEqual(phaseLines(node), ["INITIALIZING", "READY"]);
    assert.deepEqual(await reported(node, c), { status: PHASE_READY, metric: ["READY"] });
  });
});
