// A fake UDS Remote Agent (the Connect JSON server the agent watcher polls), per
// docs/spec/WATCHER.md §7: node:http2 only, no npm dependency. Used in process by the tests
// (class FakeAgent) and from the command line by shell/C++ tests and manual runs (see the CLI at
// the bottom, and docs/WATCHER.md "Try it against the fake agent").
//
// Contract:
//   - Serves on 127.0.0.1:<port> (0 = the OS picks): h2c (http2.createServer) by default; TLS with
//     ALPN h2 + http/1.1 (allowHTTP1) when `tls` is set; mTLS (requestCert + rejectUnauthorized,
//     trusting only the run's CA) when `mtls` is set.
//   - Routes (ROUTES): "status" GET /status, "packages" POST /zarfapi.v1.ZarfAPIService/ListPackages,
//     "pulled" POST /registryapi.v1.RegistryService/ListPulledPackages. Any other path → 404 with
//     the Connect error body {"code":"unimplemented","message":…}. The method is not checked (the
//     records show it), so a test decides what a wrong method means.
//   - Per-route behaviour (BEHAVIOURS): ok | status:<code> | garbage | wrong_types | truncated |
//     huge:<MiB> | delay:<ms> | hang | drip[:<ms per byte>] | reset | close.
//   - Number style: ints "as_is" (fixtures as written) | "number" | "string"; enums "number" | "name".
//   - Every request is recorded (records()) once its body has been read, before the behaviour runs,
//     and counted per route (counts()).
//   - stop() closes every session (hanging and dripping streams included) and both listeners.
//
// makeCerts(dir) makes a per-run PKI with the openssl CLI (see its comment).

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROUTES = Object.freeze({
  status: "/status",
  packages: "/zarfapi.v1.ZarfAPIService/ListPackages",
  pulled: "/registryapi.v1.RegistryService/ListPulledPackages",
});
const ROUTE_OF_PATH = new Map(Object.entries(ROUTES).map(([route, p]) => [p, route]));

export const BEHAVIOURS = ["ok", "status:<code>", "garbage", "wrong_types", "truncated", "huge:<MiB>",
  "delay:<ms>", "hang", "drip[:<ms per byte>]", "reset", "close"];

/** The default fixtures of WATCHER.md §7 (systemTime a string on purpose: proto3-JSON int64). */
export function defaultFixtures() {
  return {
    status: {
      version: "0.9.1", architecture: "amd64", classification: "UNCLASSIFIED", k8sVersion: "v1.30.2",
      k8sNodeStatus: "Ready", zarfVersion: "v0.40.1", runMode: "cluster", systemTime: "1767225600",
    },
    packages: [
      { name: "nginx", version: "1.25.3", status: 3, flavor: "upstream", annotations: { team: "edge" } },
      { name: "podinfo", version: "6.7.0", status: 3 },
    ],
    registries: [
      {
        host: "registry.local",
        packages: [{
          packageName: "uds-core",
          tags: [{ reference: "0.1.0", arch: "amd64", version: "0.1.0", totalBytes: 1234,
            pullInfo: { downloadedBytes: 1234, status: 2 } }],
        }],
      },
    ],
  };
}

// Enum names for the "name" style. The real agent's enum names are unverified (WATCHER.md §3):
// these are invented in the usual proto3 style; a number without a name becomes "<PREFIX>_<n>".
export const PACKAGE_STATUS_NAMES = ["PACKAGE_STATUS_UNSPECIFIED", "PACKAGE_STATUS_PENDING",
  "PACKAGE_STATUS_DEPLOYING", "PACKAGE_STATUS_DEPLOYED", "PACKAGE_STATUS_FAILED", "PACKAGE_STATUS_REMOVING"];
export const PULL_STATUS_NAMES = ["PULL_STATUS_UNSPECIFIED", "PULL_STATUS_PULLING", "PULL_STATUS_COMPLETE",
  "PULL_STATUS_FAILED"];

// Connect error code for an HTTP status (the server side of the Connect protocol's mapping).
const CONNECT_CODES = { 400: "invalid_argument", 401: "unauthenticated", 403: "permission_denied", 404: "not_found",
  408: "deadline_exceeded", 409: "already_exists", 412: "failed_precondition", 429: "resource_exhausted",
  499: "canceled", 500: "internal", 501: "unimplemented", 503: "unavailable", 504: "deadline_exceeded" };
