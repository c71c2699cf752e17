// B7 DDIL link (bench/ddil.sh): two peat-node processes on two network-namespace hosts (tests/net)
// joined by an emulated link of 1 Mbit/s each way, 100 ms delay each way (200 ms RTT) and 10 %
// loss each way (netem-lite; its default 64 KiB queue per direction). The binary is $PEAT_NODE_BIN.
//
//   node bench/ddil/ddil.mjs goodput --docs 1000 [--cc C] [--seed S]
//        (a) 1,000 docs (~300 B, makeDoc) written on A: time until all are on B, mesh bytes,
//            goodput = raw JSON bytes / time vs the link rate, the emulator's link counters
//   node bench/ddil/ddil.mjs urgent --backlog-bytes 2000000 --priorities 1|0 [--urgent-after 0.25]
//                                   [--urgent-samples 10] [--urgent-gap-ms 500]
//        (b) urgent docs (collection "alerts") written on A one at a time, each timed until it is
//            on B: first on the idle link (the anchor), then while a bulk backlog (collection
//            "logs") written on A drains, starting once B holds a quarter of it (--urgent-after),
//            as long as it lasts (up to --urgent-samples). --priorities 1 starts A with
//            --collection-priority alerts=critical and logs=bulk; 0 = every collection routine
//   node bench/ddil/ddil.mjs tcp [--seconds 10]
//        the anchor for (a): one plain TCP connection on the same link (tests/net/nettool.mjs)
//   node bench/ddil/ddil.mjs report      the markdown table from bench/ddil.sh's raw outputs
//   common: --cc C (TCP congestion control of both hosts, default: unchanged) --seed S (link loss
//           seed) --rate-kbit 1000 --delay-ms 100 --loss 0.1 --timeout-s 900 (per wait)
//
// A run: PeatNet.create (hosts a = 10.77.0.1 and b = 10.77.0.2, loss seed --seed); --cc sets
// the TCP congestion control of both namespaces (net.ipv4.tcp_congestion_control, per namespace;
// "default" leaves what a new namespace inherits); the link is impaired before the nodes start.
// Nodes are MeshNode (tests/integration/lib/mesh_cluster.mjs) processes inside the hosts
// (PeatNet.spawn): mesh on tcp://<host>:4433, API on a unix socket (reached from this, the root,
// namespace: grpc-js) and on tcp://127.0.0.1:50051 inside the host (bench_put_flood runs there,
// through a PeatNet wrapper: the bulk writer of B3); one formation; B has A as a static --peer.
// The clock is a Subscribe stream on B (grpc-js), proven live by a probe before the writes; the
// probe's replication to A is awaited so the link is quiet when the clock starts. Times are wall
// clock (bench_put_flood's first_send_unix_ms and this process's performance.timeOrigin + now()).
// Link counters are the emulator's (reset just before the writes, read when the last doc
// arrived); TCP counters are A's namespace's /proc/net/snmp (OutSegs, RetransSegs) and `ss -ti`
// of the mesh connection.
//
// Prints one JSON line (on failure {scenario, error}). Exit 0 unless the arguments are wrong.
// Outside the root namespace only the congestion controls in the root namespace's
// net.ipv4.tcp_allowed_congestion_control can be chosen (here "reno bbr"; Debian's default cubic
// is not among them), so --cc cubic fails unless the machine's admin adds it.

import { withTimeout } from "../../tests/integration/lib/documents.mjs";
import { UPSERT, makeDoc, waitFor, waitSubscribed } from "../../tests/integration/lib/mesh_cluster.mjs";
import { fmtInt, fmtKbit, fmtKib, fmtSecs, median, putFlood, putFloodBin, readRuns, reportSeries, scenarioMain, stillStats, tap } from "../mesh/bench_lib.mjs";
import { API_PORT, hosts, linkCounters, meshSocket, pair, tcpCounters, wallMs } from "./link_lib.mjs";
const sum = (xs) => xs.reduce((a, x) => a + x, 0);

