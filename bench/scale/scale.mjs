// B8 mesh scale (bench/scale.sh): N peat-node processes on 127.0.0.1, joined along a seeded random
// topology in which every node has degree ≥ 3 or as a full mesh, one document written on every
// node at the same moment; the clock stops when every node holds all N documents. The binary is
// $PEAT_NODE_BIN.
//
//   node bench/scale/scale.mjs run --nodes N [--topology d3|full] [--relay offer|push] [--seed S]
//                                  [--degree 3] [--timeout-s 180] [--connect-timeout-s 120]
//                                  [--client-nice K] [--rep R]
//                                              one run: one JSON line on stdout
//   node bench/scale/scale.mjs report          the markdown table from bench/scale.sh's raw outputs
//
// A run, on the harness of tests/integration/lib/mesh_cluster.mjs:
//   1. topology: d3 (default) = randomMinDegree(N, 3, prng(seed)): a ring through a random
//      permutation of the nodes plus random chords until every node has degree ≥ 3 (connected
//      through the ring); full = every pair of nodes; either way every edge is dialed by one side
//      only (a static --peer flag of the dialer; in the full mesh each node dials about half of
//      the others);
//   2. startCluster: N processes, node ids n1..nN, one formation (app id + shared key), each with
//      its own data dir, API on 127.0.0.1:0, mesh on a port below the ephemeral range (see
//      meshPort) and `--mesh-relay <relay>` (offer, the default of the node: a relayed change is
//      offered by digest and only peers that lack it fetch it; push: the whole state to every
//      other peer); every start waits for the node's "listening on" and "mesh listening on"
//      lines (and /readyz); with --client-nice K the client's event-loop thread then moves to
//      nice K;
//   3. wait until GetStatus.connected_peers of every node equals its degree in the graph;
//   4. one Subscribe stream (collection "b8") per node on the node's grpc-js channel (one HTTP/2
//      connection per node carries the stream and every unary call); wait until /metrics shows
//      peat_subscribers ≥ 1 on every node (the listener is registered: the stream sees every
//      later commit) and the mesh byte counters are still; time N concurrent GetStatus (the
//      client's floor);
//   5. clock: t0, then PutDocument of doc-n<i> (~300 B, makeDoc) on every node i, all issued in the
//      same tick; node i is complete when its stream has delivered an UPSERT for each of the N
//      doc ids; the run's time is the last node's completion - t0 (client receive times);
//   6. after: GetSyncStats on every node once the counters are still, at most ~3 s (bytes =
//      delta over the run, sent + received summed over nodes: every wire byte counted on both
//      ends; bytes_net = minus the idle rate measured during the wait of step 4 × the byte
//      window, since link keepalives keep the counters moving), ListDocuments = N on every node;
//      deltas over the run, summed over nodes, of peat_mesh_changes_received_total (deliveries:
//      whole states received, incl. duplicates), peat_mesh_offers_sent_total,
//      peat_mesh_offers_received_total and peat_mesh_states_wanted_total (null when the binary
//      does not export them); VmRSS of every process; over the clock window: on-CPU and run-queue
//      wait time (schedstat) of every node thread, of the client, of the client's main thread,
//      and the client's event-loop delay.

import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { withTimeout } from "../../tests/integration/lib/documents.mjs";
import { LOOPBACK, UPSERT, makeDoc, prng, randomMinDegree, startCluster, waitFor } from "../../tests/integration/lib/mesh_cluster.mjs";
import { metricValue } from "../../tests/integration/lib/raw.mjs";
import { readRuns } from "../mesh/bench_lib.mjs";

const C = "b8";
const wallMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const TOPOLOGIES = ["d3", "full"];
const RELAYS = ["offer", "push"];
const STRING_OPTS = { topology: TOPOLOGIES, relay: RELAYS };

function parseArgs(argv) {
  const opt = { nodes: 8, seed: 1, degree: 3, "timeout-s": 180, "connect-timeout-s": 120, "client-nice": 0, topology: "d3", relay: "offer", rep: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, "");
    const v = argv[i + 1];
    if (!(k in opt)) throw new Error(`unknown option ${argv[i]}`);
    if (v === undefined) throw new Error(`option ${argv[i]} needs a value`);
    if (STRING_OPTS[k]) {
      if (!STRING_OPTS[k].includes(v)) throw new Error(`${argv[i]} ${v}: expected one of ${STRING_OPTS[k].join(", ")}`);
      opt[k] = v;
    } else {
      opt[k] = Number(v);
      if (!Number.isFinite(opt[k])) throw new Error(`${argv[i]} ${v}: expected a number`);
    }
  }
  const minNodes = opt.topology === "full" ? 2 : opt.degree + 1;
  if (!Number.isInteger(opt.nodes) || opt.nodes < minNodes) throw new Error(`--nodes ${opt.nodes}: topology ${opt.topology} needs at least ${minNodes}`);
  return opt;
}

