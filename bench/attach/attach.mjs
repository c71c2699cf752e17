// B10–B14 attachments (bench/attach.sh; docs/spec/ATTACHMENTS.md section 19): one file sent with
// SendAttachments on a node started with --attachment-root bench=<the file's directory>, timed
// until it is complete in the receivers' --attachment-inbox (the receiver writes a temp file,
// fsyncs it and renames it: the final name appearing with the full size is the clock; an inotify
// watch on each inbox plus a 20 ms poll). The binary is $PEAT_NODE_BIN.
//
//   node bench/attach/attach.mjs b10 --file F
//        two nodes on loopback (A sends, B receives): time, RSS growth per node (VmHWM after −
//        VmRSS before, /proc), CPU per node and per thread, mesh bytes A→B (GetSyncStats) and
//        blob bytes sent (peat_blob_bytes_sent_total) vs the file size
//   node bench/attach/attach.mjs b14 --file F [--receivers 6]
//        1 sender + N receivers, full mesh on loopback: time until every inbox has the file;
//        sender blob bytes vs the file size; RSS per node
//   node bench/attach/attach.mjs b11 --file F [--cc C] [--seed S]
//        A → B over the B7 link (1 Mbit/s each way, 100 ms delay each way, 10 % loss, netem-lite's
//        64 KiB queue; tests/net, root only): time, goodput = size / time, link counters
//   node bench/attach/attach.mjs b12 --file F --variant cut|kill [--cc C] [--seed S] [--cut-s 30]
//        B11 with, once B has received half of the file (peat_blob_bytes_received_total), a 30 s
//        cut of the link (partition, then heal) or a kill -9 of B (restarted at once, same data
//        dir): time from the heal / restart to the file in B's inbox, duplicate bytes (B's
//        peat_blob_duplicate_bytes_total; A's blob bytes sent − size)
//   node bench/attach/attach.mjs b13 --bulk F --critical F1 --critical2 F2 [--seed S]
//        10 Mbit/s each way, 25 ms delay each way (50 ms RTT), 1 % loss: F1 sent CRITICAL on the
//        idle link (the anchor); then F sent BULK, and once B has ≥ 8 MiB of it F2 is sent
//        CRITICAL; then urgent docs (collection "alerts", A runs --collection-priority
//        alerts=critical) are written one at a time while BULK still runs; BULK is cancelled after
//   node bench/attach/attach.mjs report      the markdown table from bench/attach.sh's raw outputs
//   common: --timeout-s 900 (per wait); link scenarios: --rate-kbit --delay-ms --loss override
//
// Prints one JSON line (on failure {scenario, error}). Exit 0 unless the arguments are wrong.

import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { withTimeout } from "../../tests/integration/lib/documents.mjs";
import { makeDoc, startCluster, waitFor } from "../../tests/integration/lib/mesh_cluster.mjs";
import { linkCounters, pair, tcpCounters, wallMs } from "../ddil/link_lib.mjs";
import { fmtInt, fmtKbit, fmtKib, fmtSecs, median, reportSeries, scenarioMain, stillStats } from "../mesh/bench_lib.mjs";

const MiB = 1 << 20;
const ROOT_NAME = "bench";

function parseArgs(argv) {
  const opt = {
    file: "",
    bulk: "",
    critical: "",
    critical2: "",
    receivers: 6,
    variant: "cut",
    "cut-s": 30,
    cc: "default",
    seed: 1,
    "rate-kbit": null,
    "delay-ms": null,
    loss: null,
    "bulk-lead-bytes": 8 * MiB,
    "doc-samples": 5,
    "timeout-s": 900,
  };
  const strings = new Set(["file", "bulk", "critical", "critical2", "variant", "cc"]);
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, "");
    if (!(k in opt)) throw new Error(`unknown option ${argv[i]}`);
    opt[k] = strings.has(k) ? argv[i + 1] : Number(argv[i + 1]);
  }
  return opt;
}

// ---------------------------------------------------------------------------------------------
// Files, processes, sends, inboxes
// ---------------------------------------------------------------------------------------------

/** {path, size, sha: Buffer} of a file (SHA-256 streamed; not part of any timing). */
async function fileInfo(p) {
  const h = crypto.createHash("sha256");
  for await (const chunk of fs.createReadStream(p, { highWaterMark: 4 * MiB })) h.update(chunk);
  return { path: p, size: fs.statSync(p).size, sha: h.digest() };
}

const tempDir = (tag) => fs.mkdtempSync(path.join(os.tmpdir(), `peat-bench-attach-${tag}-`));

