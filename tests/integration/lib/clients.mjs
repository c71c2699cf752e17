// Client helpers for the protocol matrix: every client speaks to a running PeatNode over TCP or its
// unix socket and reports results in one shape, so tests can loop over all of them.
//
//   unary result:  { ok: true,  message: <proto3 JSON object>, raw }
//                  { ok: false, code: "<connect code name>", errorMessage, raw }
//   stream handle: { messages: [...], waitForMessages(n, ms), done: Promise<{messages, error, elapsedMs}>, cancel(),
//                    headers, waitForHeaders(ms) }
//                  error is null or { code, message }; headers is null until the response headers
//                  arrived (connect-node and grpc-js report them; buf curl does not), then
//                  { status (when the client exposes it), contentType, afterMs (since the call was made) }
//
// Clients (kinds):
//   curl-json-h1 / curl-json-h2          curl, Connect protocol, application/json (unary only)
//   buf-connect-h1 / buf-connect-h2 / buf-grpc / buf-grpcweb     `buf curl` with --schema proto
//   cn-connect-json-h1 / cn-connect-proto-h1 / cn-connect-proto-h2 / cn-grpc-h2 / cn-grpcweb-h1 /
//   cn-grpcweb-h2                        @connectrpc/connect-node transports
//   grpc-js                              @grpc/grpc-js + @grpc/proto-loader on the .proto sources

import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { CLIENTS_DIR, PROTO_DIR, REPO_ROOT } from "./node_process.mjs";

let deps;
try {
  deps = await import(path.join(CLIENTS_DIR, "index.mjs"));
} catch (e) {
  throw new Error(`cannot load the test client toolchain (run scripts/install-npm-deps.sh): ${e.message}`);
}
const { connect, connectNode, protobuf, sidecarPb, healthPb, grpc, protoLoader, BUF_BIN, GrpcReflection } = deps;
export { connect, connectNode, protobuf, sidecarPb, healthPb, grpc, protoLoader, BUF_BIN, GrpcReflection };

export const SIDECAR = "peat.sidecar.v1.PeatSidecar";
export const HEALTH = "grpc.health.v1.Health";
export const SIDECAR_PROTO = path.join(PROTO_DIR, "peat/sidecar/v1/sidecar.proto");
export const HEALTH_PROTO = path.join(PROTO_DIR, "grpc/health/v1/health.proto");

// ---------------------------------------------------------------------------------------------
// Status codes
// ---------------------------------------------------------------------------------------------

/** Connect/gRPC code names, indexed by numeric code. */
export const CODE_NAMES = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];
export const codeName = (n) => CODE_NAMES[n] ?? `code_${n}`;
export const codeNumber = (name) => {
  const i = CODE_NAMES.indexOf(name);
  if (i < 0) throw new Error(`unknown code name ${name}`);
  return i;
};

/** Standard Connect code → HTTP status mapping (connectrpc.com/docs/protocol#error-codes). */
export const CONNECT_HTTP_STATUS = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
};

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

/** A target: where a client connects. via = "tcp" | "unix". */
export function targetOf(node, via) {
  if (via === "tcp") return { via, addr: node.tcpAddr, baseUrl: node.baseUrl };
  if (via === "unix") {
    if (!node.unixPath) throw new Error("node has no unix listener");
    return { via, unixPath: node.unixPath, baseUrl: "http://localhost" };
  }
  throw new Error(`bad via ${via}`);
}

// ---------------------------------------------------------------------------------------------
// Process helper
// ---------------------------------------------------------------------------------------------

/** Runs a command to completion (bounded): resolves {code, signal, stdout: Buffer, stderr: string, timedOut}. */
export function run(cmd, args, { input, timeoutMs = 30_000, cwd = REPO_ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out = [];
    let err = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, timeoutMs);
    p.stdout.on("data", (d) => out.push(d));
    p.stderr.on("data", (d) => {
      err += d;
    });
    p.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`spawn ${cmd}: ${e.message}`));
    });
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err, timedOut, cmdline: [cmd, ...args].join(" ") });
    });
    p.stdin.on("error", () => {}); // the command may exit before reading all input
    p.stdin.end(input ?? "");
  });
}