function parseArgs(argv) {
  const opt = {
    docs: 1000,
    "backlog-bytes": 2_000_000,
    priorities: 1,
    "urgent-after": 0.25,
    "urgent-samples": 10,
    "urgent-gap-ms": 500,
    seconds: 10,
    cc: "default",
    seed: 1,
    "rate-kbit": 1000,
    "delay-ms": 100,
    loss: 0.1,
    "timeout-s": 900,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, "");
    if (!(k in opt)) throw new Error(`unknown option ${argv[i]}`);
    opt[k] = k === "cc" ? argv[i + 1] : Number(argv[i + 1]);
  }
  return opt;
}

// Two hosts, one link, two nodes: ./link_lib.mjs (hosts, pair, link/TCP counters).

/**
 * A Subscribe stream on B over `collections`, proven live by a probe written on B (collection
 * probeIn), whose replication to A is awaited: the link is quiet afterwards.
 */
async function clockOnB(a, b, collections, probeIn) {
  const sub = b.subscribe(collections);
  await waitSubscribed(b, sub, probeIn, 30_000);
  await waitFor(async () => (await a.list(probeIn)).length >= 1, { timeoutMs: 120_000, intervalMs: 100, what: "B's probe on A" });
  return sub;
}

/** Writes [[collection, docId, json], ...] on A: bench_put_flood inside host a, else grpc-js over the unix socket. */
async function writeOnA(net, a, docs) {
  const bin = putFloodBin();
  if (bin) return { writer: "put_flood", ...(await putFlood(net.wrapper("a", bin), `127.0.0.1:${API_PORT}`, [docs])) };
  const t0 = wallMs();
  const byColl = new Map();
  for (const [c, id, j] of docs) byColl.set(c, [...(byColl.get(c) ?? []), [id, j]]);
  for (const [c, entries] of byColl) await a.putMany(c, entries);
  return { writer: "grpc-js", errors: 0, first: null, t0, tAck: wallMs() };
}

// ---------------------------------------------------------------------------------------------
// TCP alone on the same link: the transport's ceiling (tests/net/nettool.mjs, as the harness's
// self-test uses it): one plain TCP connection a → b writing as fast as it is taken for
// opt.seconds, goodput measured by the receiver from its first read.
// ---------------------------------------------------------------------------------------------

async function tcp(opt) {
  const { net, info } = await hosts(opt);
  try {
    const port = "5001";
    const recv = net.spawn("b", process.execPath, ["tests/net/nettool.mjs", "tcp-recv", "--bind", net.addr("b"), "--port", port, "--seconds", String(opt.seconds)]);
    let out = "";
    recv.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    const done = new Promise((resolve) => recv.on("exit", resolve));
    await waitFor(() => out.includes("READY"), { timeoutMs: 10_000, what: "nettool tcp-recv READY in host b" });
    await net.resetStats();
    const sender = net.exec("a", process.execPath, ["tests/net/nettool.mjs", "tcp-send", "--to", net.addr("b"), "--port", port, "--seconds", String(opt.seconds + 30)], { timeoutMs: (opt.seconds + 60) * 1000 });
    await withTimeout(done, (opt.seconds + 60) * 1000, "nettool tcp-recv's result");
    const link = await linkCounters(net);
    await sender;
    const r = JSON.parse(out.trim().split("\n").pop());
    return { scenario: "tcp", ...info, seconds: r.window_s, bytes: r.window_bytes, goodput_kbit: r.kbit, ratio: r.kbit / opt["rate-kbit"], link };
  } finally {
    await net.close();
  }
}

// ---------------------------------------------------------------------------------------------
// (a) goodput
// ---------------------------------------------------------------------------------------------

