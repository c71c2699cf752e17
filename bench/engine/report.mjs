// Builds the B2 table (markdown) from bench/engine.sh's raw outputs: $BENCH_TMP/peat.N.json
// (Google Benchmark JSON) and $BENCH_TMP/automerge.N.json (automerge_bench.mjs), N = 1..REPS.
import { readFileSync } from "node:fs";

const env = process.env;
const reps = Number(env.BENCH_REPS);
const tmp = env.BENCH_TMP;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmtOps = (x) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(1));
const fmtRatio = (x) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x >= 10 ? x.toFixed(0) : x.toFixed(2));

const ops = [
  // [label, Google Benchmark name, automerge key, bar]
  ["create from JSON", "BM_Create", "create", ""],
  ["single-field update (Put-diff)", "BM_UpdateOneField", "update", 50],
  ["merge two replicas (one field each)", "BM_MergeTwoReplicas", "merge", 50],
  ["render JSON", "BM_Render", "render", ""],
  ["encode", "BM_Encode", "encode", ""],
  ["decode", "BM_Decode", "decode", ""],
];

const peat = [];
const am = [];
for (let r = 1; r <= reps; ++r) {
  const g = JSON.parse(readFileSync(`${tmp}/peat.${r}.json`, "utf8"));
  const byName = {};
  for (const b of g.benchmarks) byName[b.name.replace(/\/.*$/, "")] = b;
  peat.push(byName);
  am.push(JSON.parse(readFileSync(`${tmp}/automerge.${r}.json`, "utf8")));
}

const lines = [];
lines.push(`### B2 Engine micro-benchmarks — ${env.BENCH_UTC}, commit \`${env.BENCH_COMMIT}\``);
lines.push("");
lines.push(
  `Machine: nproc ${env.BENCH_NPROC}, ${env.BENCH_CPU}; load average ${env.BENCH_LOADAVG_START} at the start, ` +
    `${env.BENCH_LOADAVG_END} at the end (shared machine).`,
);
lines.push(
  `peat: ${env.BENCH_ENGINE_DESC}, one thread. Anchor (same run): @automerge/automerge ${env.BENCH_AUTOMERGE} ` +
    `on Node ${env.BENCH_NODE}. ${am[0].docs} documents of ~${Math.round(peat[0].BM_EncodedSize.json_bytes_avg)} B ` +
    `(sensor, track, workload, order shapes; bench_engine --dump_docs); ${env.BENCH_SECONDS} s per operation and ` +
    `run; median of ${reps} interleaved runs; wall-clock rates on both sides; script took ${env.BENCH_ELAPSED} s.`,
);
lines.push("");
lines.push("| Operation | peat ops/s | Automerge ops/s | Ratio (runs) | Bar |");
lines.push("|---|--:|--:|---|---|");
for (const [label, gname, akey, bar] of ops) {
  const p = peat.map((x) => x[gname].items_per_second);
  const a = am.map((x) => x[akey]);
  const ratios = p.map((v, i) => v / a[i]);
  const lo = Math.min(...ratios);
  const hi = Math.max(...ratios);
  const ratio = median(p) / median(a);
  const verdict = bar ? `≥ ${bar}× ${ratio >= bar ? "(met)" : "(**not met**)"}` : "—";
  lines.push(
    `| ${label} | ${fmtOps(median(p))} | ${fmtOps(median(a))} | ${fmtRatio(ratio)}× (${fmtRatio(lo)}–${fmtRatio(hi)}) | ${verdict} |`,
  );
}
const size = (key) => ({
  peat: median(peat.map((x) => x.BM_EncodedSize[key])),
  am: median(am.map((x) => x[key])),
});
for (const [label, key] of [
  ["encoded size / JSON size, fresh document", "ratio_fresh"],
  ["encoded size / JSON size, after 10 single-field updates", "ratio_after_10_updates"],
]) {
  const s = size(key);
  const verdict = `≤ 1.2× ${s.peat <= 1.2 ? "(met)" : "(**not met**)"}`;
  lines.push(`| ${label} | ${s.peat.toFixed(2)}× | ${s.am.toFixed(2)}× | — | ${verdict} |`);
}
lines.push("");
lines.push(
  "Ratio = peat's median ops/s over Automerge's median; \"runs\" = range of the per-repetition ratios. " +
    "Update: peat parses the whole new JSON and diffs it against the state (the PutDocument path); " +
    "Automerge is handed the one changed field (`Automerge.change`). Merge: into a fresh copy made " +
    "outside the timed region on both sides (`Automerge.merge` of a clone). Render: peat builds canonical " +
    "JSON from its registers; Automerge's documents are already materialised JS objects (`JSON.stringify`). " +
    "Encoded size: `Document::Encode` vs `Automerge.save`, over canonical JSON. Group commit belongs to the " +
    "store and is not measured here.",
);
lines.push("");
console.log(lines.join("\n"));
