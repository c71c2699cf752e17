// tests/net/net.mjs: the network-namespace test harness for node scripts and node:test scenarios
// (tests/net/README.md). Root only.
//
//   import { PeatNet } from "../../tests/net/net.mjs";
//   const net = await PeatNet.create({ hosts: 3, t });          // h1 h2 h3 = 10.77.0.1-3
//   const p = net.spawn("h1", "build/peat-node", ["--listen", "unix:///tmp/x/api.sock", ...]);
//   await net.set("h1", "h2", { delay_ms: 100, loss: 0.1 });   // both directions
//   await net.set("h1", "h2", { delay_ms: 100, oneway: true }); // h1 -> h2 only
//   await net.setAll({ delay_ms: 100, jitter_ms: 5 });
//   await net.partition(["h1"], ["h2", "h3"]);  await net.heal();
//   const { avg_ms } = await net.ping("h1", "h2", { count: 10, intervalS: 0.05 });
//   await net.close();                                           // t.after() does it too
//
// Cleanup: close() (registered with t.after() when `t` is given) stops every process this
// instance spawned, the emulator and the namespaces. If the test process dies first, its 'exit'
// handler does it synchronously; if it is SIGKILLed, the emulator (started with
// --die-with-parent) gets SIGTERM and runs tests/net/cleanup.sh for this instance itself.

import { execFile, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import netMod from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, "../..");
const CLEANUP = path.join(HERE, "cleanup.sh");
const HOSTS_SH = path.join(HERE, "hosts.sh");
const RUN_ROOT = process.env.PEATNET_RUN_ROOT || "/run/peatnet";

