// Two peat-node processes on loopback, one formation (BEHAVIOR.md "Peers, sync, status"; LESSONS
// 4, 10, 13, 17): writes both ways visible within 1 s, deletes replicate and never come back
// (after a restart or a disconnect/reconnect), concurrent writes to different fields merge per
// field, ConnectPeer validation codes, ListPeers / DisconnectPeer, GetStatus / GetSyncStats and
// the per-peer /metrics, Subscribe events (UPSERT and DELETE) for remote changes.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/mesh_pair.test.mjs

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { describe, it } from "node:test";
import { preview } from "./lib/documents.mjs";
import {
  DELETE,
  MeshNode,
  PHASE_SYNCING,
  UPSERT,
  endpointIdOf,
  freePort,
  makeDoc,
  randomKey,
  startCluster,
  waitAbsent,
  waitDocText,
  waitEvent,
  waitFor,
  waitSubscribed,
} from "./lib/mesh_cluster.mjs";

const C = "pair";
const VISIBLE_MS = 1_000; // BEHAVIOR: a write on one node is readable on its connected peer within 1 s

/** Puts doc on `from`, then polls `to` until it holds the same canonical JSON; returns the delay (ms) after the put's ack. */
async function putAndSee(from, to, id, doc, timeoutMs = 5_000) {
  await from.put(C, id, doc);
  const acked = Date.now();
  const text = await from.getText(C, id);
  await waitDocText(to, C, id, text, { timeoutMs, intervalMs: 5 });
  return Date.now() - acked;
}

/** Random-content documents (incompressible values) and their total JSON size. */
function randomDocs(prefix, n, bytes = 300) {
  const docs = Array.from({ length: n }, (_, i) => [`${prefix}-${i}`, { blob: crypto.randomBytes(bytes / 2).toString("hex"), i }]);
  return { docs, json: docs.reduce((a, [, d]) => a + JSON.stringify(d).length, 0) };
}

