// B8 mesh scale (bench/scale.sh): N peat-node processes on 127.0.0.1, a seeded random topology in
// which every node has degree ≥ 3, one document written on every node at the same moment; the
// clock stops when every node holds all N documents. The binary is $PEAT_NODE_BIN.
//
//   node bench/scale/scale.mjs run --nodes N [--seed S] [--degree 3] [--timeout-s 180]
//                                  [--connect-timeout-s 120] [--client-nice K]
//                                              one run: one JSON line on stdout
//   node bench/scale/scale.mjs report          the markdown table from bench/scale.sh's raw outputs
//
// A run, on the harness of tests/integration/lib/mesh_cluster.mjs:
//   1. topology: randomMinDegree(N, 3, prng(seed)): a ring through a random permutation of the
//      nodes plus random chords until every node has degree ≥ 3 (connected through the ring);
//      every edge is dialed by one side only (a static --peer flag of the dialer);
//   2. startCluster: N processes, node ids n1..nN, one formation (app id + shared key), each with
//      its own data dir, API on 127.0.0.1:0 and mesh on a port below the ephemeral range (see
//      meshPort); every start waits for the node's "listening on" and "mesh listening on" lines
//      (and /readyz); with --client-nice K the client's event-loop thread then moves to nice K;
//   3. wait until GetStatus.connected_peers of every node equals its degree in the graph;
//   4. one Subscribe stream (collection "b8") per node on the node's grpc-js channel (one HTTP/2
//      connection per node carries the stream and every unary call); wait until /metrics shows
//      peat_subscribers ≥ 1 on every node (the listener is registered: the stream sees every
//      later commit) and the mesh byte counters are still; time N concurrent GetStatus (the
//      client's floor);
//   5. clock: t0, then PutDocument of doc-n<i> (~300 B, makeDoc) on every node i, all issued in the
//      same tick; node i is complete when its stream has delivered an UPSERT for each of the N
//      doc ids; the run's time is the last node's completion - t0 (client receive times);
//   6. after: GetSyncStats on every node once the counters are still (bytes = delta over the run,
//      sent + received summed over nodes: every wire byte counted on both ends), ListDocuments =
//      N on every node, peat_mesh_changes_received_total (deliveries, incl. duplicates), VmRSS
//      of every process; over the clock window: on-CPU and run-queue wait time (schedstat) of
//      every node thread, of the client, of the client's main thread, and the client's
//      event-loop delay.

import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { withTimeout } from "../../tests/integration/lib/documents.mjs";
import { LOOPBACK, UPSERT, makeDoc, prng, randomMinDegree, startCluster, waitFor } from "../../tests/integration/lib/mesh_cluster.mjs";
import { readRuns } from "../mesh/bench_lib.mjs";

const C = "b8";
const wallMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function parseArgs(argv) {
  const opt = { nodes: 8, seed: 1, degree: 3, "timeout-s": 180, "connect-timeout-s": 120, "client-nice": 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, "");
    if (!(k in opt)) throw new Error(`unknown option ${argv[i]}`);
    opt[k] = Number(argv[i + 1]);
  }
  return opt;
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