/** /proc facts of a process: RSS and peak RSS (bytes), CPU seconds, CPU seconds per thread name. */
function procStats(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  const cpuOf = (statText) => {
    const f = statText.slice(statText.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ = 100
  };
  const threads = {};
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      threads[comm] = (threads[comm] ?? 0) + cpuOf(fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return { rss: kb("VmRSS"), hwm: kb("VmHWM"), cpu: cpuOf(fs.readFileSync(`/proc/${pid}/stat`, "utf8")), threads };
}

/** Growth between two procStats: RSS growth (peak after − RSS before), CPU seconds, busiest threads. */
function procDelta(before, after) {
  const threads = Object.entries(after.threads)
    .map(([name, s]) => [name, +(s - (before.threads[name] ?? 0)).toFixed(2)])
    .filter(([, s]) => s > 0)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 6);
  return { rss_before: before.rss, hwm_after: after.hwm, rss_growth: after.hwm - before.rss, cpu_s: +(after.cpu - before.cpu).toFixed(2), threads: Object.fromEntries(threads) };
}

/** SendAttachments of one file in the sender's root to node ids `targets` (short ids). */
async function send(node, file, targets, { priority = "ATTACHMENT_PRIORITY_ROUTINE", bundleId } = {}) {
  const req = {
    files: [{ rootName: ROOT_NAME, relativePath: path.basename(file.path), sizeBytes: String(file.size), sha256: file.sha }],
    scope: { nodeList: { nodeIds: targets } },
    priority,
    ...(bundleId ? { bundleId } : {}),
  };
  const r = await node.callRaw("SendAttachments", req, { timeoutMs: 600_000 });
  if (!r.ok) throw new Error(`SendAttachments on ${node.name}: ${r.code} ${r.errorMessage}`);
  return { bundleId: r.message.bundleId, distributionId: r.message.handles[0].distributionId };
}

/**
 * Resolves {path: wall ms} once every path exists with `size` bytes (the receiver renames the
 * fsynced temp file into place, so the final name at full size is a complete file). An inotify
 * watch on each directory plus a 20 ms poll.
 */
function waitFiles(paths, size, timeoutMs) {
  const done = {};
  const watchers = [];
  let timer;
  const p = new Promise((resolve) => {
    const check = () => {
      for (const f of paths) {
        if (done[f]) continue;
        const st = fs.statSync(f, { throwIfNoEntry: false });
        if (st && st.size === size) done[f] = wallMs();
      }
      if (Object.keys(done).length === paths.length) resolve(done);
    };
    for (const dir of new Set(paths.map((f) => path.dirname(f)))) watchers.push(fs.watch(dir, check));
    timer = setInterval(check, 20);
    check();
  });
  return withTimeout(p, timeoutMs, `${paths.length - Object.keys(done).length} of ${paths.length} inbox file(s) complete`).finally(() => {
    clearInterval(timer);
    for (const w of watchers) w.close();
  });
}

/** True when the file at p has the SHA-256 `sha`. */
async function sameContent(p, sha) {
  return (await fileInfo(p)).sha.equals(sha);
}

/** Waits until GetAttachmentDistribution on the sender says `status`; resolves the wall ms then. */
async function waitDistribution(node, distributionId, status, timeoutMs) {
  await waitFor(async () => (await node.call("GetAttachmentDistribution", { distributionId })).status === status, {
    timeoutMs,
    intervalMs: 20,
    what: `${distributionId} ${status} on ${node.name}`,
  });
  return wallMs();
}

const metric = async (node, name) => (await node.metric(name)) ?? 0;

// ---------------------------------------------------------------------------------------------
// Loopback: B10 (1 receiver), B14 (N receivers, full mesh)
// ---------------------------------------------------------------------------------------------

async function loopback(opt, receivers, scenario) {
  const file = await fileInfo(opt.file);
  const inboxes = Array.from({ length: receivers }, (_, i) => tempDir(`inbox${i + 1}`));
  const n = receivers + 1;
  const edges = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) edges.push([j, i]);
  const cl = await startCluster({
    n,
    edges,
    args: (i) => (i === 0 ? ["--attachment-root", `${ROOT_NAME}=${path.dirname(file.path)}`] : ["--attachment-inbox", inboxes[i - 1]]),
    connectTimeoutMs: 60_000,
  });
  try {
    const [a, ...rx] = cl.nodes;
    const targets = inboxes.map((d) => path.join(d, path.basename(file.path)));
    const s0 = await stillStats(cl.nodes, { intervalMs: 500 });
    const p0 = cl.nodes.map((nd) => procStats(nd.proc.pid));
    const blob0 = await metric(a, "peat_blob_bytes_sent_total");
    const arrived = waitFiles(targets, file.size, opt["timeout-s"] * 1000);
    const t0 = wallMs();
    const h = await send(
      a,
      file,
      rx.map((x) => x.shortId),
    );
    const tAck = wallMs();
    const at = await arrived;
    const tDone = Math.max(...Object.values(at));
    const tSender = await waitDistribution(a, h.distributionId, "DISTRIBUTION_STATUS_COMPLETED", opt["timeout-s"] * 1000);
    const p1 = cl.nodes.map((nd) => procStats(nd.proc.pid));
    const s1 = await stillStats(cl.nodes, { intervalMs: 500 });
    const blobSent = (await metric(a, "peat_blob_bytes_sent_total")) - blob0;
    const dup = await Promise.all(rx.map((x) => metric(x, "peat_blob_duplicate_bytes_total")));
    const intact = await Promise.all(targets.map((f) => sameContent(f, file.sha)));
    if (!intact.every(Boolean)) throw new Error(`delivered file differs from the source on ${intact.filter((x) => !x).length} receiver(s)`);
    const seconds = (tDone - t0) / 1000;
    return {
      scenario,
      size: file.size,
      receivers,
      seconds,
      per_receiver_seconds: targets.map((f) => (at[f] - t0) / 1000),
      ingest_seconds: (tAck - t0) / 1000, // SendAttachments answered: the file read, hashed and copied into A's blob store
      sender_completed_seconds: (tSender - t0) / 1000,
      mbyte_per_s: file.size / MiB / seconds,
      mesh_bytes_sent_a: s1[0].bytesSent - s0[0].bytesSent, // TLS bytes A wrote to all peers
      mesh_bytes_received: s1.slice(1).map((s, i) => s.bytesReceived - s0[i + 1].bytesReceived),
      blob_bytes_sent_a: blobSent,
      blob_duplicate_bytes: dup,
      proc: cl.nodes.map((nd, i) => ({ node: nd.name, ...procDelta(p0[i], p1[i]) })),
    };
  } finally {
    await Promise.all(cl.nodes.map((nd) => nd.kill().catch(() => {})));
    for (const d of inboxes) fs.rmSync(d, { recursive: true, force: true });
  }
}

