// Server streaming on all three protocols: connect-node (Connect over HTTP/1.1 and HTTP/2, gRPC,
// gRPC-Web), grpc-js, buf curl (connect / grpc / grpcweb), plus a raw Connect streaming exchange
// with curl to pin the envelope format. Uses grpc.health.v1.Health/Watch (an endless stream) and
// SubscribeAttachmentBundle (UNIMPLEMENTED while no --attachment-root is configured).
//
// Run: node --test --test-reporter=spec tests/integration/streaming.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startNode } from "./lib/node_process.mjs";
import { HEALTH, SIDECAR, STREAMING_CLIENT_KINDS, curlPost, envelope, makeClient, parseEnvelopes, targetOf } from "./lib/clients.mjs";

const VIAS = ["tcp", "unix"];
/** Short client deadline for the endless Watch stream. */
const DEADLINE_MS = 300;
/** buf curl's --timeout also covers its own process start and connection setup: give it more. */
const deadlineFor = (kind) => (kind.startsWith("buf-") ? 2500 : DEADLINE_MS);
/** Upper bound for a stream with that deadline to end (process start of buf curl included). */
const DEADLINE_END_BOUND_MS = 8_000;

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

describe("server streaming matrix", () => {
  let node;
  before(async () => {
    node = await startNode();
  });
  after(async () => {
    await node?.kill();
  });

  // Client suites share the node and run 4 at a time.
  describe("every streaming client, TCP and unix socket", { concurrency: 4 }, () => {
    for (const via of VIAS) {
      for (const kind of STREAMING_CLIENT_KINDS) {
        describe(`${kind} over ${via}`, () => {
          let client;
          before(async () => {
            client = makeClient(kind, node, via);
            // Warm up (connect, HTTP/2 handshake, grpc-js name resolution) so the short deadlines
            // below measure the stream, not connection setup; this also checks unary Health/Check.
            const r = await client.unary(HEALTH, "Check", { service: "" });
            assert.equal(r.ok, true, `Health/Check: ${r.code} ${r.errorMessage}`);
            assert.deepEqual(r.message, { status: "SERVING" });
          });
          after(() => client?.close());

          it(`Health/Watch("") yields SERVING first, then ends with deadline_exceeded after a ${deadlineFor(kind)} ms deadline`, async () => {
            const s = client.openStream(HEALTH, "Watch", { service: "" }, { timeoutMs: deadlineFor(kind) });
            const end = await withTimeout(s.done, DEADLINE_END_BOUND_MS, "Watch did not end after its deadline");
            assert.ok(end.messages.length >= 1, `no message before the end: ${JSON.stringify(end)}`);
            assert.deepEqual(end.messages[0], { status: "SERVING" });
            assert.notEqual(end.error, null, "an endless Watch must not end cleanly at its deadline");
            assert.equal(end.error.code, "deadline_exceeded", JSON.stringify(end.error));
            if (kind.startsWith("buf-")) assert.equal(s.raw.exitCode, 8 * 4, s.raw.stderr);
          });

          it("Health/Watch(unknown service) yields SERVICE_UNKNOWN and keeps the stream open", async () => {
            const s = client.openStream(HEALTH, "Watch", { service: "no.such.Service" }, { timeoutMs: deadlineFor(kind) });
            const end = await withTimeout(s.done, DEADLINE_END_BOUND_MS, "Watch did not end after its deadline");
            assert.ok(end.messages.length >= 1, `no message: ${JSON.stringify(end)}`);
            assert.deepEqual(end.messages[0], { status: "SERVICE_UNKNOWN" });
            // Per the health protocol the call is NOT terminated for an unknown service.
            assert.equal(end.error?.code, "deadline_exceeded", JSON.stringify(end.error));
          });

          it("Health/Watch for the sidecar service name yields SERVING", async () => {
            const s = client.openStream(HEALTH, "Watch", { service: SIDECAR }, { timeoutMs: deadlineFor(kind) });
            const end = await withTimeout(s.done, DEADLINE_END_BOUND_MS, "Watch did not end after its deadline");
            assert.ok(end.messages.length >= 1, `no message: ${JSON.stringify(end)}`);
            assert.deepEqual(end.messages[0], { status: "SERVING" });
          });

          // An error carried by the stream's error trailer / end-stream: a Subscribe whose query
          // is invalid (empty field) ends with invalid_argument before any message.
          it("Subscribe with an invalid query ends with invalid_argument and no messages", async () => {
            const s = client.openStream(SIDECAR, "Subscribe", { collections: ["it"], query: { eq: { field: "", value: "1" } } }, { timeoutMs: 10_000 });
            const end = await withTimeout(s.done, 15_000, "stream did not end");
            assert.deepEqual(end.messages, []);
            assert.equal(end.error?.code, "invalid_argument", JSON.stringify(end.error));
            if (kind.startsWith("buf-")) assert.equal(s.raw.exitCode, 8 * 3, s.raw.stderr);
          });

          it("SubscribeAttachmentBundle (no --attachment-root) ends with unimplemented and no messages", async () => {
            const s = client.openStream(SIDECAR, "SubscribeAttachmentBundle", { bundleId: "b-1" }, { timeoutMs: 10_000 });
            const end = await withTimeout(s.done, 15_000, "stream did not end");
            assert.deepEqual(end.messages, []);
            assert.equal(end.error?.code, "unimplemented", JSON.stringify(end.error));
            if (kind.startsWith("buf-")) assert.equal(s.raw.exitCode, 8 * 12, s.raw.stderr);
          });
        });
      }
    }

  });

  // ---- raw Connect streaming exchange (envelopes), curl over both listeners --------------------
  for (const via of VIAS) {
    for (const http2 of [false, true]) {
      describe(`raw Connect streaming via curl (${via}, ${http2 ? "h2c" : "HTTP/1.1"})`, () => {
        it("Watch with Connect-Timeout-Ms: data envelope {status:SERVING}, then end-stream with deadline_exceeded", async () => {
          const r = await curlPost(targetOf(node, via), `/${HEALTH}/Watch`, envelope("{}"), {
            http2,
            contentType: "application/connect+json",
            headers: { "Connect-Protocol-Version": "1", "Connect-Timeout-Ms": String(DEADLINE_MS) },
          });
          assert.equal(r.httpStatus, 200, r.body);
          assert.match(r.contentType, /^application\/connect\+json/);
          const envs = parseEnvelopes(r.bodyBuffer);
          assert.ok(envs.length >= 2, `want data + end-stream envelopes, got ${envs.length}: ${JSON.stringify(r.body)}`);
          assert.equal(envs[0].flags, 0);
          assert.deepEqual(JSON.parse(envs[0].payload.toString()), { status: "SERVING" });
          const last = envs.at(-1);
          assert.equal(last.flags, 0x02, "last envelope is end-stream");
          for (const e of envs.slice(0, -1)) assert.equal(e.flags, 0, "only the last envelope is end-stream");
          const endJson = JSON.parse(last.payload.toString());
          assert.equal(endJson.error?.code, "deadline_exceeded", last.payload.toString());
        });

        it("SubscribeAttachmentBundle: only an end-stream envelope with error unimplemented", async () => {
          const r = await curlPost(targetOf(node, via), `/${SIDECAR}/SubscribeAttachmentBundle`, envelope('{"bundleId":"b-1"}'), {
            http2,
            contentType: "application/connect+json",
            headers: { "Connect-Protocol-Version": "1" },
          });
          assert.equal(r.httpStatus, 200, r.body);
          const envs = parseEnvelopes(r.bodyBuffer);
          assert.equal(envs.length, 1, JSON.stringify(r.body));
          assert.equal(envs[0].flags, 0x02);
          const endJson = JSON.parse(envs[0].payload.toString());
          assert.equal(endJson.error?.code, "unimplemented", envs[0].payload.toString());
          assert.equal(typeof endJson.error.message, "string");
        });
      });
    }
  }

  it("the server is still alive after all of the above", async () => {
    assert.equal(node.exit, null, `server exited: ${JSON.stringify(node.exit)}\n${node.stderrText}`);
    const c = makeClient("cn-grpc-h2", node, "tcp");
    try {
      const r = await c.unary(SIDECAR, "GetStatus", {});
      assert.equal(r.ok, true, `${r.code} ${r.errorMessage}`);
    } finally {
      c.close();
    }
  });
});

