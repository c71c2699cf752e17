// Bad input, limits and faults at the API layer (BEHAVIOR.md "Bad input, limits, faults";
// LESSONS.md 20, 22). ONE peat-node with small limits takes every kind of abuse while two
// well-behaved clients — Connect JSON over a keep-alive HTTP/1.1 connection on the unix socket and
// Connect JSON over an HTTP/2 session on TCP — call GetStatus in a loop. Every test checks that
// both made progress during/after the abuse and that none of their calls failed.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/bad_input.test.mjs

import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { startNode } from "./lib/node_process.mjs";
import { SIDECAR, HEALTH, curlPost, envelope, grpcRawUnary, makeClient, parseEnvelopes, protobuf, sidecarPb, targetOf } from "./lib/clients.mjs";
import { fails, ok } from "./lib/documents.mjs";
import {
  H2,
  countHttp1Responses,
  h2Frame,
  h2RequestHeaders,
  h2RstStream,
  hpackLiterals,
  metricValue,
  parseHttp1Head,
  rawConnect,
  rawH2Connect,
  scrapeMetrics,
  startGoodCaller,
} from "./lib/raw.mjs";

const MAX_MESSAGE_BYTES = 65536;
const HEADER_TIMEOUT_S = 1;
const IDLE_TIMEOUT_S = 2;
const MAX_STREAMS = 4;
const MAX_CONNECTIONS = 8;

const GET_STATUS = `/${SIDECAR}/GetStatus`;
const WATCH = `/${HEALTH}/Watch`;

/** A protobuf message of exactly `total` bytes: one unknown length-delimited field 15 (valid proto, ignored). */
function protoOfSize(total) {
  const b = Buffer.alloc(total);
  b[0] = (15 << 3) | 2;
  let v = total - 4;
  let i = 1;
  while (v >= 128) {
    b[i++] = (v & 127) | 128;
    v >>>= 7;
  }
  b[i++] = v;
  if (i !== 4) throw new Error(`protoOfSize(${total}): varint is ${i - 1} bytes, want 3`);
  return b;
}