const b10 = (opt) => loopback(opt, 1, "b10");
const b14 = (opt) => loopback(opt, opt.receivers, "b14");

// ---------------------------------------------------------------------------------------------
// The emulated link: B11, B12, B13 (two network-namespace hosts, ../ddil/link_lib.mjs)
// ---------------------------------------------------------------------------------------------

/** A (root = dir) and B (a fresh inbox) across the link; resolves {net, a, b, inbox, info, close}. */
async function linkPair(opt, dir, { aArgs = [], link }) {
  const inbox = tempDir("inbox");
  const o = { ...opt, "rate-kbit": opt["rate-kbit"] ?? link.rate, "delay-ms": opt["delay-ms"] ?? link.delay, loss: opt.loss ?? link.loss };
  try {
    const p = await pair(o, { aArgs: ["--attachment-root", `${ROOT_NAME}=${dir}`, ...aArgs], bArgs: ["--attachment-inbox", inbox], tag: "attach" });
    const close = async () => {
      await p.close();
      fs.rmSync(inbox, { recursive: true, force: true });
    };
    return { ...p, inbox, rate: o["rate-kbit"], close };
  } catch (e) {
    fs.rmSync(inbox, { recursive: true, force: true });
    throw e;
  }
}

const B7_LINK = { rate: 1000, delay: 100, loss: 0.1 };

/** Resolves once B has received `bytes` blob bytes (polled every 100 ms); the value then. */
async function waitReceived(b, bytes, timeoutMs) {
  let v = 0;
  await waitFor(
    async () => {
      v = await metric(b, "peat_blob_bytes_received_total");
      return v >= bytes;
    },
    { timeoutMs, intervalMs: 100, what: `B to receive ${bytes} blob bytes` },
  );
  return v;
}