async function goodput(opt) {
  const C = "b7";
  const n = opt.docs;
  const { net, a, b, info, close } = await pair(opt);
  try {
    const docs = Array.from({ length: n }, (_, i) => [C, `doc-${i}`, JSON.stringify(makeDoc(i))]);
    const raw = sum(docs.map(([, , j]) => Buffer.byteLength(j)));
    const sub = await clockOnB(a, b, [C], C);
    const [a0, b0] = await stillStats([a, b], { intervalMs: 1000 });
    const tcp0 = await tcpCounters(net, "a");
    const batches0 = await a.metric("peat_mesh_batches_sent_total");
    const seen = new Set();
    let tFirst = null;
    let tDone = null;
    let resolveAll;
    const all = new Promise((r) => (resolveAll = r));
    tap(sub, (m) => {
      if (m.changeType !== UPSERT || !m.docId.startsWith("doc-")) return;
      tFirst ??= wallMs();
      seen.add(m.docId);
      if (tDone === null && seen.size === n) {
        tDone = wallMs();
        resolveAll();
      }
    });
    await net.resetStats();
    const w = await writeOnA(net, a, docs);
    if (w.errors) throw new Error(`${w.errors} PutDocument calls failed (first: ${w.first})`);
    await withTimeout(all, opt["timeout-s"] * 1000, `B to receive all ${n} docs`).catch((e) => {
      throw new Error(`${e.message} (${seen.size} received)`);
    });
    const linkAtDone = await linkCounters(net);
    const tcp1 = await tcpCounters(net, "a");
    const sock = await meshSocket(net);
    const batches = (await a.metric("peat_mesh_batches_sent_total")) - batches0;
    const [a1, b1] = await stillStats([a, b], { intervalMs: 1000 });
    const onB = (await b.list(C)).filter((x) => x.startsWith("doc-")).length;
    if (onB !== n) throw new Error(`B lists ${onB} docs, ${n} written`);
    sub.cancel();
    const seconds = (tDone - w.t0) / 1000;
    const meshAB = a1.bytesSent - a0.bytesSent;
    return {
      scenario: "goodput",
      ...info,
      writer: w.writer,
      docs: n,
      raw_json_bytes: raw,
      seconds,
      write_seconds: (w.tAck - w.t0) / 1000,
      first_doc_seconds: (tFirst - w.t0) / 1000,
      goodput_kbit: (raw * 8) / seconds / 1000,
      ratio: (raw * 8) / seconds / 1000 / opt["rate-kbit"],
      mesh_bytes_ab: meshAB, // A's GetSyncStats bytes_sent: TLS wire bytes A→B
      mesh_bytes_ba: a1.bytesReceived - a0.bytesReceived, // acks etc. B→A
      mesh_bytes_b_received: b1.bytesReceived - b0.bytesReceived,
      mesh_kbit: (meshAB * 8) / seconds / 1000,
      batches_sent: batches, // mesh batches A→B (a batch carries at most a quarter of the send window)
      link: linkAtDone,
      tcp_out_segs: tcp1.OutSegs - tcp0.OutSegs,
      tcp_retrans_segs: tcp1.RetransSegs - tcp0.RetransSegs,
      socket_after: sock,
    };
  } finally {
    await close();
  }
}

// ---------------------------------------------------------------------------------------------
// (b) urgent doc under a bulk backlog
// ---------------------------------------------------------------------------------------------

