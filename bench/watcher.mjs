// Agent watcher traffic in steady state (issue #12; docs/WATCHER.md "Traffic in steady state"):
// the mesh bytes one watcher node exchanges with one peer per poll, measured, turned into bytes
// per node per hour at the default interval (10 s) and refresh (300 s), next to the original's
// write pattern computed for the same fixture (every document rewritten on every poll).
//
//   node bench/watcher.mjs [--window-secs 30]       (or: make bench-watcher)
//
// Three pairs of peat-node processes on loopback run at once, each A → B by a static --peer
// (tests/integration/lib/mesh_cluster.mjs), all polling one fake agent
// (tests/integration/lib/fake_agent.mjs, the default fixture: 1 nodes doc, 2 deployments,
// 1 pulled tag) every second:
//   heartbeat  A runs the watcher with --agent-refresh-secs 1000000: each poll changes only
//              nodes/<id>.last_seen (the steady state between refreshes);
//   refresh    A runs the watcher with --agent-refresh-secs 1: each poll also rewrites the three
//              list documents (what a refresh every 300 s costs, once);
//   idle       no watcher: the mesh's own keepalives, subtracted from the two above.
// Bytes are GetSyncStats on A (sent + received) over the same window once the first polls are
// done; polls are peat_agent_cycles_total. Per hour at the defaults:
//   ours = 360 × heartbeat_per_poll + 12 × (refresh_per_poll − heartbeat_per_poll)
// The original rewrites every document every poll; its figure is computed from the canonical
// JSON of the same documents, payload only (its own framing and transport come on top):
//   original = 360 × (sum of the 4 documents' JSON bytes)
// Prints one JSON line; exits non-zero only when it cannot run.

import { FakeAgent } from "../tests/integration/lib/fake_agent.mjs";
import { randomKey, startCluster, waitFor } from "../tests/integration/lib/mesh_cluster.mjs";

const args = process.argv.slice(2);
const windowSecs = Number(args[args.indexOf("--window-secs") + 1] || 30);
if (args.length && !(args[0] === "--window-secs" && windowSecs > 0)) {
  console.error("usage: node bench/watcher.mjs [--window-secs N]");
  process.exit(2);
}
const POLLS_PER_HOUR = 3600 / 10;
const REFRESHES_PER_HOUR = 3600 / 300;

const agent = new FakeAgent();
const { port } = await agent.start();
const watcherArgs = (refresh) => ["--agent-addr", `http://127.0.0.1:${port}`, "--agent-poll-interval", "1", "--agent-refresh-secs", String(refresh)];
const pairs = {};
try {
  const kinds = { heartbeat: watcherArgs(1_000_000), refresh: watcherArgs(1), idle: [] };
  for (const [kind, a] of Object.entries(kinds)) {
    pairs[kind] = await startCluster({ n: 2, edges: [[0, 1]], sharedKey: randomKey(), args: (i) => (i === 0 ? a : []), nodeId: (name) => `watch-${kind}-${name.toLowerCase()}` });
  }
  const cycles = async (kind) => (kind === "idle" ? 0 : Number(await pairs[kind].nodes[0].metric("peat_agent_cycles_total")));
  // Warm-up: every document exists on both sides of both watcher pairs.
  for (const kind of ["heartbeat", "refresh"]) {
    const b = pairs[kind].nodes[1];
    await waitFor(async () => (await cycles(kind)) >= 3, { timeoutMs: 30_000, what: `${kind}: 3 polls` });
    await waitFor(async () => (await b.list("deployments")).length === 2 && (await b.list("packages")).length === 1, { timeoutMs: 30_000, what: `${kind}: documents on B` });
  }
  const sample = async () => {
    const out = {};
    for (const kind of Object.keys(pairs)) out[kind] = { bytes: (await pairs[kind].nodes[0].syncStats()).total, cycles: await cycles(kind) };
    return out;
  };
  const t0 = performance.now();
  const before = await sample();
  // The measurement window itself (not a wait for a condition): the counters are read at both ends.
  await new Promise((r) => setTimeout(r, windowSecs * 1000));
  const after = await sample();
  const seconds = (performance.now() - t0) / 1000;
  const delta = (kind) => ({ bytes: after[kind].bytes - before[kind].bytes, polls: after[kind].cycles - before[kind].cycles });
  const idle = delta("idle");
  const perPoll = (kind) => {
    const d = delta(kind);
    return (d.bytes - idle.bytes) / d.polls;
  };
  const heartbeat = perPoll("heartbeat");
  const refresh = perPoll("refresh");
  const ours = POLLS_PER_HOUR * heartbeat + REFRESHES_PER_HOUR * (refresh - heartbeat);

  // The original: the four documents of the fixture, whole, every poll.
  const a = pairs.heartbeat.nodes[0];
  const docs = [["nodes", a.nodeId], ...(await a.list("deployments")).map((id) => ["deployments", id]), ...(await a.list("packages")).map((id) => ["packages", id])];
  let docBytes = 0;
  for (const [c, id] of docs) docBytes += Buffer.byteLength(await a.getText(c, id));
  const original = POLLS_PER_HOUR * docBytes;

  console.log(
    JSON.stringify({
      bench: "watcher_traffic",
      window_s: Math.round(seconds * 10) / 10,
      polls: { heartbeat: delta("heartbeat").polls, refresh: delta("refresh").polls },
      idle_bytes_per_s: Math.round(idle.bytes / seconds),
      heartbeat_bytes_per_poll: Math.round(heartbeat),
      refresh_bytes_per_poll: Math.round(refresh),
      documents: docs.length,
      document_json_bytes: docBytes,
      ours_bytes_per_node_hour: Math.round(ours),
      original_payload_bytes_per_node_hour: original,
      ratio: Math.round((original / ours) * 10) / 10,
    }),
  );
} finally {
  for (const cl of Object.values(pairs)) await Promise.all(cl.nodes.map((nd) => nd.kill()));
  await agent.stop();
}
