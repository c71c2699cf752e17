// NATS harness for the bridge tests (tests/integration/nats_bridge.test.mjs): real nats-server
// processes (Debian's nats-server package) on loopback ports the test picks, and a small test
// client of the NATS text protocol (CONNECT, PUB/HPUB, SUB, MSG/HMSG, PING/PONG) that keeps
// every message's exact bytes and headers. The bridge itself uses the official C client; this
// client exists so the tests can send what a library would refuse (non-UTF-8, > 1 MiB).
//
//   const ns = await startNatsServer({ t });         // nats-server on 127.0.0.1:<free port>
//   const c = await natsConnect(ns.port);
//   const got = c.subscribe("sensors.temp");         // array filled as messages arrive
//   c.publish("sensors.temp", Buffer.from('{"t":1}'));
//   await ns.stop(); await ns.start();               // same port, e.g. a 30 s outage
//
// Every wait is bounded by a deadline; nothing sleeps in place of a condition.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort, waitFor } from "./mesh_cluster.mjs";

/** The nats-server binary, or null (the tests then report SKIPPED). */
export function natsServerBinary() {
  for (const p of [process.env.NATS_SERVER_BIN, "/usr/bin/nats-server", "/usr/sbin/nats-server"]) {
    if (p && fs.existsSync(p)) return p;
  }
  const r = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

const live = new Set();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export class NatsServer {
  constructor({ port, t, maxPayload = 4 << 20 }) {
    this.port = port;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "peat-nats-"));
    this.conf = path.join(this.dir, "nats.conf");
    // max_payload above the bridge's 1 MiB limit, so the bridge's own check is what drops them.
    fs.writeFileSync(this.conf, `listen: 127.0.0.1:${port}\nmax_payload: ${maxPayload}\n`);
    this.proc = null;
    this.log = "";
    t?.after(() => this.kill());
  }
  get url() {
    return `nats://127.0.0.1:${this.port}`;
  }
  async start() {
    this.log = "";
    const proc = spawn(natsServerBinary(), ["-c", this.conf], { stdio: ["ignore", "pipe", "pipe"] });
    live.add(proc);
    proc.on("exit", () => live.delete(proc));
    const onData = (d) => (this.log += d.toString());
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    this.proc = proc;
    await waitFor(() => this.log.includes("Server is ready") || proc.exitCode !== null, { timeoutMs: 10_000, what: "nats-server ready" });
    if (proc.exitCode !== null) throw new Error(`nats-server exited: ${this.log}`);
    return this;
  }
  async stop() {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await gone;
  }
  kill() {
    if (this.proc && this.proc.exitCode === null) this.proc.kill("SIGKILL");
  }
}

export async function startNatsServer({ t, port } = {}) {
  const s = new NatsServer({ port: port ?? (await freePort()), t });
  return s.start();
}

/** Header block "NATS/1.0\r\nK: V\r\n\r\n" → {K: V} (first value of each key). */
function parseHeaders(buf) {
  const out = {};
  const lines = buf.toString("utf8").split("\r\n").slice(1);
  for (const l of lines) {
    const i = l.indexOf(":");
    if (i > 0 && !(l.slice(0, i) in out)) out[l.slice(0, i)] = l.slice(i + 1).trim();
  }
  return out;
}

export class NatsClient {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.subs = new Map(); // sid → array of {subject, headers, data}
    this.sid = 0;
    this.pongs = [];
    this.errors = [];
    this.closed = false;
    sock.on("data", (d) => this.onData(d));
    sock.on("close", () => (this.closed = true));
    sock.on("error", () => (this.closed = true));
  }
  onData(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const eol = this.buf.indexOf("\r\n");
      if (eol < 0) return;
      const line = this.buf.subarray(0, eol).toString("latin1");
      const parts = line.split(" ");
      const op = parts[0].toUpperCase();
      if (op === "MSG" || op === "HMSG") {
        const total = Number(parts[parts.length - 1]);
        const hdr = op === "HMSG" ? Number(parts[parts.length - 2]) : 0;
        if (this.buf.length < eol + 2 + total + 2) return; // wait for the body
        const body = this.buf.subarray(eol + 2, eol + 2 + total);
        const list = this.subs.get(parts[2]);
        if (list) list.push({ subject: parts[1], headers: hdr ? parseHeaders(body.subarray(0, hdr)) : {}, data: Buffer.from(body.subarray(hdr)) });
        this.buf = this.buf.subarray(eol + 2 + total + 2);
        continue;
      }
      this.buf = this.buf.subarray(eol + 2);
      if (op === "PING") this.sock.write("PONG\r\n");
      else if (op === "PONG") this.pongs.shift()?.();
      else if (op === "-ERR") this.errors.push(line);
    }
  }
  /** Messages on `subject` are appended to the returned array. */
  subscribe(subject) {
    const sid = String(++this.sid);
    const list = [];
    this.subs.set(sid, list);
    this.sock.write(`SUB ${subject} ${sid}\r\n`);
    return list;
  }
  publish(subject, data, headers) {
    const payload = Buffer.isBuffer(data) ? data : Buffer.from(data, "utf8");
    if (!headers) {
      this.sock.write(Buffer.concat([Buffer.from(`PUB ${subject} ${payload.length}\r\n`), payload, Buffer.from("\r\n")]));
      return;
    }
    const h = Buffer.from(`NATS/1.0\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`);
    this.sock.write(Buffer.concat([Buffer.from(`HPUB ${subject} ${h.length} ${h.length + payload.length}\r\n`), h, payload, Buffer.from("\r\n")]));
  }
  /** Round trip: every earlier publish and subscription reached the server. */
  flush(timeoutMs = 5_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("NATS PING got no PONG")), timeoutMs);
      this.pongs.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.sock.write("PING\r\n");
    });
  }
  close() {
    this.sock.destroy();
  }
}

export async function natsConnect(port, { t } = {}) {
  const sock = net.connect(port, "127.0.0.1");
  await new Promise((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  const c = new NatsClient(sock);
  sock.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, no_responders: true, protocol: 1, name: "peat-it" })}\r\n`);
  await c.flush();
  t?.after(() => c.close());
  return c;
}
