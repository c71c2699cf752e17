// Builds the B3/B4/B5 table (markdown) from bench/mesh.sh's raw outputs in $BENCH_TMP, one JSON
// line per file, N = 1..BENCH_RUNS:
//   b3_peat_<docs>.N.json, b3_automerge_<docs>.N.json   (peat_mesh.mjs b3 / automerge_repo.mjs)
//   b4_peat.N.json, b5_peat.N.json                      (peat_mesh.mjs b4 / b5)
// A file holding {error} (or missing) is reported as not measured, with the error.
import { readRuns } from "./bench_lib.mjs";

const env = process.env;
const runs = Number(env.BENCH_RUNS);
const tmp = env.BENCH_TMP;
const sizes = (env.BENCH_MESH_B3_SIZES ?? "1000 10000").split(/\s+/).filter(Boolean).map(Number);

// Figures of the anchor that this script does not re-run by default (BENCHMARKS spec, B3).
const AUTOMERGE_10K_REFERENCE = { docs: 10000, seconds: 800, ratio: 62 };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const int = (x) => Math.round(x).toLocaleString("en-US");
const secs = (x) => (x >= 10 ? `${x.toFixed(1)} s` : x >= 1 ? `${x.toFixed(2)} s` : `${Math.round(x * 1000)} ms`);
const ms = (x) => (x >= 10 ? `${x.toFixed(1)} ms` : `${x.toFixed(2)} ms`);
const times = (x) => `${x >= 100 ? int(x) : x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`;
const kb = (x) => (x >= 10 * 1024 * 1024 ? `${(x / 1024 / 1024).toFixed(1)} MiB` : `${int(x / 1024)} KiB`);
const verdict = (met) => (met ? "(met)" : "(**not met**)");

/** Results of one series: {ok: [...], errors: [...]}. */
function series(name) {
  const { ok, errors } = readRuns(tmp, name, runs, (j) => j.error ?? (j.timed_out ? `timed out with ${j.received}/${j.docs} docs received` : null));
  return { ok, errors, med: (k) => median(ok.map((x) => x[k])), range: (k) => [Math.min(...ok.map((x) => x[k])), Math.max(...ok.map((x) => x[k]))] };
}
const fmtRange = (s, k, f) => (s.ok.length > 1 ? ` (${f(s.range(k)[0])}–${f(s.range(k)[1])})` : "");
const n = (s) => `${s.ok.length}/${runs}`;

// Which client wrote B3/B4 (the "writer" field of peat_mesh.mjs's output).
const WRITERS = {
  put_flood: "bench_put_flood (C++, nghttp2, one poll loop; 4 connections × 128 in flight, requests encoded before the clock)",
  "node-http2": "Node's http2 client (fallback, bench_put_flood not used: 4 connections, 256 in flight in all, requests encoded before the clock)",
};
const writers = new Set(
  [...sizes.map((d) => `b3_peat_${d}`), "b4_peat"].flatMap((name) => series(name).ok.map((x) => x.writer ?? "node-http2")),
);
const writerDesc = writers.size ? [...writers].map((w) => WRITERS[w] ?? w).join("; in other runs, ") : WRITERS.put_flood;

const lines = [];
const notes = [];
lines.push(`### B3–B5 Mesh: convergence, catch-up, propagation — ${env.BENCH_UTC}, commit \`${env.BENCH_COMMIT}\``);
lines.push("");
lines.push(`Machine: nproc ${env.BENCH_NPROC}, ${env.BENCH_CPU}; load average ${env.BENCH_LOADAVG_START} at the start, ${env.BENCH_LOADAVG_END} at the end (shared machine).`);
lines.push(
  `peat: ${env.BENCH_PEAT_DESC}, two processes on 127.0.0.1 (static --peer, fresh data dirs per scenario). ` +
    `B3/B4 writes: PutDocument over gRPC (h2c) with ${writerDesc}. B5 writes: Node ${env.BENCH_NODE}'s http2 client. ` +
    `Clock: Subscribe on B (grpc-js, Node ${env.BENCH_NODE}). ` +
    `Anchor (same run): @automerge/automerge-repo ${env.BENCH_AM_REPO} (+ network-websocket, @automerge/automerge ${env.BENCH_AUTOMERGE}), two processes over its websocket adapter. ` +
    `Documents: ~300 B JSON (tests/integration/lib/mesh_cluster.mjs makeDoc), the same on both sides. Median of ${runs} runs (range in brackets); script took ${env.BENCH_ELAPSED} s.`,
);
lines.push("");
lines.push("| Benchmark | peat | Anchor (same run unless marked) | Ratio | Bar |");
lines.push("|---|---|---|---|---|");

