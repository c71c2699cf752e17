// peat-node side of the mesh benchmarks (bench/mesh.sh): two peat-node processes on loopback, one
// formation, joined by a static --peer (A → B; for B4 B → A, so the restarted B dials at once)
// (the harness of tests/integration/lib/mesh_cluster.mjs,
// fresh data dirs per scenario). The binary is $PEAT_NODE_BIN.
//
//   node bench/mesh/peat_mesh.mjs b3 --docs N          B3: N docs (~300 B) written on A until all are readable on B
//   node bench/mesh/peat_mesh.mjs b4 --docs D --updates U
//                                                       B4: B down while A takes U updates to D docs; restart B
//   node bench/mesh/peat_mesh.mjs b5 --samples S        B5: one write on A → Subscribe event on B, S times
//   node bench/mesh/peat_mesh.mjs dump-docs --docs N    the B3 documents, one JSON per line (the anchor's input)
//
// B3 and B4 write with bench_put_flood (bench/put_flood.cc: C++, nghttp2 client, one poll loop;
// $PUT_FLOOD, else build/bench/bench_put_flood): PutDocument over gRPC (h2c), 4 connections × 128
// calls in flight (the node's SETTINGS_MAX_CONCURRENT_STREAMS), every request encoded before the
// first is sent; B4's update rounds are separated by barriers (a round starts once the previous
// one is answered). Node's own http2 client saturated a core while both nodes idled (B3 measured
// the writer); it remains the fallback when the binary is missing (or PUT_FLOOD=node): 4
// connections, 256 calls in flight in all, requests encoded before the clock. The output's
// "writer" field says which one ran. B5 (one write at a time) always uses Node's http2 client.
// The clock of "readable on B" is a Subscribe stream on B (grpc-js), opened and proven live
// before put_flood is started: B has a document when its UPSERT event arrived. B3's time runs
// from the first request sent (put_flood's first_send_unix_ms, CLOCK_REALTIME) to the last UPSERT
// seen on B (performance.timeOrigin + performance.now(): the same wall clock, sub-ms). Bytes are
// GetSyncStats (bytes_sent + bytes_received: real mesh wire bytes), read once the counters are still.
//
// BENCH_ENCRYPT=1 starts both nodes with one random --encryption-key (the output says
// "encrypted": true).
// Prints one JSON line (fields per scenario; on failure {scenario, error}). Exit 0 unless the
// arguments are wrong.

import http2 from "node:http2";
import { protobuf, sidecarPb } from "../../tests/integration/lib/clients.mjs";
import { withTimeout } from "../../tests/integration/lib/documents.mjs";
import { UPSERT, makeDoc, randomKey, startCluster, waitFor, waitSubscribed } from "../../tests/integration/lib/mesh_cluster.mjs";
import { putFlood, putFloodBin, stillStats, tap } from "./bench_lib.mjs";

const PUT_PATH = "/peat.sidecar.v1.PeatSidecar/PutDocument";
const now = () => performance.now();
/** Wall-clock ms (fractional), comparable with put_flood's CLOCK_REALTIME stamps. */
const wallMs = () => performance.timeOrigin + performance.now();
function parseArgs(argv) {
  const opt = { docs: 1000, updates: 100_000, samples: 1000 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, "");
    if (!(k in opt)) throw new Error(`unknown option ${argv[i]}`);
    opt[k] = Number(argv[i + 1]);
  }
  return opt;
}

/** A PutDocument request as a gRPC length-prefixed message. */
function putBody(collection, docId, json) {
  const m = protobuf.toBinary(sidecarPb.PutDocumentRequestSchema, protobuf.create(sidecarPb.PutDocumentRequestSchema, { collection, docId, jsonData: json }));
  const b = Buffer.alloc(5 + m.length);
  b.writeUInt32BE(m.length, 1);
  b.set(m, 5);
  return b;
}

