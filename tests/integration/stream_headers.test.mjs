// Server streams answer their HTTP status and response headers at once, not with their first
// message (issue 16). A Subscribe to a collection with no documents yet has no message to send; a
// client that waits for the response headers before it goes on (tonic's `subscribe().await`, an
// application that subscribes and then writes) must not hang. For every protocol — Connect over
// HTTP/1.1 and HTTP/2, gRPC, gRPC-Web binary and text — with raw node:http / node:http2 requests
// and with connect-node (onHeader) and grpc-js ('metadata'):
//   - an empty-collection Subscribe's headers (status 200, the protocol's content type) arrive
//     within 100 ms of sending the request, before any message;
//   - the client then writes a document (PutDocument) and sees its UPSERT on that stream;
//   - grpc.health.v1.Health/Watch's headers arrive as fast, then SERVING.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/stream_headers.test.mjs

import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { HEALTH, SIDECAR, envelope, healthPb, makeClient, makeStreamHandle, protobuf, sidecarPb } from "./lib/clients.mjs";
import { makeDataDir, putDoc, startNodeOn } from "./lib/documents.mjs";
import { UPSERT, waitEvent } from "./lib/mesh_cluster.mjs";

/** The bar: response headers within this long after the request was sent. */
const HEADERS_WITHIN_MS = 100;
/** How long to wait for headers at all (so a failure reports "none", not a hang). */
const HEADERS_WAIT_MS = 3_000;

const METHODS = {
  Subscribe: { service: SIDECAR, method: "Subscribe", req: sidecarPb.SubscribeRequestSchema, res: sidecarPb.DocumentChangeSchema },
  Watch: { service: HEALTH, method: "Watch", req: healthPb.HealthCheckRequestSchema, res: healthPb.HealthCheckResponseSchema },
};

// Wire formats spoken by hand: request content type, response content type, request body.
const proto = (m, req) => envelope(Buffer.from(protobuf.toBinary(m.req, protobuf.fromJson(m.req, req))));
const WIRES = {
  "connect+json": { contentType: "application/connect+json", responseType: /^application\/connect\+json$/, body: (m, req) => envelope(JSON.stringify(req)), headers: { "connect-protocol-version": "1" } },
  grpc: { contentType: "application/grpc", responseType: /^application\/grpc$/, body: proto, headers: { te: "trailers" } },
  "grpc-web": { contentType: "application/grpc-web+proto", responseType: /^application\/grpc-web\+proto$/, body: proto, headers: { "x-grpc-web": "1" } },
  "grpc-web-text": {
    contentType: "application/grpc-web-text",
    responseType: /^application\/grpc-web-text$/,
    body: (m, req) => Buffer.from(proto(m, req).toString("base64"), "latin1"),
    headers: { "x-grpc-web": "1" },
  },
};

/**
 * Decodes a response body of `wire` incrementally into stream handle h: data frames become
 * messages (proto3 JSON), the Connect end-stream envelope / gRPC-Web trailer frame / HTTP/2
 * trailers end it.
 */
function frameDecoder(h, wire, m) {
  let text = ""; // grpc-web-text: base64 not yet decoded (a 4-character group may be split)
  let buf = Buffer.alloc(0);
  const grpcEnd = (status, message) => h._end(status === "0" ? null : { code: `grpc-status ${status}`, message: message ?? "" });
  return {
    push(chunk) {
      if (wire === "grpc-web-text") {
        // Every frame is base64-encoded on its own (padded), so decode 4-character groups one by one.
        text += chunk.toString("latin1").replace(/\s+/g, "");
        const whole = text.length - (text.length % 4);
        const groups = [];
        for (let i = 0; i < whole; i += 4) groups.push(Buffer.from(text.slice(i, i + 4), "base64"));
        text = text.slice(whole);
        chunk = Buffer.concat(groups);
      }
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        const flags = buf.readUInt8(0);
        const payload = buf.subarray(5, 5 + buf.readUInt32BE(1));
        buf = buf.subarray(5 + payload.length);
        if (flags === 0) {
          h._push(wire === "connect+json" ? JSON.parse(payload.toString("utf8")) : protobuf.toJson(m.res, protobuf.fromBinary(m.res, payload)));
        } else if (wire === "connect+json" && flags === 0x02) {
          const endJson = JSON.parse(payload.toString("utf8"));
          h._end(endJson.error ? { code: endJson.error.code, message: endJson.error.message ?? "" } : null);
        } else if (wire.startsWith("grpc-web") && flags === 0x80) {
          const t = payload.toString("latin1");
          grpcEnd(/grpc-status:\s*(\d+)/i.exec(t)?.[1], /grpc-message:\s*([^\r]*)/i.exec(t)?.[1]);
        } else {
          h._end({ code: "client_error", message: `unexpected frame flags 0x${flags.toString(16)}` });
        }
      }
    },
    trailers(t) {
      grpcEnd(t["grpc-status"], t["grpc-message"]);
    },
    end() {
      h._end({ code: "client_error", message: "response ended without a status" });
    },
  };
}

