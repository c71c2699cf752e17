// A fake Kubernetes API server for Kubernetes discovery tests: HTTPS (a per-run CA made by
// fake_agent.mjs's makeCerts, server certificate for IP 127.0.0.1), serving the EndpointSlices of
// one namespace — list and watch (chunked JSON lines, bookmarks) — with bearer-token checks.
//
// The pods are endpoints of one slice ("peat-node-abc", port "mesh"); setPod/removePod change it
// (an ADDED, then MODIFIED events). With apiSlice, a second slice lists the same pods at the API
// port ("peat-node-aaa-api", listed first; one port named "grpc" = 50051), as the chart's API Service does: its port
// must never be dialed. Faults the node must survive:
//   gone()         compacts history: open watches get an ERROR 410 event and end; a watch from an
//                  older resourceVersion gets the same (the node must list again); gone({http:
//                  true}): open watches just end, and a watch from an older version is answered
//                  with HTTP status 410 instead
//   bookmark()     a BOOKMARK event on every open watch
//   expireToken()  the token in force changes: every request answers 401 (and open watches end)
//                  until rotateToken() writes the new token to the mounted token file
//   garbage()      one line of garbage on every open watch, and the next list answers garbage
//   restart()      closes the server and every connection, then listens again on the same port
//   wrongCa: true  mounts another CA's certificate as ca.crt (the node must refuse the server);
//                  mountRightCa() puts the right one in place
// serviceAccountDir holds token, ca.crt and namespace (PEAT_K8S_SERVICEACCOUNT_DIR for the node);
// env() gives the node's environment. requests records {path, query, status} of every request.

import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { makeCerts } from "./fake_agent.mjs";

const SLICE = "peat-node-abc";