// ---------------------------------------------------------------------------------------------
// Concatenated-JSON parsing (buf curl prints one pretty-printed JSON document per message)
// ---------------------------------------------------------------------------------------------

/** Incremental splitter of a stream of concatenated JSON objects/arrays. push(text) returns new values. */
export class JsonSequenceParser {
  constructor() {
    this.buf = "";
    this.pos = 0;
    this.depth = 0;
    this.inStr = false;
    this.esc = false;
    this.start = -1;
  }
  push(text) {
    this.buf += text;
    const outv = [];
    for (; this.pos < this.buf.length; this.pos++) {
      const c = this.buf[this.pos];
      if (this.inStr) {
        if (this.esc) this.esc = false;
        else if (c === "\\") this.esc = true;
        else if (c === '"') this.inStr = false;
        continue;
      }
      if (c === '"') {
        if (this.depth > 0) this.inStr = true;
      } else if (c === "{" || c === "[") {
        if (this.depth++ === 0) this.start = this.pos;
      } else if (c === "}" || c === "]") {
        if (--this.depth === 0) {
          outv.push(JSON.parse(this.buf.slice(this.start, this.pos + 1)));
          this.buf = this.buf.slice(this.pos + 1);
          this.pos = -1;
        }
        if (this.depth < 0) throw new Error(`unbalanced JSON: ${this.buf}`);
      }
    }
    return outv;
  }
}

export function parseJsonSequence(text) {
  return new JsonSequenceParser().push(text);
}

// ---------------------------------------------------------------------------------------------
// Stream handle plumbing
// ---------------------------------------------------------------------------------------------

/** A stream handle (see the top of this file) for a call made right after it is created. */
export function makeStreamHandle() {
  const h = {
    messages: [],
    error: null,
    ended: false,
    headers: null,
    _waiters: new Set(),
    _t0: Date.now(),
    _sentAt: performance.now(),
  };
  let resolveDone;
  h.done = new Promise((r) => {
    resolveDone = r;
  });
  h._push = (m) => {
    h.messages.push(m);
    for (const w of h._waiters) w();
  };
  h._end = (error) => {
    if (h.ended) return;
    h.ended = true;
    h.error = error ?? null;
    for (const w of h._waiters) w();
    resolveDone({ messages: h.messages, error: h.error, elapsedMs: Date.now() - h._t0 });
  };
  /** The response headers arrived: {status (if the client exposes it), contentType}. */
  h._headers = ({ status, contentType }) => {
    if (h.headers) return;
    h.headers = { status, contentType, afterMs: performance.now() - h._sentAt };
    for (const w of h._waiters) w();
  };
  /**
   * Resolves with value() once ready() holds (checked on every message, the headers and the end);
   * rejects with endedMsg() if the stream ends first, or with timeoutMsg() after timeoutMs.
   */
  const waitUntil = (ready, value, timeoutMs, timeoutMsg, endedMsg) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (ready()) return finish(null);
        if (h.ended) return finish(new Error(endedMsg()));
      };
      const timer = setTimeout(() => finish(new Error(timeoutMsg())), timeoutMs);
      const finish = (err) => {
        clearTimeout(timer);
        h._waiters.delete(check);
        err ? reject(err) : resolve(value());
      };
      h._waiters.add(check);
      check();
    });
  /** Resolves with h.headers once they arrived; rejects if the stream ends first or after timeoutMs. */
  h.waitForHeaders = (timeoutMs = 10_000) =>
    waitUntil(
      () => h.headers !== null,
      () => h.headers,
      timeoutMs,
      () => `no response headers within ${timeoutMs} ms`,
      () => `stream ended (error ${JSON.stringify(h.error)}) without response headers`,
    );
  /** Resolves once n messages arrived; rejects if the stream ends first or after timeoutMs. */
  h.waitForMessages = (n, timeoutMs = 10_000) =>
    waitUntil(
      () => h.messages.length >= n,
      () => h.messages.slice(0, n),
      timeoutMs,
      () => `timed out after ${timeoutMs} ms waiting for ${n} message(s); have ${JSON.stringify(h.messages)}`,
      () => `stream ended with ${h.messages.length} message(s) (error ${JSON.stringify(h.error)}), wanted ${n}`,
    );
  return h;
}

