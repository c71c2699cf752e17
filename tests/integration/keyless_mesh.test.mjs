// A mesh without a formation key stays on this machine (issue 13, item 7).
//
// - Without --shared-key the mesh listens on 127.0.0.1 only (checked with `ss`), the log says the
//   formation has no key, and /metrics has peat_mesh_formation_keyed 0 (1 with a key).
// - Two key-less nodes on one machine still sync over loopback.
// - A --mesh-listen other machines could reach, without a key, exits 2 naming --shared-key;
//   --allow-keyless-mesh accepts it, with a warning at every start.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/keyless_mesh.test.mjs

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { makeDataDir, startNodeOn } from "./lib/documents.mjs";
import { MeshNode, freePort, randomKey, waitDocText } from "./lib/mesh_cluster.mjs";
import { metricValue, runNodeBinary, scrapeMetrics } from "./lib/raw.mjs";

/** The "mesh listening on tcp://HOST:PORT" address of a node's log. */
function meshAddressOf(node) {
  const m = /mesh listening on tcp:\/\/(\S+)/.exec(node.stderrText ?? node.allLogs());
  assert.ok(m, `no "mesh listening on" line in the log:\n${node.stderrText ?? node.allLogs()}`);
  return m[1];
}

/** Local addresses of the TCP listening sockets of process `pid`, from `ss`. */
function listeningAddressesOf(pid) {
  const out = execFileSync("ss", ["-ltnpH"], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => line.trim().split(/\s+/)[3]);
}

const formationKeyed = async (node) => metricValue((await scrapeMetrics({ via: "tcp", addr: node.tcpAddr })).samples, "peat_mesh_formation_keyed");

describe("a mesh without a key", () => {
  it("listens on 127.0.0.1 only, logs that the formation has no key and says so in /metrics", async (t) => {
    const node = await startNodeOn(makeDataDir(), { t });
    const mesh = meshAddressOf(node);
    assert.match(mesh, /^127\.0\.0\.1:\d+$/, "the mesh address in the log");
    const port = mesh.split(":")[1];
    const sockets = listeningAddressesOf(node.pid).filter((a) => a.endsWith(`:${port}`));
    assert.deepEqual(sockets, [`127.0.0.1:${port}`], `ss shows the mesh socket bound to loopback only (all: ${listeningAddressesOf(node.pid).join(", ")})`);
    assert.match(node.stderrText, /the formation has no key \(no --shared-key\); the mesh listens on loopback only/);
    assert.equal(await formationKeyed(node), 0);

    const keyed = await startNodeOn(makeDataDir(), { t, args: ["--shared-key", randomKey()] });
    assert.match(meshAddressOf(keyed), /^0\.0\.0\.0:\d+$/, "with a key the default is every interface");
    assert.equal(await formationKeyed(keyed), 1);
    assert.doesNotMatch(keyed.stderrText, /formation has no key/);
  });

  it("two key-less nodes on one machine still sync over loopback", async (t) => {
    const [a, b] = [new MeshNode({ name: "A", meshPort: await freePort(), t }), new MeshNode({ name: "B", meshPort: await freePort(), t })];
    await a.start();
    await b.start();
    a.endpointId = (await a.status()).endpointAddr;
    const r = await b.connectPeer(a);
    assert.equal(r.ok, true, `ConnectPeer B → A: ${r.code} ${r.errorMessage}`);
    await a.put("keyless", "doc-1", { from: "A" });
    await waitDocText(b, "keyless", "doc-1", await a.getText("keyless", "doc-1"), { timeoutMs: 5_000 });
  });

  it("a --mesh-listen other machines could reach exits 2 naming --shared-key; --allow-keyless-mesh accepts it with a warning", async (t) => {
    for (const exposed of ["tcp://0.0.0.0:0", "tcp://[::]:0"]) {
      const r = await runNodeBinary(["--listen", "tcp://127.0.0.1:0", "--disable-mdns", "--data-dir", makeDataDir(), "--mesh-listen", exposed]);
      assert.equal(r.timedOut, false, `${exposed}: kept running\n${r.stderr}`);
      assert.equal(r.code, 2, `${exposed}: exit code ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, /--shared-key: not set, so --mesh-listen .* would let any key-less node that reaches it read and write every document/);
      assert.match(r.stderr, /--allow-keyless-mesh/);
    }
    const open = await startNodeOn(makeDataDir(), { t, args: ["--mesh-listen", "tcp://0.0.0.0:0", "--allow-keyless-mesh"] });
    assert.match(meshAddressOf(open), /^0\.0\.0\.0:\d+$/);
    assert.match(open.stderrText, /warn.*the formation has no key \(no --shared-key\) and --allow-keyless-mesh exposes it/);
    assert.equal(await formationKeyed(open), 0);
  });
});