export const connectCodeOf = (httpStatus) => CONNECT_CODES[httpStatus] ?? "unknown";

const MAX_RECORDED_BODY = 64 * 1024;
const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = http2.constants;

/** Throws unless `b` is one of BEHAVIOURS; returns {kind, arg}. */
export function parseBehaviour(b) {
  const m = /^([a-z_]+)(?::(\d+))?$/.exec(String(b));
  const kind = m?.[1];
  const arg = m?.[2] === undefined ? undefined : Number(m[2]);
  const needsArg = { status: true, huge: true, delay: true };
  const simple = new Set(["ok", "garbage", "wrong_types", "truncated", "hang", "reset", "close"]);
  const ok = m && ((simple.has(kind) && arg === undefined) || (needsArg[kind] && arg !== undefined) || kind === "drip");
  if (!ok) throw new Error(`bad behaviour ${JSON.stringify(b)}: one of ${BEHAVIOURS.join(", ")}`);
  if (kind === "status" && (arg < 200 || arg > 599)) throw new Error(`bad behaviour ${b}: status code 200..599`);
  if (kind === "huge" && (arg < 1 || arg > 256)) throw new Error(`bad behaviour ${b}: 1..256 MiB`);
  if (kind === "drip" && arg === 0) throw new Error(`bad behaviour ${b}: drip needs ≥ 1 ms per byte`);
  return { kind, arg };
}

/** The route name of `route` ("status", "packages", "pulled", or one of their paths). */
function routeName(route) {
  if (Object.hasOwn(ROUTES, route)) return route;
  if (ROUTE_OF_PATH.has(route)) return ROUTE_OF_PATH.get(route);
  throw new Error(`unknown route ${JSON.stringify(route)}: one of ${Object.keys(ROUTES).join(", ")} or their paths`);
}