// ---------------------------------------------------------------------------------------------
// curl: Connect protocol, JSON (or any content type), unary
// ---------------------------------------------------------------------------------------------

const CURL_MARK = "\n@@PEAT_CURL@@";

/**
 * Raw POST with curl (Connect unary, or a hand-built streaming envelope). Returns {httpStatus,
 * contentType, body: string, bodyBuffer, json (parsed or undefined), exitCode, stderr}. The request
 * body may be a string or Buffer.
 */
export async function curlPost(target, urlPath, body, { contentType = "application/json", http2 = false, headers = {}, method = "POST", timeoutMs = 30_000 } = {}) {
  const args = ["-sS", "-X", method, "--max-time", String(Math.ceil(timeoutMs / 1000)), "-o", "-", "-w", `${CURL_MARK}%{http_code} %{content_type}`];
  if (contentType !== null) args.push("-H", `Content-Type: ${contentType}`);
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
  if (http2) args.push("--http2-prior-knowledge");
  if (body !== undefined && body !== null) args.push("--data-binary", "@-");
  if (target.via === "unix") args.push("--unix-socket", target.unixPath);
  args.push(`${target.baseUrl}${urlPath}`);
  const r = await run("curl", args, { input: body ?? "", timeoutMs: timeoutMs + 5000 });
  const i = r.stdout.lastIndexOf(Buffer.from(CURL_MARK));
  if (r.code !== 0 || i < 0) {
    throw new Error(`curl failed (exit ${r.code}): ${r.cmdline}\n${r.stderr}\n${r.stdout.toString("utf8")}`);
  }
  const [statusStr, ...ct] = r.stdout.subarray(i + CURL_MARK.length).toString("utf8").split(" ");
  const bodyBuffer = r.stdout.subarray(0, i);
  const bodyText = bodyBuffer.toString("utf8");
  let json;
  try {
    json = bodyText.length ? JSON.parse(bodyText) : undefined;
  } catch {
    json = undefined;
  }
  return { httpStatus: Number(statusStr), contentType: ct.join(" "), body: bodyText, bodyBuffer, json, exitCode: r.code, stderr: r.stderr, cmdline: r.cmdline };
}

/** Connect streaming envelope: [flags u8][length u32 BE][payload]. */
export function envelope(payload, flags = 0) {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, "utf8");
  const h = Buffer.alloc(5);
  h.writeUInt8(flags, 0);
  h.writeUInt32BE(p.length, 1);
  return Buffer.concat([h, p]);
}

/** Splits a buffer of envelopes; throws on a truncated one. Returns [{flags, payload: Buffer}]. */
export function parseEnvelopes(buf) {
  const out = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 5) throw new Error(`truncated envelope header at ${off} of ${buf.length}`);
    const flags = buf.readUInt8(off);
    const len = buf.readUInt32BE(off + 1);
    if (buf.length - off - 5 < len) throw new Error(`truncated envelope at ${off}: need ${len} bytes, have ${buf.length - off - 5}`);
    out.push({ flags, payload: buf.subarray(off + 5, off + 5 + len) });
    off += 5 + len;
  }
  return out;
}