/** h2c sessions to a node's API; put(body) resolves the grpc-status ("0" = OK). */
function writer(node, conns = 4) {
  const sessions = Array.from({ length: conns }, () => http2.connect(node.proc.baseUrl));
  for (const s of sessions) s.on("error", () => {});
  let rr = 0;
  const put = (body) =>
    new Promise((resolve) => {
      const st = sessions[rr++ % conns].request({ ":method": "POST", ":path": PUT_PATH, "content-type": "application/grpc", te: "trailers" });
      let status = "no status";
      const take = (h) => {
        if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
      };
      st.on("response", take);
      st.on("trailers", take);
      st.on("data", () => {});
      st.on("error", () => {});
      st.on("close", () => resolve(status));
      st.end(body);
    });
  /** Sends every body with `inflight` calls in flight; resolves {errors, first}. */
  const putAll = async (bodies, inflight = 256) => {
    let i = 0;
    let errors = 0;
    let first = null;
    await Promise.all(
      Array.from({ length: Math.min(inflight, bodies.length) }, async () => {
        while (i < bodies.length) {
          const st = await put(bodies[i++]);
          if (st !== "0") {
            errors++;
            first ??= st;
          }
        }
      }),
    );
    return { errors, first };
  };
  return { put, putAll, close: () => sessions.forEach((s) => s.close()) };
}

/**
 * Bulk writes to node, with bench_put_flood when built, else with writer() (Node's http2 client,
 * bodies encoded before the clock). write(rounds) as putFlood's.
 */
function bulkWriter(node) {
  const bin = putFloodBin();
  if (bin) return { kind: "put_flood", write: (rounds) => putFlood(bin, node.proc.tcpAddr, rounds), close: () => {} };
  const w = writer(node);
  const write = async (rounds) => {
    const bodies = rounds.map((r) => r.map(([c, id, j]) => putBody(c, id, j)));
    const t0 = wallMs();
    let errors = 0;
    let first = null;
    for (const b of bodies) {
      const res = await w.putAll(b);
      errors += res.errors;
      first ??= res.first;
    }
    return { errors, first, t0, tAck: wallMs() };
  };
  return { kind: "node-http2", write, close: w.close };
}

/**
 * The B3 clock: a Subscribe stream on `node` over Node's own http2 client (gRPC framing, messages
 * decoded with protobuf-es), calling onChange(docId, isUpsert) per event. grpc-js spends ~30 µs
 * per message here, which for 1,000 events is most of what B3 would measure.
 */
function rawSubscribe(node, collections, onChange) {
  const session = http2.connect(node.proc.baseUrl);
  session.on("error", () => {});
  const msg = protobuf.toBinary(sidecarPb.SubscribeRequestSchema, protobuf.create(sidecarPb.SubscribeRequestSchema, { collections }));
  const framed = Buffer.alloc(5 + msg.length);
  framed.writeUInt32BE(msg.length, 1);
  framed.set(msg, 5);
  const st = session.request({ ":method": "POST", ":path": "/peat.sidecar.v1.PeatSidecar/Subscribe", "content-type": "application/grpc", te: "trailers" });
  st.on("error", () => {});
  st.end(framed);
  let buf = Buffer.alloc(0);
  st.on("data", (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      const m = protobuf.fromBinary(sidecarPb.DocumentChangeSchema, buf.subarray(5, 5 + len));
      buf = buf.subarray(5 + len);
      onChange(m.docId, m.changeType === sidecarPb.ChangeType.UPSERT);
    }
  });
  return {
    close() {
      st.close();
      session.close();
    },
  };
}

/** BENCH_ENCRYPT=1: both nodes run with one --encryption-key (names and values encrypted at rest and on the mesh). */
const ENCRYPT = process.env.BENCH_ENCRYPT === "1";
const ENCRYPTION_KEY = randomKey();

/** A and B; `edges` [[1, 0]]: B dials A (a restarted B reconnects at once instead of waiting for A's redial backoff). */
async function pair(edges = [[0, 1]]) {
  const args = () => (ENCRYPT ? ["--encryption-key", ENCRYPTION_KEY] : []);
  const cl = await startCluster({ n: 2, edges, args, connectTimeoutMs: 30_000 });
  return { cl, a: cl.nodes[0], b: cl.nodes[1] };
}

