// Helpers shared by the mesh benchmarks (bench/mesh/peat_mesh.mjs: B3–B5; bench/ddil/ddil.mjs: B7):
// the bench_put_flood writer, still byte counters, a synchronous tap on a Subscribe stream, and
// the plumbing of a scenario script (one JSON line per run; a markdown report over the runs).

import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The C++ writer, or null (Node's http2 client writes): $PUT_FLOOD ("node" forces the fallback). */
export function putFloodBin() {
  const bin = process.env.PUT_FLOOD || fileURLToPath(new URL("../../build/bench/bench_put_flood", import.meta.url));
  if (bin === "node") return null;
  try {
    accessSync(bin, constants.X_OK);
    return bin;
  } catch {
    console.error(`${bin} not built: writes go through Node's http2 client where there is a fallback`);
    return null;
  }
}

/**
 * Runs bench_put_flood (`bin`: the binary, or a wrapper that runs it elsewhere, e.g. inside a
 * network-namespace host) against the API at `addr` ("host:port"): `rounds` is a list of lists of
 * [collection, docId, json]; a round starts once every write of the previous one is answered.
 * Resolves {errors, first, t0, tAck}: t0 = first request sent, tAck = last answer (wall-clock ms).
 */
export function putFlood(bin, addr, rounds) {
  const input = rounds.map((r) => r.map(([c, id, j]) => `${c}\t${id}\t${j}\n`).join("")).join("\n");
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ["--addr", addr, "--conns", "4", "--inflight", "128", "--timeout-s", "600"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    p.stderr.setEncoding("utf8").on("data", (d) => (err += d));
    p.stdin.on("error", () => {}); // a failed start surfaces as the exit below
    p.on("error", reject);
    p.on("close", (code, signal) => {
      let r;
      try {
        r = JSON.parse(out.trim().split("\n").pop());
      } catch {
        const why = err.trim().split("\n").pop() ?? "";
        reject(new Error(`bench_put_flood exited ${code ?? signal}: ${why}`));
        return;
      }
      const errors = r.docs - r.ok;
      const first = errors ? (err.match(/first failure: (.*)/)?.[1] ?? err.trim().split("\n").pop()) : null;
      resolve({ errors, first, t0: r.first_send_unix_ms, tAck: r.last_ack_unix_ms });
    });
    p.stdin.end(input);
  });
}

/**
 * GetSyncStats of nodes (MeshNode) once two reads `intervalMs` apart agree (at most 15 intervals);
 * the last reads otherwise.
 */
export async function stillStats(nodes, { intervalMs = 200 } = {}) {
  const read = async () => Promise.all(nodes.map((n) => n.syncStats()));
  let prev = await read();
  for (let i = 0; i < 15; i++) {
    await new Promise((r) => setTimeout(r, intervalMs));
    const cur = await read();
    if (cur.every((s, k) => s.total === prev[k].total)) return cur;
    prev = cur;
  }
  return prev;
}

/**
 * Calls onDoc(msg) for every new message of stream handle h (synchronously on arrival, so the
 * timestamps taken there are the client's receive time). Returns a function that stops it.
 */
export function tap(h, onDoc) {
  let i = h.messages.length;
  const w = () => {
    for (; i < h.messages.length; i++) onDoc(h.messages[i]);
  };
  h._waiters.add(w);
  return () => h._waiters.delete(w);
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * The results of one series of a benchmark driver: the last JSON line of
 * `${tmp}/${name}.${r}.json` for r = 1..runs, as {ok: [results], errors: ["run r: why"]}.
 * Missing files are skipped; unparsable ones, and results for which errorOf(result) is truthy
 * (default: its `error` field), go to errors.
 */
export function readRuns(tmp, name, runs, errorOf = (j) => j.error) {
  const ok = [];
  const errors = [];
  for (let r = 1; r <= runs; r++) {
    const f = `${tmp}/${name}.${r}.json`;
    if (!existsSync(f)) continue;
    const text = readFileSync(f, "utf8").trim().split("\n").pop();
    let j;
    try {
      j = JSON.parse(text);
    } catch {
      errors.push(`run ${r}: unparsable output ${JSON.stringify(text.slice(0, 120))}`);
      continue;
    }
    const e = errorOf(j);
    if (e) errors.push(`run ${r}: ${e}`);
    else ok.push(j);
  }
  return { ok, errors };
}

/** Number formats of the reports: 1,234; 12.3 s / 1.23 s / 123 ms; KiB; kbit/s. */
export const fmtInt = (x) => Math.round(x).toLocaleString("en-US");
export const fmtSecs = (x) => (x >= 10 ? `${x.toFixed(1)} s` : x >= 1 ? `${x.toFixed(2)} s` : `${Math.round(x * 1000)} ms`);
export const fmtKib = (x) => `${fmtInt(x / 1024)} KiB`;
export const fmtKbit = (x) => `${fmtInt(x)} kbit/s`;

/**
 * One series of a report (readRuns of $BENCH_TMP/NAME.<r>.json, r = 1..runs; each error is
 * pushed onto notes): {ok, med(f): median of f over the runs, range(f, fmt): " (min–max)" when
 * there were several runs, n: "[ok/runs]"}.
 */
export function reportSeries(tmp, name, runs, notes) {
  const { ok, errors } = readRuns(tmp, name, runs);
  for (const e of errors) notes.push(`${name}, ${e}`);
  const med = (f) => median(ok.map(f));
  const range = (f, fmt) => (ok.length > 1 ? ` (${fmt(Math.min(...ok.map(f)))}–${fmt(Math.max(...ok.map(f)))})` : "");
  return { ok, med, range, n: `[${ok.length}/${runs}]` };
}

/**
 * Entry point of a scenario script: `script report` prints report() (markdown); `script MODE
 * ARGS...` prints one JSON line, scenarios[MODE](parseArgs(ARGS)), or {scenario, error} when it
 * throws. Exit 0 unless the arguments are wrong (2, with `usage`).
 */
export async function scenarioMain({ name, scenarios, parseArgs, report, usage }) {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === "report") {
    console.log(report());
    process.exit(0);
  }
  let opt;
  try {
    if (!scenarios[mode]) throw new Error(usage);
    opt = parseArgs(rest);
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
  try {
    console.log(JSON.stringify(await scenarios[mode](opt)));
  } catch (e) {
    console.error(`${name} ${mode}: ${e.stack ?? e}`);
    console.log(JSON.stringify({ scenario: mode, error: String(e.message ?? e).split("\n")[0] }));
  }
  process.exit(0);
}
