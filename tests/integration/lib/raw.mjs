// Raw-socket helpers for abuse tests (bad_input.test.mjs): byte-level TCP/unix connections, a
// minimal hand-rolled HTTP/2 framer (so we can send frames a well-behaved client library never
// would, e.g. more streams than SETTINGS_MAX_CONCURRENT_STREAMS — node:http2 queues those
// client-side), Prometheus text parsing, and well-behaved background callers that must keep
// succeeding while the abuse happens.
//
// Every wait here is event-driven and bounded by a deadline.

import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { PeatNode, nodeBinary } from "./node_process.mjs";

// ---------------------------------------------------------------------------------------------
// Raw connections
// ---------------------------------------------------------------------------------------------

/**
 * A raw byte connection to a target ({via:"tcp", addr} or {via:"unix", unixPath}).
 * Collects everything received; records when the peer closed (end/close/error).
 */
export class RawConn {
  constructor(target) {
    this.target = target;
    this.chunks = [];
    this.closed = false;
    this.closedAt = null;
    this.error = null;
    this.connectedAt = null;
    this._waiters = new Set();
    this.sock = target.via === "unix" ? net.connect(target.unixPath) : net.connect(Number(target.addr.split(":").pop()), target.addr.split(":")[0]);
    this.sock.setNoDelay(true);
    this.connected = new Promise((resolve, reject) => {
      this.sock.once("connect", () => {
        this.connectedAt = Date.now();
        resolve();
      });
      this.sock.once("error", reject);
    });
    this.connected.catch(() => {});
    this.sock.on("data", (d) => {
      this.chunks.push(d);
      this._kick();
    });
    const onClosed = () => {
      if (this.closed) return;
      this.closed = true;
      this.closedAt = Date.now();
      this._kick();
    };
    // "end" = peer sent FIN; "close" = fully closed (also after RST / error).
    this.sock.on("end", onClosed);
    this.sock.on("close", onClosed);
    this.sock.on("error", (e) => {
      this.error = e;
      onClosed();
    });
  }

  get data() {
    return Buffer.concat(this.chunks);
  }

  get text() {
    return this.data.toString("latin1");
  }

  _kick() {
    for (const w of this._waiters) w();
  }

  write(buf) {
    if (!this.sock.destroyed) this.sock.write(buf);
  }

  /** Resolves true once pred() holds (checked on every received chunk / close), false after timeoutMs. */
  waitFor(pred, timeoutMs) {
    return new Promise((resolve) => {
      const check = () => {
        if (pred()) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (v) => {
        clearTimeout(timer);
        this._waiters.delete(check);
        resolve(v);
      };
      this._waiters.add(check);
      check();
    });
  }

  /** Resolves true once the peer closed the connection, false after timeoutMs. */
  waitClosed(timeoutMs) {
    return this.waitFor(() => this.closed, timeoutMs);
  }

  destroy() {
    this.sock.destroy();
  }
}

export async function rawConnect(target) {
  const c = new RawConn(target);
  await c.connected;
  return c;
}

/** Parses one HTTP/1.1 response head out of a buffer: {status, headers, headEnd} or null. */
export function parseHttp1Head(buf) {
  const s = buf.toString("latin1");
  const end = s.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = s.slice(0, end).split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) return { status: NaN, statusLine: lines[0], headers: {}, headEnd: end + 4 };
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(m[1]), statusLine: lines[0], headers, headEnd: end + 4 };
}

/** Counts complete HTTP/1.1 responses (heads with Content-Length bodies) in a buffer. */
export function countHttp1Responses(buf) {
  let n = 0;
  let off = 0;
  for (;;) {
    const head = parseHttp1Head(buf.subarray(off));
    if (!head) return n;
    const len = Number(head.headers["content-length"] ?? 0);
    if (buf.length - off - head.headEnd < len) return n;
    n++;
    off += head.headEnd + len;
  }
}

// ---------------------------------------------------------------------------------------------
// Minimal HTTP/2 framing
// ---------------------------------------------------------------------------------------------