export async function startFakeK8sApi({ namespace = "peat", labelSelector = "app=peat-node", meshPort, wrongCa = false, apiSlice = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-k8s-api-"));
  const certs = makeCerts(path.join(dir, "pki"));
  const sa = path.join(dir, "serviceaccount");
  fs.mkdirSync(sa);
  fs.copyFileSync(wrongCa ? certs.otherCa : certs.ca, path.join(sa, "ca.crt"));
  fs.writeFileSync(path.join(sa, "namespace"), `${namespace}\n`);
  let token = crypto.randomBytes(16).toString("hex");
  fs.writeFileSync(path.join(sa, "token"), token);

  let rv = 100;
  let compactedBelow = 0;
  const pods = new Map(); // name → ip
  let sliceExists = false;
  const history = []; // {rv, type, object}
  const watches = new Set(); // open watch responses
  const sockets = new Set();
  let garbageNextList = false;
  let goneAsHttp = false;
  const requests = [];

  const slices = apiSlice ? [[SLICE, "mesh", meshPort], ["peat-node-aaa-api", "grpc", 50051]] : [[SLICE, "mesh", meshPort]];
  const sliceObject = ([name, portName, port] = slices[0]) => ({
    kind: "EndpointSlice", apiVersion: "discovery.k8s.io/v1",
    metadata: { name, namespace, resourceVersion: String(rv), labels: { app: "peat-node" }, annotations: { "peat.note": "fake" } },
    addressType: "IPv4",
    ports: [{ name: portName, port, protocol: "TCP" }],
    endpoints: [...pods].map(([name, ip]) => ({
      addresses: [ip], conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: "Pod", namespace, name, uid: crypto.createHash("sha1").update(name).digest("hex") },
    })),
  });
  const writeLine = (res, obj) => res.write(typeof obj === "string" ? `${obj}\n` : `${JSON.stringify(obj)}\n`);
  const emit = (type) => {
    for (const slice of slices) {
      rv += 1;
      const ev = { rv, type, object: sliceObject(slice) };
      history.push(ev);
      for (const w of watches) if (w.fromRv < ev.rv) writeLine(w.res, { type: ev.type, object: ev.object });
    }
  };
  const changed = () => {
    emit(sliceExists ? "MODIFIED" : "ADDED");
    sliceExists = true;
  };
  const status = (code, reason, message) => ({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code });
  const endWatch = (w) => { watches.delete(w); clearTimeout(w.timer); w.res.end(); };

  const handler = (req, res) => {
    const url = new URL(req.url, "https://127.0.0.1");
    const rec = { path: url.pathname, query: Object.fromEntries(url.searchParams), status: 200, at: Date.now() };
    requests.push(rec);
    const answer = (code, body) => {
      rec.status = code;
      res.writeHead(code, { "content-type": "application/json" });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return answer(401, status(401, "Unauthorized", "Unauthorized"));
    if (url.pathname !== `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`) return answer(404, status(404, "NotFound", "not found"));
    if (url.searchParams.get("labelSelector") !== labelSelector) return answer(200, { kind: "EndpointSliceList", apiVersion: "discovery.k8s.io/v1", metadata: { resourceVersion: String(rv) }, items: [] });
    if (url.searchParams.get("watch") !== "1") {
      if (garbageNextList) {
        garbageNextList = false;
        return answer(200, "{\"kind\":\"EndpointSliceList\",\"items\":[{garbage");
      }
      return answer(200, { kind: "EndpointSliceList", apiVersion: "discovery.k8s.io/v1", metadata: { resourceVersion: String(rv) }, items: sliceExists ? slices.map(sliceObject) : [] });
    }
    const from = Number(url.searchParams.get("resourceVersion") ?? rv);
    if (from < compactedBelow && goneAsHttp) return answer(410, status(410, "Expired", "too old resource version"));
    res.writeHead(200, { "content-type": "application/json" }); // chunked: no content-length
    if (from < compactedBelow) {
      writeLine(res, { type: "ERROR", object: status(410, "Expired", `too old resource version: ${from} (${compactedBelow})`) });
      rec.status = 410;
      return res.end();
    }
    for (const ev of history) if (ev.rv > from) writeLine(res, { type: ev.type, object: ev.object });
    const w = { res, fromRv: from };
    const secs = Number(url.searchParams.get("timeoutSeconds") ?? 0);
    if (secs > 0) w.timer = setTimeout(() => endWatch(w), secs * 1000);
    watches.add(w);
    res.on("close", () => { watches.delete(w); clearTimeout(w.timer); });
  };

  let server;
  let port = 0;
  const listen = () => new Promise((resolve, reject) => {
    server = https.createServer({ key: fs.readFileSync(certs.serverKey), cert: fs.readFileSync(certs.serverCert) }, handler);
    server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => { port = server.address().port; resolve(); });
  });
  const close = () => new Promise((resolve) => {
    for (const w of [...watches]) endWatch(w);
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
  await listen();

  return {
    get port() { return port; },
    serviceAccountDir: sa,
    requests,
    env: () => ({ KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(port), PEAT_K8S_SERVICEACCOUNT_DIR: sa }),
    setPod(name, ip) { pods.set(name, ip); changed(); },
    removePod(name) { pods.delete(name); changed(); },
    bookmark() {
      for (const w of watches) writeLine(w.res, { type: "BOOKMARK", object: { kind: "EndpointSlice", apiVersion: "discovery.k8s.io/v1", metadata: { resourceVersion: String(rv) } } });
    },
    gone({ http = false } = {}) {
      goneAsHttp = http;
      compactedBelow = rv + 1;
      rv += 1;
      for (const w of [...watches]) {
        if (!http) writeLine(w.res, { type: "ERROR", object: status(410, "Expired", "too old resource version") });
        endWatch(w);
      }
    },
    expireToken() {
      token = crypto.randomBytes(16).toString("hex");
      for (const w of [...watches]) endWatch(w);
    },
    rotateToken() { fs.writeFileSync(path.join(sa, "token"), token); },
    mountRightCa() { fs.copyFileSync(certs.ca, path.join(sa, "ca.crt")); },
    garbage() {
      garbageNextList = true;
      for (const w of watches) writeLine(w.res, "{\"type\":\"MODIFIED\",\"object\":{garbage");
    },
    openWatches: () => watches.size,
    async restart() { await close(); await listen(); },
    async stop() { await close(); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}