/** Every pair of n nodes once; pair (a, b) is dialed by a when a + b is even, else by b (each node dials about half). */
function fullMesh(n) {
  const edges = [];
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) edges.push((a + b) % 2 === 0 ? [a, b] : [b, a]);
  return edges;
}

/** The mesh counters of a run, per node (undefined where the binary does not export one). */
const COUNTERS = {
  deliveries: "peat_mesh_changes_received_total",
  offers_sent: "peat_mesh_offers_sent_total",
  offers_received: "peat_mesh_offers_received_total",
  states_wanted: "peat_mesh_states_wanted_total",
  batches_sent: "peat_mesh_batches_sent_total",
  sent_ahead: "peat_mesh_states_sent_ahead_total",
  store_transactions: "peat_store_transactions_total",
};
async function readCounters(nodes) {
  return Promise.all(
    nodes.map(async (nd) => {
      const samples = await nd.metrics();
      return Object.fromEntries(Object.entries(COUNTERS).map(([k, name]) => [k, metricValue(samples, name)]));
    }),
  );
}
/** Σ over nodes of after − before for counter k; null when a node does not export it. */
function counterDelta(before, after, k) {
  if (after.some((c) => c[k] === undefined)) return null;
  return sum(after.map((c) => c[k])) - sum(before.map((c) => c[k] ?? 0));
}

/** Longest shortest path (hops) of an undirected graph given as edges; Infinity if disconnected. */
function diameter(n, edges) {
  const adj = Array.from({ length: n }, () => []);
  for (const [a, b] of edges) {
    adj[a].push(b);
    adj[b].push(a);
  }
  let d = 0;
  for (let s = 0; s < n; s++) {
    const dist = new Array(n).fill(-1);
    dist[s] = 0;
    const q = [s];
    for (let h = 0; h < q.length; h++) for (const v of adj[q[h]]) if (dist[v] < 0) q.push(v), (dist[v] = dist[q[h]] + 1);
    if (dist.includes(-1)) return Infinity;
    d = Math.max(d, ...dist);
  }
  return d;
}

/**
 * CPU time and run-queue wait of a process in seconds, summed over its threads
 * (/proc/<pid>/task/<tid>/schedstat: ns on a CPU, ns runnable but waiting for one, slices).
 * Threads that exit in between are not counted. {cpu: NaN, wait: NaN} once the process is gone.
 */
function sched(pid) {
  let cpu = 0;
  let wait = 0;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const [c, w] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ").map(Number);
        cpu += c;
        wait += w;
      } catch {
        /* thread gone */
      }
    }
  } catch {
    return { cpu: NaN, wait: NaN };
  }
  return { cpu: cpu / 1e9, wait: wait / 1e9 };
}
/** The same for one thread (the main thread: tid = pid). */
function threadSched(tid) {
  const [c, w] = fs.readFileSync(`/proc/${process.pid}/task/${tid}/schedstat`, "utf8").split(" ").map(Number);
  return { cpu: c / 1e9, wait: w / 1e9 };
}
/** VmRSS of a process in bytes. */
function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * A port for a mesh listener below the kernel's ephemeral range (ip_local_port_range), free a
 * moment ago, never the same twice: N API listeners on port 0 and the outgoing connections of N
 * nodes take ephemeral ports, and one of them taking a port freePort() handed out for a mesh
 * listener made a node exit with "Address already in use" about one start in four at N = 48.
 */
