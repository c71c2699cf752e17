// mDNS discovery on this machine's LAN interface (issue 13, item 1; docs/DISCOVERY.md).
//
// - Two nodes of one formation, listening for the mesh on 0.0.0.0 with no --peer, find each other
//   (multicast looped back on the host's interface), connect and sync; a third node of another
//   formation (same app id, another key) is skipped by its formation tag: never dialed, and it
//   dials nobody. A forged advert (the stranger's id under our tag) gets one refused dial from
//   each node, then is held off: still never dialed twice.
// - mDNS is off without a key, with a loopback --mesh-listen, and with --disable-mdns (log lines).
//
// The first test needs an up, non-internal IPv4 interface; without one it is skipped and prints
// "MDNS SKIPPED". Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/mdns.test.mjs

import assert from "node:assert/strict";
import crypto from "node:crypto";
import dgram from "node:dgram";
import os from "node:os";
import { describe, it } from "node:test";
import { makeDataDir, startNodeOn } from "./lib/documents.mjs";
import { MeshNode, freePort, randomKey, waitDocText, waitFor } from "./lib/mesh_cluster.mjs";

const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === "IPv4" && !a.internal);
/** An mDNS response holding one TXT record: the advert of `id` at mesh `port` with formation `tag`. */
function advertDatagram(id, port, tag) {
  const name = (n) => Buffer.concat([...n.split(".").filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  const txt = Buffer.concat(["v=1", `id=${id}`, `port=${port}`, `ft=${tag}`].map((s) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)])));
  const header = Buffer.from([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(16, 0); // TXT
  fixed.writeUInt16BE(0x8001, 2); // IN, cache flush
  fixed.writeUInt32BE(120, 4);
  fixed.writeUInt16BE(txt.length, 8);
  return Buffer.concat([header, name(`peat-${id.slice(0, 16)}._peat-node._tcp.local.`), fixed, txt]);
}

// The test libraries start every node with --disable-mdns; the last occurrence wins.
const ON = "--disable-mdns=false";
if (!lanAddress) console.log("MDNS SKIPPED: no non-internal IPv4 interface to multicast on");

describe("mDNS discovery", () => {
  it("two nodes with no --peer find each other and sync; a node of another formation is never dialed", { skip: !lanAddress && "no LAN interface" }, async (t) => {
    const appId = `mdns-${crypto.randomBytes(4).toString("hex")}`;
    const key = randomKey();
    const node = async (name, sharedKey) => {
      const n = new MeshNode({ name, sharedKey, appId, meshHost: "0.0.0.0", meshPort: await freePort(), args: [ON], t });
      return n.start();
    };
    const a = await node("a", key);
    const b = await node("b", key);
    const stranger = await node("x", randomKey());
    for (const n of [a, b, stranger]) assert.match(n.allLogs(), /mdns: advertising _peat-node\._tcp\.local\. on /, `${n.name}: no advertising line`);

    await waitFor(async () => (await a.metric("peat_mesh_connected_peers")) === 1 && (await b.metric("peat_mesh_connected_peers")) === 1, {
      timeoutMs: 15_000,
      what: "a and b connected by mDNS",
    });
    await a.put("found", "doc-1", { from: "a" });
    await waitDocText(b, "found", "doc-1", await a.getText("found", "doc-1"), { timeoutMs: 5_000 });

    // The stranger's three start adverts (0, 1, 3 s) were each skipped by a and b, by its tag.
    await waitFor(async () => (await a.metric("peat_discovery_skipped_total", { reason: "formation" })) >= 3 && (await b.metric("peat_discovery_skipped_total", { reason: "formation" })) >= 3, {
      timeoutMs: 10_000,
      what: "a and b to skip the stranger's three start adverts",
    });
    assert.equal((await stranger.metric("peat_mesh_handshake_failures_total")) ?? 0, 0, "nobody dialed the stranger");
    assert.equal((await stranger.metric("peat_mesh_connected_peers")) ?? 0, 0);
    assert.equal((await stranger.metric("peat_discovery_dials_total")) ?? 0, 0, "the stranger dialed nobody");
    assert.equal((await a.metric("peat_discovery_dials_total", { result: "refused" })) ?? 0, 0);
    assert.equal(await stranger.getText("found", "doc-1"), undefined, "the stranger never got the document");

    // A forged advert: the stranger's id and mesh port under OUR formation tag (as a stranger that
    // copied it would send). a and b dial it once each, the handshake refuses, and the same advert
    // sent again is held off (recent_failure): the stranger is never dialed twice by anyone.
    const tag = Buffer.from(crypto.hkdfSync("sha256", Buffer.from(key, "base64"), Buffer.alloc(0), Buffer.from(`peat-node mdns formation tag v1:${appId}`), 8)).toString("hex");
    const strangerId = (await stranger.status()).endpointAddr;
    const forged = advertDatagram(strangerId, stranger.meshPort, tag);
    const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
    t.after(() => sock.close());
    await new Promise((resolve) => sock.bind(5353, resolve));
    sock.setMulticastInterface(lanAddress.address);
    sock.setMulticastLoopback(true);
    const send = () => new Promise((resolve, reject) => sock.send(forged, 5353, "224.0.0.251", (e) => (e ? reject(e) : resolve())));
    const refused = async (n) => (await n.metric("peat_discovery_dials_total", { result: "refused" })) ?? 0;
    const heldOff = async (n) => (await n.metric("peat_discovery_skipped_total", { reason: "recent_failure" })) ?? 0;
    await send();
    await waitFor(async () => (await refused(a)) === 1 && (await refused(b)) === 1, { timeoutMs: 15_000, what: "a and b to dial the forged advert once, refused" });
    for (let i = 1; i <= 3; i++) {
      await send();
      await waitFor(async () => (await heldOff(a)) >= i && (await heldOff(b)) >= i, { timeoutMs: 5_000, what: `forged advert #${i + 1} held off on a and b` });
    }
    assert.equal(await refused(a), 1, "a dialed the forger once");
    assert.equal(await refused(b), 1, "b dialed the forger once");
    assert.equal(await stranger.metric("peat_mesh_handshake_failures_total"), 2, "the stranger saw exactly one dial from each");
    assert.equal(await stranger.getText("found", "doc-1"), undefined);
  });

  it("is off without a key, with a loopback --mesh-listen, and with --disable-mdns", async (t) => {
    const keyless = await startNodeOn(makeDataDir(), { t, args: [ON] });
    assert.match(keyless.stderrText, /mdns: off: the formation has no key/);
    const loopback = await startNodeOn(makeDataDir(), { t, args: [ON, "--shared-key", randomKey(), "--mesh-listen", "tcp://127.0.0.1:0"] });
    assert.match(loopback.stderrText, /mdns: off: the mesh listens on loopback only/);
    const disabled = await startNodeOn(makeDataDir(), { t, args: ["--shared-key", randomKey(), "--disable-mdns"] });
    assert.match(disabled.stderrText, /mdns: disabled \(--disable-mdns\)/);
    for (const n of [keyless, loopback, disabled]) assert.doesNotMatch(n.stderrText, /mdns: advertising/);
  });
});
