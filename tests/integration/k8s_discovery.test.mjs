// Kubernetes discovery against a fake API server (lib/fake_k8s_api.mjs): a node with
// --enable-kubernetes-discovery lists and watches the EndpointSlices and dials the pods they list
// by pod IP, each pod's endpoint id derived from its pod name and the formation key (CONTRACT.md
// "Identity"); pods that appear are dialed, pods that move are redialed at their new IP, pods
// that disappear are dropped; the watch survives bookmarks, 410 Gone, an expired token (401 until
// the token file is rotated), garbage and a restart of the API server.
//
// The "pods" are real peat-node processes on 127.0.0.x (one mesh port, as pods of a Deployment
// share one), started with --node-id <pod name> so their endpoint ids are what the discovering
// node derives.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/k8s_discovery.test.mjs

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { startFakeK8sApi } from "./lib/fake_k8s_api.mjs";
import { MeshNode, endpointIdOf, freePort, randomKey, waitDoc, waitFor } from "./lib/mesh_cluster.mjs";

describe("kubernetes discovery (fake API server)", () => {
  it("dials pods that appear, redials pods that move, drops pods that leave; the watch survives 410, 401, garbage and a restart", { timeout: 120_000 }, async (t) => {
    const key = randomKey();
    const meshPort = await freePort();
    const api = await startFakeK8sApi({ meshPort, apiSlice: true });
    t.after(() => api.stop());

    const pod = (name, host) => new MeshNode({ name, nodeId: name, sharedKey: key, meshPort, meshHost: host, t });
    const a = pod("pod-a", "127.0.0.2");
    const b = pod("pod-b", "127.0.0.3");
    // The discovering node: its key is seeded by POD_NAME (not by --node-id), as in a pod.
    const env = { ...api.env(), POD_NAME: "pod-d" };
    const d = new MeshNode({
      name: "pod-d", nodeId: "node-d-name", sharedKey: key, meshPort, meshHost: "127.0.0.4", t,
      args: ["--enable-kubernetes-discovery", "true", "--discovery-interval-secs", "2"],
      spawnFn: (bin, args, opts) => spawn(bin, args, { ...opts, env: { ...opts.env, ...env } }),
    });
    d.endpointId = endpointIdOf(key, "pod-d");
    for (const n of [a, b, d]) t.after(() => n.stop().catch(() => {}));

    const peersOfD = async () => new Map((await d.listPeers()).map((p) => [p.endpointId, p]));
    const connectedAt = async (n, host) => {
      const p = (await peersOfD()).get(n.endpointId);
      return !!p && p.connected && p.addresses.some((x) => x.startsWith(`${host}:`));
    };
    const absent = async (n) => !(await peersOfD()).has(n.endpointId);
    const waitMetric = (name, pred, what) => waitFor(async () => pred((await d.metric(name)) ?? 0), { timeoutMs: 15_000, what });

    api.setPod("pod-d", "127.0.0.4"); // itself: never dialed
    api.setPod("pod-a", "127.0.0.2");
    await a.start();
    await b.start();
    await d.start();
    const status = await d.call("GetStatus");
    assert.equal(status.nodeId, "node-d-name", "--node-id stays the node's name");
    assert.equal(status.endpointAddr, d.endpointId, "the key is seeded by POD_NAME");
    // The identity comes from the pod name: pod-a (which dials no one) sees pod-d's derived id.
    await waitFor(() => connectedAt(a, "127.0.0.2"), { timeoutMs: 15_000, what: "pod-a listed → connected" });
    await waitFor(async () => (await a.listPeers()).some((p) => p.endpointId === d.endpointId && p.connected), { what: "pod-a sees pod-d's derived endpoint id" });
    assert.ok(!(await peersOfD()).has(b.endpointId), "pod-b is not listed yet, so not dialed");
    const first = api.requests.find((r) => r.query.watch === "1");
    assert.equal(first.query.allowWatchBookmarks, "true");
    assert.equal(first.query.labelSelector, "app=peat-node");

    // Appearing → dialed; documents flow.
    api.setPod("pod-b", "127.0.0.3");
    await waitFor(() => connectedAt(b, "127.0.0.3"), { timeoutMs: 15_000, what: "pod-b appears → connected" });
    await b.put("k8s", "hello", { from: "pod-b" });
    await waitDoc(d, "k8s", "hello", (text) => text === JSON.stringify({ from: "pod-b" }), { timeoutMs: 10_000 });
    const eventsBefore = await d.metric("peat_discovery_kubernetes_watch_events_total");
    await waitFor(() => api.openWatches() > 0, { what: "a watch open" }); // then bookmark() reaches it
    api.bookmark();
    await waitMetric("peat_discovery_kubernetes_watch_events_total", (v) => v > eventsBefore, "the bookmark applied");

    // Disappearing → dropped (unregistered and disconnected, on both ends).
    api.removePod("pod-a");
    await waitFor(() => absent(a), { timeoutMs: 15_000, what: "pod-a leaves → dropped" });
    await waitFor(async () => !(await a.listPeers()).some((p) => p.connected), { what: "pod-a has no session left" });
    await waitMetric("peat_discovery_kubernetes_drops_total", (v) => v >= 1, "drops counted");

    // Moving → redialed at the new IP (same pod name, so the same endpoint id).
    await b.stop();
    b.meshHost = "127.0.0.5";
    await b.start();
    api.setPod("pod-b", "127.0.0.5");
    await waitFor(() => connectedAt(b, "127.0.0.5"), { timeoutMs: 20_000, what: "pod-b moved → connected at 127.0.0.5" });

    // 410 Gone → the node lists again and keeps following changes.
    const listsBefore = (await d.metric("peat_discovery_kubernetes_lists_total")) ?? 0;
    api.gone();
    await waitMetric("peat_discovery_kubernetes_relists_total", (v) => v >= 1, "410 counted");
    await waitMetric("peat_discovery_kubernetes_lists_total", (v) => v > listsBefore, "a new list after 410");
    api.setPod("pod-a", "127.0.0.2");
    await waitFor(() => connectedAt(a, "127.0.0.2"), { timeoutMs: 15_000, what: "pod-a back after 410 → connected" });
    // The same as an HTTP status on the watch request.
    const relists = await d.metric("peat_discovery_kubernetes_relists_total");
    const seen = api.requests.length;
    api.gone({ http: true });
    await waitMetric("peat_discovery_kubernetes_relists_total", (v) => v > relists, "HTTP 410 counted");
    assert.ok(api.requests.slice(seen).some((r) => r.status === 410 && r.query.watch === "1"), "a watch was answered 410");

    // Garbage on the watch and in the next list → errors counted, no crash, back on track.
    const errorsBefore = (await d.metric("peat_discovery_kubernetes_errors_total")) ?? 0;
    await waitFor(() => api.openWatches() > 0, { what: "a watch open" }); // then garbage() reaches it
    api.garbage();
    await waitMetric("peat_discovery_kubernetes_errors_total", (v) => v >= errorsBefore + 2, "garbage counted (watch line + list)");
    api.removePod("pod-a");
    await waitFor(() => absent(a), { timeoutMs: 15_000, what: "after garbage: pod-a leaves → dropped" });

    // Expired token: 401 until the token file changes, then the watch resumes.
    const unauthorizedBefore = api.requests.filter((r) => r.status === 401).length;
    api.expireToken();
    await waitFor(() => api.requests.filter((r) => r.status === 401).length > unauthorizedBefore, { what: "a request refused with 401" });
    api.rotateToken();
    api.setPod("pod-a", "127.0.0.2");
    await waitFor(() => connectedAt(a, "127.0.0.2"), { timeoutMs: 15_000, what: "after token rotation: pod-a → connected" });

    // A restart of the API server: the watch reconnects and follows changes.
    await api.restart();
    api.removePod("pod-b");
    await waitFor(() => absent(b), { timeoutMs: 20_000, what: "after an API server restart: pod-b leaves → dropped" });
    assert.ok(d.running, "the discovering node is still running");

    // A pod that leaves while the node is down: the mesh redials its persisted registration at
    // startup; the first list drops it (the ids discovery dialed are kept in the data dir).
    await d.stop();
    api.removePod("pod-a");
    await d.start();
    await waitFor(async () => (await d.metric("peat_discovery_kubernetes_lists_total")) >= 1, { what: "listed after the restart" });
    await waitFor(() => absent(a), { timeoutMs: 15_000, what: "pod-a, gone while pod-d was down → dropped" });
    assert.ok(!(await peersOfD()).has(d.endpointId), "never dials itself");
    assert.doesNotMatch(d.allLogs(), /dialing pod .* at [0-9.]+:50051/, "the API Service's port is never dialed");
    assert.match(d.allLogs(), new RegExp(`dialing pod pod-a .* at 127\\.0\\.0\\.2:${meshPort}`));
  });

  it("refuses an API server whose certificate does not chain to the mounted CA, and uses a replaced CA without a restart", { timeout: 60_000 }, async (t) => {
    const key = randomKey();
    const meshPort = await freePort();
    const api = await startFakeK8sApi({ meshPort, wrongCa: true });
    t.after(() => api.stop());
    api.setPod("pod-x", "127.0.0.6"); // not running: listed, dialed, not reached
    const env = { ...api.env(), POD_NAME: "pod-y" };
    const y = new MeshNode({
      name: "pod-y", sharedKey: key, meshPort, meshHost: "127.0.0.7", t,
      args: ["--enable-kubernetes-discovery", "true", "--discovery-interval-secs", "1"],
      spawnFn: (bin, args, opts) => spawn(bin, args, { ...opts, env: { ...opts.env, ...env } }),
    });
    t.after(() => y.stop().catch(() => {}));
    await y.start();
    await waitFor(async () => ((await y.metric("peat_discovery_kubernetes_errors_total")) ?? 0) >= 2, { timeoutMs: 15_000, what: "TLS failures counted" });
    assert.equal(await y.metric("peat_discovery_kubernetes_lists_total"), 0, "nothing listed through an untrusted server");
    assert.equal(api.requests.length, 0, "no request reached the server");
    assert.match(y.allLogs(), /kubernetes discovery: list: TLS handshake/);

    api.mountRightCa();
    await waitFor(async () => (await y.metric("peat_discovery_kubernetes_pods")) === 1, { timeoutMs: 15_000, what: "listed once the right CA is mounted" });
    await waitFor(async () => ((await y.metric("peat_discovery_kubernetes_dials_total")) ?? 0) >= 1, { what: "pod-x dialed" });
    assert.ok(y.running);
  });
});