async function urgent(opt) {
  const prio = !!opt.priorities;
  const aArgs = prio ? ["--collection-priority", "alerts=critical", "--collection-priority", "logs=bulk"] : [];
  const { net, a, b, info, close } = await pair(opt, { aArgs });
  try {
    const backlog = [];
    let raw = 0;
    for (let i = 0; raw < opt["backlog-bytes"]; i++) {
      const j = JSON.stringify(makeDoc(i));
      raw += Buffer.byteLength(j);
      backlog.push(["logs", `log-${i}`, j]);
    }
    const n = backlog.length;
    const sub = await clockOnB(a, b, ["logs", "alerts"], "alerts");
    const [a0, b0] = await stillStats([a, b], { intervalMs: 1000 });
    const quiet = a0.bytesSent - b0.bytesReceived; // A's sent − B's received when nothing is in flight
    const arrivals = []; // wall ms of every backlog doc's first arrival on B
    const seen = new Set();
    const pending = new Map(); // urgent doc id → resolve(arrival wall ms, backlog docs on B then)
    // the first urgent write under load: once this many backlog docs are on B (the drain is well under way)
    const trigger = Math.max(1, Math.ceil(n * opt["urgent-after"]));
    let resolveTrigger;
    let resolveAll;
    const triggered = new Promise((r) => (resolveTrigger = r));
    const all = new Promise((r) => (resolveAll = r));
    tap(sub, (m) => {
      if (m.changeType !== UPSERT) return;
      if (pending.has(m.docId)) {
        pending.get(m.docId)(wallMs(), seen.size);
        pending.delete(m.docId);
        return;
      }
      if (!m.docId.startsWith("log-") || seen.has(m.docId)) return;
      seen.add(m.docId);
      arrivals.push(wallMs());
      if (seen.size >= trigger) resolveTrigger();
      if (seen.size === n) resolveAll();
    });

    // One urgent doc: state of the path at the write, time until B's stream shows it.
    let k = 0;
    const sample = async (phase) => {
      const id = `urgent-${phase}-${++k}`;
      const [sa, sb, sock] = await Promise.all([a.syncStats(), b.syncStats(), meshSocket(net)]);
      const logsAtWrite = seen.size;
      const arrived = new Promise((r) => pending.set(id, (t, logs) => r({ t, logs })));
      const tU = wallMs();
      await a.put("alerts", id, { ...makeDoc(1_000_000 + k), severity: "critical", text: `urgent sample ${k}` });
      const tAck = wallMs();
      const got = await withTimeout(arrived, opt["timeout-s"] * 1000, `${id} on B`).catch((e) => {
        throw new Error(`${e.message} (${seen.size}/${n} backlog docs on B)`);
      });
      const sb2 = await b.syncStats();
      return {
        ms: got.t - tU, // PutDocument call on A → UPSERT on B
        ack_ms: tAck - tU,
        at_seconds: w ? (tU - w.t0) / 1000 : null, // after the backlog writes started
        logs_on_b: logsAtWrite,
        logs_ahead: got.logs - logsAtWrite, // backlog docs that reached B after the write, before it
        logs_behind: n - got.logs,
        in_flight: sa.bytesSent - sb.bytesReceived - quiet, // written into A's socket, not yet read by B
        bytes_ahead: sb2.bytesReceived - sb.bytesReceived, // B read this much between the write and (just after) the arrival
        socket: sock,
      };
    };
    const pace = () => new Promise((r) => setTimeout(r, opt["urgent-gap-ms"])); // spacing between samples, not a wait for a condition

    // Anchor: the same urgent writes on the idle link.
    let w = null;
    const idle = [];
    for (let i = 0; i < opt["urgent-samples"]; i++) {
      idle.push(await sample("idle"));
      await pace();
    }
    const [a1, b1] = await stillStats([a, b], { intervalMs: 1000 });
    const batches0 = await a.metric("peat_mesh_batches_sent_total");
    await net.resetStats();
    w = await writeOnA(net, a, backlog);
    if (w.errors) throw new Error(`backlog: ${w.errors} PutDocument calls failed (first: ${w.first})`);
    await withTimeout(triggered, opt["timeout-s"] * 1000, `${trigger} backlog docs on B`).catch((e) => {
      throw new Error(`${e.message} (${seen.size} received)`);
    });
    // Under load: samples one after the other while the backlog drains (without priorities the
    // first one arrives after the whole backlog: one sample).
    const load = [];
    while (load.length < opt["urgent-samples"] && seen.size < n) {
      load.push(await sample("load"));
      if (seen.size < n) await pace();
    }
    let drained = true;
    await withTimeout(all, opt["timeout-s"] * 1000, "the whole backlog on B").catch(() => {
      drained = false;
    });
    const linkEnd = await linkCounters(net);
    const batches = (await a.metric("peat_mesh_batches_sent_total")) - batches0;
    const [a2] = await stillStats([a, b], { intervalMs: 1000 });
    sub.cancel();
    const drainSeconds = drained ? (arrivals[arrivals.length - 1] - w.t0) / 1000 : null;
    const ms = (xs) => xs.map((x) => x.ms);
    return {
      scenario: "urgent",
      priorities: prio,
      a_args: aArgs.join(" "),
      ...info,
      writer: w.writer,
      backlog_docs: n,
      backlog_raw_bytes: raw,
      trigger_docs: trigger,
      backlog_write_seconds: (w.tAck - w.t0) / 1000,
      first_backlog_doc_seconds: (arrivals[0] - w.t0) / 1000,
      idle_ms: ms(idle),
      load_ms: ms(load),
      load_p50_ms: median(ms(load)),
      load_max_ms: Math.max(...ms(load)),
      idle_p50_ms: median(ms(idle)),
      idle_max_ms: Math.max(...ms(idle)),
      idle,
      load,
      drained,
      drain_seconds: drainSeconds,
      drain_goodput_kbit: drained ? (raw * 8) / drainSeconds / 1000 : null,
      mesh_bytes_ab: a2.bytesSent - a1.bytesSent,
      batches_sent: batches,
      link: linkEnd,
    };
  } finally {
    await close();
  }
}