// Connections: openStream(method, wire, request) → stream handle (lib/clients.mjs), made on a
// connection that prepare() has opened, so the measured time is the call's alone.

/** Raw HTTP/1.1 (node:http): one keep-alive socket; prepare() opens it with GET /livez. */
function rawH1(node) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const [host, port] = [node.tcpAddr.split(":")[0], Number(node.tcpAddr.split(":").pop())];
  return {
    prepare: () =>
      new Promise((resolve, reject) => {
        http
          .get({ host, port, path: "/livez", agent }, (res) => {
            res.resume();
            res.on("end", resolve);
          })
          .on("error", reject);
      }),
    openStream(m, wire, req) {
      const w = WIRES[wire];
      const body = w.body(m, req);
      const h = makeStreamHandle();
      const dec = frameDecoder(h, wire, m);
      const r = http.request({ host, port, agent, method: "POST", path: `/${m.service}/${m.method}`, headers: { "content-type": w.contentType, "content-length": body.length, ...w.headers } });
      r.on("response", (res) => {
        h._headers({ status: res.statusCode, contentType: res.headers["content-type"] });
        res.on("data", (d) => dec.push(d));
        res.on("end", () => dec.end());
        res.on("error", (e) => h._end({ code: "client_error", message: e.message }));
      });
      r.on("error", (e) => h._end({ code: "client_error", message: e.message }));
      h.cancel = () => r.destroy();
      r.end(body);
      return h;
    },
    close: () => agent.destroy(),
  };
}

/** Raw HTTP/2 with prior knowledge (node:http2): one session; prepare() waits until it is connected. */
function rawH2(node) {
  const session = http2.connect(`http://${node.tcpAddr}`);
  session.on("error", () => {}); // stream errors are reported through the streams
  const connected = new Promise((resolve, reject) => {
    session.once("connect", resolve);
    session.once("error", reject);
  });
  return {
    prepare: () => connected,
    openStream(m, wire, req) {
      const w = WIRES[wire];
      const body = w.body(m, req);
      const h = makeStreamHandle();
      const dec = frameDecoder(h, wire, m);
      const s = session.request({ ":method": "POST", ":path": `/${m.service}/${m.method}`, "content-type": w.contentType, ...w.headers });
      s.on("response", (hd) => h._headers({ status: hd[":status"], contentType: hd["content-type"] }));
      s.on("data", (d) => dec.push(d));
      s.on("trailers", (t) => dec.trailers(t));
      s.on("end", () => dec.end());
      s.on("error", (e) => h._end({ code: "client_error", message: e.message }));
      h.cancel = () => s.close(http2.constants.NGHTTP2_CANCEL);
      s.end(body);
      return h;
    },
    close: () => session.destroy(),
  };
}

/** A client library of lib/clients.mjs; prepare() connects it with a Health/Check. */
function library(node, kind) {
  const c = makeClient(kind, node, "tcp");
  return {
    async prepare() {
      const r = await c.unary(HEALTH, "Check", { service: "" });
      assert.equal(r.ok, true, `${kind}: warm-up Health/Check failed: ${r.code} ${r.errorMessage}`);
    },
    openStream: (m, _wire, req) => c.openStream(m.service, m.method, req),
    close: () => c.close(),
  };
}