/** B3: N docs written on A (all in flight at once, bounded) until every one is readable on B. */
async function b3({ docs: n }) {
  const C = "b3";
  const { cl, a, b } = await pair();
  const docs = Array.from({ length: n }, (_, i) => [C, `doc-${i}`, JSON.stringify(makeDoc(i))]);
  const raw = docs.reduce((x, [, , j]) => x + Buffer.byteLength(j), 0);
  const w = bulkWriter(a);
  const [s0] = await stillStats([a]);

  const seen = new Set();
  let tDone = null;
  let resolveAll;
  const all = new Promise((r) => (resolveAll = r));
  // The clock: a lightweight Subscribe on B, proven live by a probe before the writes.
  let probeSeen;
  const probeLive = new Promise((r) => (probeSeen = r));
  const probeId = `clock-probe-${Date.now()}`;
  const clock = rawSubscribe(b, [C], (docId, upsert) => {
    if (docId === probeId) return probeSeen();
    if (upsert && docId.startsWith("doc-")) seen.add(docId);
    if (tDone === null && seen.size === n) {
      tDone = wallMs();
      resolveAll();
    }
  });
  await b.put(C, probeId, { probe: true });
  await withTimeout(probeLive, 10_000, "the clock stream's probe on B");
  await waitFor(async () => (await a.list(C)).length === 1, { what: "B's probe on A" }); // quiet before the clock
  const untap = () => clock.close();
  const res = await w.write([docs]);
  const { t0, tAck: tWritten } = res;
  if (res.errors) throw new Error(`${res.errors} PutDocument calls failed (first: ${res.first})`);
  await withTimeout(all, 300_000, `B to receive all ${n} docs`).catch((e) => {
    throw new Error(`${e.message} (${seen.size} received)`);
  });
  untap();
  const [s1] = await stillStats([a]);
  const onB = (await b.list(C)).filter((x) => x.startsWith("doc-")).length;
  if (onB !== n) throw new Error(`B lists ${onB} docs, ${n} written`);
  w.close();
  await Promise.all(cl.nodes.map((x) => x.kill()));
  const bytes = s1.total - s0.total;
  const seconds = (tDone - t0) / 1000;
  return {
    scenario: "b3",
    impl: "peat",
    writer: w.kind,
    docs: n,
    seconds,
    write_seconds: (tWritten - t0) / 1000,
    docs_per_s: n / seconds,
    bytes,
    bytes_sent: s1.bytesSent - s0.bytesSent,
    bytes_received: s1.bytesReceived - s0.bytesReceived,
    raw_json_bytes: raw,
    ratio: bytes / raw,
  };
}

/** B4: B down (SIGTERM) while A takes `updates` updates to `docs` docs; time + bytes for B to catch up after its restart. */
async function b4({ docs: d, updates: u }) {
  const C = "b4";
  const { cl, a, b } = await pair([[1, 0]]);
  const w = bulkWriter(a);
  let r = await w.write([Array.from({ length: d }, (_, i) => [C, `doc-${i}`, JSON.stringify(makeDoc(i))])]);
  if (r.errors) throw new Error(`pre-load: ${r.errors} PutDocument calls failed (first: ${r.first})`);
  await waitFor(async () => (await b.list(C)).length === d, { timeoutMs: 300_000, intervalMs: 250, what: `B holds the ${d} pre-loaded docs` });
  const stop = await b.stop("SIGTERM");
  if (stop.code !== 0) throw new Error(`B did not stop cleanly: ${JSON.stringify(stop)}`);

  // updates: round k (1-based) rewrites every doc as makeDoc(i, k) (a few fields change each
  // time); a round is sent once the previous one is answered (two writes of a doc never race)
  const finalRev = new Array(d).fill(0);
  let updatesRaw = 0;
  const rounds = [];
  for (let k = 0; k < u; k++) {
    const i = k % d;
    const rev = Math.floor(k / d) + 1;
    if (i === 0) rounds.push([]);
    const j = JSON.stringify(makeDoc(i, rev));
    updatesRaw += Buffer.byteLength(j);
    finalRev[i] = rev;
    rounds[rounds.length - 1].push([C, `doc-${i}`, j]);
  }
  r = await w.write(rounds);
  if (r.errors) throw new Error(`updates: ${r.errors} PutDocument calls failed (first: ${r.first})`);
  const updateSeconds = (r.tAck - r.t0) / 1000;
  w.close();
  const finalRaw = finalRev.reduce((x, rev, i) => x + Buffer.byteLength(JSON.stringify(makeDoc(i, rev))), 0);

  // restart B; B is caught up when every doc shows its final rev (Subscribe: snapshot + live)
  const [a0] = await stillStats([a]);
  const t0 = now();
  await b.start();
  const sub = b.subscribe([C]);
  const current = new Map();
  let behind = d;
  let tDone = null;
  let resolveAll;
  const all = new Promise((res) => (resolveAll = res));
  tap(sub, (m) => {
    if (m.changeType !== UPSERT || !m.docId.startsWith("doc-")) return;
    const i = Number(m.docId.slice(4));
    const ok = JSON.parse(m.jsonData).rev === finalRev[i];
    const was = current.get(i) ?? false;
    if (ok !== was) {
      behind += ok ? -1 : 1;
      current.set(i, ok);
    }
    if (tDone === null && behind === 0) {
      tDone = now();
      resolveAll();
    }
  });
  await withTimeout(all, 300_000, `B to catch up on all ${d} docs`).catch((e) => {
    throw new Error(`${e.message} (${d - behind} caught up)`);
  });
  const [a1, b1] = await stillStats([a, b]);
  sub.cancel();
  await Promise.all(cl.nodes.map((x) => x.kill()));
  return {
    scenario: "b4",
    impl: "peat",
    writer: w.kind,
    docs: d,
    updates: u,
    update_seconds: updateSeconds,
    seconds: (tDone - t0) / 1000,
    bytes: b1.total, // B's counters start with its restart: exactly the catch-up (+ handshake)
    bytes_a_delta: a1.total - a0.total,
    final_raw_json_bytes: finalRaw,
    updates_raw_json_bytes: updatesRaw,
    ratio: b1.total / finalRaw,
  };
}