function curlClient(target, { http2 }) {
  return {
    kind: http2 ? "curl-json-h2" : "curl-json-h1",
    supportsStreaming: false,
    async unary(service, method, req, { timeoutMs } = {}) {
      const headers = timeoutMs ? { "Connect-Timeout-Ms": String(timeoutMs) } : {};
      const raw = await curlPost(target, `/${service}/${method}`, JSON.stringify(req ?? {}), { http2, headers });
      if (raw.httpStatus === 200) {
        if (raw.json === undefined || typeof raw.json !== "object") throw new Error(`HTTP 200 without a JSON object body: ${raw.body}`);
        return { ok: true, message: raw.json, raw };
      }
      if (!raw.json || typeof raw.json.code !== "string") {
        throw new Error(`HTTP ${raw.httpStatus} without a Connect JSON error body: ${JSON.stringify(raw.body)}`);
      }
      return { ok: false, code: raw.json.code, errorMessage: raw.json.message ?? "", raw };
    },
    openStream() {
      throw new Error("curl client: streaming not supported");
    },
    close() {},
  };
}

// ---------------------------------------------------------------------------------------------
// buf curl
// ---------------------------------------------------------------------------------------------

let schemaImage;
/**
 * The protos compiled once into a buf image (per test process), so each `buf curl` skips
 * compiling the .proto sources.
 */
export function bufSchemaImage() {
  if (!schemaImage) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peat-it-schema-"));
    const file = path.join(dir, "schema.binpb");
    execFileSync(BUF_BIN, ["build", PROTO_DIR, "-o", file], { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] });
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    schemaImage = file;
  }
  return schemaImage;
}

function bufCurlArgs(target, service, method, req, { protocol, http2, timeoutMs, headers = {} }) {
  const args = ["curl", "--schema", bufSchemaImage(), "--protocol", protocol];
  if (http2 && protocol !== "grpc") args.push("--http2-prior-knowledge");
  if (target.via === "unix") args.push("--unix-socket", target.unixPath);
  // buf refuses the reserved timeout headers (-H Grpc-Timeout / Connect-Timeout-Ms); its --timeout
  // bounds the whole command and its context deadline is sent on the wire as the RPC timeout.
  if (timeoutMs) args.push("--timeout", `${timeoutMs}ms`);
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
  args.push("--data", JSON.stringify(req ?? {}), `${target.baseUrl}/${service}/${method}`);
  return args;
}

/** Parses buf curl's stderr for the RPC error document ({"code": "...", "message": "..."}). */
function bufCurlError(stderr) {
  let docs = [];
  try {
    docs = parseJsonSequence(stderr);
  } catch {
    docs = [];
  }
  return docs.reverse().find((d) => d && typeof d.code === "string") ?? null;
}

/** Runs one buf curl invocation: resolves {exitCode, messages, error, stdout, stderr, cmdline}. */
export async function bufCurl(target, service, method, req, opts = {}) {
  const args = bufCurlArgs(target, service, method, req, { protocol: "connect", ...opts });
  const r = await run(BUF_BIN, args, { timeoutMs: opts.processTimeoutMs ?? 60_000 });
  const stdout = r.stdout.toString("utf8");
  let messages;
  try {
    messages = parseJsonSequence(stdout);
  } catch (e) {
    throw new Error(`buf curl printed unparsable output (${e.message}): ${stdout}`);
  }
  return { exitCode: r.code, signal: r.signal, timedOut: r.timedOut, messages, error: bufCurlError(r.stderr), stdout, stderr: r.stderr, cmdline: r.cmdline };
}