// ---------------------------------------------------------------------------------------------
// Report (markdown) from $BENCH_TMP/<series>.<run>.json, run 1..$BENCH_RUNS; series:
//   tcp_<cc>, goodput_<cc>, urgent_<cc>_prio, urgent_<cc>_routine   (cc in $BENCH_DDIL_CC)
// ---------------------------------------------------------------------------------------------

function report() {
  const env = process.env;
  const runs = Number(env.BENCH_RUNS);
  const ccs = (env.BENCH_DDIL_CC ?? "bbr reno").split(/\s+/).filter(Boolean);
  const rate = Number(env.BENCH_DDIL_RATE_KBIT ?? 1000);
  const [int, secs, kb, kbit] = [fmtInt, fmtSecs, fmtKib, fmtKbit];
  const pct = (x) => `${(x * 100).toFixed(1)} %`;
  const verdict = (met) => (met ? "(met)" : "(**not met**)");
  const quantile = (xs, p) => {
    const s = [...xs].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  };
  const notes = [];
  const series = (name) => reportSeries(env.BENCH_TMP, name, runs, notes);
  const lines = [];
  lines.push(`### B7 DDIL link: 1 Mbit/s, 200 ms RTT, 10 % loss — ${env.BENCH_UTC}, commit \`${env.BENCH_COMMIT}\``);
  lines.push("");
  lines.push(`Machine: nproc ${env.BENCH_NPROC}, ${env.BENCH_CPU}; load average ${env.BENCH_LOADAVG_START} at the start, ${env.BENCH_LOADAVG_END} at the end (shared machine).`);
  lines.push(
    `peat: ${env.BENCH_PEAT_DESC}, two processes on two network-namespace hosts (tests/net) joined by netem-lite: ` +
      `${rate} kbit/s each way, 100 ms delay each way (200 ms RTT), 10 % Bernoulli loss each way, FIFO queue of 64 KiB per direction (0.5 s at the rate). ` +
      `Mesh: TLS 1.3 over one TCP connection (B dials A), fresh hosts, nodes and data dirs per run; the TCP congestion control of both namespaces is given per row ` +
      `(bbr: what namespaces inherit on this machine; reno: loss-based, standing in for Debian's default cubic, which namespaces here may not select and which behaves like reno at this small window). ` +
      `Writes: bench_put_flood inside host A (PutDocument over h2c). Clock: Subscribe on B (grpc-js, Node ${env.BENCH_NODE}) over its unix socket. ` +
      `Documents: ~300 B JSON (makeDoc). Anchors: the link rate, and plain TCP on the same link in the same run (the transport's ceiling); for the urgent doc, the original's target (< 1 s while bulk is in flight) and the same writes on the idle link in the same run. ` +
      `Median of ${runs} runs (range in brackets) unless said otherwise, runs interleaved (run k: link loss seed k for every scenario); script took ${env.BENCH_ELAPSED} s.`,
  );
  lines.push("");
  lines.push("| Benchmark | TCP CC | peat | Anchor | Ratio | Bar |");
  lines.push("|---|---|---|---|---|---|");
  for (const cc of ccs) {
    const tcpRef = series(`tcp_${cc}`);
    const tcpKbit = tcpRef.ok.length ? tcpRef.med((o) => o.goodput_kbit) : null;
    if (tcpRef.ok.length) {
      lines.push(
        `| TCP alone on the same link: one plain TCP connection writing for ${secs(tcpRef.ok[0].seconds)} (tests/net/nettool.mjs) | ${cc} | ` +
          `${kbit(tcpKbit)}${tcpRef.range((o) => o.goodput_kbit, kbit)} ${tcpRef.n}; link A→B: ${pct(tcpRef.med((o) => o.link.ab.drop_loss / o.link.ab.in_pkts))} of ${int(tcpRef.med((o) => o.link.ab.in_pkts))} packets lost, ${int(tcpRef.med((o) => o.link.ab.drop_queue))} queue drops | ` +
          `link ${kbit(rate)} | ${(tcpKbit / rate).toFixed(2)}× | — (the transport's ceiling) |`,
      );
    } else lines.push(`| TCP alone on the same link | ${cc} | not measured | link ${kbit(rate)} | — | — |`);
    const g = series(`goodput_${cc}`);
    if (!g.ok.length) {
      lines.push(`| B7a 1,000 docs A→B: time until all on B, goodput | ${cc} | not measured | link ${kbit(rate)} | — | ≥ 0.5× link rate |`);
      continue;
    }
    const x = g.ok[0];
    const ratio = g.med((o) => o.ratio);
    const vsTcp = tcpKbit ? `; ${(g.med((o) => o.goodput_kbit) / tcpKbit).toFixed(2)}× TCP alone` : "";
    lines.push(
      `| B7a ${int(x.docs)} docs A→B (${kb(x.raw_json_bytes)} raw JSON): time until all on B; goodput = raw JSON / time | ${cc} | ` +
        `**${secs(g.med((o) => o.seconds))}**${g.range((o) => o.seconds, secs)} ${g.n}; goodput ${kbit(g.med((o) => o.goodput_kbit))}; first doc on B after ${secs(g.med((o) => o.first_doc_seconds))}; writes acked in ${secs(g.med((o) => o.write_seconds))} | ` +
        `link ${kbit(rate)}${tcpKbit ? `; TCP alone ${kbit(tcpKbit)}` : ""} | ${ratio.toFixed(2)}× link${g.range((o) => o.ratio, (v) => `${v.toFixed(2)}×`)}${vsTcp} | ≥ 0.5× ${verdict(ratio >= 0.5)} |`,
    );
    lines.push(
      `| B7a mesh bytes A→B / raw JSON; on the link (emulator) A→B | ${cc} | ${g.med((o) => o.mesh_bytes_ab / o.raw_json_bytes).toFixed(2)}× (${kb(g.med((o) => o.mesh_bytes_ab))} in ${int(g.med((o) => o.batches_sent))} batches, ${kbit(g.med((o) => o.mesh_kbit))} of TLS bytes); ` +
        `link A→B: ${int(g.med((o) => o.link.ab.in_pkts))} packets in, ${int(g.med((o) => o.link.ab.drop_loss))} lost (${pct(g.med((o) => o.link.ab.drop_loss / o.link.ab.in_pkts))}), ${int(g.med((o) => o.link.ab.drop_queue))} queue drops, ${kb(g.med((o) => o.link.ab.out_bytes))} delivered; ` +
        `B→A: ${int(g.med((o) => o.link.ba.in_pkts))} packets, ${int(g.med((o) => o.link.ba.drop_loss))} lost; TCP on A: ${int(g.med((o) => o.tcp_out_segs))} segments sent, ${int(g.med((o) => o.tcp_retrans_segs))} retransmitted | — | — | — |`,
    );
  }
  for (const cc of ccs) {
    for (const mode of ["prio", "routine"]) {
      const u = series(`urgent_${cc}_${mode}`);
      const label = mode === "prio" ? "A: --collection-priority alerts=critical, logs=bulk" : "no priorities (all routine)";
      if (!u.ok.length) {
        lines.push(`| B7b urgent doc under a bulk backlog, ${label} | ${cc} | not measured | original's target < 1 s | — | ≤ 1 s |`);
        continue;
      }
      const x = u.ok[0];
      const load = u.ok.flatMap((o) => o.load);
      const idle = u.ok.flatMap((o) => o.idle);
      const loadMs = load.map((s) => s.ms);
      const idleMs = idle.map((s) => s.ms);
      const p50 = median(loadMs) / 1000;
      const idleP50 = median(idleMs) / 1000;
      const within = loadMs.filter((v) => v <= 1000).length;
      const at = (f) => median(load.map(f));
      const drained = u.ok.filter((o) => o.drained);
      const drain = drained.length
        ? `whole backlog on B after ${secs(median(drained.map((o) => o.drain_seconds)))} (${kbit(median(drained.map((o) => o.drain_goodput_kbit)))})`
        : "the backlog did not finish draining within the timeout";
      lines.push(
        `| B7b urgent doc (collection "alerts") written on A while a ${kb(x.backlog_raw_bytes)} backlog of ${int(x.backlog_docs)} docs in "logs" drains (from when B holds ${int(x.trigger_docs)} of them; one at a time, ${mode === "prio" ? "up to " : ""}${x.load.length > 1 || mode === "prio" ? `${Math.max(...u.ok.map((o) => o.load.length))} per run` : "1 per run"}); ${label} | ${cc} | ` +
          `**p50 ${secs(p50)}**, p90 ${secs(quantile(loadMs, 0.9) / 1000)}, max ${secs(Math.max(...loadMs) / 1000)} (${load.length} samples, ${u.ok.length}/${runs} runs; ${within} ≤ 1 s), PutDocument call on A → event on B; ` +
          `at the writes (medians): ${int(at((s) => s.logs_ahead))} backlog docs (${kb(at((s) => s.bytes_ahead))} of mesh bytes) arrived before it; ${kb(at((s) => s.in_flight))} in A's socket or on the link; ` +
          `ss on A: send queue ${kb(at((s) => s.socket?.send_q ?? 0))}, not yet sent ${kb(at((s) => s.socket?.notsent ?? 0))}, cwnd ${int(at((s) => s.socket?.cwnd ?? 0))} segments; ${drain} | ` +
          `the same write on the idle link: p50 ${secs(idleP50)}, max ${secs(Math.max(...idleMs) / 1000)} (${idle.length} samples); original's target < 1 s | ${(p50 / idleP50).toFixed(1)}× the idle link; ${p50.toFixed(1)}× the target | p50 ≤ 1 s ${verdict(p50 <= 1)} |`,
      );
    }
  }
  lines.push("");
  lines.push(
    "B7a time: from the first PutDocument sent on A until B's Subscribe stream delivered an UPSERT for every document; goodput = raw JSON bytes × 8 / that time. " +
      "Mesh bytes: A's GetSyncStats bytes_sent (TLS wire bytes into the TCP socket, before TCP/IP headers and retransmissions); batches: A's peat_mesh_batches_sent_total. Link: the emulator's counters of each direction " +
      "(packets entering the link, Bernoulli losses, tail drops of its 64 KiB queue, bytes delivered), reset just before the writes and read when the last document arrived; " +
      "TCP: OutSegs / RetransSegs of A's namespace over the same window. TCP alone: tests/net/nettool.mjs tcp-send in A → tcp-recv in B, goodput from the receiver's first read (slow start included). " +
      "B7b: first, urgent docs are written on the idle link (the anchor), one at a time with 0.5 s between an arrival and the next write; then the backlog is written with bench_put_flood " +
      "(acknowledged locally within a second) and, once B's stream has shown the given number of backlog documents, urgent docs are written the same way while the backlog is still draining. " +
      "Time: from the PutDocument call on A (one RPC, over A's unix socket) until B's stream delivers the document. \"Arrived before it\": backlog documents first seen on B after the write and before the urgent document; " +
      "mesh bytes: B's bytes_received over that interval (read just after the arrival). \"In A's socket or on the link\": A's bytes_sent − B's bytes_received at the write (relative to a quiet moment); " +
      "ss: A's end of the mesh connection at the write (send queue = bytes not yet acknowledged by B's TCP; not yet sent = of those, not yet put on the wire).",
  );
  const conn = ccs.flatMap((cc) => ["goodput", "urgent"].flatMap((sc) => (sc === "urgent" ? ["prio", "routine"].map((m) => `urgent_${cc}_${m}`) : [`goodput_${cc}`])));
  const connS = conn.flatMap((name) => readRuns(env.BENCH_TMP, name, runs).ok.map((o) => o.connect_seconds));
  if (connS.length) notes.push(`Connection set-up over the impaired link (B's dial until both list the other as connected, before any clock): median ${secs(median(connS))}, max ${secs(Math.max(...connS))}.`);
  if (notes.length) {
    lines.push("");
    for (const n of notes) lines.push(`- ${n}`);
  }
  lines.push("");
  return lines.join("\n");
}

await scenarioMain({
  name: "ddil.mjs",
  scenarios: { tcp, goodput, urgent },
  parseArgs,
  report,
  usage: "usage: node bench/ddil/ddil.mjs tcp|goodput|urgent [--seconds S] [--docs N] [--backlog-bytes B] [--priorities 1|0] [--urgent-samples K] [--cc C] [--seed S] | report",
});