/** Path of the netem-lite binary ($PEATNET_BIN, build/tests/net/netem-lite, or compiled once by hosts.sh). */
export function emulatorBinary() {
  if (process.env.PEATNET_BIN) return path.resolve(REPO_ROOT, process.env.PEATNET_BIN);
  return execFileSync("bash", [HOSTS_SH, "bin"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

const live = new Set();
function cleanupAllSync() {
  for (const n of live) n._closeSync();
}
process.on("exit", cleanupAllSync);
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.once(sig, () => {
    cleanupAllSync();
    process.exit(128 + os.constants.signals[sig]);
  });
}

let seq = 0;

export class PeatNet {
  /**
   * Creates the hosts and starts the emulator.
   *   hosts     number N (names h1..hN) or a list of names
   *   id        instance name (default: unique per process and call); namespaces are
   *             peatnet-<id>-<host>, state in /run/peatnet/<id>
   *   subnet    first three octets (default "10.77.0"); host i gets .i (/24)
   *   seed      loss/jitter seed (default random, logged)
   *   realtime  run the emulator SCHED_FIFO (default true; needed for ±2 ms under CPU load)
   *   t         node:test context: close() is registered with t.after()
   */
  static async create({ hosts = 3, id, subnet = "10.77.0", seed, realtime = true, t, timeoutMs = 10_000 } = {}) {
    if (process.getuid() !== 0) throw new Error("tests/net needs root (network namespaces, TUN)");
    const names = typeof hosts === "number" ? Array.from({ length: hosts }, (_, i) => `h${i + 1}`) : [...hosts];
    if (names.length < 1 || names.length > 250) throw new Error("between 1 and 250 hosts");
    for (const h of names) if (!/^[A-Za-z0-9_.-]+$/.test(h)) throw new Error(`bad host name ${h}`);
    if (new Set(names).size !== names.length) throw new Error("duplicate host names");
    id ??= `n${process.pid}-${++seq}`;
    if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new Error(`bad instance id ${id}`);
    const bin = emulatorBinary();
    const net = new PeatNet(id, names, subnet, bin);
    execFileSync("bash", [CLEANUP, id], { stdio: "inherit" }); // leftovers of an earlier run of this id
    live.add(net);
    if (t) t.after(() => net.close());
    try {
      await net._start({ seed, realtime, timeoutMs });
    } catch (e) {
      net._closeSync();
      throw e;
    }
    return net;
  }

  constructor(id, names, subnet, bin) {
    this.id = id;
    this.hosts = names;
    this.bin = bin;
    this.runDir = path.join(RUN_ROOT, id);
    this.ctlPath = path.join(this.runDir, "ctl.sock");
    this.logPath = path.join(this.runDir, "netem.log");
    this._addr = new Map(names.map((h, i) => [h, `${subnet}.${i + 1}`]));
    this._children = new Set();
    this.proc = null;
    this.closed = false;
  }

  async _start({ seed, realtime, timeoutMs }) {
    fs.mkdirSync(this.runDir, { recursive: true });
    // Recorded before the namespaces exist, so cleanup.sh always knows what to remove.
    fs.writeFileSync(path.join(this.runDir, "hosts"), this.hosts.map((h) => `${h} ${this.ns(h)} ${this.addr(h)}\n`).join(""));
    execFileSync("ip", ["-batch", "-"], { input: this.hosts.map((h) => `netns add ${this.ns(h)}\n`).join(""), stdio: ["pipe", "inherit", "inherit"] });
    const args = ["run", "--control", this.ctlPath, "--pidfile", path.join(this.runDir, "netem.pid"), "--die-with-parent"];
    args.push("--on-exit", `exec bash '${CLEANUP}' '${this.id}'`);
    if (seed !== undefined) args.push("--seed", String(seed));
    if (!realtime) args.push("--no-realtime");
    for (const h of this.hosts) args.push("--host", `${h}:${this.ns(h)}:${this.addr(h)}`);
    const log = fs.openSync(this.logPath, "a");
    this.proc = spawn(this.bin, args, { stdio: ["ignore", "pipe", log] });
    fs.closeSync(log);
    this.exited = new Promise((resolve) => this.proc.on("exit", (code, signal) => resolve({ code, signal })));
    await new Promise((resolve, reject) => {
      let out = "";
      let settled = false;
      const timer = setTimeout(() => fail(new Error(`netem-lite not ready after ${timeoutMs} ms`)), timeoutMs);
      const fail = (e) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        let logText = "";
        try {
          logText = fs.readFileSync(this.logPath, "utf8");
        } catch {}
        reject(new Error(`${e.message}\n--- ${this.logPath} ---\n${logText}`));
      };
      this.proc.on("error", fail);
      this.proc.on("exit", (code, signal) => fail(new Error(`netem-lite exited during startup (${code ?? signal})`)));
      this.proc.stdout.setEncoding("utf8");
      this.proc.stdout.on("data", (d) => {
        out += d;
        if (!settled && /^READY/m.test(out)) {
          settled = true;
          clearTimeout(timer);
          resolve();
        }
      });
    });
    this.proc.removeAllListeners("error");
    this.proc.stdout.destroy();
    this.proc.unref(); // a test that forgets close() still ends; 'exit' cleans up
  }

  /** Namespace of a host, for `ip netns exec`. */
  ns(host) {
    this._check(host);
    return `peatnet-${this.id}-${host}`;
  }

  /** IPv4 address of a host. */
  addr(host) {
    this._check(host);
    return this._addr.get(host);
  }

  _check(host) {
    if (!this._addr.has(host)) throw new Error(`no host ${host} (have ${this.hosts.join(", ")})`);
  }

  /** [file, args] that run cmd inside host. */
  wrap(host, cmd, args = []) {
    return ["ip", ["netns", "exec", this.ns(host), cmd, ...args]];
  }

  /**
   * Writes an executable script that runs `program` inside `host` with the script's arguments,
   * for helpers that take a binary path (e.g. PEAT_NODE_BIN). Returns its path.
   */
  wrapper(host, program) {
    const dir = path.join(this.runDir, "bin");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${host}-${path.basename(program)}`);
    const abs = path.resolve(REPO_ROOT, program);
    fs.writeFileSync(file, `#!/bin/sh\nexec ip netns exec '${this.ns(host)}' '${abs}' "$@"\n`, { mode: 0o755 });
    return file;
  }

  /** spawn() inside a host; the child is killed (SIGKILL) by close() if still running. */
  spawn(host, cmd, args = [], opts = {}) {
    const [file, argv] = this.wrap(host, cmd, args);
    const child = spawn(file, argv, { cwd: REPO_ROOT, ...opts });
    this._children.add(child);
    child.on("exit", () => this._children.delete(child));
    return child;
  }

  /** Runs cmd inside host to completion: {code, signal, stdout, stderr}. Never rejects on exit code. */
  exec(host, cmd, args = [], { timeoutMs = 60_000, input } = {}) {
    return new Promise((resolve, reject) => {
      const [file, argv] = this.wrap(host, cmd, args);
      const child = execFile(file, argv, { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 64 << 20, encoding: "utf8" }, (err, stdout, stderr) => {
        this._children.delete(child);
        if (err && typeof err.code !== "number" && !err.signal) return reject(err);
        resolve({ code: err ? (typeof err.code === "number" ? err.code : null) : 0, signal: err?.signal ?? null, stdout, stderr });
      });
      this._children.add(child);
      if (input !== undefined) child.stdin.end(input);
    });
  }

  /** One control request (an object with "cmd"); resolves the reply, throws when it is not ok. */
  ctl(req) {
    return new Promise((resolve, reject) => {
      const sock = netMod.createConnection(this.ctlPath);
      let buf = "";
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`netem-lite: no reply to ${JSON.stringify(req)}`));
      }, 30_000);
      sock.setEncoding("utf8");
      sock.on("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`netem-lite control ${this.ctlPath}: ${e.message}`));
      });
      sock.on("data", (d) => {
        buf += d;
        const nl = buf.indexOf("\n");
        if (nl < 0) return;
        clearTimeout(timer);
        sock.destroy();
        const reply = JSON.parse(buf.slice(0, nl));
        if (!reply.ok) reject(new Error(`netem-lite: ${reply.error} (request ${JSON.stringify(req)})`));
        else resolve(reply);
      });
      sock.write(JSON.stringify(req) + "\n");
    });
  }

  /**
   * Sets link parameters between a and b (a host, a list of hosts or "*"), both directions
   * unless params.oneway. params: delay_ms, jitter_ms, loss (0..1), rate_kbit (0 = unlimited),
   * queue_bytes, up, reorder, oneway. Only the given ones change. Resolves the number of links.
   */
  async set(a, b, params) {
    return (await this.ctl({ cmd: "set", a, b, ...params })).links;
  }

  /** set() on every link. */
  setAll(params) {
    return this.set("*", "*", params);
  }

  /** Link parameters, one entry per directional link. */
  async get(a = "*", b = "*") {
    return (await this.ctl({ cmd: "get", a, b })).links;
  }

  /**
   * Counters: {links: [{a, b, in_pkts, in_bytes, out_pkts, out_bytes, drop_loss, drop_down,
   * drop_queue, drop_other, inflight_pkts, backlog_bytes}], hosts: [...], late_avg_us, late_max_us}.
   */
  stats(a = "*", b = "*", { active = false } = {}) {
    return this.ctl({ cmd: "stats", a, b, active });
  }

  /** Counters of the single directional link a -> b. */
  async linkStats(a, b) {
    return (await this.stats(a, b)).links[0];
  }

  resetStats() {
    return this.ctl({ cmd: "reset_stats" });
  }

  /** Every link back to defaults (up, no impairment); packets in flight are dropped. */
  reset() {
    return this.ctl({ cmd: "reset" });
  }

  /** Each argument is a group (array of host names): links between groups go down, the rest up. Unlisted hosts form one more group. */
  partition(...groups) {
    return this.ctl({ cmd: "partition", groups });
  }

  /** Every link up (other parameters unchanged). */
  heal() {
    return this.ctl({ cmd: "heal" });
  }

  /** ICMP echo from a to b: {sent, received, loss, min_ms, avg_ms, max_ms, mdev_ms}. */
  async ping(a, b, { count = 5, intervalS = 0.2, waitS = 2, size = 56 } = {}) {
    const args = ["ping", "-q", "-c", String(count), "-i", String(intervalS), "-W", String(waitS), "-s", String(size), this.addr(b)];
    const r = await this.exec(a, this.bin, args, { timeoutMs: (count * intervalS + waitS + 10) * 1000 });
    const last = r.stdout.trim().split("\n").pop();
    try {
      return JSON.parse(last);
    } catch {
      throw new Error(`ping ${a} -> ${b} failed: ${r.stderr}${r.stdout}`);
    }
  }

  /** Stops spawned processes, the emulator and removes the namespaces. Safe to call repeatedly. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    for (const c of this._children) c.kill("SIGKILL");
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      try {
        await this.ctl({ cmd: "quit" });
      } catch {
        this.proc.kill("SIGTERM");
      }
      let timer;
      const timedOut = await Promise.race([
        this.exited.then(() => false),
        new Promise((r) => {
          timer = setTimeout(() => r(true), 10_000);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) this.proc.kill("SIGKILL");
    }
    await new Promise((resolve) => execFile("bash", [CLEANUP, this.id], () => resolve()));
    live.delete(this);
  }

  _closeSync() {
    if (!live.has(this)) return;
    live.delete(this);
    this.closed = true;
    for (const c of this._children) {
      try {
        c.kill("SIGKILL");
      } catch {}
    }
    try {
      this.proc?.kill("SIGKILL");
    } catch {}
    try {
      execFileSync("bash", [CLEANUP, this.id], { stdio: "inherit" });
    } catch {}
  }

  /** Leftovers of this instance (namespaces, emulator, state dir) as text; "" when clean. */
  leftovers() {
    try {
      execFileSync("bash", [CLEANUP, "--check", this.id], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      return "";
    } catch (e) {
      return e.stdout || String(e);
    }
  }
}
