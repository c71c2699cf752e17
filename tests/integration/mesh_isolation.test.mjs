// Formation isolation (BEHAVIOR.md "Peers, sync, status": nodes with a different --app-id or
// --shared-key never exchange a single document; both sides prove knowledge of the key). For each
// case A (formation F) has a static --peer to B (another formation) and B calls ConnectPeer to A:
// ConnectPeer answers permission_denied with a reason, "mesh handshake failed … reason=<reason>"
// is logged, peat_mesh_handshake_failures_total{reason} counts it, and no document crosses either
// way while A keeps redialing its static peer. A third node C of A's formation, peered the
// same way, is the positive control: it does receive A's documents.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/mesh_isolation.test.mjs

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { preview } from "./lib/documents.mjs";
import {
  HANDSHAKE_REASONS,
  handshakeFailureMetrics,
  handshakeFailureReasons,
  randomKey,
  startCluster,
  waitDocText,
  waitFor,
} from "./lib/mesh_cluster.mjs";

const C = "iso";

/**
 * nodes: A (formation F), B (the outsider: appId/sharedKey overridden), C (formation F).
 * Edges: A → B and A → C (static --peer flags). `reasons`: the acceptable handshake reasons.
 */
async function isolationCase(t, { outsiderAppId, outsiderKey, reasons }) {
  const key = randomKey();
  const cl = await startCluster({
    t,
    n: 3,
    sharedKey: key,
    appId: "formation-f",
    nodeAppId: (i) => (i === 1 && outsiderAppId) || "formation-f",
    nodeSharedKey: (i) => (i === 1 && outsiderKey) || key,
    edges: [
      [0, 1],
      [0, 2],
    ],
    waitConnected: false,
  });
  const [a, b, c] = cl.nodes;
  await cl.waitEdgesConnected([[0, 2]]); // the control link

  for (let i = 0; i < 5; i++) {
    await a.put(C, `a-${i}`, { from: "a", secret: `formation-f-${i}` });
    await b.put(C, `b-${i}`, { from: "b", secret: `outsider-${i}` });
  }
  // positive control: C (same formation) gets A's docs
  for (let i = 0; i < 5; i++) await waitDocText(c, C, `a-${i}`, await a.getText(C, `a-${i}`));

  // ConnectPeer from the outsider: permission_denied, with the reason in the message
  const r = await b.connectPeer(a);
  assert.equal(r.ok, false, "ConnectPeer across formations succeeded");
  assert.equal(r.code, "permission_denied", `ConnectPeer across formations: ${r.code} ${r.errorMessage}`);
  assert.match(r.errorMessage, /app|formation|key|proof|identity|handshake/i, `permission_denied without a reason: ${JSON.stringify(r.errorMessage)}`);

  // the refusals (A's static dial, B's ConnectPeer) are logged and counted with a reason the
  // contract names, and with the expected one
  let seen = {};
  await waitFor(
    async () => {
      const logs = [...handshakeFailureReasons(a), ...handshakeFailureReasons(b)];
      const ma = await handshakeFailureMetrics(a);
      const mb = await handshakeFailureMetrics(b);
      const total = Object.values(ma).reduce((x, y) => x + y, 0) + Object.values(mb).reduce((x, y) => x + y, 0);
      seen = { logs, ma, mb, total };
      return logs.length >= 2 && total >= 2;
    },
    { timeoutMs: 15_000, intervalMs: 200, what: "≥ 2 handshake refusals logged and counted", describe: () => preview(seen, 600) },
  );
  for (const reason of seen.logs) assert.ok(reasons.includes(reason), `logged reason=${reason}; expected one of ${reasons.join(", ")}`);
  for (const m of [seen.ma, seen.mb]) {
    for (const [reason, n] of Object.entries(m)) {
      assert.ok(HANDSHAKE_REASONS.includes(reason), `unknown reason label ${reason}`);
      if (n > 0) assert.ok(reasons.includes(reason), `failures counted under reason="${reason}"; expected one of ${reasons.join(", ")}`);
    }
  }

  // nothing crossed, either way; nobody lists the other as connected
  assert.ok(!(await a.isConnectedTo(b)) && !(await b.isConnectedTo(a)), "A and B are connected across formations");
  assert.equal((await b.status()).connectedPeers, 0, "the outsider counts a connected peer");
  const aIds = await a.list(C);
  const bIds = await b.list(C);
  assert.deepEqual(
    aIds.filter((x) => x.startsWith("b-")),
    [],
    "the outsider's docs reached A",
  );
  assert.deepEqual(
    bIds.filter((x) => !x.startsWith("b-")),
    [],
    "A's docs reached the outsider",
  );
  assert.deepEqual(
    (await c.list(C)).filter((x) => x.startsWith("b-")),
    [],
    "the outsider's docs reached C",
  );
  assert.ok(!b.allLogs().includes("formation-f-0") && !a.allLogs().includes("outsider-0"), "document values in the logs");
}

describe("mesh: formation isolation", () => {
  it("different --app-id, same shared key: refused (app_id_mismatch), zero documents cross", async (t) => {
    await isolationCase(t, { outsiderAppId: "formation-g", reasons: ["app_id_mismatch"] });
  });

  it("same --app-id, different --shared-key: refused (bad proof), zero documents cross", async (t) => {
    await isolationCase(t, { outsiderKey: randomKey(), reasons: ["bad_proof", "identity_mismatch"] });
  });
});