const usedPorts = new Set();
async function meshPort() {
  let low = 32768;
  try {
    low = Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || low;
  } catch {
    /* default range */
  }
  const lo = Math.max(1024, low - 12_000);
  for (let i = 0; i < 200; i++) {
    const port = lo + Math.floor(Math.random() * (low - lo));
    if (usedPorts.has(port)) continue;
    const free = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.unref();
      srv.once("error", () => resolve(false));
      srv.listen(port, LOOPBACK, () => srv.close(() => resolve(true)));
    });
    if (free) {
      usedPorts.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${lo}..${low - 1}`);
}

/**
 * GetSyncStats of every node once two reads 200 ms apart agree (at most ~3 s): {stats, still,
 * first: the first read, firstAt / at: wall ms of the first / returned read}. A mesh with link
 * keepalives (dead-link detection) is never still: then stats is the read after ~3 s.
 */
async function stillStats(nodes) {
  const read = () => Promise.all(nodes.map((n) => n.syncStats()));
  const firstAt = wallMs();
  const first = await read();
  let prev = first;
  let prevAt = firstAt;
  for (let i = 0; i < 15; i++) {
    await sleep(200);
    const curAt = wallMs();
    const cur = await read();
    if (cur.every((s, k) => s.total === prev[k].total)) return { stats: cur, still: true, first, firstAt, at: curAt };
    prev = cur;
    prevAt = curAt;
  }
  return { stats: prev, still: false, first, firstAt, at: prevAt };
}
/** Σ over nodes of GetSyncStats bytes sent + received. */
const wireBytes = (stats) => sum(stats.map((s) => s.bytesSent + s.bytesReceived));
const sum = (xs) => xs.reduce((a, x) => a + x, 0);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function run(opt) {
  const n = opt.nodes;
  const tStart = wallMs();
  const edges = opt.topology === "full" ? fullMesh(n) : randomMinDegree(n, opt.degree, prng(opt.seed));
  const degree = new Array(n).fill(0);
  for (const [a, b] of edges) degree[a]++, degree[b]++;

  // 1-2. processes (each waits for its API and mesh listener lines)
  const names = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  // a start that still loses a port race (another user of the machine) is retried with new ports
  let cl;
  for (let attempt = 1; ; attempt++) {
    try {
      cl = await startCluster({
        n,
        names,
        nodeId: (name) => name,
        edges,
        meshPort,
        waitConnected: false,
        appId: `b8-${opt.seed}-${n}-${opt.topology}-${opt.relay}`,
        args: () => ["--mesh-relay", opt.relay],
      });
      break;
    } catch (e) {
      if (attempt >= 3 || !/Address already in use/.test(String(e.message))) throw e;
      console.error(`scale.mjs: start attempt ${attempt} lost a port race, retrying: ${String(e.message).split("\n")[0]}`);
    }
  }
  const nodes = cl.nodes;
  const tUp = wallMs();
  // --client-nice K: this client's event-loop thread (which issues the writes and reads every
  // stream: the clock) at nice K once the nodes run at the original level (setpriority on Linux
  // applies to the calling thread only). K < 0 needs CAP_SYS_NICE; without it the run goes on at
  // the original level and says so (client_nice in the output).
  let niceError = null;
  if (opt["client-nice"]) {
    try {
      os.setPriority(0, opt["client-nice"]);
    } catch (e) {
      niceError = e.code ?? e.message;
      console.error(`scale.mjs: cannot set the client's nice level to ${opt["client-nice"]}: ${e.message}`);
    }
  }
  const threads = fs.readdirSync(`/proc/${nodes[0].proc.pid}/task`).length;
  try {
    // 3. every node reports its expected connected_peers
    let connected = [];
    await waitFor(
      async () => {
        connected = await Promise.all(nodes.map(async (nd) => (await nd.status()).connectedPeers));
        return connected.every((c, i) => c === degree[i]);
      },
      {
        timeoutMs: opt["connect-timeout-s"] * 1000,
        intervalMs: 100,
        what: "every node's GetStatus.connected_peers = its degree",
        describe: () => nodes.flatMap((nd, i) => (connected[i] === degree[i] ? [] : [`${nd.name} ${connected[i]}/${degree[i]}`])).join(", "),
      },
    );
    const tConnected = wallMs();

    // 4. streams, proven registered through /metrics
    const ids = names.map((nm) => `doc-${nm}`);
    const want = new Set(ids);
    const doneAt = new Array(n).fill(null);
    let remaining = n;
    let resolveAll;
    const all = new Promise((r) => (resolveAll = r));
    const subs = nodes.map((nd, i) => {
      const h = nd.subscribe([C]);
      const seen = new Set();
      let k = 0;
      h._waiters.add(() => {
        for (; k < h.messages.length; k++) {
          const m = h.messages[k];
          if (m.changeType === UPSERT && want.has(m.docId)) seen.add(m.docId);
        }
        if (doneAt[i] === null && seen.size === n) {
          doneAt[i] = wallMs();
          if (--remaining === 0) resolveAll();
        }
      });
      return { h, seen };
    });
    await waitFor(async () => (await Promise.all(nodes.map((nd) => nd.metric("peat_subscribers")))).every((v) => v >= 1), {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: "peat_subscribers ≥ 1 on every node",
    });
    for (const [i, s] of subs.entries()) if (s.h.ended) throw new Error(`${nodes[i].name}: Subscribe ended: ${JSON.stringify(s.h.error)}`);
    const before = await stillStats(nodes);
    const counters0 = await readCounters(nodes);
    // the client's floor: N concurrent unary round trips (GetStatus, one per node), as at the clock
    const rtts = [];
    for (let r = 0; r < 5; r++) {
      const a = wallMs();
      await Promise.all(nodes.map((nd) => nd.status()));
      rtts.push((wallMs() - a) / 1000);
    }
    const bodies = nodes.map((_, i) => JSON.stringify(makeDoc(i)));
    const rawJson = sum(bodies.map((b) => Buffer.byteLength(b)));

    // 5. the clock
    const pids = nodes.map((nd) => nd.proc.pid);
    const cpu0 = pids.map(sched);
    const ccpu0 = sched(process.pid);
    const main0 = threadSched(process.pid);
    const eld = monitorEventLoopDelay({ resolution: 1 });
    eld.enable();
    const t0 = wallMs();
    const mono0 = process.hrtime.bigint();
    const ackAt = new Array(n).fill(null);
    const puts = nodes.map((nd, i) =>
      nd.put(C, ids[i], bodies[i]).then(() => {
        ackAt[i] = wallMs();
      }),
    );
    await Promise.all(puts);
    await withTimeout(all, opt["timeout-s"] * 1000, `every node to hold all ${n} docs`).catch((e) => {
      const counts = subs.map((s) => s.seen.size);
      throw new Error(`${e.message} (docs per node: min ${Math.min(...counts)}, median ${median(counts)}; complete: ${n - remaining}/${n})`);
    });
    const tEnd = wallMs();
    if (process.env.BENCH_SCALE_MARKS) {
      // CLOCK_MONOTONIC seconds of the clock's start and end: `perf record -k mono` + `perf report
      // --time START,END` profiles the nodes during the clock only (docs/BENCHMARKS.md, B8).
      const secs = (ns) => (Number(ns / 1000n) / 1e6).toFixed(6);
      fs.appendFileSync(process.env.BENCH_SCALE_MARKS, `${n} ${secs(mono0)},${secs(process.hrtime.bigint())}\n`);
    }
    eld.disable();
    const ccpu1 = sched(process.pid);
    const main1 = threadSched(process.pid);
    const cpu1 = pids.map(sched);

    // 6. after the clock
    const rss = pids.map(rssBytes);
    const after = await stillStats(nodes);
    const counters1 = await readCounters(nodes);
    const counts = await Promise.all(nodes.map(async (nd) => (await nd.list(C)).length));
    const bad = counts.flatMap((c, i) => (c === n ? [] : [`${nodes[i].name}: ${c}`]));
    if (bad.length) throw new Error(`ListDocuments after convergence: ${bad.join(", ")} (want ${n})`);
    for (const s of subs) s.h.cancel();

    const done = doneAt.map((x) => (x - t0) / 1000);
    const acks = ackAt.map((x) => (x - t0) / 1000);
    const sent = sum(after.stats.map((s) => s.bytesSent)) - sum(before.stats.map((s) => s.bytesSent));
    const recv = sum(after.stats.map((s) => s.bytesReceived)) - sum(before.stats.map((s) => s.bytesReceived));
    // idle mesh traffic (link keepalives): its rate over the wait before the clock (no writes
    // then), times the byte window (before's last read to after's), is subtracted for bytes_net
    const idleRate = before.at > before.firstAt ? Math.max(0, wireBytes(before.stats) - wireBytes(before.first)) / ((before.at - before.firstAt) / 1000) : 0;
    const byteWindow = (after.at - before.at) / 1000;
    const window = (tEnd - t0) / 1000;
    return {
      scenario: "b8",
      nodes: n,
      topology: opt.topology,
      relay: opt.relay,
      rep: opt.rep, // the repetition of bench/scale.sh (pairs the offer and push runs of one repetition)
      seed: opt.seed,
      edges: edges.length,
      degree_min: Math.min(...degree),
      degree_max: Math.max(...degree),
      diameter: diameter(n, edges),
      seconds: window,
      first_node_seconds: Math.min(...done),
      median_node_seconds: median(done),
      writes_acked_seconds: Math.max(...acks),
      first_ack_seconds: Math.min(...acks),
      unary_round_seconds: median(rtts), // N concurrent GetStatus before the clock (median of 5)
      bytes: sent + recv, // sum over nodes of GetSyncStats sent + received (each wire byte twice)
      bytes_sent: sent, // the wire bytes once
      idle_bytes_per_s: idleRate, // Σ sent + received per second before the clock (keepalives)
      bytes_window_seconds: byteWindow, // from the "before" read to the "after" read of the bytes
      bytes_net: Math.max(0, sent + recv - idleRate * byteWindow), // bytes minus the idle traffic expected over that window
      bytes_since_start: sum(after.stats.map((s) => s.total)), // incl. handshakes and the initial exchange
      counters_still: before.still && after.still,
      raw_json_bytes: rawJson,
      deliveries: counterDelta(counters0, counters1, "deliveries"), // peat_mesh_changes_received_total delta, summed (N·(N-1) without duplicates)
      offers_sent: counterDelta(counters0, counters1, "offers_sent"), // peat_mesh_offers_sent_total delta, summed
      offers_received: counterDelta(counters0, counters1, "offers_received"),
      states_wanted: counterDelta(counters0, counters1, "states_wanted"), // peat_mesh_states_wanted_total delta, summed
      sent_ahead: counterDelta(counters0, counters1, "sent_ahead"), // peat_mesh_states_sent_ahead_total delta, summed (relay-tree cut-through)
      batches_sent: counterDelta(counters0, counters1, "batches_sent"), // peat_mesh_batches_sent_total delta, summed
      store_transactions: counterDelta(counters0, counters1, "store_transactions"), // peat_store_transactions_total delta, summed (local writes, merges, checkpoints)
      rss_median: median(rss),
      rss_max: Math.max(...rss),
      rss_sum: sum(rss),
      nodes_cpu_s: sum(cpu1.map((x) => x.cpu)) - sum(cpu0.map((x) => x.cpu)),
      nodes_runq_wait_s: sum(cpu1.map((x) => x.wait)) - sum(cpu0.map((x) => x.wait)), // Σ over nodes (and threads)
      client_cpu_s: ccpu1.cpu - ccpu0.cpu,
      client_runq_wait_s: ccpu1.wait - ccpu0.wait,
      client_main_cpu_s: main1.cpu - main0.cpu, // the event-loop thread alone
      client_main_runq_wait_s: main1.wait - main0.wait,
      client_nice: os.getPriority(0),
      client_nice_requested: opt["client-nice"],
      client_nice_error: niceError,
      node_threads: threads, // threads of one node process at the start
      client_loop_delay_max_ms: eld.max / 1e6,
      client_loop_delay_p99_ms: eld.percentile(99) / 1e6,
      startup_seconds: (tUp - tStart) / 1000,
      connect_seconds: (tConnected - tUp) / 1000,
    };
  } finally {
    await Promise.all(nodes.map((nd) => nd.kill()));
  }
}