/** B5: one write on A → its Subscribe event on B, `samples` times in sequence (after 50 warm-up writes). */
async function b5({ samples }) {
  const C = "b5";
  const { cl, a, b } = await pair();
  const sub = b.subscribe([C]);
  await waitSubscribed(b, sub, C);
  const w = writer(a, 1);
  let want = null;
  let arrived;
  tap(sub, (m) => {
    if (want !== null && m.docId === want && m.changeType === UPSERT) {
      want = null;
      arrived(now());
    }
  });
  const lat = [];
  const ack = [];
  for (let k = -50; k < samples; k++) {
    const id = `s-${k}`;
    const body = putBody(C, id, JSON.stringify({ ...makeDoc(k + 50), sample: k }));
    const seen = new Promise((r) => (arrived = r));
    want = id;
    const t0 = now();
    const acked = w.put(body).then((st) => {
      if (st !== "0") throw new Error(`PutDocument grpc-status ${st}`);
      return now();
    });
    const t1 = await withTimeout(seen, 10_000, `Subscribe event on B for ${id}`);
    const ta = await acked;
    if (k >= 0) {
      lat.push(t1 - t0);
      ack.push(ta - t0);
    }
  }
  w.close();
  sub.cancel();
  await Promise.all(cl.nodes.map((x) => x.kill()));
  const q = (xs, p) => {
    const s = [...xs].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  };
  return { scenario: "b5", impl: "peat", samples, p50_ms: q(lat, 0.5), p99_ms: q(lat, 0.99), max_ms: q(lat, 1), ack_p50_ms: q(ack, 0.5), ack_p99_ms: q(ack, 0.99) };
}

const [mode, ...rest] = process.argv.slice(2);
const opt = parseArgs(rest);
if (mode === "dump-docs") {
  const out = [];
  for (let i = 0; i < opt.docs; i++) out.push(JSON.stringify(makeDoc(i)));
  process.stdout.write(`${out.join("\n")}\n`);
  process.exit(0);
}
const scenarios = { b3, b4, b5 };
if (!scenarios[mode]) {
  console.error("usage: peat_mesh.mjs b3|b4|b5|dump-docs [--docs N] [--updates U] [--samples S]");
  process.exit(2);
}
try {
  console.log(JSON.stringify({ ...(await scenarios[mode](opt)), encrypted: ENCRYPT }));
} catch (e) {
  console.error(`peat_mesh.mjs ${mode}: ${e.stack ?? e}`);
  console.log(JSON.stringify({ scenario: mode, impl: "peat", error: String(e.message ?? e).split("\n")[0] }));
}
process.exit(0);