export const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
export const H2 = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
  // flags
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  // error codes
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  // settings ids
  SETTINGS_MAX_CONCURRENT_STREAMS: 0x3,
};
export const H2_TYPE_NAMES = ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"];

export function h2Frame(type, flags, streamId, payload = Buffer.alloc(0)) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h.writeUInt8(type, 3);
  h.writeUInt8(flags, 4);
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

export function h2Settings(pairs = [], ack = false) {
  const p = Buffer.alloc(pairs.length * 6);
  pairs.forEach(([id, v], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return h2Frame(H2.SETTINGS, ack ? H2.ACK : 0, 0, p);
}

export function h2RstStream(streamId, code) {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return h2Frame(H2.RST_STREAM, 0, streamId, p);
}

function hpackInt(value, prefixBits, firstByteHigh) {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteHigh | value]);
  const out = [firstByteHigh | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Buffer.from(out);
}

function hpackString(s) {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([hpackInt(b.length, 7, 0x00), b]); // H=0: no Huffman
}

/** HPACK block of "literal header field without indexing — new name" entries (no state). */
export function hpackLiterals(headers) {
  const parts = [];
  for (const [k, v] of headers) parts.push(Buffer.from([0x00]), hpackString(k), hpackString(v));
  return Buffer.concat(parts);
}

/** A complete request HEADERS frame (END_HEADERS; END_STREAM optional). */
export function h2RequestHeaders(streamId, { path, contentType, authority = "localhost", extra = [] }, endStream = false) {
  const block = hpackLiterals([
    [":method", "POST"],
    [":scheme", "http"],
    [":authority", authority],
    [":path", path],
    ["content-type", contentType],
    ["te", "trailers"],
    ...extra,
  ]);
  return h2Frame(H2.HEADERS, H2.END_HEADERS | (endStream ? H2.END_STREAM : 0), streamId, block);
}

/** Splits complete frames off the front of buf: {frames: [{type, flags, streamId, payload}], rest}. */
export function parseH2Frames(buf) {
  const frames = [];
  let off = 0;
  while (buf.length - off >= 9) {
    const len = buf.readUIntBE(off, 3);
    if (buf.length - off - 9 < len) break;
    frames.push({
      type: buf.readUInt8(off + 3),
      flags: buf.readUInt8(off + 4),
      streamId: buf.readUInt32BE(off + 5) & 0x7fffffff,
      payload: buf.subarray(off + 9, off + 9 + len),
    });
    off += 9 + len;
  }
  return { frames, rest: buf.subarray(off) };
}

export function describeFrame(f) {
  const name = H2_TYPE_NAMES[f.type] ?? `type_0x${f.type.toString(16)}`;
  let extra = "";
  if (f.type === H2.RST_STREAM && f.payload.length >= 4) extra = ` code=${f.payload.readUInt32BE(0)}`;
  if (f.type === H2.GOAWAY && f.payload.length >= 8) extra = ` last=${f.payload.readUInt32BE(0) & 0x7fffffff} code=${f.payload.readUInt32BE(4)}`;
  return `${name}(sid=${f.streamId} flags=0x${f.flags.toString(16)} len=${f.payload.length}${extra})`;
}

/**
 * A raw HTTP/2 (prior knowledge) client connection. Sends the preface + an empty SETTINGS frame on
 * connect (unless preface:false), ACKs the server's SETTINGS (unless ackSettings:false) and answers
 * PINGs (unless answerPings:false), and records every
 * frame received in `frames`. Reading DATA never sends WINDOW_UPDATE (our tests move little data).
 */
export class RawH2Conn extends RawConn {
  constructor(target, { preface = true, settings = [], ackSettings = true, answerPings = true } = {}) {
    super(target);
    this.frames = [];
    this._rest = Buffer.alloc(0);
    this.sock.on("data", (d) => {
      const { frames, rest } = parseH2Frames(Buffer.concat([this._rest, d]));
      this._rest = rest;
      for (const f of frames) {
        this.frames.push(f);
        if (ackSettings && f.type === H2.SETTINGS && !(f.flags & H2.ACK)) this.write(h2Settings([], true));
        if (answerPings && f.type === H2.PING && !(f.flags & H2.ACK)) this.write(h2Frame(H2.PING, H2.ACK, 0, f.payload));
      }
      this._kick();
    });
    if (preface) this.connected.then(() => this.write(Buffer.concat([H2_PREFACE, h2Settings(settings)])), () => {});
  }

  framesOf(type, streamId) {
    return this.frames.filter((f) => f.type === type && (streamId === undefined || f.streamId === streamId));
  }

  waitForFrame(pred, timeoutMs) {
    return this.waitFor(() => this.frames.some(pred), timeoutMs);
  }

  /** The server's SETTINGS values as a Map(id → value) (first non-ACK SETTINGS frame). */
  serverSettings() {
    const f = this.frames.find((x) => x.type === H2.SETTINGS && !(x.flags & H2.ACK));
    const m = new Map();
    if (f) for (let i = 0; i + 6 <= f.payload.length; i += 6) m.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
    return m;
  }

  summary() {
    return this.frames.map(describeFrame).join(" ");
  }
}

export async function rawH2Connect(target, opts) {
  const c = new RawH2Conn(target, opts);
  await c.connected;
  return c;
}

// ---------------------------------------------------------------------------------------------
// Prometheus text
// ---------------------------------------------------------------------------------------------

/** Parses Prometheus text exposition into [{name, labels: {..}, value}] (comments skipped). */
export function parsePrometheus(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`unparsable Prometheus line: ${JSON.stringify(line)}`);
    const labels = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g;
      let lm;
      let consumed = 0;
      while ((lm = re.exec(m[2]))) {
        labels[lm[1]] = lm[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
        consumed = re.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`unparsable labels in ${JSON.stringify(line)}`);
    }
    const v = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    if (Number.isNaN(v) && m[3] !== "NaN") throw new Error(`bad sample value in ${JSON.stringify(line)}`);
    out.push({ name: m[1], labels, value: v });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include every label in `match`. */
export function metricValue(samples, name, match = {}) {
  let sum = 0;
  let found = false;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) {
      sum += s.value;
      found = true;
    }
  }
  return found ? sum : undefined;
}