/** Polls async pred() every intervalMs until it returns truthy; throws after timeoutMs. */
async function waitUntil(pred, timeoutMs, what, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await pred();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Chunked (no Content-Length) HTTP/1.1 POST of `body`; resolves {status, body} or {error}. */
function chunkedPost(target, urlPath, body, contentType, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    const opts = { method: "POST", path: urlPath, agent: false, timeout: timeoutMs, headers: { "content-type": contentType, "transfer-encoding": "chunked" } };
    if (target.via === "unix") opts.socketPath = target.unixPath;
    else {
      opts.host = "127.0.0.1";
      opts.port = Number(target.addr.split(":").pop());
    }
    const req = http.request(opts, (res) => {
      const chunks = [];
      res.on("data", (d) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", (e) => resolve({ error: e.message }));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (e) => resolve({ error: e.message }));
    for (let off = 0; off < body.length; off += 8192) req.write(body.subarray(off, off + 8192));
    req.end();
  });
}

function assertConnectError(r, httpStatus, code, what) {
  assert.equal(r.httpStatus, httpStatus, `${what}: HTTP status (body ${JSON.stringify(r.body)})`);
  assert.match(r.contentType, /^application\/json/, `${what}: content-type`);
  assert.ok(r.json && typeof r.json === "object", `${what}: body is not a JSON object: ${JSON.stringify(r.body)}`);
  assert.equal(r.json.code, code, `${what}: Connect error code (body ${r.body})`);
  assert.equal(typeof r.json.message, "string", `${what}: Connect error message`);
}

describe("bad input, limits and faults at the API layer (one node, small limits)", () => {
  let node;
  let tcp;
  let unix;
  /** Well-behaved callers running for the whole file: [h1 keep-alive over unix, h2 session over tcp]. */
  let good = [];
  /** GetStatus answer (proto3 JSON) for comparing with raw HTTP/2 answers. */
  let status;

  before(async () => {
    node = await startNode({
      args: [
        "--max-message-bytes", String(MAX_MESSAGE_BYTES),
        "--http-header-read-timeout-secs", String(HEADER_TIMEOUT_S),
        "--http-max-connection-idle-secs", String(IDLE_TIMEOUT_S),
        "--http2-max-concurrent-streams", String(MAX_STREAMS),
        "--max-connections", String(MAX_CONNECTIONS),
      ],
    });
    tcp = targetOf(node, "tcp");
    unix = targetOf(node, "unix");
    const r = await curlPost(tcp, GET_STATUS, "{}");
    assert.equal(r.httpStatus, 200, `GetStatus: ${r.body}`);
    status = r.json;
    // The HTTP/2 caller also holds a Watch stream open (as a client with a subscription does), so
    // its connection is never idle; whether a busy connection WITHOUT an open stream survives the
    // idle timeout is checked on its own in the idle-timeout test below.
    good = [startGoodCaller(unix, { http2: false }), startGoodCaller(tcp, { http2: true, holdWatch: true })];
    for (const g of good) assert.ok(await g.waitForOk(1, 10_000), `well-behaved ${g.kind} caller never succeeded: ${g.failures.slice(0, 3).join("; ")}`);
  });

  after(async () => {
    for (const g of good) await g.stop();
    await node?.kill();
  });

  /**
   * Runs the abuse in fn() while the well-behaved callers keep calling; afterwards each of them must
   * have completed at least two more calls (so at least one started after the abuse) and none of
   * their calls may have failed.
   */
  async function whileGoodClientsRun(fn) {
    const mark = good.map((g) => ({ ok: g.ok, failures: g.failures.length }));
    const result = await fn();
    for (const [i, g] of good.entries()) {
      assert.ok(await g.waitForOk(mark[i].ok + 2, 10_000), `well-behaved ${g.kind} caller stalled (ok ${g.ok}, was ${mark[i].ok}); failures: ${g.failures.slice(mark[i].failures).join("; ")}`);
      assert.deepEqual(g.failures.slice(mark[i].failures), [], `well-behaved ${g.kind} caller saw failures during the abuse`);
    }
    return result;
  }

  it("body over --max-message-bytes → RESOURCE_EXHAUSTED (Connect 429, gRPC status 8); exactly the limit is accepted", async () => {
    await whileGoodClientsRun(async () => {
      // Connect JSON, Content-Length body.
      const bigJson = JSON.stringify({ pad: "a".repeat(MAX_MESSAGE_BYTES + 1000) });
      assertConnectError(await curlPost(tcp, GET_STATUS, bigJson), 429, "resource_exhausted", "Connect JSON over the limit (h1)");
      assertConnectError(await curlPost(tcp, GET_STATUS, bigJson, { http2: true }), 429, "resource_exhausted", "Connect JSON over the limit (h2)");
      // Connect proto: the limit is inclusive (a message of exactly max bytes is fine).
      const atLimit = await curlPost(tcp, GET_STATUS, protoOfSize(MAX_MESSAGE_BYTES), { contentType: "application/proto" });
      assert.equal(atLimit.httpStatus, 200, `Connect proto of exactly ${MAX_MESSAGE_BYTES} bytes: ${atLimit.body}`);
      assertConnectError(await curlPost(tcp, GET_STATUS, protoOfSize(MAX_MESSAGE_BYTES + 1), { contentType: "application/proto" }), 429, "resource_exhausted", "Connect proto of max+1 bytes");
      // Chunked upload (no Content-Length): the server must count the bytes it reads.
      const ch = await chunkedPost(tcp, GET_STATUS, Buffer.from(bigJson), "application/json");
      assert.equal(ch.error, undefined, `chunked over-limit upload: ${ch.error}`);
      assert.equal(ch.status, 429, `chunked over-limit upload: ${ch.body}`);
      assert.equal(JSON.parse(ch.body).code, "resource_exhausted");
      // gRPC (HTTP/2): limit applies to the message; max passes, max+1 is RESOURCE_EXHAUSTED (8).
      const gOk = await grpcRawUnary(tcp, GET_STATUS, protoOfSize(MAX_MESSAGE_BYTES));
      assert.equal(gOk.ok, true, `gRPC message of exactly ${MAX_MESSAGE_BYTES} bytes: ${gOk.code} ${gOk.errorMessage}`);
      const gBig = await grpcRawUnary(tcp, GET_STATUS, protoOfSize(MAX_MESSAGE_BYTES + 1));
      assert.equal(gBig.ok, false, "gRPC over-limit message accepted");
      assert.equal(gBig.raw.code, 8, `gRPC over-limit: grpc-status ${gBig.raw.code} (${gBig.errorMessage})`);
    });
  });

  it("malformed protobuf or JSON body → INVALID_ARGUMENT (Connect 400, gRPC status 3)", async () => {
    await whileGoodClientsRun(async () => {
      const truncated = Buffer.from([0x0a, 0x05, 0x01]); // field 1, LEN 5, only 1 byte follows
      const badTag = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]); // field number out of range
      for (const [what, body] of [["truncated", truncated], ["bad tag", badTag]]) {
        assertConnectError(await curlPost(tcp, GET_STATUS, body, { contentType: "application/proto" }), 400, "invalid_argument", `Connect proto, ${what}`);
      }
      assertConnectError(await curlPost(tcp, GET_STATUS, "{bad"), 400, "invalid_argument", "Connect JSON {bad");
      assertConnectError(await curlPost(tcp, GET_STATUS, "[1,2]"), 400, "invalid_argument", "Connect JSON array body");
      assertConnectError(await curlPost(tcp, GET_STATUS, "{bad", { http2: true }), 400, "invalid_argument", "Connect JSON {bad over h2");
      const g = await grpcRawUnary(tcp, GET_STATUS, truncated);
      assert.equal(g.ok, false, "gRPC malformed protobuf accepted");
      assert.equal(g.raw.code, 3, `gRPC malformed protobuf: grpc-status ${g.raw.code} (${g.errorMessage})`);
    });
  });

  // An unknown enum value must never become the default silently (a mistyped deletion policy
  // stored as SOFT_DELETE lets documents meant to be immutable be deleted). JSON can carry the
  // name; gRPC and gRPC-Web here are binary only, so they carry the unknown number.
  it("unknown enum values → INVALID_ARGUMENT naming the field and the accepted names; nothing is stored (Connect JSON, gRPC, gRPC-Web)", async () => {
    await whileGoodClientsRun(async () => {
      const POLICIES = "DELETION_POLICY_UNSPECIFIED, DELETION_POLICY_SOFT_DELETE, DELETION_POLICY_TOMBSTONE, DELETION_POLICY_IMPLICIT_TTL, DELETION_POLICY_IMMUTABLE";
      const NODE_STATUSES = "NODE_STATUS_UNSPECIFIED, NODE_STATUS_READY, NODE_STATUS_BUSY, NODE_STATUS_DEGRADED, NODE_STATUS_OFFLINE";
      const cases = [
        // [client kind, value sent, how the message shows it]
        ["curl-json-h1", "IMMUTABLE", '"IMMUTABLE"'],
        ["curl-json-h2", "IMMUTABLE", '"IMMUTABLE"'],
        ["curl-json-h1", 99, "99"],
        ["grpc-js", 99, "99"],
        ["buf-grpc", 99, "99"],
        ["buf-grpcweb", 99, "99"],
        ["cn-grpcweb-h1", 99, "99"],
      ];
      for (const [i, [kind, value, shown]] of cases.entries()) {
        const c = makeClient(kind, node, "tcp");
        try {
          const collection = `enum-bad-${i}`;
          const what = `${kind}, deletionPolicy ${shown}`;
          const msg = await fails(c, "SetCollectionConfig", { config: { collection, deletionPolicy: value } }, "invalid_argument", what);
          assert.equal(msg, `config.deletion_policy: unknown enum value ${shown}; accepted: ${POLICIES}`, what);
          assert.deepEqual(await ok(c, "GetCollectionConfig", { collection }), {}, `${what}: a config was stored`);
        } finally {
          c.close();
        }
      }

      // The same request with the full name works, and the collection is immutable.
      for (const kind of ["curl-json-h1", "grpc-js"]) {
        const c = makeClient(kind, node, "tcp");
        try {
          const collection = `enum-good-${kind}`;
          await ok(c, "SetCollectionConfig", { config: { collection, deletionPolicy: "DELETION_POLICY_IMMUTABLE" } }, kind);
          assert.deepEqual(await ok(c, "GetCollectionConfig", { collection }), { config: { collection, deletionPolicy: "DELETION_POLICY_IMMUTABLE" } }, kind);
          await ok(c, "PutDocument", { collection, docId: "keep", jsonData: '{"k":1}' }, kind);
          await fails(c, "DeleteDocument", { collection, docId: "keep" }, "failed_precondition", `${kind}: delete from an immutable collection`);
        } finally {
          c.close();
        }
      }

      // PutNode with an unknown status number, in binary over gRPC (grpc-js, buf curl): refused
      // before the handler, nothing stored.
      for (const kind of ["grpc-js", "buf-grpc"]) {
        const c = makeClient(kind, node, "tcp");
        try {
          const id = `enum-node-${kind}`;
          const msg = await fails(c, "PutNode", { node: { id, name: "n", status: 99 } }, "invalid_argument", kind);
          assert.equal(msg, `node.status: unknown enum value 99; accepted: ${NODE_STATUSES}`, kind);
          const nodes = (await ok(c, "GetNodes", {})).nodes ?? [];
          assert.deepEqual(nodes.filter((n) => n.id === id), [], `${kind}: the node was stored`);
        } finally {
          c.close();
        }
      }
    });
  });

  it("a JSON value of the wrong type → INVALID_ARGUMENT saying so in words (Connect unary and streaming)", async () => {
    await whileGoodClientsRun(async () => {
      for (const http2 of [false, true]) {
        const what = `Connect JSON over ${http2 ? "h2" : "h1"}`;
        const body = JSON.stringify({ collection: "wrong-type", docId: "d", jsonData: { speed: 3 } });
        const r = await curlPost(tcp, `/${SIDECAR}/PutDocument`, body, { http2 });
        assertConnectError(r, 400, "invalid_argument", what);
        assert.equal(r.json.message, "json_data must be a string containing JSON; got an object", what);
        const got = await curlPost(tcp, `/${SIDECAR}/GetDocument`, JSON.stringify({ collection: "wrong-type", docId: "d" }), { http2 });
        assert.equal(got.httpStatus, 200, `${what}: GetDocument: ${got.body}`);
        assert.deepEqual(got.json, {}, `${what}: the document was stored`);

        // Connect streaming: the answer is an end-stream envelope carrying the error.
        const s = await curlPost(tcp, `/${SIDECAR}/Subscribe`, envelope(JSON.stringify({ collections: { a: 1 } })), {
          http2,
          contentType: "application/connect+json",
          headers: { "Connect-Protocol-Version": "1" },
        });
        assert.equal(s.httpStatus, 200, `${what} stream: ${s.body}`);
        const envs = parseEnvelopes(s.bodyBuffer);
        assert.equal(envs.length, 1, `${what} stream: ${s.body}`);
        assert.equal(envs[0].flags, 0x02, `${what} stream: end-stream flag`);
        assert.deepEqual(JSON.parse(envs[0].payload.toString()).error, { code: "invalid_argument", message: "collections must be a list of strings; got an object" });
      }
    });
  });

  it("unknown method or service → UNIMPLEMENTED (Connect HTTP 404 JSON, gRPC status 12)", async () => {
    await whileGoodClientsRun(async () => {
      for (const p of [`/${SIDECAR}/NoSuchMethod`, "/no.such.v1.Service/Method"]) {
        assertConnectError(await curlPost(tcp, p, "{}"), 404, "unimplemented", `Connect h1 ${p}`);
        assertConnectError(await curlPost(tcp, p, "{}", { http2: true }), 404, "unimplemented", `Connect h2 ${p}`);
        const g = await grpcRawUnary(tcp, p, Buffer.alloc(0));
        assert.equal(g.ok, false, `gRPC ${p} succeeded`);
        assert.equal(g.raw.code, 12, `gRPC ${p}: grpc-status ${g.raw.code} (${g.errorMessage})`);
      }
    });
  });

  it("unsupported content type → HTTP 415", async () => {
    await whileGoodClientsRun(async () => {
      for (const http2 of [false, true]) {
        for (const ct of ["text/plain", "application/xml"]) {
          const r = await curlPost(tcp, GET_STATUS, "{}", { contentType: ct, http2 });
          assert.equal(r.httpStatus, 415, `${ct} over ${http2 ? "h2" : "h1"}: HTTP ${r.httpStatus} ${r.body}`);
        }
      }
    });
  });

  it("HTTP/2 protocol violations → GOAWAY and close on THAT connection only", async () => {
    await whileGoodClientsRun(async () => {
      // A bystander HTTP/2 connection with an open Watch stream: it must not notice anything.
      const by = await rawH2Connect(tcp);
      try {
        assert.ok(await by.waitForFrame((f) => f.type === H2.SETTINGS && !(f.flags & H2.ACK), 5000), "bystander: no server SETTINGS");
        by.write(h2RequestHeaders(1, { path: WATCH, contentType: "application/grpc" }));
        by.write(h2Frame(H2.DATA, H2.END_STREAM, 1, envelope(Buffer.alloc(0))));
        assert.ok(await by.waitForFrame((f) => f.type === H2.DATA && f.streamId === 1, 5000), `bystander Watch got no message: ${by.summary()}`);

        const violations = [
          // [name, bytes, acceptable GOAWAY error codes]
          ["DATA on stream 0", h2Frame(H2.DATA, 0, 0, Buffer.from("hello")), [H2.PROTOCOL_ERROR]],
          ["SETTINGS with a 5-byte payload", h2Frame(H2.SETTINGS, 0, 0, Buffer.alloc(5)), [H2.FRAME_SIZE_ERROR]],
          ["HEADERS with an undecodable HPACK block", h2Frame(H2.HEADERS, H2.END_HEADERS | H2.END_STREAM, 1, Buffer.from([0x80, 0xff, 0xff])), [0x9 /* COMPRESSION_ERROR */]],
          ["garbage frame header (length 16 MiB > max frame size)", Buffer.alloc(64, 0xff), [H2.FRAME_SIZE_ERROR, H2.PROTOCOL_ERROR]],
        ];
        for (const [name, bytes, codes] of violations) {
          const c = await rawH2Connect(tcp);
          try {
            assert.ok(await c.waitForFrame((f) => f.type === H2.SETTINGS && !(f.flags & H2.ACK), 5000), `${name}: no server SETTINGS`);
            c.write(bytes);
            assert.ok(await c.waitClosed(5000), `${name}: connection not closed within 5 s; frames: ${c.summary()}`);
            const ga = c.framesOf(H2.GOAWAY);
            assert.ok(ga.length >= 1, `${name}: no GOAWAY (frame type 0x7) before close; frames: ${c.summary()}`);
            const code = ga[0].payload.readUInt32BE(4);
            assert.ok(codes.includes(code), `${name}: GOAWAY error code ${code}, want one of ${codes}`);
          } finally {
            c.destroy();
          }
        }

        // The bystander connection and its stream are untouched.
        const ping = crypto.randomBytes(8);
        by.write(h2Frame(H2.PING, 0, 0, ping));
        assert.ok(await by.waitForFrame((f) => f.type === H2.PING && f.flags & H2.ACK && f.payload.equals(ping), 5000), `bystander: PING not answered; frames: ${by.summary()}`);
        assert.equal(by.closed, false, "bystander connection closed");
        assert.deepEqual(by.framesOf(H2.GOAWAY), [], `bystander got GOAWAY: ${by.summary()}`);
        assert.deepEqual(by.framesOf(H2.RST_STREAM, 1), [], `bystander Watch stream reset: ${by.summary()}`);
      } finally {
        by.destroy();
      }
    });
  });

  it(`clients that never finish their headers are closed after --http-header-read-timeout-secs (${HEADER_TIMEOUT_S} s)`, async () => {
    await whileGoodClientsRun(async () => {
      const measure = async (name, target, h2, bytes) => {
        const c = h2 ? await rawH2Connect(target) : await rawConnect(target);
        // HTTP/2: let the SETTINGS exchange finish first (our SETTINGS ACK inside an open header
        // block would itself be a protocol error; RawH2Conn writes the ACK before this resolves).
        if (h2) assert.ok(await c.waitForFrame((f) => f.type === H2.SETTINGS && !(f.flags & H2.ACK), 5000), `${name}: no server SETTINGS`);
        const t0 = Date.now();
        if (bytes) c.write(bytes);
        const closed = await c.waitClosed(8000);
        const ms = Date.now() - t0;
        c.destroy();
        return { name, closed, ms };
      };
      const half = "POST /peat.sidecar.v1.PeatSidecar/GetStatus HTTP/1.1\r\nHost: x\r\nContent-Ty";
      const results = await Promise.all([
        measure("h1 half header (tcp)", tcp, false, half),
        measure("h1 half header (unix)", unix, false, half),
        measure("h1 half request line", tcp, false, "GET /liv"),
        measure("tcp connection that sends nothing", tcp, false, null),
        // HTTP/2: a HEADERS frame without END_HEADERS and no CONTINUATION ever.
        measure("h2 HEADERS without END_HEADERS", tcp, true, h2Frame(H2.HEADERS, 0, 1, hpackLiterals([[":method", "POST"]]))),
      ]);
      for (const r of results) {
        assert.ok(r.closed, `${r.name}: still open after 8 s`);
        assert.ok(r.ms >= 800 && r.ms <= 5000, `${r.name}: closed after ${r.ms} ms, want 0.8–5 s`);
      }
    });
  });

  it(`an idle HTTP/1.1 keep-alive connection is closed after --http-max-connection-idle-secs (${IDLE_TIMEOUT_S} s)`, async () => {
    await whileGoodClientsRun(async () => {
      const h1 = await rawConnect(tcp);
      try {
        h1.write("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.ok(await h1.waitFor(() => countHttp1Responses(h1.data) >= 1 || h1.closed, 5000), "no /livez answer");
        const head = parseHttp1Head(h1.data);
        assert.equal(head.status, 200, `/livez: ${h1.text}`);
        assert.notEqual((head.headers.connection ?? "").toLowerCase(), "close", "server refused keep-alive");
        const t0 = Date.now();
        assert.ok(await h1.waitClosed(8000), "idle HTTP/1.1 connection still open after 8 s");
        const ms = h1.closedAt - t0;
        assert.ok(ms >= 1500 && ms <= 6000, `idle HTTP/1.1 connection closed after ${ms} ms, want ~${IDLE_TIMEOUT_S} s (1.5–6 s)`);
      } finally {
        h1.destroy();
      }
    });
  });

  it(`an idle HTTP/2 connection is sent GOAWAY and closed after --http-max-connection-idle-secs (${IDLE_TIMEOUT_S} s), whatever its last call was`, async () => {
    await whileGoodClientsRun(async () => {
      const variants = [
        ["Connect JSON unary", "application/json", Buffer.from("{}")],
        ["gRPC unary", "application/grpc", envelope(Buffer.alloc(0))],
      ];
      const results = await Promise.all(
        variants.map(async ([name, contentType, body]) => {
          const c = await rawH2Connect(tcp);
          try {
            assert.ok(await c.waitForFrame((f) => f.type === H2.SETTINGS && !(f.flags & H2.ACK), 5000), `${name}: no server SETTINGS`);
            c.write(Buffer.concat([h2RequestHeaders(1, { path: GET_STATUS, contentType }), h2Frame(H2.DATA, H2.END_STREAM, 1, body)]));
            assert.ok(await c.waitForFrame((f) => f.streamId === 1 && (f.type === H2.HEADERS || f.type === H2.DATA) && f.flags & H2.END_STREAM, 5000), `${name}: GetStatus did not complete: ${c.summary()}`);
            const t0 = Date.now();
            const closed = await c.waitClosed(8000);
            return { name, closed, ms: closed ? c.closedAt - t0 : null, goaway: c.framesOf(H2.GOAWAY).length > 0, frames: c.summary() };
          } finally {
            c.destroy();
          }
        }),
      );
      for (const r of results) {
        assert.ok(r.closed, `idle HTTP/2 connection after a ${r.name} call: still open after 8 s (idle timeout ${IDLE_TIMEOUT_S} s); frames: ${r.frames}`);
        assert.ok(r.ms >= 1500 && r.ms <= 6000, `idle HTTP/2 connection after a ${r.name} call: closed after ${r.ms} ms, want ~${IDLE_TIMEOUT_S} s (1.5–6 s)`);
        assert.ok(r.goaway, `idle HTTP/2 connection after a ${r.name} call: closed without GOAWAY: ${r.frames}`);
      }
    });
  });

  it("an HTTP/2 connection busy with back-to-back unary calls is never closed as idle", async () => {
    await whileGoodClientsRun(async () => {
      const busy = startGoodCaller(tcp, { http2: true, pauseMs: 50 });
      try {
        assert.ok(await busy.waitForOk(1, 5000), `busy caller: no successful call: ${busy.failures.join("; ")}`);
        // 2.5 × the idle timeout of continuous traffic (a timer measuring the window).
        await new Promise((r) => setTimeout(r, 2.5 * IDLE_TIMEOUT_S * 1000));
      } finally {
        await busy.stop();
      }
      assert.ok(busy.ok > 10, `busy caller made only ${busy.ok} calls`);
      assert.deepEqual(
        busy.failures,
        [],
        `an HTTP/2 connection busy with back-to-back Connect GetStatus calls (${busy.ok} ok, one every ~50 ms) was dropped as idle`,
      );
      assert.equal(busy.sessions, 1, "busy HTTP/2 caller had to reconnect");
    });
  });

  it("an HTTP/2 connection with an open long-lived stream is not idle (no GOAWAY after the idle timeout)", async () => {
    await whileGoodClientsRun(async () => {
      const c = await rawH2Connect(tcp);
      try {
        assert.ok(await c.waitForFrame((f) => f.type === H2.SETTINGS && !(f.flags & H2.ACK), 5000), "no server SETTINGS");
        c.write(h2RequestHeaders(1, { path: WATCH, contentType: "application/grpc" }));
        c.write(h2Frame(H2.DATA, H2.END_STREAM, 1, envelope(Buffer.alloc(0))));
        assert.ok(await c.waitForFrame((f) => f.type === H2.DATA && f.streamId === 1, 5000), `Watch got no message: ${c.summary()}`);
        // Watch sends nothing while nothing changes: stay silent for 1.75 × the idle timeout.
        const closedEarly = await c.waitClosed(1.75 * IDLE_TIMEOUT_S * 1000);
        assert.equal(closedEarly, false, `connection with an open Watch stream was closed: ${c.summary()}`);
        const ping = crypto.randomBytes(8);
        c.write(h2Frame(H2.PING, 0, 0, ping));
        assert.ok(await c.waitForFrame((f) => f.type === H2.PING && f.flags & H2.ACK && f.payload.equals(ping), 3000), `PING not answered: ${c.summary()}`);
        assert.deepEqual(c.framesOf(H2.GOAWAY), [], `connection with an open stream got GOAWAY: ${c.summary()}`);
        assert.deepEqual(c.framesOf(H2.RST_STREAM), [], `open Watch stream reset: ${c.summary()}`);
      } finally {
        c.destroy();
      }
    });
  });

  it(`more than --max-connections (${MAX_CONNECTIONS}): the extra connection waits, existing ones keep working, it is served once one closes`, async () => {
    await whileGoodClientsRun(async () => {
      // Quiesce: only the well-behaved callers' connections (plus this scrape) may be open.
      const baseline = good.filter((g) => g.alive()).length;
      let lastOpen;
      await waitUntil(
        async () => {
          const m = await scrapeMetrics(tcp);
          lastOpen = metricValue(m.samples, "peat_rpc_open_connections");
          return lastOpen === baseline + 1;
        },
        10_000,
        `peat_rpc_open_connections == ${baseline + 1} (last seen ${lastOpen})`,
      ).catch((e) => assert.fail(`${e.message}: the server's open-connection gauge does not return to the baseline`));

      // Open keep-alive connections (TCP) one by one; each keeps sending GET /livez every 300 ms
      // once served (so none of them is idle). The first one that gets no answer within 1.5 s is
      // the "extra" connection.
      const fillers = [];
      let extra = null;
      const pingers = [];
      try {
        for (let i = 0; i < MAX_CONNECTIONS + 2; i++) {
          const c = await rawConnect(tcp);
          c.sent = 1;
          c.write("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
          const served = await c.waitFor(() => countHttp1Responses(c.data) >= 1 || c.closed, 1500);
          if (!served) {
            extra = c;
            break;
          }
          assert.equal(c.closed, false, `connection #${i + 1} was closed instead of served: ${c.text}`);
          fillers.push(c);
          pingers.push(
            setInterval(() => {
              if (!c.closed && countHttp1Responses(c.data) >= c.sent) {
                c.sent++;
                c.write("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
              }
            }, 300),
          );
        }
        const admitted = baseline + fillers.length;
        assert.ok(extra, `all ${admitted} connections were served: --max-connections ${MAX_CONNECTIONS} not enforced`);

        // While at the limit: the extra connection gets no answer and is not closed (it waits),
        // and every admitted connection keeps being answered.
        const before = fillers.map((c) => countHttp1Responses(c.data));
        const answered = await extra.waitFor(() => extra.data.length > 0 || extra.closed, 1500);
        assert.equal(answered, false, `extra connection got an answer / was closed while at the limit: ${JSON.stringify(extra.text)}`);
        for (const [i, c] of fillers.entries()) {
          assert.ok(
            await c.waitFor(() => countHttp1Responses(c.data) > before[i], 3000),
            `admitted connection #${i + 1} stopped being answered while at the limit (closed=${c.closed})`,
          );
        }

        // One admitted connection closes → the waiting one is served.
        fillers[0].destroy();
        assert.ok(await extra.waitFor(() => countHttp1Responses(extra.data) >= 1 || extra.closed, 5000), "waiting connection not served after a slot was freed");
        assert.equal(parseHttp1Head(extra.data)?.status, 200, `waiting connection: ${JSON.stringify(extra.text)}`);

        // The limit is exactly --max-connections, counted across listeners (the h1 caller is on the unix socket).
        assert.equal(admitted, MAX_CONNECTIONS, `server admitted ${admitted} concurrent connections (${baseline} well-behaved + ${fillers.length} fillers), want exactly --max-connections ${MAX_CONNECTIONS}`);
      } finally {
        for (const p of pingers) clearInterval(p);
        for (const c of fillers) c.destroy();
        extra?.destroy();
      }
    });
  });

  // nghttp2 (1.52) enforces SETTINGS_MAX_CONCURRENT_STREAMS itself: streams over the limit that a
  // client opens before acknowledging our SETTINGS are refused one by one (RST_STREAM
  // REFUSED_STREAM); a client that exceeds a limit it has acknowledged is violating the protocol
  // and gets GOAWAY(PROTOCOL_ERROR) on that connection only (docs/ARCHITECTURE.md, "Decisions").
  // Conforming clients (grpc-js, grpc-go, node:http2, nghttp2) queue instead of exceeding it.
  it(`more than --http2-max-concurrent-streams (${MAX_STREAMS}) before SETTINGS ACK → excess streams refused, the rest unaffected`, async () => {
    await whileGoodClientsRun(async () => {
      const c = await rawH2Connect(tcp, { ackSettings: false });
      try {
        assert.ok(await c.waitForFrame((f) => f.type === H2.SETTINGS && !(f.flags & H2.ACK), 5000), "no server SETTINGS");
        assert.equal(c.serverSettings().get(H2.SETTINGS_MAX_CONCURRENT_STREAMS), MAX_STREAMS, "advertised SETTINGS_MAX_CONCURRENT_STREAMS");
        const open = [1, 3, 5, 7];
        const excess = [9, 11];
        const frames = [];
        for (const sid of [...open, ...excess]) {
          frames.push(h2RequestHeaders(sid, { path: WATCH, contentType: "application/grpc" }));
          frames.push(h2Frame(H2.DATA, H2.END_STREAM, sid, envelope(Buffer.alloc(0))));
        }
        c.write(Buffer.concat(frames));
        for (const sid of excess) {
          assert.ok(await c.waitForFrame((f) => f.type === H2.RST_STREAM && f.streamId === sid, 5000), `excess stream ${sid}: no RST_STREAM; frames: ${c.summary()}`);
          const code = c.framesOf(H2.RST_STREAM, sid)[0].payload.readUInt32BE(0);
          assert.ok([H2.REFUSED_STREAM, H2.PROTOCOL_ERROR].includes(code), `excess stream ${sid}: RST_STREAM code ${code}`);
        }
        for (const sid of open) {
          assert.ok(await c.waitForFrame((f) => f.type === H2.DATA && f.streamId === sid, 5000), `Watch stream ${sid} got no message: ${c.summary()}`);
          assert.deepEqual(c.framesOf(H2.RST_STREAM, sid), [], `admitted stream ${sid} was reset: ${c.summary()}`);
        }
        assert.deepEqual(c.framesOf(H2.GOAWAY), [], `connection-level error: ${c.summary()}`);

        // The connection still works: cancel one Watch, and a new call on the freed slot succeeds.
        c.write(h2RstStream(1, H2.CANCEL));
        c.write(h2RequestHeaders(13, { path: GET_STATUS, contentType: "application/grpc" }));
        c.write(h2Frame(H2.DATA, H2.END_STREAM, 13, envelope(Buffer.alloc(0))));
        assert.ok(await c.waitForFrame((f) => f.type === H2.HEADERS && f.streamId === 13 && f.flags & H2.END_STREAM, 5000), `GetStatus on stream 13 did not complete: ${c.summary()}`);
        const data = Buffer.concat(c.framesOf(H2.DATA, 13).map((f) => f.payload));
        const [env] = parseEnvelopes(data);
        assert.ok(env, `GetStatus on stream 13: no message: ${c.summary()}`);
        const msg = protobuf.fromBinary(sidecarPb.GetStatusResponseSchema, env.payload);
        assert.equal(msg.nodeId, status.nodeId, "GetStatus over the raw HTTP/2 connection");
      } finally {
        c.destroy();
      }
    });
  });

  it(`exceeding an acknowledged --http2-max-concurrent-streams → GOAWAY(PROTOCOL_ERROR) on that connection only`, async () => {
    await whileGoodClientsRun(async () => {
      const c = await rawH2Connect(tcp);
      try {
        assert.ok(await c.waitForFrame((f) => f.type === H2.SETTINGS && !(f.flags & H2.ACK), 5000), "no server SETTINGS");
        // Make sure the server has our SETTINGS ACK before we exceed its (now acknowledged) limit.
        c.write(h2Frame(H2.PING, 0, 0, Buffer.from("settled!")));
        assert.ok(await c.waitForFrame((f) => f.type === H2.PING && f.flags & H2.ACK, 5000), "no PING ACK");
        for (const sid of [1, 3, 5, 7]) {
          c.write(h2RequestHeaders(sid, { path: WATCH, contentType: "application/grpc" }));
          c.write(h2Frame(H2.DATA, H2.END_STREAM, sid, envelope(Buffer.alloc(0))));
          assert.ok(await c.waitForFrame((f) => f.type === H2.DATA && f.streamId === sid, 5000), `Watch stream ${sid} got no message: ${c.summary()}`);
        }
        c.write(Buffer.concat([h2RequestHeaders(9, { path: WATCH, contentType: "application/grpc" }), h2Frame(H2.DATA, H2.END_STREAM, 9, envelope(Buffer.alloc(0)))]));
        assert.ok(await c.waitForFrame((f) => f.type === H2.GOAWAY, 5000), `no GOAWAY: ${c.summary()}`);
        const goaway = c.framesOf(H2.GOAWAY)[0];
        assert.equal(goaway.payload.readUInt32BE(4), H2.PROTOCOL_ERROR, `GOAWAY code: ${c.summary()}`);
        await c.waitFor(() => c.closed, 5000);
        assert.equal(c.closed, true, "the violating connection is closed");
      } finally {
        c.destroy();
      }
    });
  });

  it("garbage bytes and oversized headers on a fresh connection → 400/431 or close, promptly; the server keeps serving", async () => {
    await whileGoodClientsRun(async () => {
      const cases = [
        // A TLS ClientHello-like prefix (a TLS client on the plaintext port) then random bytes.
        ["random binary (tcp)", tcp, Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), crypto.randomBytes(1024), Buffer.from("\r\n\r\n")]), [400]],
        ["random binary (unix)", unix, Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), crypto.randomBytes(1024), Buffer.from("\r\n\r\n")]), [400]],
        ["200 KB header line", tcp, Buffer.from(`GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(200_000)}\r\n\r\n`), [400, 431]],
      ];
      for (const [name, target, bytes, statuses] of cases) {
        const c = await rawConnect(target);
        const t0 = Date.now();
        c.write(bytes);
        const closed = await c.waitClosed(5000);
        const ms = Date.now() - t0;
        c.destroy();
        assert.ok(closed, `${name}: connection still open after 5 s`);
        // Rejected by the parser, not merely by the 1 s header timeout.
        assert.ok(ms < 900, `${name}: closed only after ${ms} ms (header timeout?), want an immediate reject`);
        if (c.data.length > 0) {
          const head = parseHttp1Head(c.data);
          assert.ok(head && statuses.includes(head.status), `${name}: answered ${JSON.stringify(c.text.slice(0, 80))}, want HTTP/1.1 ${statuses.join(" or ")} or a plain close`);
        }
      }
      const r = await curlPost(tcp, GET_STATUS, "{}");
      assert.equal(r.httpStatus, 200, `GetStatus after garbage: ${r.body}`);
    });
  });

  it("metrics counted the abuse, and the well-behaved clients never failed", async () => {
    const m = await scrapeMetrics(tcp);
    const closed = (reason) => metricValue(m.samples, "peat_rpc_connections_closed_total", { reason }) ?? 0;
    assert.ok(closed("header_timeout") >= 1, `peat_rpc_connections_closed_total{reason="header_timeout"} = ${closed("header_timeout")}`);
    assert.ok(closed("idle_timeout") >= 1, `peat_rpc_connections_closed_total{reason="idle_timeout"} = ${closed("idle_timeout")}`);
    assert.ok(closed("http2_protocol_error") >= 4, `peat_rpc_connections_closed_total{reason="http2_protocol_error"} = ${closed("http2_protocol_error")}`);
    const calls = (code) => metricValue(m.samples, "peat_rpc_requests_total", { method: GET_STATUS, code }) ?? 0;
    assert.ok(calls("resource_exhausted") >= 5, `GetStatus resource_exhausted count ${calls("resource_exhausted")}`);
    assert.ok(calls("invalid_argument") >= 5, `GetStatus invalid_argument count ${calls("invalid_argument")}`);
    assert.ok(calls("ok") >= 10, `GetStatus ok count ${calls("ok")}`);

    for (const g of good) {
      assert.ok(g.ok > 0, `well-behaved ${g.kind} caller: no successful call`);
      assert.deepEqual(g.failures, [], `well-behaved ${g.kind} caller failures`);
    }
    // The keep-alive HTTP/1.1 caller used ONE connection throughout: the server never dropped it.
    assert.equal(good[0].sockets, 1, `well-behaved h1 caller needed ${good[0].sockets} connections`);
    assert.equal(good[1].sessions, 1, `well-behaved h2 caller needed ${good[1].sessions} sessions`);
  });
});