const CASES = [
  { name: "Connect JSON over HTTP/1.1 (node:http)", wire: "connect+json", open: rawH1 },
  { name: "Connect JSON over HTTP/2 (node:http2)", wire: "connect+json", open: rawH2 },
  { name: "gRPC (node:http2)", wire: "grpc", open: rawH2 },
  { name: "gRPC-Web binary over HTTP/1.1 (node:http)", wire: "grpc-web", open: rawH1 },
  { name: "gRPC-Web text over HTTP/1.1 (node:http)", wire: "grpc-web-text", open: rawH1 },
  { name: "gRPC-Web text over HTTP/2 (node:http2)", wire: "grpc-web-text", open: rawH2 },
  { name: "connect-node Connect proto over HTTP/1.1", kind: "cn-connect-proto-h1", responseType: /^application\/connect\+proto$/ },
  { name: "connect-node Connect proto over HTTP/2", kind: "cn-connect-proto-h2", responseType: /^application\/connect\+proto$/ },
  { name: "connect-node gRPC", kind: "cn-grpc-h2", responseType: /^application\/grpc(\+proto)?$/ },
  { name: "connect-node gRPC-Web over HTTP/1.1", kind: "cn-grpcweb-h1", responseType: /^application\/grpc-web(\+proto)?$/ },
  { name: "grpc-js", kind: "grpc-js", responseType: /^application\/grpc(\+proto)?$/ },
];

/** Waits for h's response headers and checks them (and reports their delay): status 200 (where visible), content type, delay. */
async function assertHeadersAtOnce(t, h, c) {
  const hd = await h.waitForHeaders(HEADERS_WAIT_MS);
  t.diagnostic(`response headers after ${hd.afterMs.toFixed(1)} ms`);
  if (hd.status !== undefined) assert.equal(hd.status, 200, JSON.stringify(hd));
  assert.match(String(hd.contentType), c.responseType ?? WIRES[c.wire].responseType, JSON.stringify(hd));
  assert.ok(hd.afterMs <= HEADERS_WITHIN_MS, `response headers took ${hd.afterMs.toFixed(1)} ms (bar: ${HEADERS_WITHIN_MS} ms)`);
}

describe("server streams send their response headers at once", () => {
  let node;
  let writer;
  before(async () => {
    node = await startNodeOn(makeDataDir());
    writer = makeClient("grpc-js", node, "tcp");
    await putDoc(writer, "hdrs_warmup", "w", { warm: true }); // connects the writer
  });
  after(async () => {
    writer?.close();
    await node?.kill();
  });

  CASES.forEach((c, i) => {
    describe(c.name, () => {
      let conn;
      before(() => {
        conn = c.kind ? library(node, c.kind) : c.open(node);
      });
      after(() => conn?.close());

      it(`Subscribe to an empty collection: headers within ${HEADERS_WITHIN_MS} ms, then a document written after them arrives as an UPSERT`, async (t) => {
        const coll = `hdrs_empty_${i}`;
        await conn.prepare();
        const h = conn.openStream(METHODS.Subscribe, c.wire, { collections: [coll] });
        try {
          await assertHeadersAtOnce(t, h, c);
          assert.deepEqual(h.messages, [], "an empty collection has no snapshot");
          assert.equal(h.ended, false, `stream ended: ${JSON.stringify(h.error)}`);
          await putDoc(writer, coll, "doc-1", { n: i });
          const ev = await waitEvent(h, (e) => e.docId === "doc-1", { timeoutMs: 5_000, what: "the UPSERT of doc-1" });
          assert.deepEqual(ev, { collection: coll, docId: "doc-1", changeType: UPSERT, jsonData: JSON.stringify({ n: i }) });
        } finally {
          h.cancel();
        }
      });

      it(`Health/Watch: headers within ${HEADERS_WITHIN_MS} ms, then SERVING`, async (t) => {
        await conn.prepare();
        const h = conn.openStream(METHODS.Watch, c.wire, { service: "" });
        try {
          await assertHeadersAtOnce(t, h, c);
          const [first] = await h.waitForMessages(1, 5_000);
          assert.deepEqual(first, { status: "SERVING" });
        } finally {
          h.cancel();
        }
      });
    });
  });
});