// ---- graceful shutdown: an open stream ends cleanly on SIGTERM, the process exits 0 -------------
// Each case needs its own node (it is stopped); they run concurrently.
const SHUTDOWN_KINDS = ["cn-connect-json-h1", "cn-connect-proto-h2", "cn-grpc-h2", "cn-grpcweb-h1", "cn-grpcweb-h2", "grpc-js", "buf-connect-h1", "buf-grpc", "buf-grpcweb"];
const HEALTH_STATUSES = new Set(["SERVING", "NOT_SERVING"]);

describe("SIGTERM ends open streams cleanly and exits 0", { concurrency: true }, () => {
  for (const kind of SHUTDOWN_KINDS) {
    const via = kind === "cn-grpc-h2" || kind === "buf-grpcweb" ? "unix" : "tcp";
    it(`${kind} over ${via}: Watch ends without error, exit code 0 within 10 s`, async (t) => {
      const node = await startNode({ t });
      const client = makeClient(kind, node, via);
      t.after(() => client.close());
      const s = client.openStream(HEALTH, "Watch", { service: "" });
      await s.waitForMessages(1, 10_000);
      assert.deepEqual(s.messages[0], { status: "SERVING" });
      assert.equal(s.ended, false, `Watch ended before SIGTERM was sent: ${JSON.stringify(s.error)}`);

      const [exit, end] = await Promise.all([node.stop("SIGTERM", 10_000), withTimeout(s.done, 12_000, "stream did not end after SIGTERM")]);
      assert.equal(exit.timedOut, false, `did not exit within 10 s of SIGTERM\n${exit.stderr}`);
      assert.equal(exit.signal, null, `killed by ${exit.signal}\n${exit.stderr}`);
      assert.equal(exit.code, 0, `exit code\n${exit.stderr}`);
      assert.ok(exit.elapsedMs < 10_000);
      assert.equal(end.error, null, `stream ended with an error instead of cleanly: ${JSON.stringify(end.error)}`);
      // Health semantics allow a NOT_SERVING update while draining; nothing else.
      for (const m of end.messages) assert.ok(HEALTH_STATUSES.has(m.status), JSON.stringify(end.messages));
      if (kind.startsWith("buf-")) assert.equal(s.raw.exitCode, 0, s.raw.stderr);
    });
  }

  it("SIGINT without open streams: exit code 0 within 10 s", async (t) => {
    const node = await startNode({ t });
    const exit = await node.stop("SIGINT", 10_000);
    assert.equal(exit.timedOut, false, exit.stderr);
    assert.equal(exit.signal, null, exit.stderr);
    assert.equal(exit.code, 0, exit.stderr);
  });
});