async function b11(opt) {
  const file = await fileInfo(opt.file);
  const { net, a, b, inbox, info, rate, close } = await linkPair(opt, path.dirname(file.path), { link: B7_LINK });
  try {
    const target = path.join(inbox, path.basename(file.path));
    const [a0] = await stillStats([a, b], { intervalMs: 1000 });
    const tcp0 = await tcpCounters(net, "a");
    await net.resetStats();
    const arrived = waitFiles([target], file.size, opt["timeout-s"] * 1000);
    const t0 = wallMs();
    await send(a, file, [b.shortId]);
    const tAck = wallMs();
    const tDone = (await arrived)[target];
    const link = await linkCounters(net);
    const tcp1 = await tcpCounters(net, "a");
    const [a1] = await stillStats([a, b], { intervalMs: 1000 });
    if (!(await sameContent(target, file.sha))) throw new Error("delivered file differs from the source");
    const seconds = (tDone - t0) / 1000;
    return {
      scenario: "b11",
      ...info,
      size: file.size,
      seconds,
      ingest_seconds: (tAck - t0) / 1000,
      goodput_kbit: (file.size * 8) / seconds / 1000,
      ratio: (file.size * 8) / seconds / 1000 / rate,
      mesh_bytes_ab: a1.bytesSent - a0.bytesSent,
      blob_bytes_sent_a: await metric(a, "peat_blob_bytes_sent_total"),
      blob_duplicate_bytes_b: await metric(b, "peat_blob_duplicate_bytes_total"),
      link,
      tcp_out_segs: tcp1.OutSegs - tcp0.OutSegs,
      tcp_retrans_segs: tcp1.RetransSegs - tcp0.RetransSegs,
    };
  } finally {
    await close();
  }
}

async function b12(opt) {
  if (!["cut", "kill"].includes(opt.variant)) throw new Error(`--variant cut|kill, not ${opt.variant}`);
  const file = await fileInfo(opt.file);
  const { net, a, b, inbox, info, close } = await linkPair(opt, path.dirname(file.path), { link: B7_LINK });
  try {
    const target = path.join(inbox, path.basename(file.path));
    const arrived = waitFiles([target], file.size, opt["timeout-s"] * 1000);
    const t0 = wallMs();
    await send(a, file, [b.shortId]);
    const atCut = await waitReceived(b, file.size / 2, opt["timeout-s"] * 1000);
    const tCut = wallMs();
    let receivedBefore = 0; // B's blob bytes received by the process that was killed
    let tResume;
    if (opt.variant === "cut") {
      await net.partition(["a"], ["b"]);
      await new Promise((r) => setTimeout(r, opt["cut-s"] * 1000)); // the cut's length (the scenario), not a wait for a condition
      await net.heal();
      tResume = wallMs();
    } else {
      await b.kill();
      receivedBefore = atCut;
      await b.start();
      tResume = wallMs();
    }
    const tDone = (await arrived)[target];
    await waitFor(async () => !fs.readdirSync(inbox).some((f) => f.endsWith(".partial")), { timeoutMs: 10_000, what: "no .partial left in the inbox" }).catch(() => {});
    if (!(await sameContent(target, file.sha))) throw new Error("delivered file differs from the source");
    const [a1] = await stillStats([a, b], { intervalMs: 1000 });
    const blobSent = await metric(a, "peat_blob_bytes_sent_total");
    return {
      scenario: "b12",
      variant: opt.variant,
      ...info,
      size: file.size,
      seconds: (tDone - t0) / 1000,
      cut_at_seconds: (tCut - t0) / 1000,
      received_at_cut: atCut,
      remaining_bytes: file.size - atCut,
      after_resume_seconds: (tDone - tResume) / 1000, // from the heal / B's restart (READY) to the file in B's inbox
      blob_bytes_sent_a: blobSent,
      sent_beyond_size: blobSent - file.size,
      blob_bytes_received_b: receivedBefore + (await metric(b, "peat_blob_bytes_received_total")),
      blob_duplicate_bytes_b: await metric(b, "peat_blob_duplicate_bytes_total"), // after a restart: the new process's count only
      mesh_bytes_ab: a1.bytesSent,
      partials_left: fs.readdirSync(inbox).filter((f) => f.endsWith(".partial")).length,
    };
  } finally {
    await close();
  }
}

