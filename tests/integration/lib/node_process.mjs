// Spawns a peat-node server for integration tests and discovers its bound listeners.
//
// The server logs one line per listener once it is bound, e.g.
//   ... listening on tcp://127.0.0.1:41234
//   ... listening on unix:///tmp/peat-it-XXXX/api.sock
// We start it with `--listen tcp://127.0.0.1:0` (the OS picks the port, never a fixed one) and
// wait, event-driven and bounded by a deadline, until every expected listener has been announced.

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const PROTO_DIR = path.join(REPO_ROOT, "proto");
export const CLIENTS_DIR = path.join(REPO_ROOT, "tests", "clients");

const LISTEN_RE = /listening on (tcp:\/\/\S+|unix:\/\/\S+)/;

/** Absolute path of the server binary: $PEAT_NODE_BIN (relative paths resolve against the repo root) or build/peat-node. */
export function nodeBinary() {
  return path.resolve(REPO_ROOT, process.env.PEAT_NODE_BIN || "build/peat-node");
}

/** Every live PeatNode, so a crashed test file never leaves a server behind. */
const live = new Set();
function killAllLive() {
  for (const n of live) {
    try {
      n.proc.kill("SIGKILL");
      n._cleanup();
    } catch {
      /* already gone */
    }
  }
}
process.on("exit", killAllLive);
// A test runner killed by a timeout (CTest sends SIGTERM) must not leave servers behind either.
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.once(sig, () => {
    killAllLive();
    process.exit(128 + os.constants.signals[sig]);
  });
}