describe("mesh: two nodes", () => {
  it("writes both ways are visible within 1 s; deletes propagate; Subscribe on B sees UPSERT and DELETE for A's writes", async (t) => {
    const { nodes } = await startCluster({ t, n: 2, edges: [[0, 1]] });
    const [a, b] = nodes;
    const sub = b.subscribe([C]);
    t.after(() => sub.cancel());
    const live = await waitSubscribed(b, sub, C);

    // A → B, several times (the first one may include warm-up), each within 1 s
    const delays = [];
    for (let i = 0; i < 5; i++) delays.push(await putAndSee(a, b, `from-a-${i}`, { ...makeDoc(i), writer: "a" }));
    t.diagnostic(`A → B visible after ${delays.join(", ")} ms`);
    assert.ok(Math.max(...delays) <= VISIBLE_MS, `A → B took ${Math.max(...delays)} ms (> ${VISIBLE_MS})`);

    // B → A
    const back = [];
    for (let i = 0; i < 5; i++) back.push(await putAndSee(b, a, `from-b-${i}`, { ...makeDoc(100 + i), writer: "b" }));
    t.diagnostic(`B → A visible after ${back.join(", ")} ms`);
    assert.ok(Math.max(...back) <= VISIBLE_MS, `B → A took ${Math.max(...back)} ms (> ${VISIBLE_MS})`);

    // B's stream saw an UPSERT with A's exact content for every A write
    for (let i = 0; i < 5; i++) {
      const ev = await waitEvent(sub, (m) => m.docId === `from-a-${i}` && m.changeType === UPSERT, { from: live, what: `UPSERT from-a-${i} on B` });
      assert.equal(ev.collection, C);
      assert.equal(ev.jsonData, await a.getText(C, `from-a-${i}`));
    }

    // deletes both ways, within 1 s, and B's stream shows a DELETE without json_data
    for (const [from, to, id] of [
      [a, b, "from-a-0"],
      [b, a, "from-b-0"],
    ]) {
      await from.del(C, id);
      const t0 = Date.now();
      await waitAbsent(to, C, id, { intervalMs: 5 });
      const ms = Date.now() - t0;
      assert.ok(ms <= VISIBLE_MS, `delete ${id} ${from.name} → ${to.name} took ${ms} ms`);
      assert.ok(!(await to.list(C)).includes(id), `${id} still listed on ${to.name}`);
    }
    const del = await waitEvent(sub, (m) => m.docId === "from-a-0" && m.changeType === DELETE, { from: live, what: "DELETE from-a-0 on B" });
    assert.equal(del.jsonData, undefined, `DELETE event with json_data: ${preview(del)}`);

    // an update replaces the content on the peer (not merged with the old fields)
    await putAndSee(a, b, "from-a-1", { only: "this" });
    assert.equal(await b.getText(C, "from-a-1"), '{"only":"this"}');
    // a Put after a Delete brings the doc back with only the new content
    await putAndSee(b, a, "from-b-0", { reborn: true });
    assert.equal(await a.getText(C, "from-b-0"), '{"reborn":true}');
  });

  it("a deleted document never comes back: delete then restart, delete while the peer is down, delete while disconnected", async (t) => {
    const cl = await startCluster({ t, n: 2, edges: [[0, 1]] });
    const [a, b] = cl.nodes;
    const ids = ["seen-then-restart", "while-down", "while-disconnected", "keep"];
    for (const id of ids) await a.put(C, id, { id, v: 1 });
    await cl.waitConverged([C], { minCount: ids.length });

    // 1. delete on A, B applies it, B is killed and restarted: nothing comes back
    await a.del(C, "seen-then-restart");
    await waitAbsent(b, C, "seen-then-restart");
    await b.restart(); // SIGKILL + start (same data dir, port, --peer flags)
    await cl.waitEdgesConnected();
    await b.put(C, "marker-1", { m: 1 }); // a write after the reconnect: sync flowed both ways once it is on A
    await waitDocText(a, C, "marker-1", '{"m":1}', { timeoutMs: 10_000 });
    for (const n of [a, b]) assert.equal(await n.getText(C, "seen-then-restart"), undefined, `resurrected on ${n.name} after B's restart`);

    // 2. B down (SIGKILL) while A deletes; B comes back with its stale live copy
    await b.kill();
    await a.del(C, "while-down");
    await b.start();
    await cl.waitEdgesConnected();
    await waitAbsent(b, C, "while-down", { timeoutMs: 10_000 });
    await b.put(C, "marker-2", { m: 2 });
    await waitDocText(a, C, "marker-2", '{"m":2}', { timeoutMs: 10_000 });
    assert.equal(await a.getText(C, "while-down"), undefined, "B's stale copy resurrected the doc on A");

    // 3. DisconnectPeer, delete on A, ConnectPeer again
    await a.disconnectPeer(b);
    await waitFor(async () => !(await b.isConnectedTo(a)), { what: "B sees A gone after DisconnectPeer" });
    await a.del(C, "while-disconnected");
    const r = await a.connectPeer(b);
    assert.equal(r.ok, true, `ConnectPeer after DisconnectPeer: ${r.code} ${r.errorMessage}`);
    await waitAbsent(b, C, "while-disconnected", { timeoutMs: 10_000 });
    await b.put(C, "marker-3", { m: 3 });
    await waitDocText(a, C, "marker-3", '{"m":3}', { timeoutMs: 10_000 });

    const final = await cl.waitConverged([C]);
    const live = [...final.docs.keys()].map((k) => k.split("\u0000")[1]).sort();
    assert.deepEqual(live, ["keep", "marker-1", "marker-2", "marker-3"]);
  });

  it("concurrent writes to different fields while sync is stopped merge per field on both nodes after StartSync", async (t) => {
    const cl = await startCluster({ t, n: 2, edges: [[0, 1]] });
    const [a, b] = cl.nodes;
    const base = { a: 0, b: 0, pos: { lat: 1.5, lon: 2.5 }, same: "base", tags: ["x"] };
    await a.put(C, "m", base);
    await waitDocText(b, C, "m", await a.getText(C, "m"));

    await a.stopSync();
    await b.stopSync();
    for (const n of [a, b]) assert.equal((await n.syncStats()).syncActive, false, `${n.name} sync_active after StopSync`);
    // A owns a, pos.lat, tags; B owns b, pos.lon; both write `same` (a true conflict)
    await a.put(C, "m", { ...base, a: 1, pos: { lat: 10.5, lon: 2.5 }, same: "from-a", tags: ["x", "a"] });
    await b.put(C, "m", { ...base, b: 2, pos: { lat: 1.5, lon: 20.5 }, same: "from-b" });
    // a doc written on each side alone while paused
    await a.put(C, "only-a", { side: "a" });
    await b.put(C, "only-b", { side: "b" });
    assert.equal(await b.getText(C, "only-a"), undefined, "a write crossed while both sides were stopped");

    await a.startSync();
    await b.startSync();
    const merged = await cl.waitConverged([C], { minCount: 3, timeoutMs: 10_000 });
    const doc = JSON.parse(merged.docs.get(`${C}\u0000m`));
    assert.equal(doc.a, 1, `A's field lost: ${preview(doc)}`);
    assert.equal(doc.b, 2, `B's field lost: ${preview(doc)}`);
    assert.deepEqual(doc.pos, { lat: 10.5, lon: 20.5 }, "nested fields merge per field");
    assert.deepEqual(doc.tags, ["x", "a"], "arrays are atomic values: A's array wins (B never wrote it)");
    assert.ok(doc.same === "from-a" || doc.same === "from-b", `conflicting field: ${preview(doc)}`);
    assert.equal(await a.getText(C, "only-b"), '{"side":"b"}');
    assert.equal(await b.getText(C, "only-a"), '{"side":"a"}');
  });

  it("ConnectPeer validation: bad id and no addresses → invalid_argument; unreachable → unavailable within a few seconds", async (t) => {
    const key = randomKey();
    const a = await new MeshNode({ name: "A", sharedKey: key, appId: "validation", meshPort: await freePort(), t }).start();
    const goodId = endpointIdOf(key, "nobody");
    for (const bad of ["", "xyz", goodId.slice(0, 63), `${goodId}0`, goodId.toUpperCase(), `${goodId.slice(0, 63)}g`]) {
      const r = await a.connectPeer({ endpointId: bad, addresses: ["127.0.0.1:1"] });
      assert.equal(r.ok, false, `ConnectPeer accepted endpoint id ${JSON.stringify(bad)}`);
      assert.equal(r.code, "invalid_argument", `endpoint id ${JSON.stringify(bad)}: ${r.code} ${r.errorMessage}`);
    }
    for (const addresses of [[], [""]]) {
      const r = await a.connectPeer({ endpointId: goodId, addresses });
      assert.equal(r.code, "invalid_argument", `addresses ${JSON.stringify(addresses)}: ${r.ok ? "ok" : `${r.code} ${r.errorMessage}`}`);
      assert.match(r.errorMessage, /addresses/, "the message names the addresses field");
    }
    const deadPort = await freePort(); // nothing listens there
    const t0 = Date.now();
    const r = await a.connectPeer({ endpointId: goodId, addresses: [`127.0.0.1:${deadPort}`] });
    const ms = Date.now() - t0;
    assert.equal(r.code, "unavailable", `unreachable peer: ${r.ok ? "ok" : `${r.code} ${r.errorMessage}`}`);
    assert.ok(ms <= 5_000, `unreachable peer answered after ${ms} ms`);
    assert.ok(r.errorMessage.length > 0, "unavailable without a reason");
    assert.ok(!(await a.isConnectedTo(goodId)), "an unreachable peer is listed as connected");
    // DisconnectPeer of a peer we never had: success
    await a.disconnectPeer(goodId);
  });

  it("ConnectPeer → ListPeers, GetStatus SYNCING, GetSyncStats and /metrics move with traffic; DisconnectPeer removes the peer at once", async (t) => {
    const cl = await startCluster({ t, n: 2, via: "rpc", edges: [[0, 1]] });
    const [a, b] = cl.nodes;

    // ListPeers on both sides: connected, with an address; A dialed B's mesh address
    const pa = (await a.listPeers()).find((p) => p.endpointId === b.endpointId);
    assert.ok(pa?.connected, `A's ListPeers: ${preview(await a.listPeers())}`);
    assert.ok(pa.addresses.some((x) => x.includes(`:${b.meshPort}`)), `A's address for B is not B's mesh address: ${preview(pa.addresses)}`);
    const pb = (await b.listPeers()).find((p) => p.endpointId === a.endpointId);
    assert.ok(pb?.connected && pb.addresses.length > 0, `B's ListPeers: ${preview(await b.listPeers())}`);

    for (const n of [a, b]) {
      const st = await n.status();
      assert.equal(st.endpointAddr, n.endpointId, `${n.name}: endpoint_addr`);
      assert.equal(st.phase, PHASE_SYNCING, `${n.name}: phase`);
      assert.equal(st.syncActive, true, `${n.name}: sync_active`);
      assert.equal(st.connectedPeers, 1, `${n.name}: connected_peers`);
    }

    // bytes move with real traffic, both ways, and are counted on both ends (LESSONS 10)
    const s0 = { a: await a.syncStats(), b: await b.syncStats() };
    assert.equal(s0.a.connectedPeers, 1);
    assert.equal(s0.a.syncActive, true);
    const { docs, json } = randomDocs("stats", 50);
    await a.putMany(C, docs);
    await waitFor(async () => (await b.list(C)).length >= docs.length, { what: "B has A's 50 docs" });
    const s1 = { a: await a.syncStats(), b: await b.syncStats() };
    const sent = s1.a.bytesSent - s0.a.bytesSent;
    const recv = s1.b.bytesReceived - s0.b.bytesReceived;
    t.diagnostic(`50 docs (${json} B JSON): A sent ${sent} B, B received ${recv} B`);
    assert.ok(sent >= json / 2, `A's bytes_sent moved ${sent} B for ${json} B of incompressible JSON`);
    assert.ok(recv >= json / 2, `B's bytes_received moved ${recv} B for ${json} B of incompressible JSON`);
    assert.ok(s1.b.bytesSent > s0.b.bytesSent, "B sent nothing back (acks/checkpoints)");
    const { docs: back, json: backJson } = randomDocs("stats-back", 20);
    await b.putMany(C, back);
    await waitFor(async () => (await a.list(C)).length >= docs.length + back.length, { what: "A has B's 20 docs" });
    const s2 = { a: await a.syncStats(), b: await b.syncStats() };
    assert.ok(s2.b.bytesSent - s1.b.bytesSent >= backJson / 2, `B's bytes_sent moved ${s2.b.bytesSent - s1.b.bytesSent} B for ${backJson} B`);
    assert.ok(s2.a.bytesReceived - s1.a.bytesReceived >= backJson / 2, `A's bytes_received moved ${s2.a.bytesReceived - s1.a.bytesReceived} B`);
    // the two ends count the same wire (give or take what is in flight and keepalives)
    const skew = Math.abs(s2.a.bytesSent - s2.b.bytesReceived);
    assert.ok(skew <= 0.2 * s2.a.bytesSent + 8192, `A sent ${s2.a.bytesSent} B but B received ${s2.b.bytesReceived} B`);

    // /metrics: connected gauge, per-peer series labelled with the peer's short id
    await waitFor(
      async () => {
        const m = await a.metrics();
        const v = (name) => m.find((s) => s.name === name && s.labels.peer === b.shortId)?.value;
        return (
          m.find((s) => s.name === "peat_mesh_connected_peers")?.value === 1 &&
          v("peat_mesh_peer_connected") === 1 &&
          v("peat_mesh_bytes_sent_total") > 0 &&
          v("peat_mesh_bytes_received_total") > 0 &&
          v("peat_mesh_replication_lag") === 0 &&
          v("peat_mesh_last_contact_age_seconds") >= 0 &&
          v("peat_mesh_last_contact_age_seconds") < 60
        );
      },
      { what: `A's /metrics mesh series for peer="${b.shortId}" (connected, bytes > 0, lag 0 after convergence, recent contact)`, describe: () => "" },
    ).catch(async (e) => {
      const text = (await a.metrics()).filter((s) => s.name.startsWith("peat_mesh_")).map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`);
      throw new Error(`${e.message}\n${text.join("\n")}`);
    });

    // DisconnectPeer: gone from ListPeers at once; the other side notices; counters drop to 0
    await a.disconnectPeer(b);
    assert.ok(!(await a.listPeers()).some((p) => p.endpointId === b.endpointId), `B still in A's ListPeers right after DisconnectPeer: ${preview(await a.listPeers())}`);
    await waitFor(async () => !(await b.isConnectedTo(a)), { what: "B no longer lists A as connected" });
    await waitFor(async () => (await a.status()).connectedPeers === 0 && (await a.syncStats()).connectedPeers === 0, { what: "A: connected_peers 0" });
    assert.equal(await a.metric("peat_mesh_connected_peers"), 0);
  });
});
