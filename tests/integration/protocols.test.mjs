// Protocol matrix: every client (curl Connect JSON, buf curl connect/grpc/grpcweb, connect-node
// Connect/gRPC/gRPC-Web over HTTP/1.1 and HTTP/2, grpc-js) over TCP and over the unix socket, all
// against ONE peat-node process that serves both listeners.
//
// Run: node --test --test-reporter=spec tests/integration/protocols.test.mjs
// (PEAT_NODE_BIN selects the server binary; default build/peat-node.)

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startNode } from "./lib/node_process.mjs";
import {
  CLIENT_KINDS,
  CONNECT_HTTP_STATUS,
  SIDECAR,
  curlPost,
  envelope,
  grpcRawUnary,
  parseEnvelopes,
  protobuf,
  sidecarPb,
  makeClient,
  targetOf,
} from "./lib/clients.mjs";

const HEX64 = /^[0-9a-f]{64}$/;
const LIVE_PHASES = ["NODE_PHASE_READY", "NODE_PHASE_SYNCING"];
const VIAS = ["tcp", "unix"];

describe("protocol matrix", () => {
  let node;
  /** The GetStatus answer of the first client: every other client must see the same identity. */
  let reference;

  before(async () => {
    node = await startNode();
  });
  after(async () => {
    await node?.kill();
  });

  // Client suites share the node and run 4 at a time (buf curl spawns a process per call).
  describe("every client, TCP and unix socket", { concurrency: 4 }, () => {
    for (const via of VIAS) {
      for (const kind of CLIENT_KINDS) {
        describe(`${kind} over ${via}`, () => {
          let client;
          before(() => {
            client = makeClient(kind, node, via);
          });
          after(() => client?.close());

          it("GetStatus succeeds with a well-formed status", async () => {
            const r = await client.unary(SIDECAR, "GetStatus", {});
            assert.equal(r.ok, true, `GetStatus failed: ${r.code} ${r.errorMessage}`);
            const s = r.message;
            assert.equal(typeof s.nodeId, "string");
            assert.ok(s.nodeId.length > 0, `nodeId empty: ${JSON.stringify(s)}`);
            assert.match(s.endpointAddr ?? "", HEX64, `endpointAddr: ${JSON.stringify(s)}`);
            assert.ok(LIVE_PHASES.includes(s.phase), `phase ${s.phase}: ${JSON.stringify(s)}`);
            if (!reference) reference = s;
            assert.equal(s.nodeId, reference.nodeId);
            assert.equal(s.endpointAddr, reference.endpointAddr);
          });

          it("SendAttachments without --attachment-root answers unimplemented", async () => {
            const r = await client.unary(SIDECAR, "SendAttachments", {
              files: [{ rootName: "r", relativePath: "a.txt", sizeBytes: "1", sha256: Buffer.alloc(32).toString("base64") }],
              scope: { allNodes: {} },
            });
            assert.equal(r.ok, false, `expected an error, got ${JSON.stringify(r.message)}`);
            assert.equal(r.code, "unimplemented", `message: ${r.errorMessage}`);
            if (kind.startsWith("curl-")) {
              assert.equal(r.raw.httpStatus, 501);
              assert.match(r.raw.contentType, /^application\/json/);
              assert.equal(typeof r.raw.json.message, "string");
            }
            if (kind.startsWith("buf-")) {
              assert.equal(r.raw.exitCode, 8 * 12, `buf curl exit code (stderr: ${r.raw.stderr})`);
            }
          });
        });
      }
    }

  });

  // ---- Connect specifics, checked on the raw HTTP exchange ----------------------------------
  for (const via of VIAS) {
    for (const http2 of [false, true]) {
      const tag = `${via}, ${http2 ? "h2c" : "HTTP/1.1"}`;
      describe(`Connect JSON via curl (${tag})`, () => {
        it("GetStatus answers canonical proto3 JSON", async () => {
          const r = await curlPost(targetOf(node, via), `/${SIDECAR}/GetStatus`, "{}", { http2 });
          assert.equal(r.httpStatus, 200, r.body);
          assert.match(r.contentType, /^application\/json/);
          const j = r.json;
          assert.ok(j && typeof j === "object", r.body);
          const allowed = new Set(["nodeId", "endpointAddr", "syncActive", "connectedPeers", "phase"]);
          for (const k of Object.keys(j)) assert.ok(allowed.has(k), `unexpected key ${k} (not lowerCamelCase proto3 JSON?): ${r.body}`);
          assert.match(j.endpointAddr, HEX64);
          assert.equal(typeof j.phase, "string", "enums by name");
          // A fresh, isolated node has no peers: zero values are omitted in canonical JSON.
          assert.equal("connectedPeers" in j, false, `connectedPeers should be omitted at 0: ${r.body}`);
          if ("syncActive" in j) assert.equal(j.syncActive, true, "false would have been omitted");
        });

        it("accepts original proto field names and ignores unknown fields in input", async () => {
          const r = await curlPost(targetOf(node, via), `/${SIDECAR}/GetDocument`, JSON.stringify({ collection: "it", doc_id: "nope", someUnknownField: 1 }), { http2 });
          assert.equal(r.httpStatus, 200, r.body);
          assert.deepEqual(r.json, {}, "missing doc: success with json_data absent");
          const bad = await curlPost(targetOf(node, via), `/${SIDECAR}/GetDocument`, JSON.stringify({ collection: "it", doc_id: { not: "a string" } }), { http2 });
          assert.equal(bad.httpStatus, 400, bad.body);
          assert.equal(bad.json?.code, "invalid_argument", bad.body);
        });

        it("malformed JSON body → 400 invalid_argument", async () => {
          const r = await curlPost(targetOf(node, via), `/${SIDECAR}/GetStatus`, '{"nodeId":', { http2 });
          assert.equal(r.httpStatus, CONNECT_HTTP_STATUS.invalid_argument, r.body);
          assert.equal(r.json?.code, "invalid_argument", r.body);
          assert.equal(typeof r.json.message, "string");
        });

        it("JSON of the wrong shape (a string where a message is expected) → 400 invalid_argument", async () => {
          const r = await curlPost(targetOf(node, via), `/${SIDECAR}/PutDocument`, '"not an object"', { http2 });
          assert.equal(r.httpStatus, 400, r.body);
          assert.equal(r.json?.code, "invalid_argument", r.body);
        });

        it("malformed protobuf body (application/proto) → 400 invalid_argument", async () => {
          const r = await curlPost(targetOf(node, via), `/${SIDECAR}/GetStatus`, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), { http2, contentType: "application/proto" });
          assert.equal(r.httpStatus, 400, r.body);
          assert.equal(r.json?.code, "invalid_argument", r.body);
        });

        it("unknown method → 404 with Connect error unimplemented", async () => {
          const r = await curlPost(targetOf(node, via), `/${SIDECAR}/NoSuchMethod`, "{}", { http2 });
          assert.equal(r.httpStatus, 404, r.body);
          assert.equal(r.json?.code, "unimplemented", r.body);
        });

        it("unknown service → 404 with Connect error unimplemented", async () => {
          const r = await curlPost(targetOf(node, via), `/peat.nosuch.v1.Nope/GetStatus`, "{}", { http2 });
          assert.equal(r.httpStatus, 404, r.body);
          assert.equal(r.json?.code, "unimplemented", r.body);
        });

        it("unsupported content type → 415", async () => {
          const r = await curlPost(targetOf(node, via), `/${SIDECAR}/GetStatus`, "{}", { http2, contentType: "text/plain" });
          assert.equal(r.httpStatus, 415, r.body);
        });
      });
    }
  }

  // ---- gRPC specifics (raw payloads / paths through grpc-js) ----------------------------------
  for (const via of VIAS) {
    describe(`gRPC raw via grpc-js (${via})`, () => {
      it("unknown method → unimplemented", async () => {
        const r = await grpcRawUnary(targetOf(node, via), `/${SIDECAR}/NoSuchMethod`, Buffer.alloc(0));
        assert.equal(r.ok, false);
        assert.equal(r.code, "unimplemented", r.errorMessage);
      });

      it("unknown service → unimplemented", async () => {
        const r = await grpcRawUnary(targetOf(node, via), `/peat.nosuch.v1.Nope/GetStatus`, Buffer.alloc(0));
        assert.equal(r.ok, false);
        assert.equal(r.code, "unimplemented", r.errorMessage);
      });

      it("malformed protobuf → invalid_argument", async () => {
        const r = await grpcRawUnary(targetOf(node, via), `/${SIDECAR}/GetStatus`, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]));
        assert.equal(r.ok, false);
        assert.equal(r.code, "invalid_argument", r.errorMessage);
      });

      it("empty GetStatusRequest payload → success", async () => {
        const r = await grpcRawUnary(targetOf(node, via), `/${SIDECAR}/GetStatus`, Buffer.alloc(0));
        assert.equal(r.ok, true, `${r.code} ${r.errorMessage}`);
        assert.ok(Buffer.isBuffer(r.message) && r.message.length > 0, "GetStatusResponse carries node_id/endpoint_addr");
      });
    });
  }

  // ---- gRPC-Web text (base64) variant, by hand: no client library speaks it -------------------
  for (const via of VIAS) {
    it(`gRPC-Web text (application/grpc-web-text) GetStatus over ${via}`, async () => {
      const r = await curlPost(targetOf(node, via), `/${SIDECAR}/GetStatus`, envelope(Buffer.alloc(0)).toString("base64"), {
        contentType: "application/grpc-web-text",
        headers: { "X-Grpc-Web": "1", Accept: "application/grpc-web-text" },
      });
      assert.equal(r.httpStatus, 200, r.body);
      assert.match(r.contentType, /^application\/grpc-web-text/);
      // The body may be several independently base64-encoded chunks.
      const chunks = r.body.match(/[A-Za-z0-9+/]+={0,2}/g) ?? [];
      assert.equal(chunks.join(""), r.body.replace(/\s+/g, ""), `non-base64 bytes in body: ${JSON.stringify(r.body)}`);
      const frames = parseEnvelopes(Buffer.concat(chunks.map((c) => Buffer.from(c, "base64"))));
      assert.equal(frames.length, 2, `want one data frame + one trailer frame, got ${frames.length}`);
      assert.equal(frames[0].flags, 0);
      const status = protobuf.fromBinary(sidecarPb.GetStatusResponseSchema, frames[0].payload);
      assert.match(status.endpointAddr, HEX64);
      assert.ok(status.nodeId.length > 0);
      assert.equal(frames[1].flags, 0x80, "trailer frame");
      const trailers = frames[1].payload.toString("latin1");
      assert.match(trailers, /(^|\r\n)grpc-status:\s*0\r\n/i, JSON.stringify(trailers));
    });
  }

  it("the server is still alive after all of the above", async () => {
    assert.equal(node.exit, null, `server exited: ${JSON.stringify(node.exit)}\n${node.stderrText}`);
    const r = await curlPost(targetOf(node, "tcp"), `/${SIDECAR}/GetStatus`, "{}");
    assert.equal(r.httpStatus, 200, r.body);
  });
});