// ---------------------------------------------------------------------------------------------
// Report (markdown) from $BENCH_TMP/scale_<N>_<topology>_<relay>_nice<K>.<run>.json: N:topology:relay
// in $BENCH_SCALE_CASES, K in $BENCH_SCALE_CLIENT_NICE, run 1..$BENCH_RUNS
// ---------------------------------------------------------------------------------------------

const ANCHOR = { nodes: 24, seconds: 54 }; // the original's published figure (BENCHMARKS spec, B8); not re-run
const TIME_BAR = { 24: 5 }; // seconds, degree-3 graph, any relay mode
const RELAY_BAR = 1.2; // deliveries ÷ N·(N−1) with relay=offer, on the cases below (issue #13)
const RELAY_BAR_CASES = ["48:d3", "12:full"];
const BIG = { nodes: 96, seconds: 2, rssMiB: 32 }; // N = 96: converges in ≤ 2 s, every node ≤ 32 MB RSS

/** "8:d3:offer 24:d3:push …" → [{n, topology, relay}] (scale.sh has validated it). */
function parseCases(text) {
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((c) => {
      const [n, topology, relay] = c.split(":");
      return { n: Number(n), topology, relay };
    });
}
const caseFile = (c, nice) => `scale_${c.n}_${c.topology}_${c.relay}_nice${nice}`;