function bufCurlClient(target, { protocol, http2 }) {
  const kind = protocol === "connect" ? `buf-connect-${http2 ? "h2" : "h1"}` : `buf-${protocol}`;
  return {
    kind,
    supportsStreaming: true,
    async unary(service, method, req, { timeoutMs } = {}) {
      const raw = await bufCurl(target, service, method, req, { protocol, http2, timeoutMs });
      if (raw.timedOut) throw new Error(`buf curl hung: ${raw.cmdline}`);
      if (raw.exitCode === 0) {
        if (raw.messages.length !== 1) throw new Error(`buf curl exit 0 but ${raw.messages.length} messages: ${raw.stdout}`);
        return { ok: true, message: raw.messages[0], raw };
      }
      if (!raw.error) throw new Error(`buf curl exit ${raw.exitCode} without an RPC error: ${raw.cmdline}\n${raw.stderr}`);
      return { ok: false, code: raw.error.code, errorMessage: raw.error.message ?? "", raw };
    },
    openStream(service, method, req, { timeoutMs } = {}) {
      const h = makeStreamHandle();
      const args = bufCurlArgs(target, service, method, req, { protocol, http2, timeoutMs });
      const p = spawn(BUF_BIN, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
      const parser = new JsonSequenceParser();
      let stderr = "";
      p.stdout.setEncoding("utf8");
      p.stdout.on("data", (d) => {
        for (const m of parser.push(d)) h._push(m);
      });
      p.stderr.on("data", (d) => {
        stderr += d;
      });
      p.on("error", (e) => h._end({ code: "client_error", message: `spawn buf: ${e.message}` }));
      p.on("close", (code, signal) => {
        h.raw = { exitCode: code, signal, stderr, cmdline: [BUF_BIN, ...args].join(" ") };
        if (code === 0) return h._end(null);
        const err = bufCurlError(stderr);
        h._end(err ? { code: err.code, message: err.message ?? "", exitCode: code } : { code: "client_error", message: `buf curl exit ${code} ${signal ?? ""}: ${stderr}`, exitCode: code });
      });
      h.cancel = () => p.kill("SIGKILL");
      return h;
    },
    close() {},
  };
}

// ---------------------------------------------------------------------------------------------
// @connectrpc/connect-node
// ---------------------------------------------------------------------------------------------

const SERVICES = {
  [SIDECAR]: () => sidecarPb.PeatSidecar,
  [HEALTH]: () => healthPb.Health,
};

function serviceDesc(service) {
  const f = SERVICES[service];
  if (!f) throw new Error(`unknown service ${service}`);
  return f();
}

function methodDesc(service, method) {
  const desc = serviceDesc(service);
  const m = desc.methods.find((x) => x.name === method);
  if (!m) throw new Error(`no method ${service}/${method} in the generated code`);
  return m;
}

function connectErrorInfo(e) {
  const ce = connect.ConnectError.from(e);
  return { code: codeName(ce.code), message: ce.rawMessage, error: ce };
}

/**
 * Http2SessionManager whose sessions always have an "error" listener. connect-node destroys a
 * session with an error when it gets a GOAWAY with no open streams (the server draining on
 * SIGTERM); if its own listener is already detached, Node raises that as an uncaughtException.
 * Errors that matter still reach the caller through the streams.
 */
class GuardedSessionManager extends connectNode.Http2SessionManager {
  async request(method, path, headers, options) {
    const stream = await super.request(method, path, headers, options);
    const session = stream.session;
    if (session && !session.peatGuarded) {
      session.peatGuarded = true;
      session.on("error", () => {});
    }
    return stream;
  }
}

/**
 * A connect-node transport. protocol: connect | grpc | grpcweb; httpVersion "1.1" | "2";
 * binary: proto (true) or JSON (false) payloads. Unix sockets: HTTP/1.1 via `socketPath`,
 * HTTP/2 via a session whose createConnection dials the socket.
 */
export function createConnectNodeTransport(target, { protocol, httpVersion, binary = true }) {
  const closers = [];
  const opts = { baseUrl: target.baseUrl, httpVersion, useBinaryFormat: binary };
  if (httpVersion === "1.1") {
    const agent = new http.Agent({ keepAlive: true });
    closers.push(() => agent.destroy());
    opts.nodeOptions = target.via === "unix" ? { agent, socketPath: target.unixPath } : { agent };
  } else {
    const h2opts = target.via === "unix" ? { createConnection: () => net.connect(target.unixPath) } : {};
    const sm = new GuardedSessionManager(target.baseUrl, {}, h2opts);
    closers.push(() => sm.abort());
    opts.sessionManager = sm;
  }
  const factory = { connect: connectNode.createConnectTransport, grpc: connectNode.createGrpcTransport, grpcweb: connectNode.createGrpcWebTransport }[protocol];
  if (!factory) throw new Error(`bad protocol ${protocol}`);
  if (protocol === "grpc" && httpVersion !== "2") throw new Error("gRPC needs HTTP/2");
  return { transport: factory(opts), close: () => closers.forEach((c) => c()) };
}

function connectNodeClient(target, { protocol, httpVersion, binary }) {
  const { transport, close } = createConnectNodeTransport(target, { protocol, httpVersion, binary });
  const hv = httpVersion === "2" ? "h2" : "h1";
  const kind = protocol === "connect" ? `cn-connect-${binary ? "proto" : "json"}-${hv}` : `cn-${protocol}-${hv}`;
  const clients = new Map();
  const clientFor = (service) => {
    if (!clients.has(service)) clients.set(service, connect.createClient(serviceDesc(service), transport));
    return clients.get(service);
  };
  return {
    kind,
    transport,
    supportsStreaming: true,
    async unary(service, method, req, { timeoutMs } = {}) {
      const md = methodDesc(service, method);
      const input = protobuf.fromJson(md.input, req ?? {});
      try {
        const res = await clientFor(service)[md.localName](input, { timeoutMs });
        return { ok: true, message: protobuf.toJson(md.output, res), raw: res };
      } catch (e) {
        const info = connectErrorInfo(e);
        return { ok: false, code: info.code, errorMessage: info.message, raw: info.error };
      }
    },
    openStream(service, method, req, { timeoutMs } = {}) {
      const md = methodDesc(service, method);
      const h = makeStreamHandle();
      const ac = new AbortController();
      h.cancel = () => ac.abort();
      (async () => {
        try {
          const input = protobuf.fromJson(md.input, req ?? {});
          const onHeader = (header) => h._headers({ contentType: header.get("content-type") });
          for await (const m of clientFor(service)[md.localName](input, { timeoutMs, signal: ac.signal, onHeader })) {
            h._push(protobuf.toJson(md.output, m));
          }
          h._end(null);
        } catch (e) {
          const info = connectErrorInfo(e);
          h._end({ code: info.code, message: info.message });
        }
      })();
      return h;
    },
    close,
  };
}

// ---------------------------------------------------------------------------------------------
// @grpc/grpc-js
// ---------------------------------------------------------------------------------------------

let grpcPkg;
function grpcPackage() {
  if (!grpcPkg) {
    const def = protoLoader.loadSync([SIDECAR_PROTO, HEALTH_PROTO], {
      includeDirs: [PROTO_DIR],
      keepCase: false, // lowerCamelCase, like proto3 JSON
      longs: String,
      enums: String,
      defaults: false,
      oneofs: true,
    });
    grpcPkg = grpc.loadPackageDefinition(def);
  }
  return grpcPkg;
}

/** grpc-js channel target: "127.0.0.1:PORT" or "unix:///abs/path". */
export function grpcTarget(target) {
  return target.via === "unix" ? `unix://${target.unixPath}` : target.addr;
}

/** grpc-js result objects → proto3-JSON-like plain objects (drops undefined / null, keeps values). */
function plain(obj) {
  return JSON.parse(JSON.stringify(obj));
}

function grpcJsClient(target) {
  const pkg = grpcPackage();
  const ctors = { [SIDECAR]: pkg.peat.sidecar.v1.PeatSidecar, [HEALTH]: pkg.grpc.health.v1.Health };
  const clients = new Map();
  const clientFor = (service) => {
    if (!clients.has(service)) clients.set(service, new ctors[service](grpcTarget(target), grpc.credentials.createInsecure()));
    return clients.get(service);
  };
  const callOpts = (timeoutMs) => (timeoutMs ? { deadline: new Date(Date.now() + timeoutMs) } : {});
  return {
    kind: "grpc-js",
    supportsStreaming: true,
    unary(service, method, req, { timeoutMs } = {}) {
      return new Promise((resolve) => {
        clientFor(service)[method](req ?? {}, new grpc.Metadata(), callOpts(timeoutMs), (err, res) => {
          if (err) resolve({ ok: false, code: codeName(err.code), errorMessage: err.details ?? "", raw: err });
          else resolve({ ok: true, message: plain(res), raw: res });
        });
      });
    },
    openStream(service, method, req, { timeoutMs } = {}) {
      const h = makeStreamHandle();
      const call = clientFor(service)[method](req ?? {}, new grpc.Metadata(), callOpts(timeoutMs));
      h.cancel = () => call.cancel();
      call.on("metadata", (md) => h._headers({ contentType: md.get("content-type")[0] }));
      call.on("data", (m) => h._push(plain(m)));
      // grpc-js emits "status" after "end" on OK, and "error" (then status) on non-OK.
      call.on("error", (err) => h._end({ code: codeName(err.code), message: err.details ?? "" }));
      call.on("status", (st) => {
        if (st.code === grpc.status.OK) h._end(null);
        else h._end({ code: codeName(st.code), message: st.details ?? "" });
      });
      return h;
    },
    close() {
      for (const c of clients.values()) c.close();
    },
  };
}

/** A generic grpc-js client for arbitrary paths and raw payloads (unknown methods, malformed bodies). */
export function grpcRawUnary(target, pathName, payload, { timeoutMs = 10_000 } = {}) {
  const client = new grpc.Client(grpcTarget(target), grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      pathName,
      (b) => b,
      (b) => b,
      payload,
      new grpc.Metadata(),
      { deadline: new Date(Date.now() + timeoutMs) },
      (err, res) => {
        client.close();
        if (err) resolve({ ok: false, code: codeName(err.code), errorMessage: err.details ?? "", raw: err });
        else resolve({ ok: true, message: res, raw: res });
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Matrix
// ---------------------------------------------------------------------------------------------

const KINDS = {
  "curl-json-h1": (t) => curlClient(t, { http2: false }),
  "curl-json-h2": (t) => curlClient(t, { http2: true }),
  "buf-connect-h1": (t) => bufCurlClient(t, { protocol: "connect", http2: false }),
  "buf-connect-h2": (t) => bufCurlClient(t, { protocol: "connect", http2: true }),
  "buf-grpc": (t) => bufCurlClient(t, { protocol: "grpc", http2: true }),
  "buf-grpcweb": (t) => bufCurlClient(t, { protocol: "grpcweb", http2: false }),
  "cn-connect-json-h1": (t) => connectNodeClient(t, { protocol: "connect", httpVersion: "1.1", binary: false }),
  "cn-connect-proto-h1": (t) => connectNodeClient(t, { protocol: "connect", httpVersion: "1.1", binary: true }),
  "cn-connect-proto-h2": (t) => connectNodeClient(t, { protocol: "connect", httpVersion: "2", binary: true }),
  "cn-grpc-h2": (t) => connectNodeClient(t, { protocol: "grpc", httpVersion: "2", binary: true }),
  "cn-grpcweb-h1": (t) => connectNodeClient(t, { protocol: "grpcweb", httpVersion: "1.1", binary: true }),
  "cn-grpcweb-h2": (t) => connectNodeClient(t, { protocol: "grpcweb", httpVersion: "2", binary: true }),
  "grpc-js": (t) => grpcJsClient(t),
};

export const CLIENT_KINDS = Object.keys(KINDS);
export const STREAMING_CLIENT_KINDS = CLIENT_KINDS.filter((k) => !k.startsWith("curl-"));

/** Creates a client of `kind` for `node` over `via` ("tcp" | "unix"). Call close() when done. */
export function makeClient(kind, node, via) {
  const f = KINDS[kind];
  if (!f) throw new Error(`unknown client kind ${kind}`);
  const c = f(targetOf(node, via));
  c.via = via;
  c.name = `${kind}/${via}`;
  return c;
}

// Sanity: the tool binaries exist (fail loudly at import rather than deep inside a test).
if (!fs.existsSync(BUF_BIN)) throw new Error(`buf not found at ${BUF_BIN}; run scripts/install-npm-deps.sh`);