/** GET a plain HTTP/1.1 path on a fresh connection (Connection: close): {status, headers, body}. */
export function httpGet(target, urlPath, { timeoutMs = 10_000, method = "GET" } = {}) {
  return new Promise((resolve, reject) => {
    const opts = { method, path: urlPath, headers: { connection: "close" }, agent: false, timeout: timeoutMs };
    if (target.via === "unix") opts.socketPath = target.unixPath;
    else {
      opts.host = target.addr.split(":")[0];
      opts.port = Number(target.addr.split(":").pop());
    }
    const req = http.request(opts, (res) => {
      const chunks = [];
      res.on("data", (d) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

export async function scrapeMetrics(target) {
  const r = await httpGet(target, "/metrics");
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.body}`);
  return { text: r.body, contentType: r.headers["content-type"], samples: parsePrometheus(r.body) };
}

// ---------------------------------------------------------------------------------------------
// Well-behaved background callers
// ---------------------------------------------------------------------------------------------

const GET_STATUS_PATH = "/peat.sidecar.v1.PeatSidecar/GetStatus";
const WATCH_PATH = "/grpc.health.v1.Health/Watch";

/**
 * Calls GetStatus (Connect JSON) in a loop until stop(), over ONE keep-alive HTTP/1.1 connection
 * (http.Agent maxSockets 1) or ONE HTTP/2 session. Every call must answer 200 with a nodeId.
 *
 * holdWatch (HTTP/2 only): also keep a grpc.health.v1.Health/Watch stream open on the session, as a
 * typical sidecar client holding a subscription does. Its end before stop() is a failure.
 *
 * If the server drops the HTTP/2 session (GOAWAY / close), that is recorded as a failure and the
 * caller reconnects (counted in `sessions`), so later checks still measure what they are about.
 *
 * Returns {ok, failures: [..], sockets (h1: distinct sockets used), sessions (h2: sessions opened),
 * waitForOk(n, ms), alive(), stop(): Promise}.
 */
export function startGoodCaller(target, { http2: useH2 = false, pauseMs = 20, callTimeoutMs = 5_000, holdWatch = false } = {}) {
  const st = { ok: 0, failures: [], sockets: 0, sessions: 0, kind: useH2 ? "h2" : "h1", stopped: false };
  const waiters = new Set();
  const kick = () => {
    for (const w of waiters) w();
  };
  /** Resolves true once ok >= n, false after timeoutMs (or when the loop stopped first). */
  st.waitForOk = (n, timeoutMs = 10_000) =>
    new Promise((resolve) => {
      const check = () => {
        if (st.ok >= n) finish(true);
        else if (st.stopped) finish(false);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (v) => {
        clearTimeout(timer);
        waiters.delete(check);
        resolve(v);
      };
      waiters.add(check);
      check();
    });

  let agent;
  let session;
  let watch;
  const openSession = () => {
    const opts = target.via === "unix" ? { createConnection: () => net.connect(target.unixPath) } : {};
    const s = http2.connect(target.via === "unix" ? "http://localhost" : `http://${target.addr}`, opts);
    st.sessions++;
    const n = st.sessions;
    s.on("error", (e) => {
      if (!st.stopped) st.failures.push(`session #${n} error: ${e.message}`);
    });
    s.on("goaway", (code, last, data) => {
      if (!st.stopped) st.failures.push(`session #${n} got GOAWAY code ${code} ${data?.length ? JSON.stringify(data.toString()) : ""}`.trim());
    });
    s.on("close", () => {
      if (!st.stopped) st.failures.push(`session #${n} closed by the server`);
    });
    if (holdWatch) {
      const w = s.request({ ":method": "POST", ":path": WATCH_PATH, "content-type": "application/grpc", te: "trailers" });
      w.on("data", () => {});
      w.on("error", (e) => {
        if (!st.stopped && !s.destroyed) st.failures.push(`session #${n} Watch stream error: ${e.message}`);
      });
      w.on("close", () => {
        if (!st.stopped && !s.closed && !s.destroyed) st.failures.push(`session #${n} Watch stream ended (rst ${w.rstCode})`);
      });
      w.write(Buffer.alloc(5)); // one empty gRPC message; the request stays open
      watch = w;
    }
    session = s;
  };
  st.alive = () => (useH2 ? !!session && !session.closed && !session.destroyed : true);

  if (useH2) openSession();
  else agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  const callH1 = () =>
    new Promise((resolve) => {
      const body = "{}";
      const opts = { method: "POST", path: GET_STATUS_PATH, agent, timeout: callTimeoutMs, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } };
      if (target.via === "unix") opts.socketPath = target.unixPath;
      else {
        opts.host = target.addr.split(":")[0];
        opts.port = Number(target.addr.split(":").pop());
      }
      const req = http.request(opts, (res) => {
        const chunks = [];
        res.on("data", (d) => chunks.push(d));
        res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", (e) => resolve({ error: e.message }));
      });
      req.on("socket", (s) => {
        if (!s.peatSeen) {
          s.peatSeen = true;
          st.sockets++;
        }
      });
      req.on("timeout", () => req.destroy(new Error(`no answer within ${callTimeoutMs} ms`)));
      req.on("error", (e) => resolve({ error: e.message }));
      req.end(body);
    });
  const callH2 = () =>
    new Promise((resolve) => {
      let s;
      try {
        s = session.request({ ":method": "POST", ":path": GET_STATUS_PATH, "content-type": "application/json" });
      } catch (e) {
        return resolve({ error: e.message });
      }
      const chunks = [];
      let status;
      let settled = false;
      const done = (v) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        s.close(http2.constants.NGHTTP2_CANCEL);
        done({ error: `no answer within ${callTimeoutMs} ms` });
      }, callTimeoutMs);
      s.on("response", (h) => {
        status = h[":status"];
      });
      s.on("data", (d) => chunks.push(d));
      s.on("end", () => done({ status, body: Buffer.concat(chunks).toString("utf8") }));
      s.on("error", (e) => done({ error: e.message }));
      s.on("close", () => done({ error: `stream closed before the response ended (rst ${s.rstCode})` }));
      s.end("{}");
    });
  const loop = (async () => {
    while (!st.stopped) {
      if (useH2 && !st.alive()) openSession();
      const r = useH2 ? await callH2() : await callH1();
      if (st.stopped && r.error) break; // torn down mid-call
      let ok = false;
      if (r.status === 200) {
        try {
          ok = typeof JSON.parse(r.body).nodeId === "string";
        } catch {
          ok = false;
        }
      }
      if (ok) st.ok++;
      else st.failures.push(r.error ?? `HTTP ${r.status}: ${r.body}`);
      kick();
      await new Promise((res) => setTimeout(res, pauseMs));
    }
  })();
  st.stop = async () => {
    st.stopped = true;
    kick();
    await loop;
    agent?.destroy();
    watch?.close();
    session?.close();
    session?.destroy();
  };
  return st;
}

// ---------------------------------------------------------------------------------------------
// Spawning a node with EXACTLY the given argv (startNode always adds --log-format text etc.)
// ---------------------------------------------------------------------------------------------

/**
 * Spawns peat-node with exactly `argv` (plus nothing) in a fresh temp dir; `argv` may use the
 * placeholder "{tmp}" for that dir. PEAT_NODE_* variables of the test's own environment are not
 * inherited; `env` is added. Returns the harness's PeatNode (kill()/stop()/waitForLine() work);
 * waits until `listeners` API listeners are announced (0 = don't wait). Registers kill() with t.after.
 * spawnFn(cmd, args, opts) starts the process (default child_process.spawn; e.g. a PeatNet host's
 * spawn, to run the node inside a network namespace).
 */
export async function spawnNodeExact({ argv, env = {}, listeners = 1, timeoutMs = 20_000, t, spawnFn = spawn } = {}) {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "peat-it-"));
  const args = argv.map((a) => a.replaceAll("{tmp}", tmpDir));
  const childEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PEAT_NODE_")) childEnv[k] = v;
  Object.assign(childEnv, env);
  const proc = spawnFn(nodeBinary(), args, { cwd: tmpDir, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  const node = new PeatNode({ proc, tmpDir, dataDir: path.join(tmpDir, "data"), unixPath: null, startedAt: Date.now() });
  node.argv = args;
  if (t) t.after(() => node.kill());
  if (listeners > 0) {
    try {
      await node.waitForLine(() => node.listeners.length >= listeners, timeoutMs, `${listeners} listener(s) (${args.join(" ")})`);
    } catch (e) {
      await node.kill();
      throw e;
    }
  }
  return node;
}

/**
 * Runs the peat-node binary to completion (bounded) with exactly `args`, PEAT_NODE_* variables of
 * the test's environment removed and `env` added. Resolves {code, signal, stdout: string, stderr, timedOut}.
 */
export function runNodeBinary(args, { env = {}, cwd, timeoutMs = 10_000 } = {}) {
  const childEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PEAT_NODE_")) childEnv[k] = v;
  Object.assign(childEnv, env);
  return new Promise((resolve, reject) => {
    const p = spawn(nodeBinary(), args, { cwd: cwd ?? os.tmpdir(), env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, timeoutMs);
    p.stdout.setEncoding("utf8");
    p.stderr.setEncoding("utf8");
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`spawn ${nodeBinary()}: ${e.message}`));
    });
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, cmdline: [nodeBinary(), ...args].join(" ") });
    });
  });
}