/** GetSyncStats of every node once two reads 200 ms apart agree (at most ~3 s). */
async function stillStats(nodes) {
  const read = () => Promise.all(nodes.map((n) => n.syncStats()));
  let prev = await read();
  for (let i = 0; i < 15; i++) {
    await sleep(200);
    const cur = await read();
    if (cur.every((s, k) => s.total === prev[k].total)) return { stats: cur, still: true };
    prev = cur;
  }
  return { stats: prev, still: false };
}
const sum = (xs) => xs.reduce((a, x) => a + x, 0);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function run(opt) {
  const n = opt.nodes;
  const tStart = wallMs();
  const edges = randomMinDegree(n, opt.degree, prng(opt.seed));
  const degree = new Array(n).fill(0);
  for (const [a, b] of edges) degree[a]++, degree[b]++;

  // 1-2. processes (each waits for its API and mesh listener lines)
  const names = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  // a start that still loses a port race (another user of the machine) is retried with new ports
  let cl;
  for (let attempt = 1; ; attempt++) {
    try {
      cl = await startCluster({ n, names, nodeId: (name) => name, edges, meshPort, waitConnected: false, appId: `b8-${opt.seed}-${n}` });
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
    const metric0 = await Promise.all(nodes.map((nd) => nd.metric("peat_mesh_changes_received_total")));
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
    eld.disable();
    const ccpu1 = sched(process.pid);
    const main1 = threadSched(process.pid);
    const cpu1 = pids.map(sched);

    // 6. after the clock
    const rss = pids.map(rssBytes);
    const after = await stillStats(nodes);
    const metric1 = await Promise.all(nodes.map((nd) => nd.metric("peat_mesh_changes_received_total")));
    const counts = await Promise.all(nodes.map(async (nd) => (await nd.list(C)).length));
    const bad = counts.flatMap((c, i) => (c === n ? [] : [`${nodes[i].name}: ${c}`]));
    if (bad.length) throw new Error(`ListDocuments after convergence: ${bad.join(", ")} (want ${n})`);
    for (const s of subs) s.h.cancel();

    const done = doneAt.map((x) => (x - t0) / 1000);
    const acks = ackAt.map((x) => (x - t0) / 1000);
    const sent = sum(after.stats.map((s) => s.bytesSent)) - sum(before.stats.map((s) => s.bytesSent));
    const recv = sum(after.stats.map((s) => s.bytesReceived)) - sum(before.stats.map((s) => s.bytesReceived));
    const deliveries = metric1[0] === undefined ? null : sum(metric1) - sum(metric0.map((x) => x ?? 0));
    const window = (tEnd - t0) / 1000;
    return {
      scenario: "b8",
      nodes: n,
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
      bytes_since_start: sum(after.stats.map((s) => s.total)), // incl. handshakes and the initial exchange
      counters_still: before.still && after.still,
      raw_json_bytes: rawJson,
      deliveries, // peat_mesh_changes_received_total delta, summed (N·(N-1) without duplicates)
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
// Report (markdown) from $BENCH_TMP/scale_<N>_nice<K>.<run>.json: N in $BENCH_SCALE_SIZES, K in
// $BENCH_SCALE_CLIENT_NICE, run 1..$BENCH_RUNS
// ---------------------------------------------------------------------------------------------

const ANCHOR = { nodes: 24, seconds: 54 }; // the original's published figure (BENCHMARKS spec, B8); not re-run
const BAR = { 24: 5 };

function report() {
  const env = process.env;
  const runs = Number(env.BENCH_RUNS);
  const sizes = (env.BENCH_SCALE_SIZES ?? "8 24 48").split(/\s+/).filter(Boolean).map(Number);
  const nices = (env.BENCH_SCALE_CLIENT_NICE ?? "0 -20").split(/\s+/).filter(Boolean).map(Number);
  const int = (x) => Math.round(x).toLocaleString("en-US");
  const secs = (x) => (x >= 10 ? `${x.toFixed(1)} s` : x >= 1 ? `${x.toFixed(2)} s` : `${Math.round(x * 1000)} ms`);
  const kb = (x) => (x >= 10 * 1024 * 1024 ? `${(x / 1024 / 1024).toFixed(1)} MiB` : `${int(x / 1024)} KiB`);
  const mb = (x) => `${(x / 1024 / 1024).toFixed(1)} MB`;
  const lines = [];
  const notes = [];
  lines.push(`### B8 Mesh scale: N nodes, random topology of degree ≥ 3 — ${env.BENCH_UTC}, commit \`${env.BENCH_COMMIT}\``);
  lines.push("");
  lines.push(`Machine: nproc ${env.BENCH_NPROC}, ${env.BENCH_CPU}; load average ${env.BENCH_LOADAVG_START} at the start, ${env.BENCH_LOADAVG_END} at the end (shared machine).`);
  lines.push(
    `peat: ${env.BENCH_PEAT_DESC}, N processes on 127.0.0.1 (fresh data dirs, default options: one I/O thread each), ` +
      `joined by static --peer flags along a seeded random graph (a ring through a random permutation + random chords until every node has degree ≥ 3; ` +
      `seed ${env.BENCH_SCALE_SEED}: the same graph in every run of a size). One ~300 B document written on every node at once. ` +
      `Clock: one Subscribe stream per node, read by ONE client process (grpc-js, Node ${env.BENCH_NODE}; one HTTP/2 connection per node) that shares the ${env.BENCH_NPROC} cores with the N nodes. ` +
      `Client "nice 0": the client's event loop competes for the CPU like one more node thread; "nice -20": its event-loop thread runs at nice -20 (the nodes stay at 0), so the reader of the clock is served first and its observation lag shrinks. ` +
      `Runs interleaved (sizes × client modes), median of ${runs} (range in brackets); script took ${env.BENCH_ELAPSED} s.`,
  );
  lines.push("");
  lines.push(
    "| N | Edges (degree, diameter) | Client | Time until every node has all N docs | First / median node done | Writes acked (first–last) | Client's event loop: CPU / waiting for a CPU | CPU of all nodes / client (cores busy) | Mesh bytes, Σ sent + received (per doc) | Deliveries (÷ N·(N−1)) | VmRSS per node, median / max | Anchor: original, published (not re-run) | Ratio | Bar |",
  );
  lines.push("|--:|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const size of sizes) {
    for (const nice of nices) {
      const label = `N = ${size}, client nice ${nice}`;
      const { ok, errors } = readRuns(env.BENCH_TMP, `scale_${size}_nice${nice}`, runs);
      for (const e of errors) notes.push(`${label}, ${e}`);
      const anchor = size === ANCHOR.nodes ? `${ANCHOR.seconds} s` : "—";
      const barText = BAR[size] ? `≤ ${BAR[size]} s` : size >= 48 ? "runs" : "—";
      const client = `nice ${nice}`;
      if (!ok.length) {
        lines.push(`| ${size} | — | ${client} | not measured | — | — | — | — | — | — | — | ${anchor} | — | ${barText}${BAR[size] || size >= 48 ? " (**not met**)" : ""} |`);
        continue;
      }
      for (const o of ok) o.busy_cores = (o.nodes_cpu_s + o.client_cpu_s) / o.seconds;
      const med = (k) => median(ok.map((x) => x[k]));
      const range = (k, f) => (ok.length > 1 ? ` (${f(Math.min(...ok.map((x) => x[k])))}–${f(Math.max(...ok.map((x) => x[k])))})` : "");
      const x = ok[0];
      const actual = [...new Set(ok.map((o) => o.client_nice))];
      const clientText = actual.length === 1 && actual[0] === nice ? client : `${client} requested, ran at ${actual.join("/")} (${ok.find((o) => o.client_nice_error)?.client_nice_error ?? "?"})`;
      const t = med("seconds");
      const ratio = size === ANCHOR.nodes ? `${int(ANCHOR.seconds / t)}× faster` : "—";
      let bar = barText;
      if (BAR[size]) bar += t <= BAR[size] ? " (met)" : " (**not met**)";
      else if (size >= 48) bar += ` (met: ${ok.length}/${runs} runs converged)`;
      const deliveries = ok.every((o) => o.deliveries !== null) ? `${int(med("deliveries"))} (${(med("deliveries") / (size * (size - 1))).toFixed(2)})` : "—";
      lines.push(
        `| ${size} | ${x.edges} (${x.degree_min}–${x.degree_max}, ${x.diameter} hops) | ${clientText} | **${secs(t)}**${range("seconds", secs)} [${ok.length}/${runs}] | ${secs(med("first_node_seconds"))} / ${secs(med("median_node_seconds"))} | ${secs(med("first_ack_seconds"))}–${secs(med("writes_acked_seconds"))} | ${secs(med("client_main_cpu_s"))} / ${secs(med("client_main_runq_wait_s"))} | ${med("nodes_cpu_s").toFixed(2)} s / ${med("client_cpu_s").toFixed(2)} s (${med("busy_cores").toFixed(2)}) | ${kb(med("bytes"))} (${kb(med("bytes") / size)}) | ${deliveries} | ${mb(med("rss_median"))} / ${mb(med("rss_max"))} | ${anchor} | ${ratio} | ${bar} |`,
      );
      const c = ok.filter((o) => !o.counters_still).length;
      if (c) notes.push(`${label}: in ${c} run(s) the mesh byte counters were not still within 3 s before or after the clock (bytes include that traffic)`);
      notes.push(
        `${label}: startup ${secs(med("startup_seconds"))} (N processes, API + mesh listeners announced, /readyz), then ${secs(med("connect_seconds"))} until every node reported its degree as connected_peers (both before the clock); ` +
          `client floor before the clock: N concurrent GetStatus round trips in ${secs(med("unary_round_seconds"))}; during the clock: client event-loop delay max ${med("client_loop_delay_max_ms").toFixed(0)} ms, ` +
          `node threads runnable but waiting for a CPU ${median(ok.map((o) => o.nodes_runq_wait_s / o.seconds)).toFixed(1)} on average.`,
      );
    }
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
      "Bytes: Σ over nodes of GetSyncStats bytes_sent + bytes_received (mesh wire bytes, TLS included; every byte counted on both ends), from before the writes until the counters are still after convergence; per doc = ÷ N. " +
      "Deliveries: Σ peat_mesh_changes_received_total over the run (a node receiving a change from two neighbours counts it twice; N·(N−1) = no duplicates). " +
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
  console.error("usage: node bench/scale/scale.mjs run --nodes N [--seed S] [--degree D] [--timeout-s T] [--connect-timeout-s T] | report");
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
  console.log(JSON.stringify({ scenario: "b8", nodes: opt.nodes, error: String(e.message ?? e).split("\n")[0] }));
}
process.exit(0);
