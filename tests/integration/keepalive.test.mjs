// HTTP/2 keepalive: the server PINGs every --http2-keepalive-interval-secs and closes a connection
// whose PING goes unanswered for --http2-keepalive-timeout-secs (a dead peer behind a NAT or a
// partition must not hold a connection forever); a peer that answers stays connected.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startNode } from "./lib/node_process.mjs";
import { HEALTH, envelope, targetOf } from "./lib/clients.mjs";
import { H2, h2Frame, h2RequestHeaders, metricValue, rawH2Connect, scrapeMetrics } from "./lib/raw.mjs";

const INTERVAL_S = 1;
const TIMEOUT_S = 1;
const WATCH = `/${HEALTH}/Watch`;

describe("HTTP/2 keepalive", () => {
  let node;
  let tcp;

  before(async () => {
    node = await startNode({
      args: ["--http2-keepalive-interval-secs", String(INTERVAL_S), "--http2-keepalive-timeout-secs", String(TIMEOUT_S)],
    });
    tcp = targetOf(node, "tcp");
  });

  after(async () => {
    await node?.kill();
  });

  async function openWatch(c) {
    assert.ok(await c.waitForFrame((f) => f.type === H2.SETTINGS && !(f.flags & H2.ACK), 5000), "no server SETTINGS");
    // An open stream keeps the connection from being idle: only keepalive can end it.
    c.write(h2RequestHeaders(1, { path: WATCH, contentType: "application/grpc" }));
    c.write(h2Frame(H2.DATA, H2.END_STREAM, 1, envelope(Buffer.alloc(0))));
    assert.ok(await c.waitForFrame((f) => f.type === H2.DATA && f.streamId === 1, 5000), `Watch got no message: ${c.summary()}`);
  }

  it("a peer that never answers PING is disconnected after interval + timeout", async () => {
    const c = await rawH2Connect(tcp, { answerPings: false });
    try {
      const started = Date.now();
      await openWatch(c);
      const closed = await c.waitClosed(10_000);
      const elapsed = (Date.now() - started) / 1000;
      assert.equal(closed, true, `connection not closed within 10 s: ${c.summary()}`);
      assert.ok(c.framesOf(H2.PING).some((f) => !(f.flags & H2.ACK)), `server sent no PING: ${c.summary()}`);
      assert.ok(elapsed >= (INTERVAL_S + TIMEOUT_S) * 0.8, `closed after ${elapsed} s, before interval + timeout`);
      const m = await scrapeMetrics(tcp);
      const n = metricValue(m.samples, "peat_rpc_connections_closed_total", { reason: "keepalive_timeout" }) ?? 0;
      assert.ok(n >= 1, `peat_rpc_connections_closed_total{reason="keepalive_timeout"} = ${n}`);
    } finally {
      c.destroy();
    }
  });

  it("a peer that answers PINGs stays connected across several keepalive rounds", async () => {
    const c = await rawH2Connect(tcp);
    try {
      await openWatch(c);
      const closed = await c.waitClosed(4 * (INTERVAL_S + TIMEOUT_S) * 1000);
      assert.equal(closed, false, `answering peer was disconnected: ${c.summary()}`);
      const pings = c.framesOf(H2.PING).filter((f) => !(f.flags & H2.ACK)).length;
      assert.ok(pings >= 2, `expected at least 2 keepalive PINGs, saw ${pings}: ${c.summary()}`);
      assert.deepEqual(c.framesOf(H2.GOAWAY), [], `GOAWAY: ${c.summary()}`);
    } finally {
      c.destroy();
    }
  });
});
