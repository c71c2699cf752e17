// Relay once (docs/ARCHITECTURE.md "Relay once"): 8 real nodes on a degree-3 graph, one document
// written on every node at once. With the default --mesh-relay offer every node receives each
// change about once (Σ peat_mesh_changes_received_total ≤ 1.2 · N·(N−1)) and relays go as offers;
// with --mesh-relay push, the same graph delivers each change from every neighbour that has it
// (> 1.5 · N·(N−1)): the check tells the two apart. Both converge to identical documents, and a
// later update of one document travels the same way.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/mesh_relay_once.test.mjs

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { makeDoc, prng, randomMinDegree, startCluster } from "./lib/mesh_cluster.mjs";

const N = 8;
const C = "relay";

async function sum(nodes, name) {
  const values = await Promise.all(nodes.map((nd) => nd.metric(name)));
  return values.reduce((a, v) => a + (v ?? 0), 0);
}

async function writeEverywhereAndConverge(cl) {
  const before = await sum(cl.nodes, "peat_mesh_changes_received_total");
  await Promise.all(cl.nodes.map((nd, i) => nd.put(C, `doc-${i}`, makeDoc(i))));
  await cl.waitConverged([C], { minCount: N, timeoutMs: 30_000 });
  await cl.nodes[3].put(C, "doc-0", makeDoc(0, 1));
  await cl.waitConverged([C], { minCount: N, timeoutMs: 30_000 });
  return (await sum(cl.nodes, "peat_mesh_changes_received_total")) - before;
}

describe("mesh: relay once", () => {
  const edges = randomMinDegree(N, 3, prng(7));
  // N documents, then one update: each reaches N − 1 nodes.
  const once = (N + 1) * (N - 1);

  it(`offer (default): ${N} nodes of degree ≥ 3 receive each change about once`, async (t) => {
    const cl = await startCluster({ t, n: N, edges });
    const deliveries = await writeEverywhereAndConverge(cl);
    const offers = await sum(cl.nodes, "peat_mesh_offers_sent_total");
    const wanted = await sum(cl.nodes, "peat_mesh_states_wanted_total");
    t.diagnostic(`deliveries ${deliveries} (÷ ${once} = ${(deliveries / once).toFixed(2)}), offers ${offers}, wanted ${wanted}`);
    assert.ok(deliveries >= once, `every node got every change (${deliveries} < ${once})`);
    assert.ok(deliveries <= 1.2 * once, `deliveries ${deliveries} > 1.2 × ${once}`);
    // Relay trees push each change along one path; the links off the trees carry offers, and a
    // node fetches (wanted) only when an offer beats its parent's copy past the patience, which
    // depends on timing: 0 is as good an answer as a few.
    assert.ok(offers > 0, "relays off the relay trees went as offers");
  });

  it(`push: the same graph delivers changes from every neighbour that has them`, async (t) => {
    const cl = await startCluster({ t, n: N, edges, args: () => ["--mesh-relay", "push"] });
    const deliveries = await writeEverywhereAndConverge(cl);
    t.diagnostic(`deliveries ${deliveries} (÷ ${once} = ${(deliveries / once).toFixed(2)})`);
    assert.ok(deliveries > 1.5 * once, `deliveries ${deliveries} ≤ 1.5 × ${once}`);
    assert.equal(await sum(cl.nodes, "peat_mesh_offers_sent_total"), 0);
  });
});
