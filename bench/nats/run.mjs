// B15: the NATS bridge (issue #15; docs/NATS.md, docs/BENCHMARKS.md "B15"). In one run:
//   nats-server alone   bench_nats_pubsub publishes and subscribes on one nats-server;
//   through the bridge  it publishes at site A's nats-server and subscribes at site B's: A's
//                       bridge stores each message, the mesh carries it, B's bridge publishes it.
// Same count, size and window (at most `window` messages published and not yet received, below
// the bridge's 256-message FIFO, so nothing is dropped for speed). RSS of both nodes: VmRSS
// before the run and VmHWM after (/proc), growth = HWM − before; the issue's budget is 40 MiB for
// 100,000 messages of 1 KiB.
//
//   node bench/nats/run.mjs [--count 100000] [--size 1024] [--window 64]   (or: make bench-nats)
//
// Needs build/bench/bench_nats_pubsub and nats-server (scripts/install-deps.sh). Prints one JSON
// line; exits non-zero when it cannot run or a message is missing.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { startCluster, waitFor } from "../../tests/integration/lib/mesh_cluster.mjs";
import { startNatsServer } from "../../tests/integration/lib/nats.mjs";
import { REPO_ROOT } from "../../tests/integration/lib/node_process.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const count = opt("--count", 100_000);
const size = opt("--size", 1024);
const windowSize = opt("--window", 64);
const tool = process.env.NATS_PUBSUB || path.join(REPO_ROOT, process.env.BENCH_BUILD_DIR || "build", "bench", "bench_nats_pubsub");
if (!fs.existsSync(tool)) {
  console.error(`bench-nats: ${tool} is missing (cmake --build build --target bench_nats_pubsub)`);
  process.exit(2);
}

const memOf = (pid) => {
  const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)[1]);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
};
const timeoutSecs = opt("--timeout-secs", 300);
function pubsub(pub, sub, subject) {
  const argv = ["--pub", pub, "--sub", sub, "--subject", subject, "--count", String(count), "--size", String(size), "--window", String(windowSize), "--timeout-secs", String(timeoutSecs)];
  try {
    return JSON.parse(execFileSync(tool, argv, { encoding: "utf8", timeout: (timeoutSecs + 60) * 1000 }));
  } catch (e) {
    if (!e.stdout) throw e;
    return JSON.parse(e.stdout); // not every message arrived: reported below
  }
}
/** The node's peat_nats_bridge_* samples that are not zero. */
const bridgeMetrics = async (nd) =>
  Object.fromEntries((await nd.metrics()).filter((m) => m.name.startsWith("peat_nats_bridge_") && m.value).map((m) => [`${m.name}${m.labels.reason ? `{${m.labels.reason}}` : ""}`, m.value]));

const servers = [await startNatsServer(), await startNatsServer()];
let cl;
try {
  const alone = pubsub(servers[0].url, servers[0].url, "bench.alone");
  cl = await startCluster({ n: 2, edges: [[0, 1]], args: (i) => ["--nats-url", servers[i].url, "--nats-mapping", "bench.nats=bench_nats"] });
  const [a, b] = cl.nodes;
  for (const nd of cl.nodes) await waitFor(async () => (await nd.metric("peat_nats_bridge_ready")) === 1, { timeoutMs: 15_000, what: `${nd.name} bridge ready` });
  const before = [memOf(a.proc.pid), memOf(b.proc.pid)];
  const bridged = pubsub(servers[0].url, servers[1].url, "bench.nats");
  const after = [memOf(a.proc.pid), memOf(b.proc.pid)];
  const growth = after.map((m, i) => +(m.hwm - before[i].rss).toFixed(1));
  const out = {
    bench: "B15 nats bridge",
    count,
    size,
    window: windowSize,
    nats_alone_msgs_per_sec: alone.msgs_per_sec,
    bridge_msgs_per_sec: bridged.msgs_per_sec,
    ratio: +(bridged.msgs_per_sec / alone.msgs_per_sec).toFixed(3),
    bridge_seconds: bridged.seconds,
    received: bridged.received,
    metrics_a: await bridgeMetrics(a),
    metrics_b: await bridgeMetrics(b),
    rss_before_mib: before.map((m) => +m.rss.toFixed(1)),
    rss_hwm_after_mib: after.map((m) => +m.hwm.toFixed(1)),
    rss_growth_mib: growth,
    rss_budget_mib: 40,
    within_budget: growth.every((g) => g <= 40),
  };
  console.log(JSON.stringify(out));
  if (bridged.received !== count) process.exitCode = 1;
} finally {
  if (cl) await Promise.all(cl.nodes.map((nd) => nd.kill()));
  for (const s of servers) s.kill();
}