async function b13(opt) {
  const [bulk, crit1, crit2] = await Promise.all([fileInfo(opt.bulk), fileInfo(opt.critical), fileInfo(opt.critical2)]);
  const dir = path.dirname(bulk.path);
  if (path.dirname(crit1.path) !== dir || path.dirname(crit2.path) !== dir) throw new Error("--bulk, --critical and --critical2 must share a directory");
  const aArgs = ["--collection-priority", "alerts=critical"];
  const { a, b, inbox, info, close } = await linkPair(opt, dir, { aArgs, link: { rate: 10_000, delay: 25, loss: 0.01 } });
  const T = opt["timeout-s"] * 1000;
  const inboxPath = (f) => path.join(inbox, path.basename(f.path));
  let k = 0;
  const docSample = async () => {
    const id = `urgent-${++k}`;
    const t = wallMs();
    await a.put("alerts", id, { ...makeDoc(k), severity: "critical" });
    await waitFor(async () => (await b.getText("alerts", id)) !== undefined, { timeoutMs: T, intervalMs: 5, what: `${id} on B` });
    return wallMs() - t;
  };
  const pace = () => new Promise((r) => setTimeout(r, 300)); // spacing between samples, not a wait for a condition
  try {
    const critical = async (f) => {
      const arrived = waitFiles([inboxPath(f)], f.size, T);
      const t0 = wallMs();
      await send(a, f, [b.shortId], { priority: "ATTACHMENT_PRIORITY_CRITICAL" });
      return ((await arrived)[inboxPath(f)] - t0) / 1000;
    };
    // Anchor: the same kind of send, and urgent docs, on the idle link.
    const idleSeconds = await critical(crit1);
    const idleDocs = [];
    for (let i = 0; i < opt["doc-samples"]; i++) {
      idleDocs.push(await docSample());
      await pace();
    }
    const tBulk = wallMs();
    const hb = await send(a, bulk, [b.shortId], { priority: "ATTACHMENT_PRIORITY_BULK" });
    const bulkIn = await waitReceived(b, opt["bulk-lead-bytes"], T);
    const bulkLeadSeconds = (wallMs() - tBulk) / 1000;
    const loadSeconds = await critical(crit2);
    const bulkAfterCritical = await metric(b, "peat_blob_bytes_received_total");
    const loadDocs = [];
    for (let i = 0; i < opt["doc-samples"]; i++) {
      loadDocs.push(await docSample());
      await pace();
    }
    const bulkAtEnd = await metric(b, "peat_blob_bytes_received_total");
    const stillRunning = !fs.existsSync(inboxPath(bulk));
    const cancel = await a.callRaw("CancelAttachmentDistribution", { distributionId: hb.distributionId });
    return {
      scenario: "b13",
      ...info,
      bulk_size: bulk.size,
      critical_size: crit2.size,
      idle_seconds: idleSeconds,
      load_seconds: loadSeconds,
      ratio: loadSeconds / idleSeconds,
      bulk_lead_bytes: bulkIn,
      bulk_lead_seconds: bulkLeadSeconds,
      bulk_bytes_during_critical: bulkAfterCritical - bulkIn - crit2.size, // approx.: B's blob bytes over the CRITICAL send, minus the CRITICAL file
      bulk_goodput_kbit: ((bulkAtEnd - crit2.size) * 8) / ((wallMs() - tBulk) / 1000) / 1000,
      bulk_still_running: stillRunning,
      bulk_cancel: cancel.ok ? "ok" : `${cancel.code} ${cancel.errorMessage}`,
      idle_doc_ms: idleDocs,
      load_doc_ms: loadDocs,
      idle_doc_p50_ms: median(idleDocs),
      load_doc_p50_ms: median(loadDocs),
    };
  } finally {
    await close();
  }
}

/**
 * The report (markdown) from $BENCH_TMP/<series>.<run>.json, run 1..$BENCH_RUNS. Series: b10,
 * scp, rsync, curl, cp, cp_fsync, ssh (B10); b14, scp6 (B14); tcp_<cc>, b11_<cc> (cc in
 * $BENCH_ATTACH_CC); b12_cut, b12_kill; b13. Anchor lines (from bench/attach.sh): {scenario, seconds}.
 */
