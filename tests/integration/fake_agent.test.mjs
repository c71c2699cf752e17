// The fake UDS Remote Agent (lib/fake_agent.mjs, WATCHER.md §7) proven against clients nobody here
// wrote: node:http2 and curl (--http2-prior-knowledge for h2c; --http2/--http1.1 with --cacert,
// --cert, --key for TLS and mTLS). Every route, every behaviour, both number styles, the
// certificates, the records and counts, the CLI and its control port. Needs no peat-node binary
// (the watcher itself is not wired yet); ~10 s.
//
// Run: node --test tests/integration/fake_agent.test.mjs

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http2 from "node:http2";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { FakeAgent, ROUTES, certPaths, defaultFixtures, makeCerts, parseBehaviour } from "./lib/fake_agent.mjs";

const FAKE_AGENT = path.join(path.dirname(fileURLToPath(import.meta.url)), "lib", "fake_agent.mjs");
const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = http2.constants;
const MiB = 1024 * 1024;
const JSON_POST = { method: "POST", body: "{}", headers: { "content-type": "application/json", "connect-protocol-version": "1" } };
const CALL = { status: { method: "GET" }, packages: JSON_POST, pulled: JSON_POST };

/**
 * One request on a fresh HTTP/2 session (so a behaviour that kills the connection affects only
 * this call). Never throws: the outcome (status, headers, body, the stream's RST code, a GOAWAY,
 * an error, or timedOut when `deadlineMs` passed without the stream closing) is in the result.
 */
async function call(origin, route, { deadlineMs = 5000, connect = {}, path: p } = {}) {
  const { method, body, headers = {} } = CALL[route] ?? { method: "GET" };
  const out = { status: null, headers: null, chunks: [], dataAt: [], rstCode: null, goaway: null, error: null, timedOut: false };
  const started = Date.now();
  const session = http2.connect(origin, connect);
  session.on("error", (e) => (out.error ??= e));
  session.on("goaway", (code, lastStreamId) => (out.goaway = { code, lastStreamId }));
  await new Promise((resolve) => {
    const req = session.request({ ":method": method, ":path": p ?? ROUTES[route], ...headers });
    const timer = setTimeout(() => {
      out.timedOut = true;
      resolve();
    }, deadlineMs);
    req.on("response", (h) => {
      out.status = h[":status"];
      out.headers = h;
    });
    req.on("data", (c) => {
      out.chunks.push(c);
      out.dataAt.push({ ms: Date.now() - started, bytes: c.length });
    });
    req.on("error", (e) => (out.error ??= e));
    req.on("close", () => {
      clearTimeout(timer);
      out.rstCode = req.rstCode;
      resolve();
    });
    req.end(body);
  });
  session.destroy();
  out.body = Buffer.concat(out.chunks);
  out.elapsedMs = Date.now() - started;
  return out;
}