/** "CN=…,O=…" from a node certificate subject object (null when there is none). */
function subjectString(subject) {
  if (!subject || typeof subject !== "object" || !Object.keys(subject).length) return null;
  return Object.entries(subject).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : v}`).join(",");
}

// ---------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------

/**
 * Makes a per-run PKI into `dir` (a fresh temp dir when omitted) with the openssl CLI; ECDSA P-256,
 * valid 2 days. Returns the paths:
 *   ca, caKey                     the CA the agent trusts (and the watcher pins)
 *   serverCert, serverKey         signed by ca, SAN IP:127.0.0.1 + DNS:localhost, CN=localhost
 *   clientCert, clientKey         signed by ca, CN=peat-node-watcher (the good client)
 *   otherCa, otherCaKey           a second CA nobody trusts
 *   otherClientCert/Key           signed by otherCa, CN=peat-node-intruder (mTLS must reject it)
 *   otherServerCert/Key           signed by otherCa, same SANs (a watcher pinning ca must reject it)
 * plus dir and cleanup() (removes dir).
 */
export function makeCerts(dir) {
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), "fake-agent-certs-"));
  fs.mkdirSync(dir, { recursive: true });
  const p = (name) => path.join(dir, name);
  const openssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const makeCa = (name, cn) => openssl("req", "-x509", ...key, "-keyout", p(`${name}.key`), "-out", p(`${name}.crt`),
    "-days", "2", "-subj", `/O=peat-fake-agent/CN=${cn}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  const makeLeaf = (name, ca, cn, ext) => {
    fs.writeFileSync(p(`${name}.ext`), `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n${ext}\n`);
    openssl("req", "-new", ...key, "-keyout", p(`${name}.key`), "-out", p(`${name}.csr`), "-subj", `/O=peat-fake-agent/CN=${cn}`);
    openssl("x509", "-req", "-in", p(`${name}.csr`), "-CA", p(`${ca}.crt`), "-CAkey", p(`${ca}.key`),
      "-set_serial", `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
      "-days", "2", "-out", p(`${name}.crt`), "-extfile", p(`${name}.ext`));
    fs.rmSync(p(`${name}.csr`));
    fs.rmSync(p(`${name}.ext`));
  };
  const serverExt = "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost";
  makeCa("ca", "peat-fake-agent-ca");
  makeCa("other-ca", "peat-fake-agent-other-ca");
  makeLeaf("server", "ca", "localhost", serverExt);
  makeLeaf("client", "ca", "peat-node-watcher", "extendedKeyUsage=clientAuth");
  makeLeaf("other-client", "other-ca", "peat-node-intruder", "extendedKeyUsage=clientAuth");
  makeLeaf("other-server", "other-ca", "localhost", serverExt);
  return certPaths(dir);
}

/** The paths makeCerts(dir) writes (see there), plus dir and cleanup(). */
export function certPaths(dir) {
  const p = (name) => path.join(dir, name);
  return {
    dir, ca: p("ca.crt"), caKey: p("ca.key"), serverCert: p("server.crt"), serverKey: p("server.key"),
    clientCert: p("client.crt"), clientKey: p("client.key"), otherCa: p("other-ca.crt"), otherCaKey: p("other-ca.key"),
    otherClientCert: p("other-client.crt"), otherClientKey: p("other-client.key"),
    otherServerCert: p("other-server.crt"), otherServerKey: p("other-server.key"),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

const INT_FIELDS = new Set(["status", "totalBytes", "downloadedBytes", "systemTime"]);

/** A deep copy of `value` with the number style applied (ints, enums; see the contract). */
function styled(value, style, key = "", parent = "") {
  if (Array.isArray(value)) return value.map((v) => styled(v, style, key, parent));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, styled(v, style, k, key)]));
  }
  if (!INT_FIELDS.has(key)) return value;
  if (key === "status" && style.enums === "name" && /^\d+$/.test(String(value))) {
    const names = parent === "pullInfo" ? PULL_STATUS_NAMES : PACKAGE_STATUS_NAMES;
    const prefix = parent === "pullInfo" ? "PULL_STATUS" : "PACKAGE_STATUS";
    return names[Number(value)] ?? `${prefix}_${value}`;
  }
  const numeric = typeof value === "number" || (typeof value === "string" && /^-?\d+$/.test(value));
  if (!numeric || style.ints === "as_is") return value;
  return style.ints === "string" ? String(value) : Number(value);
}

function okBody(route, fixtures) {
  if (route === "status") return fixtures.status;
  if (route === "packages") return { packages: fixtures.packages };
  return { registries: fixtures.registries };
}

// Valid JSON, but every field the watcher reads has a type no lenient parser may accept.
const WRONG_TYPES = {
  status: { version: ["0.9.1"], architecture: { arch: "amd64" }, classification: 7, k8sVersion: true,
    k8sNodeStatus: ["Ready"], zarfVersion: { v: 40 }, runMode: false, systemTime: { seconds: 1767225600 } },
  packages: { packages: { name: "nginx", version: "1.25.3" } },
  pulled: { registries: "registry.local" },
};

/** `obj` as JSON padded (with a "padding" field) to exactly `bytes` bytes. */
function paddedJson(obj, bytes) {
  const base = JSON.stringify({ ...obj, padding: "" });
  const pad = bytes - Buffer.byteLength(base);
  if (pad < 0) throw new Error(`huge: the fixture alone is ${Buffer.byteLength(base)} B`);
  return Buffer.from(base.replace(/"padding":""}$/, `"padding":"${"x".repeat(pad)}"}`));
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

export class FakeAgent {
  /**
   * @param {object} [o]
   * @param {boolean|object} [o.tls] false = h2c; true = TLS with certificates made at start()
   *   (this.certs); or {cert, key, ca} paths (e.g. from makeCerts: a serverCert of another CA).
   * @param {boolean} [o.mtls] require a client certificate signed by `ca` (implies tls).
   * @param {number} [o.port] 0 = the OS picks.
   */
  constructor({ tls = false, mtls = false, port = 0 } = {}) {
    this.tlsOption = mtls && !tls ? true : tls;
    this.mtls = mtls;
    this.requestedPort = port;
    this.certs = null;
    this.ownCerts = false;
    this.server = null;
    this.port = null;
    this.sessions = new Set();
    this.sockets = new Set();
    this.timers = new Set();
    this.resetState();
  }

  /** Default fixtures, every route ok, number style as_is/number, records and counts cleared. */
  resetState() {
    this.fixtures = defaultFixtures();
    this.behaviours = { status: "ok", packages: "ok", pulled: "ok" };
    this.style = { ints: "as_is", enums: "number" };
    this.clearRecords();
  }

  clearRecords() {
    this.recorded = [];
    this.counted = { status: 0, packages: 0, pulled: 0, other: 0 };
  }

  /** route: "status" | "packages" | "pulled" (or its path); b: one of BEHAVIOURS. */
  setBehaviour(route, b) {
    parseBehaviour(b);
    this.behaviours[routeName(route)] = String(b);
  }

  /** Replaces the given parts: {status?: object, packages?: array, registries?: array}. */
  setFixtures({ status, packages, registries } = {}) {
    if (status !== undefined) this.fixtures.status = structuredClone(status);
    if (packages !== undefined) this.fixtures.packages = structuredClone(packages);
    if (registries !== undefined) this.fixtures.registries = structuredClone(registries);
  }

  /** ints: "as_is" | "number" | "string"; enums: "number" | "name" (either may be omitted). */
  setNumberStyle({ ints, enums } = {}) {
    if (ints !== undefined && !["as_is", "number", "string"].includes(ints)) throw new Error(`bad ints style ${ints}`);
    if (enums !== undefined && !["number", "name"].includes(enums)) throw new Error(`bad enums style ${enums}`);
    this.style = { ints: ints ?? this.style.ints, enums: enums ?? this.style.enums };
  }

  /** A copy of the request records, oldest first. */
  records() {
    return structuredClone(this.recorded);
  }

  /** Requests per route: {status, packages, pulled, other}. */
  counts() {
    return { ...this.counted };
  }

  /** The JSON body a route answers with under "ok" and the current fixtures and number style. */
  body(route) {
    return styled(okBody(routeName(route), this.fixtures), this.style);
  }

  async start() {
    const opts = { maxSessionMemory: 64 };
    if (this.tlsOption) {
      if (this.tlsOption === true) {
        this.certs = makeCerts();
        this.ownCerts = true;
      } else {
        this.certs = { ...this.tlsOption };
      }
      const certPath = this.certs.cert ?? this.certs.serverCert;
      const keyPath = this.certs.key ?? this.certs.serverKey;
      Object.assign(opts, {
        cert: fs.readFileSync(certPath), key: fs.readFileSync(keyPath), allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"],
      });
      if (this.mtls) Object.assign(opts, { ca: fs.readFileSync(this.certs.ca), requestCert: true, rejectUnauthorized: true });
      this.server = http2.createSecureServer(opts);
    } else {
      this.server = http2.createServer(opts);
    }
    this.server.on("session", (s) => {
      this.sessions.add(s);
      s.on("close", () => this.sessions.delete(s));
      s.on("error", () => {});
    });
    this.server.on("connection", (sock) => {
      this.sockets.add(sock);
      sock.on("close", () => this.sockets.delete(sock));
    });
    this.server.on("secureConnection", (sock) => {
      this.sockets.add(sock);
      sock.on("close", () => this.sockets.delete(sock));
    });
    this.server.on("tlsClientError", () => {}); // a rejected client certificate: nothing to record
    this.server.on("request", (req, res) => this.onRequest(req, res));
    await new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.requestedPort, "127.0.0.1", resolve);
    });
    this.port = this.server.address().port;
    return { port: this.port };
  }

  async stop() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.server) {
      const closed = new Promise((resolve) => this.server.close(resolve));
      for (const s of this.sessions) s.destroy();
      for (const sock of this.sockets) sock.destroy();
      await closed;
      this.server = null;
    }
    if (this.ownCerts) this.certs.cleanup();
  }

  later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  onRequest(req, res) {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size <= MAX_RECORDED_BODY) chunks.push(c);
    });
    req.on("error", () => {});
    res.on("error", () => {});
    req.on("end", () => {
      const url = new URL(req.url, "http://agent");
      const route = ROUTE_OF_PATH.get(url.pathname) ?? null;
      const h2 = req.httpVersionMajor === 2;
      const tlsSocket = h2 ? req.stream.session.socket : req.socket;
      const alpn = this.tlsOption ? tlsSocket.alpnProtocol || null : "h2c";
      const peer = this.tlsOption ? tlsSocket.getPeerCertificate?.() : null;
      this.recorded.push({
        time: Date.now(), method: req.method, path: url.pathname + url.search, route,
        headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => !k.startsWith(":"))),
        body: Buffer.concat(chunks).toString("utf8"), bodyBytes: size,
        httpVersion: req.httpVersion, alpn, clientCertSubject: subjectString(peer?.subject),
      });
      this.counted[route ?? "other"]++;
      if (!route) {
        return this.sendJson(res, 404, { code: "unimplemented", message: `fake agent: no route ${url.pathname}` });
      }
      this.respond(req, res, route);
    });
  }

  sendJson(res, status, obj) {
    const body = Buffer.from(JSON.stringify(obj));
    res.writeHead(status, { "content-type": "application/json", "content-length": body.length });
    res.end(body);
  }

  respond(req, res, route) {
    const { kind, arg } = parseBehaviour(this.behaviours[route]);
    const h2 = req.httpVersionMajor === 2;
    const ok = () => Buffer.from(JSON.stringify(this.body(route)));
    const headers = (len) => ({ "content-type": "application/json", "content-length": len });
    switch (kind) {
      case "ok":
        return this.sendJson(res, 200, this.body(route));
      case "status":
        return this.sendJson(res, arg, { code: connectCodeOf(arg), message: `fake agent: status:${arg} on ${route}` });
      case "garbage": {
        const body = Buffer.from("<html><body>502 Bad Gateway, not JSON {\"packages\": [</body></html>\n");
        res.writeHead(200, headers(body.length));
        return res.end(body);
      }
      case "wrong_types":
        return this.sendJson(res, 200, WRONG_TYPES[route]);
      case "huge": {
        const body = paddedJson(this.body(route), arg * 1024 * 1024);
        res.writeHead(200, headers(body.length));
        return res.end(body);
      }
      case "delay":
        return this.later(arg, () => this.sendJson(res, 200, this.body(route)));
      case "hang":
        return; // never answers; stop() (or the client) ends the stream
      case "truncated": {
        // Announce the whole body, send half of it, then abort the stream (RST_STREAM on h2; the
        // connection on HTTP/1.1).
        const body = ok();
        res.writeHead(200, headers(body.length));
        return res.write(body.subarray(0, Math.floor(body.length / 2)), () => this.abort(req, h2));
      }
      case "drip": {
        const body = ok();
        const perByte = arg ?? 1000;
        res.writeHead(200, headers(body.length));
        res.flushHeaders?.();
        // Byte i goes out at start + (i + 1) × perByte (a late timer does not slow the rate down).
        const start = Date.now();
        let i = 0;
        const next = () => {
          if (res.destroyed || res.writableEnded) return;
          if (i === body.length) return res.end();
          res.write(body.subarray(i, i + 1));
          i++;
          this.later(Math.max(0, start + (i + 1) * perByte - Date.now()), next);
        };
        return this.later(perByte, next);
      }
      case "reset":
        return this.abort(req, h2);
      case "close":
        // GOAWAY (NO_ERROR, nothing processed) then the connection closes; on HTTP/1.1 the socket
        // just closes.
        if (h2) return req.stream.session.destroy(undefined, NGHTTP2_NO_ERROR);
        return req.socket.destroy();
    }
  }

  abort(req, h2) {
    if (h2) req.stream.close(NGHTTP2_INTERNAL_ERROR);
    else req.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Control port (CLI mode): POST /control with one JSON command per request
// ---------------------------------------------------------------------------------------------

/**
 * Applies one control command to `agent`; returns the JSON answer. Commands ({"op": …}):
 *   {"op":"behaviour","route":"status","behaviour":"hang"}   (route "all" = every route)
 *   {"op":"fixtures","status":{…},"packages":[…],"registries":[…]}   (any subset)
 *   {"op":"numbers","ints":"string","enums":"name"}
 *   {"op":"records"} → {"ok":true,"records":[…]};  {"op":"counts"} → {"ok":true,"counts":{…}}
 *   {"op":"clear"} (records and counts);  {"op":"reset"} (all defaults);  {"op":"stop"} (exits)
 */
export function applyControl(agent, cmd) {
  switch (cmd?.op) {
    case "behaviour":
      for (const r of cmd.route === "all" ? Object.keys(ROUTES) : [cmd.route]) agent.setBehaviour(r, cmd.behaviour);
      return { ok: true, behaviours: { ...agent.behaviours } };
    case "fixtures":
      agent.setFixtures(cmd);
      return { ok: true };
    case "numbers":
      agent.setNumberStyle(cmd);
      return { ok: true, style: { ...agent.style } };
    case "records":
      return { ok: true, records: agent.records() };
    case "counts":
      return { ok: true, counts: agent.counts() };
    case "clear":
      agent.clearRecords();
      return { ok: true };
    case "reset":
      agent.resetState();
      return { ok: true };
    case "stop":
      return { ok: true, stopping: true };
    default:
      throw new Error(`unknown op ${JSON.stringify(cmd?.op)}: behaviour, fixtures, numbers, records, counts, clear, reset, stop`);
  }
}

/** An HTTP/1.1 control server on 127.0.0.1 for `agent`; onStop() runs after a "stop" is answered. */
export async function startControl(agent, onStop, port = 0) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let status = 200;
      let answer;
      try {
        if (req.method !== "POST" || req.url !== "/control") {
          status = 404;
          throw new Error("only POST /control");
        }
        answer = applyControl(agent, JSON.parse(Buffer.concat(chunks).toString("utf8") || "null"));
      } catch (e) {
        status = status === 200 ? 400 : status;
        answer = { ok: false, error: e.message };
      }
      res.writeHead(status, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify(answer) + "\n", () => answer.stopping && onStop());
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return server;
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

const USAGE = `usage: node tests/integration/lib/fake_agent.mjs [options]
  --tls                   TLS (ALPN h2 + http/1.1) instead of h2c
  --mtls                  TLS and require a client certificate of the run's CA
  --certs-dir DIR         make (or reuse) the certificates in DIR and keep them; default: a temp
                          dir removed at exit
  --port N                agent port (default 0: the OS picks)
  --control-port N        control port (default 0)
  --behaviour ROUTE=B     initial behaviour (repeatable; ROUTE status|packages|pulled|all)
  --ints as_is|number|string   --enums number|name
  --fixtures FILE         JSON {status?, packages?, registries?} replacing the defaults
Prints one line {"port":N,"control":M[,"certs":{…}]} once both ports listen; runs until SIGINT,
SIGTERM or {"op":"stop"} on POST http://127.0.0.1:M/control.`;

function parseArgs(argv) {
  const o = { tls: false, mtls: false, certsDir: null, port: 0, controlPort: 0, behaviours: [], ints: undefined,
    enums: undefined, fixtures: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--tls") o.tls = true;
    else if (a === "--mtls") o.mtls = o.tls = true;
    else if (a === "--certs-dir") o.certsDir = value();
    else if (a === "--port") o.port = Number(value());
    else if (a === "--control-port") o.controlPort = Number(value());
    else if (a === "--behaviour") {
      const [route, b] = value().split(/=(.*)/s);
      o.behaviours.push({ route, b });
    } else if (a === "--ints") o.ints = value();
    else if (a === "--enums") o.enums = value();
    else if (a === "--fixtures") o.fixtures = JSON.parse(fs.readFileSync(value(), "utf8"));
    else if (a === "--help" || a === "-h") {
      process.stdout.write(USAGE + "\n");
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  for (const [k, v] of [["--port", o.port], ["--control-port", o.controlPort]]) {
    if (!Number.isInteger(v) || v < 0 || v > 65535) throw new Error(`${k}: 0..65535`);
  }
  return o;
}

async function main(argv) {
  let o;
  try {
    o = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`fake_agent: ${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
  let tls = o.tls;
  if (o.tls && o.certsDir) {
    // Reuse the certificates of an earlier run in DIR (all of them present), else make them there.
    const paths = certPaths(o.certsDir);
    const complete = Object.entries(paths).every(([k, v]) => typeof v !== "string" || k === "dir" || fs.existsSync(v));
    tls = complete ? paths : makeCerts(o.certsDir);
  }
  const agent = new FakeAgent({ tls, mtls: o.mtls, port: o.port });
  try {
    for (const { route, b } of o.behaviours) applyControl(agent, { op: "behaviour", route, behaviour: b });
    agent.setNumberStyle({ ints: o.ints, enums: o.enums });
    if (o.fixtures) agent.setFixtures(o.fixtures);
  } catch (e) {
    process.stderr.write(`fake_agent: ${e.message}\n`);
    process.exit(2);
  }
  const { port } = await agent.start();
  let control = null;
  const shutdown = async () => {
    await agent.stop();
    control?.close();
    control?.closeAllConnections?.();
    process.exit(0);
  };
  control = await startControl(agent, shutdown, o.controlPort);
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  const line = { port, control: control.address().port };
  if (agent.certs) {
    const { cleanup: _cleanup, ...paths } = agent.certs;
    line.certs = paths;
  }
  process.stdout.write(JSON.stringify(line) + "\n");
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`fake_agent: ${e.stack ?? e}\n`);
    process.exit(1);
  });
}
