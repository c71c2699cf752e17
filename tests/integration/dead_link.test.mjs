// Dead links (issue #13 item 4; docs/CONFIGURATION.md "Mesh and discovery", on dead links): two
// nodes on loopback, B stopped with SIGSTOP (its kernel still acknowledges TCP, only the process
// is silent). A's ListPeers shows B disconnected within 3 s (default --mesh-dead-after-ms 2500),
// A counts a dead link, and after SIGCONT the two reconnect and sync. GetSyncStats bytes_sent
// counts only bytes the peer acknowledged: it never exceeds what the other side received.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/dead_link.test.mjs

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { makeDoc, startCluster, waitDocText, waitFor } from "./lib/mesh_cluster.mjs";

const DETECT_MS = 3_000; // the bar on an idle LAN link

describe("mesh: dead link", () => {
  it("a stopped peer shows disconnected within 3 s; after SIGCONT it reconnects and syncs", async (t) => {
    const { nodes } = await startCluster({ t, n: 2, edges: [[0, 1]] });
    const [a, b] = nodes;
    t.after(() => {
      try {
        process.kill(b.proc.pid, "SIGCONT");
      } catch {
        // already gone
      }
    });
    await a.put("c", "before", makeDoc(1));
    await waitDocText(b, "c", "before", await a.getText("c", "before"));
    // Idle for a few ping intervals: the link is quiet, only pings flow.
    const idleSince = Date.now();
    await waitFor(async () => Date.now() - idleSince > 2_000, { timeoutMs: 5_000, what: "2 s of idle link" });
    assert.ok(await a.isConnectedTo(b), "A lost B while idle");
    const deadBefore = (await a.metric("peat_mesh_dead_links_total")) ?? 0;
    const rtt = await a.metric("peat_mesh_peer_dead_after_seconds", { peer: b.endpointId.slice(0, 10) });
    t.diagnostic(`A's bound for B before the stop: ${rtt} s`);

    process.kill(b.proc.pid, "SIGSTOP");
    const stopped = Date.now();
    await waitFor(async () => !(await a.isConnectedTo(b)), { timeoutMs: 10_000, intervalMs: 20, what: "A sees B disconnected" });
    const detectMs = Date.now() - stopped;
    t.diagnostic(`A saw B disconnected ${detectMs} ms after SIGSTOP`);
    assert.ok(detectMs <= DETECT_MS, `detected after ${detectMs} ms (> ${DETECT_MS})`);
    assert.equal((await a.metric("peat_mesh_dead_links_total")) ?? 0, deadBefore + 1);
    assert.match(a.allLogs(), /silent for \d+ ms \(bound \d+ ms, srtt \d+ ms\); the link is dead/);

    // A write made while B is stopped reaches it once it runs again.
    await a.put("c", "while-stopped", makeDoc(2));
    process.kill(b.proc.pid, "SIGCONT");
    const resumed = Date.now();
    await waitFor(async () => (await a.isConnectedTo(b)) && (await b.isConnectedTo(a)), { timeoutMs: 15_000, what: "A and B connected again" });
    t.diagnostic(`reconnected ${Date.now() - resumed} ms after SIGCONT`);
    await waitDocText(b, "c", "while-stopped", await a.getText("c", "while-stopped"), { timeoutMs: 10_000 });

    // Acknowledged bytes: what A says it sent, B received (B counts every byte it read).
    const sa = await a.syncStats();
    const sb = await b.syncStats();
    t.diagnostic(`A sent ${sa.bytesSent}, B received ${sb.bytesReceived}`);
    assert.ok(Number(sa.bytesSent) > 0);
    assert.ok(Number(sa.bytesSent) <= Number(sb.bytesReceived), `A counts ${sa.bytesSent} sent, B read ${sb.bytesReceived}`);
  });

  it("the congestion control in use is logged per session (bbr where the kernel has it)", async (t) => {
    const { nodes } = await startCluster({ t, n: 2, edges: [[0, 1]], args: (i) => (i === 1 ? ["--mesh-congestion-control", "reno"] : []) });
    const [a, b] = nodes;
    await waitFor(async () => /connected \(.*, tcp \w+\)/.test(a.allLogs()) && /connected \(.*, tcp \w+\)/.test(b.allLogs()), { what: "session log lines" });
    const cc = (n) => /connected \(.*, tcp (\w+)\)/.exec(n.allLogs())[1];
    t.diagnostic(`A: ${cc(a)}, B: ${cc(b)}`);
    assert.equal(cc(b), "reno", "B asked for reno, which every kernel has");
    const available = (await import("node:fs")).readFileSync("/proc/sys/net/ipv4/tcp_available_congestion_control", "utf8");
    if (available.split(/\s+/).includes("bbr")) assert.equal(cc(a), "bbr");
    else t.diagnostic(`SKIPPED: this kernel has no bbr (${available.trim()}); A runs ${cc(a)}`);
  });
});