/** curl with `args` (never throws): {code, stdout, stderr}. */
async function curl(args) {
  try {
    const { stdout, stderr } = await promisify(execFile)("curl", ["-sS", "--max-time", "10", ...args], { maxBuffer: 32 * MiB });
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
const WRITE_OUT = ["-w", "\n%{http_code} %{http_version}"];
/** Splits curl output made with WRITE_OUT into {body, httpCode, httpVersion}. */
function written(stdout) {
  const i = stdout.lastIndexOf("\n");
  const [httpCode, httpVersion] = stdout.slice(i + 1).split(" ");
  return { body: stdout.slice(0, i), httpCode, httpVersion };
}
const curlArgs = (route) => (CALL[route].method === "POST" ? ["-X", "POST", "-H", "content-type: application/json", "-d", "{}"] : []);

const expectedOk = (route, fixtures = defaultFixtures()) =>
  route === "status" ? fixtures.status : route === "packages" ? { packages: fixtures.packages } : { registries: fixtures.registries };

async function started(opts) {
  const agent = new FakeAgent(opts);
  const { port } = await agent.start();
  return { agent, port, origin: `http://127.0.0.1:${port}` };
}

describe("fake agent over h2c", () => {
  let agent;
  let port;
  let origin;
  before(async () => ({ agent, port, origin } = await started()));
  after(() => agent.stop());

  it("serves the three routes with the default fixtures of WATCHER.md §7, records and counts them", async () => {
    agent.clearRecords();
    const before = Date.now();
    for (const route of Object.keys(ROUTES)) {
      const r = await call(origin, route);
      assert.equal(r.status, 200, route);
      assert.equal(r.headers["content-type"], "application/json");
      assert.deepEqual(JSON.parse(r.body), expectedOk(route), route);
    }
    assert.equal(defaultFixtures().status.systemTime, "1767225600", "systemTime is a string on purpose");
    const recs = agent.records();
    assert.deepEqual(recs.map((r) => [r.method, r.path, r.route]), [
      ["GET", "/status", "status"],
      ["POST", ROUTES.packages, "packages"],
      ["POST", ROUTES.pulled, "pulled"],
    ]);
    for (const r of recs) {
      assert.ok(r.time >= before && r.time <= Date.now(), "record time");
      assert.equal(r.httpVersion, "2.0");
      assert.equal(r.alpn, "h2c");
      assert.equal(r.clientCertSubject, null);
    }
    assert.equal(recs[0].body, "");
    for (const r of recs.slice(1)) {
      assert.equal(r.body, "{}");
      assert.equal(r.headers["content-type"], "application/json");
      assert.equal(r.headers["connect-protocol-version"], "1");
    }
    assert.deepEqual(agent.counts(), { status: 1, packages: 1, pulled: 1, other: 0 });
  });

  it("answers any other path with 404 and a Connect unimplemented body, counted as other", async () => {
    agent.clearRecords();
    const r = await call(origin, "other", { path: "/zarfapi.v1.ZarfAPIService/GetPackage" });
    assert.equal(r.status, 404);
    const body = JSON.parse(r.body);
    assert.equal(body.code, "unimplemented");
    assert.equal(typeof body.message, "string");
    assert.deepEqual(agent.counts(), { status: 0, packages: 0, pulled: 0, other: 1 });
    assert.equal(agent.records()[0].route, null);
  });

  it("curl --http2-prior-knowledge gets every route over HTTP/2 and the 404", async () => {
    for (const route of Object.keys(ROUTES)) {
      const r = await curl(["--http2-prior-knowledge", ...WRITE_OUT, ...curlArgs(route), `${origin}${ROUTES[route]}`]);
      assert.equal(r.code, 0, r.stderr);
      const w = written(r.stdout);
      assert.deepEqual([w.httpCode, w.httpVersion], ["200", "2"]);
      assert.deepEqual(JSON.parse(w.body), expectedOk(route));
    }
    const r = await curl(["--http2-prior-knowledge", ...WRITE_OUT, `${origin}/nope`]);
    assert.equal(written(r.stdout).httpCode, "404");
    assert.equal(JSON.parse(written(r.stdout).body).code, "unimplemented");
  });

  describe("behaviours, on every route", () => {
    after(() => agent.resetState());
    for (const route of Object.keys(ROUTES)) {
      it(`${route}: status:500, status:503 and status:404 answer that code with a Connect error body`, async () => {
        for (const [code, connect] of [[500, "internal"], [503, "unavailable"], [404, "not_found"]]) {
          agent.setBehaviour(route, `status:${code}`);
          const r = await call(origin, route);
          assert.equal(r.status, code);
          assert.equal(JSON.parse(r.body).code, connect);
        }
      });

      it(`${route}: garbage is a 200 whose body is not JSON`, async () => {
        agent.setBehaviour(route, "garbage");
        const r = await call(origin, route);
        assert.equal(r.status, 200);
        assert.ok(r.body.length > 0);
        assert.throws(() => JSON.parse(r.body), SyntaxError);
      });

      it(`${route}: wrong_types is valid JSON whose fields have types no lenient parser accepts`, async () => {
        agent.setBehaviour(route, "wrong_types");
        const body = JSON.parse((await call(origin, route)).body);
        if (route === "status") {
          for (const f of ["version", "architecture", "classification", "k8sVersion", "k8sNodeStatus", "zarfVersion", "runMode"]) {
            assert.notEqual(typeof body[f], "string", f);
          }
          assert.equal(typeof body.systemTime, "object");
        } else {
          const list = route === "packages" ? body.packages : body.registries;
          assert.ok(list !== undefined && !Array.isArray(list), `${route}: the list is not an array`);
        }
      });

      it(`${route}: truncated announces the whole body, sends half, then RST_STREAM`, async () => {
        agent.setBehaviour(route, "truncated");
        const r = await call(origin, route);
        const full = Buffer.byteLength(JSON.stringify(agent.body(route)));
        assert.equal(r.status, 200);
        assert.equal(Number(r.headers["content-length"]), full);
        assert.equal(r.body.length, Math.floor(full / 2));
        assert.equal(r.rstCode, NGHTTP2_INTERNAL_ERROR);
      });

      it(`${route}: huge:8 sends exactly 8 MiB of valid JSON`, async () => {
        agent.setBehaviour(route, "huge:8");
        const r = await call(origin, route, { deadlineMs: 10_000 });
        assert.equal(r.status, 200);
        assert.equal(r.body.length, 8 * MiB);
        assert.equal(Number(r.headers["content-length"]), 8 * MiB);
        const { padding, ...rest } = JSON.parse(r.body);
        assert.deepEqual(rest, expectedOk(route));
        assert.ok(padding.length > 8 * MiB - 1024);
      });

      it(`${route}: delay:300 answers ok after ≥ 300 ms`, async () => {
        agent.setBehaviour(route, "delay:300");
        const r = await call(origin, route);
        assert.ok(r.elapsedMs >= 300, `${r.elapsedMs} ms`);
        assert.deepEqual(JSON.parse(r.body), expectedOk(route));
      });

      it(`${route}: reset gives RST_STREAM at once, no response`, async () => {
        agent.setBehaviour(route, "reset");
        const r = await call(origin, route);
        assert.equal(r.status, null);
        assert.equal(r.rstCode, NGHTTP2_INTERNAL_ERROR);
        assert.ok(r.elapsedMs < 2000);
      });

      it(`${route}: close gives GOAWAY and closes the connection, no response`, async () => {
        agent.setBehaviour(route, "close");
        const r = await call(origin, route);
        assert.equal(r.status, null);
        assert.equal(r.timedOut, false);
        assert.deepEqual(r.goaway?.code, NGHTTP2_NO_ERROR);
        assert.notEqual(r.rstCode, NGHTTP2_NO_ERROR, "the stream did not end cleanly");
      });
    }

    it("hang never answers within a 1.5 s deadline (on every route at once), while drip sends ~1 byte/s", async () => {
      agent.clearRecords();
      for (const route of Object.keys(ROUTES)) agent.setBehaviour(route, "hang");
      const hung = Object.keys(ROUTES).map((route) => call(origin, route, { deadlineMs: 1500 }));
      const dripper = await started();
      try {
        dripper.agent.setBehaviour("status", "drip");
        dripper.agent.setBehaviour("packages", "drip:5");
        const [slow, fast] = await Promise.all([
          call(dripper.origin, "status", { deadlineMs: 3500 }),
          call(dripper.origin, "packages"),
        ]);
        for (const r of await Promise.all(hung)) {
          assert.equal(r.timedOut, true);
          assert.equal(r.status, null, "no response headers");
          assert.equal(r.body.length, 0);
        }
        assert.deepEqual(agent.counts(), { status: 1, packages: 1, pulled: 1, other: 0 }, "the hung requests did arrive");
        // drip: headers at once, then one byte per second.
        assert.equal(slow.timedOut, true);
        assert.equal(slow.status, 200);
        assert.ok(slow.dataAt.every((d) => d.bytes === 1), JSON.stringify(slow.dataAt));
        assert.ok(slow.body.length >= 2 && slow.body.length <= 4, `${slow.body.length} bytes in 3.5 s`);
        // byte k (from 1) is never early: not before k s (timers may fire a few ms early).
        slow.dataAt.forEach((d, k) => assert.ok(d.ms >= (k + 1) * 1000 - 20, `byte ${k + 1} after ${d.ms} ms`));
        assert.equal(slow.body.toString(), JSON.stringify(expectedOk("status")).slice(0, slow.body.length));
        // drip:5: the whole body, byte by byte.
        assert.deepEqual(JSON.parse(fast.body), expectedOk("packages"));
        assert.equal(fast.dataAt.length, fast.body.length);
      } finally {
        await dripper.agent.stop();
      }
    });
  });

  it("number styles: ints as_is / number / string, enums number / name", async () => {
    const get = async (route) => JSON.parse((await call(origin, route)).body);
    try {
      agent.setNumberStyle({ ints: "number" });
      assert.equal((await get("status")).systemTime, 1767225600);
      assert.equal((await get("packages")).packages[0].status, 3);
      agent.setNumberStyle({ ints: "string" });
      assert.equal((await get("status")).systemTime, "1767225600");
      assert.equal((await get("packages")).packages[1].status, "3");
      let tag = (await get("pulled")).registries[0].packages[0].tags[0];
      assert.deepEqual([tag.totalBytes, tag.pullInfo.downloadedBytes, tag.pullInfo.status], ["1234", "1234", "2"]);
      agent.setNumberStyle({ ints: "number", enums: "name" });
      assert.deepEqual((await get("packages")).packages.map((p) => p.status), ["PACKAGE_STATUS_DEPLOYED", "PACKAGE_STATUS_DEPLOYED"]);
      tag = (await get("pulled")).registries[0].packages[0].tags[0];
      assert.deepEqual([tag.totalBytes, tag.pullInfo.downloadedBytes, tag.pullInfo.status], [1234, 1234, "PULL_STATUS_COMPLETE"]);
      agent.setFixtures({ packages: [{ name: "odd", status: 42 }] });
      assert.equal((await get("packages")).packages[0].status, "PACKAGE_STATUS_42");
    } finally {
      agent.resetState();
    }
    assert.deepEqual(await get("status"), defaultFixtures().status, "resetState restores the defaults");
  });

  it("setFixtures replaces the given lists only", async () => {
    try {
      agent.setFixtures({ packages: [{ name: "nginx", version: "1.25.3", status: 3 }] });
      const body = JSON.parse((await call(origin, "packages")).body);
      assert.deepEqual(body.packages.map((p) => p.name), ["nginx"]);
      assert.deepEqual(JSON.parse((await call(origin, "status")).body), defaultFixtures().status);
      agent.setFixtures({ registries: [] });
      assert.deepEqual(JSON.parse((await call(origin, "pulled")).body), { registries: [] });
    } finally {
      agent.resetState();
    }
  });

  it("rejects unknown behaviours and routes", () => {
    for (const bad of ["", "nope", "status", "status:99", "huge", "huge:0", "delay", "hang:5", "drip:0", "reset:1"]) {
      assert.throws(() => parseBehaviour(bad), /bad behaviour/, bad);
    }
    for (const good of ["ok", "status:503", "huge:8", "delay:1", "drip", "drip:10", "close"]) parseBehaviour(good);
    assert.throws(() => agent.setBehaviour("nodes", "ok"), /unknown route/);
    agent.setBehaviour(ROUTES.pulled, "ok"); // a path works too
  });
});

describe("fake agent over TLS and mTLS", () => {
  let certs;
  before(() => (certs = makeCerts()));
  after(() => certs.cleanup());
  const tlsCurl = (extra, url) => curl(["--cacert", certs.ca, ...WRITE_OUT, ...extra, url]);

  it("makes a CA, a server cert for 127.0.0.1/localhost, a client cert and a second CA's certs", async () => {
    for (const [k, v] of Object.entries(certPaths(certs.dir))) if (k !== "dir" && typeof v === "string") assert.ok(fs.existsSync(v), k);
    const x509 = (p) => new crypto.X509Certificate(fs.readFileSync(p));
    const ca = x509(certs.ca);
    const server = x509(certs.serverCert);
    assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
    assert.match(server.subjectAltName, /IP Address:127\.0\.0\.1/);
    assert.match(server.subjectAltName, /DNS:localhost/);
    assert.ok(x509(certs.clientCert).checkIssued(ca));
    assert.ok(!x509(certs.otherClientCert).checkIssued(ca));
    assert.ok(x509(certs.otherClientCert).checkIssued(x509(certs.otherCa)));
    assert.ok(x509(certs.otherServerCert).checkIssued(x509(certs.otherCa)));
    assert.equal(ca.ca, true);
  });

  it("TLS without mTLS: ALPN h2 (node and curl) and http/1.1 (curl), verified on 127.0.0.1 and localhost", async () => {
    const { agent, port } = await started({ tls: certs });
    try {
      const r = await call(`https://localhost:${port}`, "packages", { connect: { ca: fs.readFileSync(certs.ca) } });
      assert.equal(r.error, null);
      assert.deepEqual(JSON.parse(r.body), expectedOk("packages"));
      let c = await tlsCurl(["--http2", ...curlArgs("pulled")], `https://127.0.0.1:${port}${ROUTES.pulled}`);
      assert.equal(c.code, 0, c.stderr);
      assert.deepEqual([written(c.stdout).httpCode, written(c.stdout).httpVersion], ["200", "2"]);
      c = await tlsCurl(["--http1.1"], `https://localhost:${port}/status`);
      assert.equal(c.code, 0, c.stderr);
      assert.deepEqual([written(c.stdout).httpCode, written(c.stdout).httpVersion], ["200", "1.1"]);
      assert.deepEqual(JSON.parse(written(c.stdout).body), expectedOk("status"));
      assert.deepEqual(agent.records().map((x) => [x.httpVersion, x.alpn, x.clientCertSubject]), [
        ["2.0", "h2", null], ["2.0", "h2", null], ["1.1", "http/1.1", null]]);
      // The behaviours over the HTTP/1.1 fallback: truncated and reset cut the connection.
      agent.setBehaviour("status", "truncated");
      c = await tlsCurl(["--http1.1"], `https://localhost:${port}/status`);
      assert.equal(c.code, 18, `curl: partial file expected: ${c.stderr}`);
      agent.setBehaviour("status", "reset");
      c = await tlsCurl(["--http1.1"], `https://localhost:${port}/status`);
      assert.equal(c.code, 52, `curl: empty reply expected: ${c.stderr}`);
    } finally {
      await agent.stop();
    }
  });

  it("a server cert of the other CA fails verification against the CA", async () => {
    const { agent, port } = await started({ tls: { cert: certs.otherServerCert, key: certs.otherServerKey, ca: certs.ca } });
    try {
      const c = await tlsCurl(["--http2"], `https://127.0.0.1:${port}/status`);
      assert.equal(c.code, 60, `curl: peer certificate cannot be authenticated: ${c.stderr}`);
      assert.deepEqual(agent.counts(), { status: 0, packages: 0, pulled: 0, other: 0 });
    } finally {
      await agent.stop();
    }
  });

  it("mTLS accepts the CA's client cert (subject recorded) and rejects the other CA's client cert and none", async () => {
    const { agent, port } = await started({ tls: certs, mtls: true });
    try {
      const url = `https://127.0.0.1:${port}/status`;
      let c = await tlsCurl(["--http2", "--cert", certs.clientCert, "--key", certs.clientKey], url);
      assert.equal(c.code, 0, c.stderr);
      assert.deepEqual(JSON.parse(written(c.stdout).body), expectedOk("status"));
      const good = await call(`https://localhost:${port}`, "pulled", { connect: {
        ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) } });
      assert.equal(good.status, 200);
      assert.deepEqual(agent.records().map((x) => [x.alpn, x.clientCertSubject]), [
        ["h2", "O=peat-fake-agent,CN=peat-node-watcher"], ["h2", "O=peat-fake-agent,CN=peat-node-watcher"]]);

      c = await tlsCurl(["--http2", "--cert", certs.otherClientCert, "--key", certs.otherClientKey], url);
      assert.notEqual(c.code, 0, "the other CA's client cert must be rejected");
      c = await tlsCurl(["--http2"], url);
      assert.notEqual(c.code, 0, "no client cert must be rejected");
      const bad = await call(`https://localhost:${port}`, "status", { deadlineMs: 3000, connect: {
        ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.otherClientCert), key: fs.readFileSync(certs.otherClientKey) } });
      assert.equal(bad.status, null);
      assert.equal(bad.timedOut, false);
      assert.ok(bad.error || bad.rstCode !== NGHTTP2_NO_ERROR, `node's client sees the failure: ${JSON.stringify({ e: bad.error?.message, rst: bad.rstCode })}`);
      assert.deepEqual(agent.counts(), { status: 1, packages: 0, pulled: 1, other: 0 }, "rejected clients reach no route");
    } finally {
      await agent.stop();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

/** Starts the CLI; resolves with {proc, info (its JSON line), exited (a promise of the exit code)}. */
async function startCli(args, deadlineMs = 10_000) {
  const proc = spawn(process.execPath, [FAKE_AGENT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve(code ?? signal)));
  let out = "";
  let err = "";
  proc.stderr.on("data", (c) => (err += c));
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no JSON line within ${deadlineMs} ms; stderr: ${err}`)), deadlineMs);
    proc.stdout.on("data", (c) => {
      out += c;
      if (out.includes("\n")) {
        clearTimeout(timer);
        resolve(JSON.parse(out.slice(0, out.indexOf("\n"))));
      }
    });
    exited.then((code) => reject(new Error(`exited ${code} before its JSON line; stderr: ${err}`)));
  });
  return { proc, info, exited };
}

const control = async (port, cmd) => {
  const c = await curl(["-w", "\n%{http_code}", "-d", JSON.stringify(cmd), `http://127.0.0.1:${port}/control`]);
  const i = c.stdout.lastIndexOf("\n");
  return { code: Number(c.stdout.slice(i + 1)), body: JSON.parse(c.stdout.slice(0, i)) };
};

describe("fake agent CLI", () => {
  it("h2c: prints {port, control}; the control port sets behaviours, numbers, fixtures, reads records and counts, stops it", async () => {
    const { info, exited } = await startCli(["--behaviour", "packages=status:503"]);
    assert.deepEqual(Object.keys(info), ["port", "control"]);
    const agent = `http://127.0.0.1:${info.port}`;
    let c = await curl(["--http2-prior-knowledge", ...WRITE_OUT, ...curlArgs("packages"), agent + ROUTES.packages]);
    assert.equal(written(c.stdout).httpCode, "503");
    assert.equal((await control(info.control, { op: "behaviour", route: "all", behaviour: "ok" })).code, 200);
    assert.equal((await control(info.control, { op: "numbers", ints: "string", enums: "name" })).code, 200);
    assert.equal((await control(info.control, { op: "fixtures", packages: [{ name: "zot", status: 4 }] })).code, 200);
    c = await curl(["--http2-prior-knowledge", ...curlArgs("packages"), agent + ROUTES.packages]);
    assert.deepEqual(JSON.parse(c.stdout), { packages: [{ name: "zot", status: "PACKAGE_STATUS_FAILED" }] });
    const recs = (await control(info.control, { op: "records" })).body.records;
    assert.deepEqual(recs.map((r) => [r.method, r.route, r.body, r.httpVersion, r.headers["content-type"]]), [
      ["POST", "packages", "{}", "2.0", "application/json"], ["POST", "packages", "{}", "2.0", "application/json"]]);
    assert.deepEqual((await control(info.control, { op: "counts" })).body.counts, { status: 0, packages: 2, pulled: 0, other: 0 });
    assert.equal((await control(info.control, { op: "clear" })).code, 200);
    assert.deepEqual((await control(info.control, { op: "counts" })).body.counts, { status: 0, packages: 0, pulled: 0, other: 0 });
    assert.equal((await control(info.control, { op: "reset" })).code, 200);
    c = await curl(["--http2-prior-knowledge", agent + "/status"]);
    assert.deepEqual(JSON.parse(c.stdout), defaultFixtures().status);
    // Bad commands are 400 with the reason; the agent keeps running.
    for (const cmd of [{ op: "nope" }, { op: "behaviour", route: "status", behaviour: "explode" }, { op: "numbers", ints: "hex" }]) {
      const r = await control(info.control, cmd);
      assert.equal(r.code, 400, JSON.stringify(cmd));
      assert.equal(r.body.ok, false);
      assert.match(r.body.error, /\S/);
    }
    assert.equal((await curl(["-w", "%{http_code}", "-o", "/dev/null", `http://127.0.0.1:${info.control}/records`])).stdout, "404");
    assert.deepEqual((await control(info.control, { op: "stop" })).body, { ok: true, stopping: true });
    assert.equal(await exited, 0);
  });

  it("--mtls: makes certificates in a temp dir, prints their paths, removes them on SIGTERM", async () => {
    const { proc, info, exited } = await startCli(["--mtls", "--ints", "string"]);
    try {
      assert.ok(fs.existsSync(info.certs.ca) && fs.existsSync(info.certs.clientKey));
      const c = await curl(["--http2", "--cacert", info.certs.ca, "--cert", info.certs.clientCert, "--key", info.certs.clientKey,
        `https://localhost:${info.port}/status`]);
      assert.equal(c.code, 0, c.stderr);
      assert.equal(JSON.parse(c.stdout).systemTime, "1767225600");
      const recs = (await control(info.control, { op: "records" })).body.records;
      assert.equal(recs[0].clientCertSubject, "O=peat-fake-agent,CN=peat-node-watcher");
    } finally {
      proc.kill("SIGTERM");
    }
    assert.equal(await exited, 0);
    assert.equal(fs.existsSync(info.certs.dir), false, "temp certificate dir removed");
  });

  it("--certs-dir keeps the certificates and reuses them on the next run", async () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? "/tmp"), "fake-agent-test-"));
    try {
      const first = await startCli(["--tls", "--certs-dir", dir]);
      const ca = fs.readFileSync(path.join(dir, "ca.crt"), "utf8");
      first.proc.kill("SIGTERM");
      assert.equal(await first.exited, 0);
      // The next run reuses them; also --fixtures, --enums and --behaviour all=… at start.
      const fixtures = path.join(dir, "fixtures.json");
      fs.writeFileSync(fixtures, JSON.stringify({ packages: [{ name: "zot", status: 1 }] }));
      const second = await startCli(["--tls", "--certs-dir", dir, "--fixtures", fixtures, "--enums", "name",
        "--behaviour", "all=status:500", "--behaviour", "packages=ok"]);
      assert.equal(fs.readFileSync(path.join(dir, "ca.crt"), "utf8"), ca, "the CA is reused");
      const https = (route) => curl(["--http2", "--cacert", path.join(dir, "ca.crt"), ...WRITE_OUT, ...curlArgs(route),
        `https://127.0.0.1:${second.info.port}${ROUTES[route]}`]);
      let c = await https("packages");
      assert.equal(c.code, 0, c.stderr);
      assert.deepEqual(JSON.parse(written(c.stdout).body), { packages: [{ name: "zot", status: "PACKAGE_STATUS_PENDING" }] });
      for (const route of ["status", "pulled"]) {
        c = await https(route);
        assert.equal(written(c.stdout).httpCode, "500", route);
      }
      second.proc.kill("SIGTERM");
      assert.equal(await second.exited, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("bad arguments exit 2 with the usage", async () => {
    for (const args of [["--nope"], ["--port"], ["--port", "70000"], ["--behaviour", "status=explode"], ["--behaviour", "nodes=ok"]]) {
      const proc = spawn(process.execPath, [FAKE_AGENT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let err = "";
      proc.stderr.on("data", (c) => (err += c));
      const code = await new Promise((resolve) => proc.on("exit", resolve));
      assert.equal(code, 2, `${args.join(" ")}: ${err}`);
      assert.match(err, /^fake_agent: /);
    }
  });
});