function report(env = process.env) {
  const runs = Number(env.BENCH_RUNS);
  const ccs = (env.BENCH_ATTACH_CC ?? "bbr reno").split(/\s+/).filter(Boolean);
  const [int, secs, kib, kbit] = [fmtInt, fmtSecs, fmtKib, fmtKbit];
  const mib = (x) => `${(x / MiB).toFixed(1)} MiB`;
  const verdict = (met) => (met ? "met" : "**missed**");
  const notes = [];
  const series = (name) => reportSeries(env.BENCH_TMP, name, runs, notes);
  const rows = [];
  // rows only for the benchmarks this run measured (BENCH_ATTACH_ONLY)
  const only = new Set((env.BENCH_ATTACH_ONLY ?? "b10 b14 b11 b12 b13").split(/\s+/).filter(Boolean));
  const row = (id, what, peat, anchor, ratio, bar, met) => {
    if (only.has(id.toLowerCase())) rows.push(`| ${id} | ${what} | ${peat} | ${anchor} | ${ratio} | ${bar} | ${met} |`);
  };
  const threadsOf = (o, i) =>
    Object.entries(o.proc[i].threads)
      .slice(0, 3)
      .map(([n, s]) => `${n} ${s} s`)
      .join(", ");

  // B10
  const p = series("b10");
  const anchors = Object.fromEntries(["scp", "rsync", "curl", "cp", "cp_fsync", "ssh"].map((k) => [k, series(k)]));
  if (p.ok.length) {
    const t = p.med((o) => o.seconds);
    const sc = anchors.scp.ok.length ? anchors.scp.med((o) => o.seconds) : null;
    const label = { cp_fsync: "cp + fsync", ssh: "(ssh login alone" };
    const anchorText = ["scp", "rsync", "curl", "cp", "cp_fsync", "ssh"]
      .filter((k) => anchors[k].ok.length)
      .map((k) => `${label[k] ?? k} ${secs(anchors[k].med((o) => o.seconds))}${anchors[k].range((o) => o.seconds, secs)} ${anchors[k].n}${k === "ssh" ? ")" : ""}`)
      .join("; ");
    const r = sc ? t / sc : null;
    row(
      "B10",
      `${mib(p.ok[0].size)} random file A→B, loopback: SendAttachments call → file complete in B's inbox`,
      `**${secs(t)}**${p.range((o) => o.seconds, secs)} ${p.n} (${int(p.med((o) => o.mbyte_per_s))} MiB/s); ingest (call answered) ${secs(p.med((o) => o.ingest_seconds))}; sender sees COMPLETED at ${secs(p.med((o) => o.sender_completed_seconds))}`,
      anchorText || "not measured",
      r ? `${r.toFixed(2)}× scp` : "—",
      "≤ 1.5× scp",
      r ? verdict(r <= 1.5) : "—",
    );
    const growA = p.med((o) => o.proc[0].rss_growth);
    const growB = p.med((o) => o.proc[1].rss_growth);
    row(
      "B10",
      "RSS growth per node (VmHWM after − VmRSS before)",
      `A ${mib(growA)}, B ${mib(growB)} (RSS before: A ${mib(p.med((o) => o.proc[0].rss_before))}, B ${mib(p.med((o) => o.proc[1].rss_before))})`,
      "—",
      "—",
      "≤ 32 MiB/node",
      verdict(Math.max(growA, growB) <= 32 * MiB),
    );
    const meshRatio = p.med((o) => o.mesh_bytes_sent_a / o.size);
    row(
      "B10",
      "mesh bytes A→B / file size",
      `${meshRatio.toFixed(4)}× (TLS bytes A sent ${mib(p.med((o) => o.mesh_bytes_sent_a))}; blob bytes sent ${p.med((o) => o.blob_bytes_sent_a / o.size).toFixed(4)}× the file)`,
      "file size",
      `${meshRatio.toFixed(3)}×`,
      "≤ 1.02×",
      verdict(meshRatio <= 1.02),
    );
    row(
      "B10",
      "CPU during the send (user + sys)",
      `A ${p.med((o) => o.proc[0].cpu_s).toFixed(2)} s, B ${p.med((o) => o.proc[1].cpu_s).toFixed(2)} s; busiest threads (run 1) A: ${threadsOf(p.ok[0], 0)}; B: ${threadsOf(p.ok[0], 1)}`,
      "—",
      "—",
      "—",
      "—",
    );
  } else row("B10", "100 MiB A→B, loopback", "not measured", "—", "—", "≤ 1.5× scp", "—");

  // B11
  const b11goodput = {};
  for (const cc of ccs) {
    const g = series(`b11_${cc}`);
    const tc = series(`tcp_${cc}`);
    const tcpKbit = tc.ok.length ? tc.med((o) => o.goodput_kbit) : null;
    if (!g.ok.length) {
      row("B11", `4 MiB over the B7 link, ${cc}`, "not measured", tcpKbit ? `TCP alone ${kbit(tcpKbit)}` : "—", "—", "≥ 0.6× link (bbr); ≥ 0.7× TCP alone", "—");
      continue;
    }
    const gk = g.med((o) => o.goodput_kbit);
    b11goodput[cc] = gk;
    const rate = g.ok[0].link_params.rate_kbit;
    const vsLink = gk / rate;
    const vsTcp = tcpKbit ? gk / tcpKbit : null;
    const met = (cc !== "bbr" || vsLink >= 0.6) && (vsTcp === null || vsTcp >= 0.7);
    row(
      "B11",
      `${mib(g.ok[0].size)} A→B over 1 Mbit/s, 200 ms RTT, 10 % loss, TCP ${cc}`,
      `**${secs(g.med((o) => o.seconds))}**${g.range((o) => o.seconds, secs)} ${g.n}; goodput ${kbit(gk)}; mesh bytes ${g.med((o) => o.mesh_bytes_ab / o.size).toFixed(3)}× the file; TCP retransmitted ${int(g.med((o) => o.tcp_retrans_segs))} of ${int(g.med((o) => o.tcp_out_segs))} segments`,
      `link ${kbit(rate)}; TCP alone ${tcpKbit ? `${kbit(tcpKbit)}${tc.range((o) => o.goodput_kbit, kbit)} ${tc.n}` : "not measured"}`,
      `${vsLink.toFixed(2)}× link${vsTcp ? `; ${vsTcp.toFixed(2)}× TCP` : ""}`,
      cc === "bbr" ? "≥ 0.6× link; ≥ 0.7× TCP" : "≥ 0.7× TCP",
      verdict(met),
    );
  }

  // B12
  for (const v of ["cut", "kill"]) {
    const s = series(`b12_${v}`);
    const what = v === "cut" ? "B11 (bbr) with a 30 s cut at 50 %" : "B11 (bbr) with B killed (-9) at 50 %, restarted at once";
    const dupBar = v === "cut" ? 256 * 1024 : 512 * 1024;
    if (!s.ok.length) {
      row("B12", what, "not measured", "B11 goodput", "—", `dup ≤ ${kib(dupBar)}; done ≤ remaining/goodput + 3 s`, "—");
      continue;
    }
    const gk = b11goodput.bbr ?? b11goodput[ccs[0]];
    const after = s.med((o) => o.after_resume_seconds);
    const expect = gk ? s.med((o) => (o.remaining_bytes * 8) / (gk * 1000)) + 3 : null;
    const dup = s.med((o) => o.sent_beyond_size);
    row(
      "B12",
      what,
      `done **${secs(after)}** after the ${v === "cut" ? "heal" : "restart"}${s.range((o) => o.after_resume_seconds, secs)} ${s.n} (${mib(s.med((o) => o.remaining_bytes))} left at the ${v}); A sent ${kib(dup)} beyond the file; B counted ${kib(s.med((o) => o.blob_duplicate_bytes_b))} duplicate; partials left ${s.med((o) => o.partials_left)}`,
      gk ? `B11 goodput ${kbit(gk)} → remaining/goodput + 3 s = ${secs(expect)}` : "B11 not measured",
      expect ? `${(after / expect).toFixed(2)}×` : "—",
      `dup ≤ ${kib(dupBar)}; done ≤ remaining/goodput + 3 s`,
      expect ? verdict(dup <= dupBar && after <= expect) : "—",
    );
  }

  // B13
  const c = series("b13");
  if (c.ok.length) {
    const idle = c.med((o) => o.idle_seconds);
    const load = c.med((o) => o.load_seconds);
    row(
      "B13",
      `${int(c.ok[0].critical_size / 1e6)} MB CRITICAL while a ${int(c.ok[0].bulk_size / 1e6)} MB BULK runs (≥ 8 MiB in), 10 Mbit/s, 50 ms RTT, 1 % loss`,
      `**${secs(load)}**${c.range((o) => o.load_seconds, secs)} ${c.n}; BULK goodput ${kbit(c.med((o) => o.bulk_goodput_kbit))}`,
      `the same CRITICAL send on the idle link ${secs(idle)}${c.range((o) => o.idle_seconds, secs)}`,
      `${(load / idle).toFixed(2)}× idle`,
      "≤ 1.5× idle and ≤ 3 s",
      verdict(load <= 1.5 * idle && load <= 3),
    );
    const loadDocs = c.ok.flatMap((o) => o.load_doc_ms);
    const idleDocs = c.ok.flatMap((o) => o.idle_doc_ms);
    row(
      "B13",
      `urgent doc (collection "alerts" = critical) written on A while the BULK runs → readable on B`,
      `p50 ${secs(median(loadDocs) / 1000)}, max ${secs(Math.max(...loadDocs) / 1000)} (${loadDocs.length} samples)`,
      `idle link p50 ${secs(median(idleDocs) / 1000)}`,
      `${(median(loadDocs) / median(idleDocs)).toFixed(1)}× idle`,
      "p50 ≤ 1 s",
      verdict(median(loadDocs) <= 1000),
    );
  } else row("B13", "1 MB CRITICAL during a 200 MB BULK", "not measured", "—", "—", "≤ 1.5× idle and ≤ 3 s", "—");
  row("B13", "the same on the B7 link (1 Mbit/s, 200 ms, 10 %)", "not measured (not in bench/attach.sh yet)", "—", "—", "≤ 1.3× idle", "—");

  // B14
  const f = series("b14");
  const s6 = series("scp6");
  if (f.ok.length) {
    const t = f.med((o) => o.seconds);
    const sc = s6.ok.length ? s6.med((o) => o.seconds) : null;
    const blob = f.med((o) => o.blob_bytes_sent_a / o.size);
    row(
      "B14",
      `${mib(f.ok[0].size)} from 1 sender to ${f.ok[0].receivers} receivers, full mesh, loopback: until every inbox has it`,
      `**${secs(t)}**${f.range((o) => o.seconds, secs)} ${f.n}; first receiver ${secs(f.med((o) => Math.min(...o.per_receiver_seconds)))}; ingest ${secs(f.med((o) => o.ingest_seconds))}`,
      sc ? `${f.ok[0].receivers} sequential scp copies ${secs(sc)}${s6.range((o) => o.seconds, secs)} ${s6.n}` : "not measured",
      sc ? `${(t / sc).toFixed(2)}×` : "—",
      "≤ 1×",
      sc ? verdict(t <= sc) : "—",
    );
    const growMax = f.med((o) => Math.max(...o.proc.map((x) => x.rss_growth)));
    row(
      "B14",
      "sender blob bytes / file size; RSS growth",
      `${blob.toFixed(2)}× (${mib(f.med((o) => o.blob_bytes_sent_a))}); receivers' duplicate bytes ${kib(f.med((o) => o.blob_duplicate_bytes.reduce((x, y) => x + y, 0)))}; largest RSS growth of a node ${mib(growMax)}; CPU A ${f.med((o) => o.proc[0].cpu_s).toFixed(1)} s, receivers ${f.med((o) => o.proc.slice(1).reduce((x, y) => x + y.cpu_s, 0)).toFixed(1)} s in all`,
      "file size",
      `${blob.toFixed(2)}×`,
      "≤ 2.5×",
      verdict(blob <= 2.5),
    );
  } else row("B14", "50 MiB to 6 receivers", "not measured", "—", "—", "≤ 1× 6 sequential scp", "—");

  const lines = [];
  lines.push(`### B10–B14 attachments — ${env.BENCH_UTC}, commit \`${env.BENCH_COMMIT}\``);
  lines.push("");
  lines.push(`Machine: nproc ${env.BENCH_NPROC}, ${env.BENCH_CPU}; load average ${env.BENCH_LOADAVG_START} at the start, ${env.BENCH_LOADAVG_END} at the end (shared machine: other builds and tests ran next to it).`);
  lines.push(
    `peat: ${env.BENCH_PEAT_DESC}; fresh nodes and data dirs per run; the mesh is TLS 1.3 over TCP. The clock runs from the SendAttachments call (which reads, hashes and copies the file into the sender's blob store before it answers) until the file is complete under its final name in the receiver's inbox (fsynced, renamed). ` +
      `Anchors in the same run: ${env.BENCH_ANCHOR_DESC ?? "see bench/attach.sh"}. Link scenarios: two network-namespace hosts joined by netem-lite (tests/net); plain TCP on the same link is bench/ddil/ddil.mjs tcp. ` +
      `Median of ${runs} interleaved runs (range in brackets; [ok/runs]); script took ${env.BENCH_ELAPSED} s.`,
  );
  lines.push("");
  lines.push("| Id | What | peat | Anchor (same run) | Ratio | Aim (§19) | Met? |");
  lines.push("|---|---|---|---|---|---|---|");
  lines.push(...rows, "");
  if (notes.length) lines.push(...notes.map((n) => `- ${n}`), "");
  return lines.join("\n");
}

await scenarioMain({
  name: "attach.mjs",
  scenarios: { b10, b11, b12, b13, b14 },
  parseArgs,
  report: () => report(),
  usage: "usage: node bench/attach/attach.mjs b10|b14 --file F [--receivers N] | b11|b12 --file F [--variant cut|kill] [--cc C] [--seed S] | b13 --bulk F --critical F1 --critical2 F2 | report",
});