/** The bars of a case: [{text, check(ok runs) → true/false}]; none → "—". */
function barsOf(c, runs) {
  const out = [];
  if (c.topology === "d3" && TIME_BAR[c.n]) out.push({ text: `≤ ${TIME_BAR[c.n]} s`, check: (ok) => median(ok.map((o) => o.seconds)) <= TIME_BAR[c.n] });
  if (c.relay === "offer" && RELAY_BAR_CASES.includes(`${c.n}:${c.topology}`))
    out.push({
      text: `deliveries ÷ N·(N−1) ≤ ${RELAY_BAR}`,
      check: (ok) => ok.every((o) => o.deliveries !== null) && median(ok.map((o) => o.deliveries)) / (c.n * (c.n - 1)) <= RELAY_BAR,
    });
  if (c.n === BIG.nodes) {
    out.push({ text: `≤ ${BIG.seconds} s`, check: (ok) => ok.length === runs && median(ok.map((o) => o.seconds)) <= BIG.seconds });
    out.push({ text: `≤ ${BIG.rssMiB} MB RSS per node`, check: (ok) => Math.max(...ok.map((o) => o.rss_max)) <= BIG.rssMiB * 1024 * 1024 });
  }
  if (!out.length && c.n >= 48) out.push({ text: "runs", check: (ok) => ok.length === runs, detail: (ok) => `${ok.length}/${runs} runs converged` });
  return out;
}