for (const docs of sizes) {
  const p = series(`b3_peat_${docs}`);
  const a = series(`b3_automerge_${docs}`);
  const label = `B3 ${int(docs)} docs A→B`;
  for (const e of p.errors) notes.push(`${label}, peat: ${e}`);
  for (const e of a.errors) notes.push(`${label}, automerge-repo: ${e}`);
  let anchorTime = "not measured";
  let anchorBytes = "not measured";
  let rateRatio = "—";
  if (a.ok.length) {
    anchorTime = `${secs(a.med("seconds"))}, ${int(a.med("docs_per_s"))} docs/s${fmtRange(a, "seconds", secs)} [${n(a)}]`;
    anchorBytes = `${times(a.med("ratio"))} (${kb(a.med("bytes"))})`;
  } else if (docs === AUTOMERGE_10K_REFERENCE.docs && !a.errors.length) {
    anchorTime = `≈ ${AUTOMERGE_10K_REFERENCE.seconds} s (reference figure, not re-run; BENCH_MESH_AUTOMERGE_10K=1 runs it)`;
    anchorBytes = `≈ ${AUTOMERGE_10K_REFERENCE.ratio}× (reference, not re-run)`;
  }
  if (!p.ok.length) {
    lines.push(`| ${label}: time until all readable on B | not measured | ${anchorTime} | — | ${docs >= 10000 ? "≤ 1 s" : "≥ 100× its rate"} |`);
    lines.push(`| ${label}: mesh bytes both ways / raw JSON | not measured | ${anchorBytes} | — | ≤ 1.3× |`);
    continue;
  }
  const t = p.med("seconds");
  let bar;
  if (docs >= 10000) bar = `≤ 1 s ${verdict(t <= 1)}`;
  else if (a.ok.length) {
    const r = p.med("docs_per_s") / a.med("docs_per_s");
    rateRatio = `${times(r)} its rate`;
    bar = `≥ 100× its rate ${verdict(r >= 100)}`;
  } else bar = "≥ 100× its rate (no anchor figure)";
  if (docs === AUTOMERGE_10K_REFERENCE.docs && !a.ok.length) rateRatio = `≈ ${times(AUTOMERGE_10K_REFERENCE.seconds / t)} (vs reference)`;
  lines.push(
    `| ${label}: time until all readable on B | ${secs(t)}, ${int(p.med("docs_per_s"))} docs/s${fmtRange(p, "seconds", secs)} [${n(p)}]; writes acked in ${secs(p.med("write_seconds"))} | ${anchorTime} | ${rateRatio} | ${bar} |`,
  );
  const ratio = p.med("ratio");
  lines.push(
    `| ${label}: mesh bytes both ways / raw JSON | ${times(ratio)} (${kb(p.med("bytes"))} for ${kb(p.med("raw_json_bytes"))})${fmtRange(p, "ratio", times)} | ${anchorBytes} | — | ≤ 1.3× ${verdict(ratio <= 1.3)} |`,
  );
}

const b4 = series("b4_peat");
for (const e of b4.errors) notes.push(`B4: ${e}`);
if (b4.ok.length) {
  const x = b4.ok[0];
  const ratio = b4.med("ratio");
  lines.push(
    `| B4 catch-up: B down while A takes ${int(x.updates)} updates to ${int(x.docs)} docs; B restarted | ${secs(b4.med("seconds"))} until B holds the final state${fmtRange(b4, "seconds", secs)} [${n(b4)}] | — | — | — |`,
  );
  lines.push(
    `| B4 catch-up bytes (B's counters since its restart) / raw JSON of the final ${int(x.docs)} docs | ${times(ratio)} (${kb(b4.med("bytes"))})${fmtRange(b4, "ratio", times)} | final state ${kb(b4.med("final_raw_json_bytes"))}; the ${int(x.updates)} updates were ${kb(b4.med("updates_raw_json_bytes"))} | ${times(b4.med("bytes") / b4.med("updates_raw_json_bytes"))} of the updates' JSON | ≤ 1.5× ${verdict(ratio <= 1.5)} |`,
  );
} else lines.push("| B4 catch-up after partition | not measured | — | — | ≤ 1.5× final state |");

const b5 = series("b5_peat");
for (const e of b5.errors) notes.push(`B5: ${e}`);
if (b5.ok.length) {
  const p99 = b5.med("p99_ms");
  lines.push(
    `| B5 propagation: write on A → Subscribe event on B, ${int(b5.ok[0].samples)} sequential samples | p50 ${ms(b5.med("p50_ms"))}, p99 ${ms(p99)}${fmtRange(b5, "p99_ms", ms)} [${n(b5)}]; local ack p50 ${ms(b5.med("ack_p50_ms"))} | original's target: < 10 ms p99 (not re-run) | — | p99 ≤ 5 ms ${verdict(p99 <= 5)} |`,
  );
} else lines.push("| B5 propagation latency | not measured | original's target: < 10 ms p99 | — | p99 ≤ 5 ms |");

lines.push("");
lines.push(
  "B3 time: from the first PutDocument sent on A until B's Subscribe stream has delivered an UPSERT for every document (automerge-repo: " +
    "from the first `repo.create` on the server until the client's repo holds every document with content). Ratio = peat's docs/s over the " +
    "anchor's. Bytes: GetSyncStats bytes_sent + bytes_received on A (mesh wire bytes, TLS included) from just before the first write until " +
    "the counters are still; automerge-repo: the server's TCP socket bytes both ways. B4: B stops with SIGTERM after the pre-load is on both; " +
    "A takes the updates (round k rewrites every document with a few fields changed); B restarts and dials A; time from B's exec until its " +
    "Subscribe stream shows every document at its final revision. B5: sequential, next write after the previous event; 50 warm-up writes.",
);
if (notes.length) {
  lines.push("");
  lines.push("Not measured / problems:");
  lines.push("");
  for (const x of notes) lines.push(`- ${x}`);
}
lines.push("");
console.log(lines.join("\n"));
