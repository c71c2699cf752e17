// mDNS discovery on this machine's LAN interface (issue 13, item 1; docs/DISCOVERY.md).
//
// - Two nodes of one formation, listening for the mesh on 0.0.0.0 with no --peer, find each other
//   (multicast looped back on the host's interface), connect and sync; a third node of another
//   formation (same app id, another key) is skipped by its formation tag: never dialed, and it
//   dials nobody.
// - mDNS is off without a key, with a loopback --mesh-listen, and with --disable-mdns (log lines).
//
// The first test needs an up, non-internal IPv4 interface; without one it is skipped and prints
// "MDNS SKIPPED". Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/mdns.test.mjs

import assert from "node:assert/strict";
import crypto from "node:crypto";
import os from "node:os";
import { describe, it } from "node:test";
import { makeDataDir, startNodeOn } from "./lib/documents.mjs";
import { MeshNode, freePort, randomKey, waitDocText, waitFor } from "./lib/mesh_cluster.mjs";

const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === "IPv4" && !a.internal);
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