function report() {
  const env = process.env;
  const runs = Number(env.BENCH_RUNS);
  const cases = parseCases(env.BENCH_SCALE_CASES ?? "8:d3:offer 24:d3:offer 24:d3:push 48:d3:offer 48:d3:push 12:full:offer 12:full:push 96:d3:offer");
  const nices = (env.BENCH_SCALE_CLIENT_NICE ?? "-20").split(/\s+/).filter(Boolean).map(Number);
  const int = (x) => Math.round(x).toLocaleString("en-US");
  const secs = (x) => (x >= 10 ? `${x.toFixed(1)} s` : x >= 1 ? `${x.toFixed(2)} s` : `${Math.round(x * 1000)} ms`);
  const kb = (x) => (x >= 10 * 1024 * 1024 ? `${(x / 1024 / 1024).toFixed(1)} MiB` : `${int(x / 1024)} KiB`);
  const mb = (x) => `${(x / 1024 / 1024).toFixed(1)} MB`;
  const ratio = (x) => `${x.toFixed(2)}×`;
  const topoText = { d3: "degree 3", full: "full mesh" };
  const lines = [];
  const notes = [];
  const compare = [];
  lines.push(`### B8 Mesh scale: N nodes, random topology of degree ≥ 3 or full mesh, relay offer / push — ${env.BENCH_UTC}, commit \`${env.BENCH_COMMIT}\``);
  lines.push("");
  lines.push(`Machine: nproc ${env.BENCH_NPROC}, ${env.BENCH_CPU}; load average ${env.BENCH_LOADAVG_START} at the start, ${env.BENCH_LOADAVG_END} at the end (shared machine).`);
  lines.push(
    `peat: ${env.BENCH_PEAT_DESC}, N processes on 127.0.0.1 (fresh data dirs, default options but --mesh-relay: one I/O thread each), ` +
      `joined by static --peer flags (each edge dialed by one side) along a topology: "degree 3" = a seeded random graph (a ring through a random permutation + random chords until every node has degree ≥ 3; ` +
      `seed ${env.BENCH_SCALE_SEED}: the same graph in every run of a size), "full mesh" = every pair of nodes. ` +
      `Relay: --mesh-relay of every node; "offer" (the default) passes on a change merged from a peer as a digest and only peers that lack it fetch the state, "push" sends the whole state to every other peer (the behaviour before relay once). ` +
      `One ~300 B document written on every node at once. ` +
      `Clock: one Subscribe stream per node, read by ONE client process (grpc-js, Node ${env.BENCH_NODE}; one HTTP/2 connection per node) that shares the ${env.BENCH_NPROC} cores with the N nodes. ` +
      `Client "nice 0": the client's event loop competes for the CPU like one more node thread; "nice -20": its event-loop thread runs at nice -20 (the nodes stay at 0), so the reader of the clock is served first and its observation lag shrinks. ` +
      `Runs interleaved (cases × client modes), median of ${runs} (range in brackets); script took ${env.BENCH_ELAPSED} s.`,
  );
  lines.push("");
  lines.push(
    "| N | Topology | Relay | Edges (degree, diameter) | Client | Time until every node has all N docs | First / median node done | Writes acked (first–last) | Client's event loop: CPU / waiting for a CPU | CPU of all nodes / client (cores busy) | Mesh bytes, Σ sent + received (per doc; per doc net of idle traffic) | Deliveries (÷ N·(N−1)) | Offers sent (÷ N·(N−1)) | States wanted (÷ N·(N−1)) | VmRSS per node, median / max | Anchor: original, published (not re-run) | Ratio | Bar |",
  );
  lines.push("|--:|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  const okOf = new Map(); // caseFile → ok runs, for the offer / push comparison
  for (const c of cases) {
    const size = c.n;
    const pairs = size * (size - 1);
    for (const nice of nices) {
      const label = `N = ${size}, ${topoText[c.topology]}, relay ${c.relay}, client nice ${nice}`;
      const { ok, errors } = readRuns(env.BENCH_TMP, caseFile(c, nice), runs);
      okOf.set(caseFile(c, nice), ok);
      for (const e of errors) notes.push(`${label}, ${e}`);
      const isAnchor = size === ANCHOR.nodes && c.topology === "d3";
      const anchor = isAnchor ? `${ANCHOR.seconds} s` : "—";
      const bars = barsOf(c, runs);
      const client = `nice ${nice}`;
      const head = `| ${size} | ${topoText[c.topology]} | ${c.relay} |`;
      if (!ok.length) {
        const barText = bars.length ? bars.map((b) => `${b.text} (**not met**)`).join("; ") : "—";
        lines.push(`${head} — | ${client} | not measured | — | — | — | — | — | — | — | — | — | ${anchor} | — | ${barText} |`);
        continue;
      }
      for (const o of ok) o.busy_cores = (o.nodes_cpu_s + o.client_cpu_s) / o.seconds;
      const med = (k) => median(ok.map((x) => x[k]));
      const range = (k, f) => (ok.length > 1 ? ` (${f(Math.min(...ok.map((x) => x[k])))}–${f(Math.max(...ok.map((x) => x[k])))})` : "");
      const x = ok[0];
      const actual = [...new Set(ok.map((o) => o.client_nice))];
      const clientText = actual.length === 1 && actual[0] === nice ? client : `${client} requested, ran at ${actual.join("/")} (${ok.find((o) => o.client_nice_error)?.client_nice_error ?? "?"})`;
      const t = med("seconds");
      const anchorRatio = isAnchor ? `${int(ANCHOR.seconds / t)}× faster` : "—";
      const bar = bars.length
        ? bars.map((b) => `${b.text} (${b.check(ok) ? "met" : "**not met**"}${b.detail ? `: ${b.detail(ok)}` : ""})`).join("; ")
        : "—";
      const perPair = (k) => (ok.every((o) => o[k] !== null && o[k] !== undefined) ? `${int(med(k))} (${(med(k) / pairs).toFixed(2)})` : "—");
      lines.push(
        `${head} ${x.edges} (${x.degree_min}–${x.degree_max}, ${x.diameter} hops) | ${clientText} | **${secs(t)}**${range("seconds", secs)} [${ok.length}/${runs}] | ${secs(med("first_node_seconds"))} / ${secs(med("median_node_seconds"))} | ${secs(med("first_ack_seconds"))}–${secs(med("writes_acked_seconds"))} | ${secs(med("client_main_cpu_s"))} / ${secs(med("client_main_runq_wait_s"))} | ${med("nodes_cpu_s").toFixed(2)} s / ${med("client_cpu_s").toFixed(2)} s (${med("busy_cores").toFixed(2)}) | ${kb(med("bytes"))} (${kb(med("bytes") / size)}; ${ok.every((o) => o.bytes_net !== undefined) ? kb(med("bytes_net") / size) : "—"}) | ${perPair("deliveries")} | ${perPair("offers_sent")} | ${perPair("states_wanted")} | ${mb(med("rss_median"))} / ${mb(med("rss_max"))} | ${anchor} | ${anchorRatio} | ${bar} |`,
      );
      const still = ok.filter((o) => !o.counters_still).length;
      if (still)
        notes.push(
          `${label}: in ${still} run(s) the mesh byte counters were not still within 3 s before or after the clock (bytes include that traffic: idle rate before the clock ` +
            `${int(median(ok.map((o) => o.idle_bytes_per_s ?? NaN)))} B/s over a byte window of ${secs(median(ok.map((o) => o.bytes_window_seconds ?? NaN)))}; the net figure subtracts rate × window)`,
        );
      notes.push(
        `${label}: startup ${secs(med("startup_seconds"))} (N processes, API + mesh listeners announced, /readyz), then ${secs(med("connect_seconds"))} until every node reported its degree as connected_peers (both before the clock); ` +
          `client floor before the clock: N concurrent GetStatus round trips in ${secs(med("unary_round_seconds"))}; during the clock: client event-loop delay max ${med("client_loop_delay_max_ms").toFixed(0)} ms, ` +
          `node threads runnable but waiting for a CPU ${median(ok.map((o) => o.nodes_runq_wait_s / o.seconds)).toFixed(1)} on average.`,
      );
    }
  }
  // relay offer vs push of the same N / topology / client mode in this run: medians, and the
  // median (range) of the per-repetition ratios (repetition r of both cases ran back to back)
  for (const c of cases) {
    if (c.relay !== "offer") continue;
    const push = cases.find((p) => p.n === c.n && p.topology === c.topology && p.relay === "push");
    if (!push) continue;
    for (const nice of nices) {
      const offerOk = okOf.get(caseFile(c, nice));
      const pushOk = okOf.get(caseFile(push, nice));
      const head = `N = ${c.n}, ${topoText[c.topology]}, client nice ${nice}: offer ÷ push`;
      if (!offerOk.length || !pushOk.length) {
        compare.push(`- ${head}: not compared (${!offerOk.length ? "offer" : "push"} not measured)`);
        continue;
      }
      const same = offerOk.flatMap((o) => {
        const p = o.rep ? pushOk.find((q) => q.rep === o.rep) : undefined;
        return p ? [[o, p]] : [];
      });
      const part = (what, get, fmt) => {
        const mo = median(offerOk.map(get));
        const mp = median(pushOk.map(get));
        if (!Number.isFinite(mo) || !Number.isFinite(mp)) return `${what} —`;
        const rs = same.map(([o, p]) => get(o) / get(p)).filter(Number.isFinite);
        const spread = rs.length > 1 ? `; per repetition ${ratio(Math.min(...rs))}–${ratio(Math.max(...rs))}` : "";
        return `${what} ${fmt(mo)} vs ${fmt(mp)} (**${ratio(mo / mp)}**${spread})`;
      };
      compare.push(
        `- ${head}: ` +
          [
            part("deliveries", (o) => o.deliveries ?? NaN, int),
            part("mesh bytes per doc (net of idle traffic)", (o) => (o.bytes_net ?? o.bytes) / o.nodes, kb),
            part("time", (o) => o.seconds, secs),
          ].join(", ") +
          ` [${offerOk.length}/${runs} and ${pushOk.length}/${runs} runs].`,
      );
    }
  }
  if (compare.length) {
    lines.push("");
    lines.push("Relay once against the old relay (same N, topology and client mode, same script run; ratio of the medians, and the range of the per-repetition ratios):");
    lines.push("");
    for (const x of compare) lines.push(x);
  }
  lines.push("");
  lines.push(
    "Time: from just before the N PutDocument calls are issued (one per node, same tick) until the last node's Subscribe stream has delivered an UPSERT for every one of the N documents " +
      "(client receive times: it includes the client's own lag, see below). First / median node: when the first / median node's stream completed. " +
      "Writes acked: first–last PutDocument answer (each node answers after its local commit; no fsync per commit, WAL synchronous=NORMAL). " +
      "Client's event loop: on-CPU time of the client's main thread (which sends the writes and reads every stream) during the clock, and the time it was runnable but waiting for a CPU " +
      "(/proc/self/task/<pid>/schedstat): the second is lag added to the clock that is neither the client's work nor the nodes'. " +
      "CPU: on-CPU time of every thread of the N node processes / of the client process during the clock (schedstat); cores busy = their sum ÷ the time " +
      `(the machine has ${env.BENCH_NPROC}; the rest went to other users of the machine or idled). ` +
      "Bytes: Σ over nodes of GetSyncStats bytes_sent + bytes_received (mesh wire bytes, TLS included; every byte counted on both ends), from before the writes until the counters are still after convergence (at most ~3 s after it); per doc = ÷ N; " +
      "net of idle traffic: minus the rate of mesh bytes measured during the ~3 s wait before the clock (no writes then: link keepalives) × the byte window (an estimate; equal to the raw figure when the counters are still). " +
      "Deliveries: Σ peat_mesh_changes_received_total over the run, whole document states received (a node receiving a change from two neighbours counts it twice; N·(N−1) = no duplicates). " +
      "Offers sent: Σ peat_mesh_offers_sent_total (relayed states passed on as a digest); States wanted: Σ peat_mesh_states_wanted_total (offered states a node lacked and fetched); both 0 with relay push. " +
      `Bars: ≤ ${TIME_BAR[24]} s at N = 24 (median); deliveries ÷ N·(N−1) ≤ ${RELAY_BAR} with relay offer on the degree-3 graph at N = 48 and the full mesh at N = 12 (median); ` +
      `at N = ${BIG.nodes}: every run converged, in ≤ ${BIG.seconds} s (median), and every node ≤ ${BIG.rssMiB} MB VmRSS in every run (MB = 2^20 B here, as in the table). ` +
      `Anchor: the original's published figure, 24 nodes converge in ${ANCHOR.seconds} s (quoted, not re-run; its topology, hardware and setup are not ours).`,
  );
  if (notes.length) {
    lines.push("");
    for (const x of notes) lines.push(`- ${x}`);
  }
  lines.push("");
  console.log(lines.join("\n"));
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "report") {
  report();
  process.exit(0);
}
if (mode !== "run") {
  console.error(
    "usage: node bench/scale/scale.mjs run --nodes N [--topology d3|full] [--relay offer|push] [--seed S] [--degree D] [--timeout-s T] [--connect-timeout-s T] [--client-nice K] [--rep R] | report",
  );
  process.exit(2);
}
let opt;
try {
  opt = parseArgs(rest);
} catch (e) {
  console.error(e.message);
  process.exit(2);
}
try {
  console.log(JSON.stringify(await run(opt)));
} catch (e) {
  console.error(`scale.mjs: ${e.stack ?? e}`);
  console.log(JSON.stringify({ scenario: "b8", nodes: opt.nodes, topology: opt.topology, relay: opt.relay, error: String(e.message ?? e).split("\n")[0] }));
}
process.exit(0);