function cleanListenUrl(s) {
  // Tolerate log formats that wrap the URL in quotes or follow it with punctuation.
  return s.replace(/["'`,;)\]}]+$/, "");
}

export class PeatNode {
  constructor({ proc, tmpDir, dataDir, unixPath, startedAt }) {
    this.proc = proc;
    this.tmpDir = tmpDir;
    this.dataDir = dataDir;
    this.unixPath = unixPath;
    this.startedAt = startedAt;
    this.stderrText = "";
    this.stdoutText = "";
    this.listeners = []; // every announced API listener URL, in order
    this.meshListeners = []; // listener lines that mention "mesh"
    this.exit = null; // {code, signal} once exited
    this._lineWaiters = new Set();
    this._partial = "";
    this.exited = new Promise((resolve) => {
      proc.on("exit", (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        for (const w of this._lineWaiters) w.onExit(this.exit);
        resolve(this.exit);
      });
    });
    proc.stderr.setEncoding("utf8");
    proc.stdout.setEncoding("utf8");
    proc.stdout.on("data", (d) => {
      this.stdoutText += d;
    });
    proc.stderr.on("data", (d) => {
      this.stderrText += d;
      this._partial += d;
      let nl;
      while ((nl = this._partial.indexOf("\n")) >= 0) {
        const line = this._partial.slice(0, nl);
        this._partial = this._partial.slice(nl + 1);
        this._onLine(line);
      }
    });
    live.add(this);
  }

  _onLine(line) {
    const m = LISTEN_RE.exec(line);
    // The mesh listener (peer-to-peer port) may be logged the same way: keep it apart.
    if (m) (/mesh/i.test(line) ? this.meshListeners : this.listeners).push(cleanListenUrl(m[1]));
    for (const w of this._lineWaiters) w.onLine(line);
  }

  /** The announced API TCP listener (we ask for 127.0.0.1:0) as "host:port". */
  get tcpAddr() {
    const u = this.listeners.find((l) => l.startsWith("tcp://127.0.0.1:"));
    if (!u) throw new Error("node has no TCP listener");
    return u.slice("tcp://".length);
  }

  get tcpPort() {
    return Number(this.tcpAddr.split(":").pop());
  }

  /** Base URL for HTTP clients over TCP, e.g. http://127.0.0.1:41234 */
  get baseUrl() {
    return `http://${this.tcpAddr}`;
  }

  get pid() {
    return this.proc.pid;
  }

  /**
   * Resolves with the first stderr line (already seen or future) for which pred(line) is true.
   * Rejects when the process exits first or after timeoutMs.
   */
  waitForLine(pred, timeoutMs = 10_000, what = "log line") {
    for (const line of this.stderrText.split("\n")) if (pred(line)) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      const w = {
        onLine: (line) => {
          if (pred(line)) done(null, line);
        },
        onExit: (ex) => done(new Error(`peat-node exited (${JSON.stringify(ex)}) before ${what}\n--- stderr ---\n${this.stderrText}`)),
      };
      const timer = setTimeout(
        () => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n--- stderr ---\n${this.stderrText}`)),
        timeoutMs,
      );
      const done = (err, val) => {
        clearTimeout(timer);
        this._lineWaiters.delete(w);
        err ? reject(err) : resolve(val);
      };
      this._lineWaiters.add(w);
      if (this.exit) w.onExit(this.exit);
    });
  }

  /**
   * Sends `signal` and waits up to timeoutMs for exit. Resolves {code, signal, elapsedMs, stderr, timedOut};
   * on timeout the process is SIGKILLed and timedOut is true (the caller asserts on it).
   */
  async stop(signal = "SIGTERM", timeoutMs = 10_000) {
    const t0 = Date.now();
    if (!this.exit) this.proc.kill(signal);
    let timer;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise((r) => {
        timer = setTimeout(() => r(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.proc.kill("SIGKILL");
      await this.exited;
    }
    const res = { ...this.exit, elapsedMs: Date.now() - t0, timedOut, stderr: this.stderrText };
    this._cleanup();
    return res;
  }

  /** Teardown: SIGKILL if still running, remove the temp dir. Safe to call repeatedly. */
  async kill() {
    if (!this.exit) {
      this.proc.kill("SIGKILL");
      await this.exited;
    }
    this._cleanup();
  }

  _cleanup() {
    if (process.env.PEAT_IT_KEEP_TMP) return;
    fs.rmSync(this.tmpDir, { recursive: true, force: true });
  }
}

/**
 * Starts a peat-node with a fresh temp data dir, a TCP listener on 127.0.0.1:0 and (by default) a
 * unix socket listener, and waits until all listeners are announced.
 *
 * options:
 *   tcp, unix        which listeners to open (default both)
 *   args             extra CLI args
 *   env              extra environment (PEAT_NODE_* from the test's own environment are not inherited)
 *   timeoutMs        startup deadline (default 20 s)
 *   t                node:test context: registers kill() with t.after() so teardown always happens
 */
export async function startNode({ tcp = true, unix = true, args = [], env = {}, timeoutMs = 20_000, t } = {}) {
  const bin = nodeBinary();
  if (!fs.existsSync(bin)) {
    throw new Error(`peat-node binary not found at ${bin} (set PEAT_NODE_BIN or build it)`);
  }
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "peat-it-"));
  const dataDir = path.join(tmpDir, "data");
  const unixPath = unix ? path.join(tmpDir, "api.sock") : null;
  const argv = [];
  if (tcp) argv.push("--listen", "tcp://127.0.0.1:0");
  if (unix) argv.push("--listen", `unix://${unixPath}`);
  argv.push("--data-dir", dataDir, "--log-format", "text", "--disable-mdns", ...args);

  const childEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PEAT_NODE_")) childEnv[k] = v;
  Object.assign(childEnv, env);

  const proc = spawn(bin, argv, { cwd: tmpDir, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  const node = new PeatNode({ proc, tmpDir, dataDir, unixPath, startedAt: Date.now() });
  node.argv = argv;
  if (t) t.after(() => node.kill());
  const spawnError = new Promise((_, reject) => proc.on("error", (e) => reject(new Error(`spawn ${bin}: ${e.message}`))));

  const want = (tcp ? 1 : 0) + (unix ? 1 : 0);
  try {
    await Promise.race([
      spawnError,
      node.waitForLine(
        () => {
          const haveTcp = node.listeners.some((l) => l.startsWith("tcp://127.0.0.1:"));
          const haveUnix = node.listeners.some((l) => l === `unix://${unixPath}`);
          return node.listeners.length >= want && (!tcp || haveTcp) && (!unix || haveUnix);
        },
        timeoutMs,
        `listeners (${argv.join(" ")})`,
      ),
    ]);
  } catch (e) {
    await node.kill();
    throw e;
  }
  const port = tcp ? node.tcpPort : 1;
  if (tcp && !(port > 0 && port < 65536)) {
    await node.kill();
    throw new Error(`bad TCP listener announced: ${node.listeners.join(", ")}`);
  }
  return node;
}
