// The chart's invariants (PACKAGING.md §2.2, §3), checked on `helm template` output for the
// default values, every chart/peat-node/ci/*.yaml and the two test parent charts (mode 2:
// injected container, mode 3: native sidecar); the last test starts build/peat-node (PEAT_NODE_BIN)
// with each rendered configuration. Run by scripts/package/check-chart.sh:
//   HELM=$(scripts/package/helm.sh) node --test chart/test/chart.test.mjs
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  chartDir,
  envOf,
  parentChart,
  peatContainer,
  podSpecs,
  projectVersion,
  readYaml,
  render,
  repoRoot,
  udsPackageProblems,
  validateObject,
} from "./lib.mjs";

const KEY = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";
const ciFiles = readdirSync(join(chartDir, "ci")).filter((f) => f.endsWith(".yaml")).sort();

// Every case: its name, the chart, the values it was rendered with (merged, for expectations).
const cases = [{ name: "default", chart: chartDir, opts: {}, values: {} }];
for (const f of ciFiles) {
  const path = join(chartDir, "ci", f);
  cases.push({ name: `ci/${f}`, chart: chartDir, opts: { values: [path] }, values: readYaml(path) });
}
for (const p of ["parent-injected", "parent-native"]) {
  const values = readYaml(join(chartDir, "../test", p, "values.yaml"))["peat-node"];
  cases.push({ name: p, chart: parentChart(p), opts: { set: [`formationKey=${KEY}`] }, values, parent: p });
}
for (const c of cases) c.objs = render(c.chart, c.opts);

const defaults = readYaml(join(chartDir, "values.yaml"));
const merged = (c) => ({ ...defaults, ...c.values });
const listenKind = (listen) => {
  if (listen.startsWith("unix://")) return "unix";
  const host = listen.replace(/^tcp:\/\//, "").replace(/:[0-9]+$/, "");
  return host.startsWith("127.") || host === "localhost" || host === "[::1]" ? "loopback" : "tcp";
};
const peatPods = (c) => podSpecs(c.objs).filter((p) => peatContainer(p.spec));

test("every case renders exactly one pod with a peat-node container", () => {
  for (const c of cases) assert.equal(peatPods(c).length, 1, c.name);
});

test("every rendered object validates against the Kubernetes schemas", async (t) => {
  let n = 0;
  for (const c of cases)
    for (const o of c.objs) {
      if (o.kind === "Package") continue; // a CRD: its shape is checked below
      const err = await validateObject(o);
      assert.equal(err, null, `${c.name}: ${o.kind} ${o.metadata?.name}: ${err}`);
      n++;
    }
  assert.ok(n >= 25, `validated only ${n} objects`);
  t.diagnostic(`${n} objects of ${cases.length} renders validated`);
});

test("image tag = appVersion = chart version = CMake project version", () => {
  const chart = readYaml(join(chartDir, "Chart.yaml"));
  const v = projectVersion();
  assert.equal(chart.version, v);
  assert.equal(String(chart.appVersion), v);
  for (const c of cases) assert.equal(peatContainer(peatPods(c)[0].spec).image, `${defaults.image.repository}:${v}`, c.name);
});

test("security context: non-root 65532, read-only root, no privilege escalation, no capabilities", () => {
  for (const c of cases) {
    const { spec } = peatPods(c)[0];
    const sc = peatContainer(spec).securityContext;
    assert.equal(sc.runAsNonRoot, true, c.name);
    assert.equal(sc.runAsUser, 65532, c.name);
    assert.equal(sc.runAsGroup, 65532, c.name);
    assert.equal(sc.readOnlyRootFilesystem, true, c.name);
    assert.equal(sc.allowPrivilegeEscalation, false, c.name);
    assert.equal(sc.privileged, false, c.name);
    assert.deepEqual(sc.capabilities.drop, ["ALL"], c.name);
    assert.equal(sc.seccompProfile.type, "RuntimeDefault", c.name);
    const psc = spec.securityContext;
    assert.equal(psc.runAsNonRoot, true, c.name);
    assert.equal(psc.fsGroup, 65532, c.name);
    assert.equal(psc.fsGroupChangePolicy, "OnRootMismatch", c.name);
    assert.equal(psc.seccompProfile.type, "RuntimeDefault", c.name);
    const discovery = merged(c).discovery?.enabled === true;
    assert.equal(spec.automountServiceAccountToken, discovery, `${c.name}: token mounted only for discovery`);
  }
});

test("probes: startup and readiness on /readyz, liveness on /livez; httpGet only for a non-loopback TCP API", () => {
  for (const c of cases) {
    const k = peatContainer(peatPods(c)[0].spec);
    const kind = listenKind(merged(c).listen);
    const expect = { startupProbe: ["/readyz", 2, 60], readinessProbe: ["/readyz", 10, 3], livenessProbe: ["/livez", 30, 3] };
    for (const [probe, [path, period, failures]] of Object.entries(expect)) {
      const p = k[probe];
      assert.ok(p, `${c.name}: no ${probe}`);
      assert.equal(p.periodSeconds, period, `${c.name} ${probe}`);
      assert.equal(p.failureThreshold, failures, `${c.name} ${probe}`);
      if (kind === "tcp") {
        assert.deepEqual(p.httpGet, { path, port: "grpc" }, `${c.name} ${probe}`);
        assert.ok(k.ports.some((x) => x.name === "grpc"), `${c.name}: no grpc port`);
      } else {
        assert.equal(p.httpGet, undefined, `${c.name} ${probe}: httpGet on a ${kind} API can never pass`);
        assert.deepEqual(p.exec.command, ["/usr/bin/peat-node", "healthcheck", "--path", path], `${c.name} ${probe}`);
      }
    }
    assert.equal(k.env.find((e) => e.name === "PEAT_NODE_LISTEN").value, merged(c).listen, c.name);
  }
});

test("the container overrides the image CMD, so PEAT_NODE_LISTEN is not beaten by its --listen flag", () => {
  for (const c of cases) {
    const k = peatContainer(peatPods(c)[0].spec);
    assert.ok(Array.isArray(k.args) && k.args.length > 0, c.name);
    assert.ok(!k.args.some((a) => a.startsWith("--listen")), c.name);
  }
});

test("keys: by secretKeyRef only; a literal never appears in a pod spec, and not at all when a reference is set", () => {
  for (const c of cases) {
    const { spec, deployment } = peatPods(c)[0];
    const env = envOf(peatContainer(spec));
    const v = merged(c);
    for (const [envName, lit, ref] of [
      ["PEAT_NODE_SHARED_KEY", v.sharedKey, v.sharedKeySecret],
      ["PEAT_NODE_ENCRYPTION_KEY", v.encryptionKey, v.encryptionKeySecret],
    ]) {
      const e = env[envName];
      if (e) assert.equal(e.value, undefined, `${c.name}: ${envName} has a literal value`);
      if (ref?.name) assert.deepEqual(e.valueFrom.secretKeyRef, { name: ref.name, key: ref.key }, `${c.name} ${envName}`);
      else if (lit) assert.equal(e.valueFrom.secretKeyRef.name, "t-peat-node-keys", `${c.name} ${envName}`);
      else if (!c.parent) assert.equal(e, undefined, `${c.name}: ${envName} without a key`);
    }
    assert.ok(!JSON.stringify(deployment).includes(KEY), `${c.name}: a key in the Deployment`);
  }
  // A reference beats a literal: the literal is rendered nowhere.
  const objs = render(chartDir, { set: [`sharedKey=${KEY}`, "sharedKeySecret.name=s", "sharedKeySecret.key=k"] });
  assert.ok(!JSON.stringify(objs).includes(KEY), "literal sharedKey rendered although sharedKeySecret is set");
  assert.ok(!JSON.stringify(objs).includes(Buffer.from(KEY).toString("base64")), "literal sharedKey rendered (base64) although sharedKeySecret is set");
  assert.ok(!objs.some((o) => o.kind === "Secret"), "a Secret rendered although the key comes from sharedKeySecret");
});

test("a PVC exactly when persistence is on without existingClaim; the volume names the right claim", () => {
  for (const c of cases) {
    const v = merged(c);
    const p = { ...defaults.persistence, ...v.persistence };
    const pvcs = c.objs.filter((o) => o.kind === "PersistentVolumeClaim");
    const vol = peatPods(c)[0].spec.volumes.find((x) => x.name === "peat-node-data");
    if (p.existingClaim) {
      assert.equal(pvcs.length, 0, c.name);
      assert.equal(vol.persistentVolumeClaim.claimName, p.existingClaim, c.name);
    } else if (p.enabled) {
      assert.equal(pvcs.length, 1, c.name);
      assert.equal(vol.persistentVolumeClaim.claimName, pvcs[0].metadata.name, c.name);
      assert.equal(pvcs[0].spec.resources.requests.storage, p.size, c.name);
    } else {
      assert.equal(pvcs.length, 0, c.name);
      assert.deepEqual(vol.emptyDir, {}, c.name);
    }
  }
});

test("Services: an API Service only for a non-loopback TCP API, a mesh Service only for a reachable mesh", () => {
  for (const c of cases) {
    const v = merged(c);
    const services = c.objs.filter((o) => o.kind === "Service");
    const api = services.filter((s) => s.spec.ports.some((p) => p.name === "grpc"));
    const standalone = !c.parent;
    assert.equal(api.length, standalone && listenKind(v.listen) === "tcp" ? 1 : 0, `${c.name}: API Services`);
    const keyed = Boolean(v.sharedKey || v.sharedKeySecret?.name);
    const meshEnv = envOf(peatContainer(peatPods(c)[0].spec)).PEAT_NODE_MESH_LISTEN.value;
    assert.equal(meshEnv, `tcp://${keyed ? "0.0.0.0" : "127.0.0.1"}:${v.mesh.port}`, `${c.name}: mesh listen`);
    const mesh = services.filter((s) => s.spec.clusterIP !== "None" && s.spec.ports.some((p) => p.name === "mesh"));
    assert.equal(mesh.length, standalone && keyed ? 1 : 0, `${c.name}: mesh Services`);
    for (const s of services) {
      assert.deepEqual(s.spec.selector, peatPods(c)[0].deployment.spec.selector.matchLabels, `${c.name}: ${s.metadata.name} selects the pod`);
      for (const p of s.spec.ports) assert.equal(p.protocol, "TCP");
    }
  }
});

test("standalone: one replica, Recreate, grace = shutdown grace + 5; parents render no standalone Deployment", () => {
  for (const c of cases) {
    const deps = c.objs.filter((o) => o.kind === "Deployment");
    assert.equal(deps.length, 1, c.name);
    const d = deps[0];
    assert.equal(d.spec.replicas, 1, c.name);
    assert.equal(d.spec.strategy.type, "Recreate", c.name);
    assert.equal(d.spec.template.spec.terminationGracePeriodSeconds, 15, c.name);
    assert.equal(envOf(peatContainer(d.spec.template.spec)).PEAT_NODE_SHUTDOWN_GRACE_SECS.value, "10", c.name);
    assert.equal(d.metadata.name, c.parent ? "t" : "t-peat-node", c.name);
  }
  assert.ok(!cases.some((c) => c.objs.some((o) => o.kind === "PodDisruptionBudget")), "a PDB by default");
});

test("mode 2 puts peat-node among the containers; mode 3 is a native sidecar (initContainers, restartPolicy Always)", () => {
  const injected = peatPods(cases.find((c) => c.parent === "parent-injected"))[0].spec;
  assert.ok(injected.containers.some((k) => k.name === "peat-node" && k.restartPolicy === undefined));
  assert.ok(injected.containers.some((k) => k.name === "app"));
  const native = peatPods(cases.find((c) => c.parent === "parent-native"))[0].spec;
  const side = native.initContainers.find((k) => k.name === "peat-node");
  assert.equal(side.restartPolicy, "Always");
  assert.ok(side.startupProbe, "the app waits for the sidecar's startupProbe");
  assert.ok(!native.containers.some((k) => k.name === "peat-node"));
  const app = native.containers.find((k) => k.name === "app");
  const sock = side.volumeMounts.find((m) => m.name === "peat-node-socket");
  assert.deepEqual(app.volumeMounts.find((m) => m.name === "peat-node-socket").mountPath, sock.mountPath);
  for (const c of cases.filter((x) => !x.parent)) assert.ok(peatPods(c)[0].spec.containers.some((k) => k.name === "peat-node" && !k.restartPolicy));
});

test("discovery: ServiceAccount, Role on endpointslices get/list/watch, RoleBinding, headless Service", () => {
  for (const c of cases) {
    const on = merged(c).discovery?.enabled === true;
    const sa = c.objs.filter((o) => o.kind === "ServiceAccount");
    const roles = c.objs.filter((o) => o.kind === "Role");
    assert.equal(sa.length, on ? 1 : 0, c.name);
    assert.equal(roles.length, on ? 1 : 0, c.name);
    const spec = peatPods(c)[0].spec;
    if (!on) {
      assert.ok(!spec.serviceAccountName || spec.serviceAccountName === "default", c.name);
      continue;
    }
    assert.equal(spec.serviceAccountName, sa[0].metadata.name, c.name);
    assert.deepEqual(roles[0].rules, [{ apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] }], c.name);
    const rb = c.objs.find((o) => o.kind === "RoleBinding");
    assert.equal(rb.roleRef.name, roles[0].metadata.name, c.name);
    assert.deepEqual(rb.subjects, [{ kind: "ServiceAccount", name: sa[0].metadata.name, namespace: "peat-test" }], c.name);
    assert.ok(c.objs.some((o) => o.kind === "Service" && o.spec.clusterIP === "None"), c.name);
    assert.equal(envOf(peatContainer(spec)).PEAT_NODE_ENABLE_KUBERNETES_DISCOVERY.value, "true", c.name);
    // What the node's discovery relies on: the pod name (its identity seed) and a port named "mesh"
    // on the headless Service (the slices' mesh port).
    assert.equal(envOf(peatContainer(spec)).POD_NAME.valueFrom.fieldRef.fieldPath, "metadata.name", c.name);
    const headless = c.objs.find((o) => o.kind === "Service" && o.spec.clusterIP === "None");
    assert.ok(headless.spec.ports.some((p) => p.name === "mesh"), `${c.name}: headless Service has a "mesh" port`);
  }
});

test("attachments: roots, caps and inbox wired as integers; mounts threaded; agent TLS mounted read-only", () => {
  const att = cases.find((c) => c.name === "ci/attachments-values.yaml");
  const k = peatContainer(peatPods(att)[0].spec);
  const env = envOf(k);
  assert.equal(env.PEAT_NODE_ATTACHMENT_ROOTS.value, "logs=/var/log/app,media=/srv/media");
  assert.equal(env.PEAT_NODE_ATTACHMENT_MAX_BUNDLE_BYTES.value, "10737418240");
  assert.equal(env.PEAT_NODE_ATTACHMENT_INBOX.value, "/var/lib/peat/inbox");
  assert.ok(k.volumeMounts.some((m) => m.mountPath === "/var/lib/peat/inbox"));
  assert.ok(peatPods(att)[0].spec.volumes.some((v) => v.name === "inbox"));
  const tls = cases.find((c) => c.name === "ci/agent-mtls-values.yaml");
  const tk = peatContainer(peatPods(tls)[0].spec);
  assert.deepEqual(tk.volumeMounts.find((m) => m.name === "peat-node-agent-tls"), { name: "peat-node-agent-tls", mountPath: "/etc/peat-node/agent-tls", readOnly: true });
  assert.equal(peatPods(tls)[0].spec.volumes.find((v) => v.name === "peat-node-agent-tls").secret.secretName, "agent-client-tls");
  assert.equal(envOf(tk).PEAT_NODE_AGENT_TLS_CA.value, "/etc/peat-node/agent-tls/ca.crt");
  for (const c of cases)
    for (const e of peatContainer(peatPods(c)[0].spec).env)
      if (e.value !== undefined) {
        assert.equal(typeof e.value, "string", `${c.name}: ${e.name}`);
        assert.ok(!/^[0-9.]+e\+[0-9]+$/.test(e.value), `${c.name}: ${e.name}=${e.value} in scientific notation`);
      }
});

test("every PEAT_NODE_* variable the chart sets is one docs/CONFIGURATION.md documents", () => {
  const doc = readFileSync(join(repoRoot, "docs/CONFIGURATION.md"), "utf8");
  const known = new Set(doc.match(/PEAT_NODE_[A-Z0-9_]+/g));
  const seen = new Set();
  for (const c of cases) for (const e of peatContainer(peatPods(c)[0].spec).env) if (e.name.startsWith("PEAT_NODE_")) seen.add(e.name);
  for (const name of seen) assert.ok(known.has(name), `${name} is not documented`);
  assert.ok(seen.size >= 30, `only ${seen.size} variables exercised`);
});

test("UDS Package CR: least-privilege ingress (mesh from anywhere, API from this namespace or listed clients)", () => {
  const c = cases.find((x) => x.name === "ci/package-values.yaml");
  const pkgs = c.objs.filter((o) => o.kind === "Package");
  assert.equal(pkgs.length, 1);
  assert.deepEqual(udsPackageProblems(pkgs[0], { meshPort: 4433, apiPort: 50051 }), []);
  const api = pkgs[0].spec.network.allow.filter((r) => r.port === 50051);
  assert.deepEqual(api.map((r) => [r.direction, r.remoteNamespace]), [["Ingress", "mission-app"]]);
  assert.equal(pkgs[0].spec.network.serviceMesh.mode, "ambient");
  // Default clients: this namespace only.
  const def = render(chartDir, { set: ["package.enabled=true", "listen=tcp://0.0.0.0:50051", `sharedKey=${KEY}`] }).find((o) => o.kind === "Package");
  assert.deepEqual(udsPackageProblems(def, { meshPort: 4433, apiPort: 50051 }), []);
  assert.deepEqual(def.spec.network.allow.filter((r) => r.port === 50051).map((r) => r.remoteNamespace), ["peat-test"]);
  // Loopback API, no key: no API rule and no mesh rule at all.
  const closed = render(chartDir, { set: ["package.enabled=true"] }).find((o) => o.kind === "Package");
  assert.ok(closed, "package.enabled renders a Package");
  assert.ok(!(closed.spec.network.allow || []).some((r) => r.direction === "Ingress"), "ingress rules for a pod that serves nothing beyond loopback");
  for (const x of cases) if (!x.values.package?.enabled) assert.ok(!x.objs.some((o) => o.kind === "Package"), x.name);
});

test("the original's values still render: irohUdpPort/irohUdpHostPort set the (TCP) mesh port", () => {
  const objs = render(chartDir, { set: ["irohUdpPort=7777", "irohUdpHostPort=true", `sharedKey=${KEY}`] });
  const k = peatContainer(podSpecs(objs)[0].spec);
  assert.equal(envOf(k).PEAT_NODE_MESH_LISTEN.value, "tcp://0.0.0.0:7777");
  assert.deepEqual(k.ports.find((p) => p.name === "mesh"), { name: "mesh", containerPort: 7777, protocol: "TCP", hostPort: 7777 });
});

test("a key-less mesh stays on loopback unless mesh.allowKeyless (the node would exit 2 otherwise)", () => {
  const open = render(chartDir, { set: ["mesh.allowKeyless=true"] });
  const env = envOf(peatContainer(podSpecs(open)[0].spec));
  assert.equal(env.PEAT_NODE_MESH_LISTEN.value, "tcp://0.0.0.0:4433");
  assert.equal(env.PEAT_NODE_ALLOW_KEYLESS_MESH.value, "true");
});

test("render failures: the original's inbox rule, agent TLS without a Secret (its bug 3), bad listen addresses", () => {
  const fails = [
    [["attachment.inbox=/inbox"], /attachment.inbox is set but attachment.extraVolumeMounts is empty/],
    [["agentAddr=https://a:1", "agentTls.enabled=true"], /agentTls.secretName is empty/],
    [["agentTls.enabled=true", "agentTls.secretName=s"], /agentTls.enabled needs agentAddr/],
    [["listen=unix://relative.sock"], /must be absolute/],
    [["listen=tcp://0.0.0.0"], /expected tcp:\/\/HOST:PORT/],
    [["listen=tcp://127.0.0.1:1\\,unix:///a"], /one address only/],
    [["sharedKeySecret.name=s"], /sharedKeySecret.name is set without sharedKeySecret.key/],
    [["terminationGracePeriodSeconds=5"], /terminationGracePeriodSeconds must be at least shutdownGraceSecs/],
  ];
  for (const [set, re] of fails) assert.throws(() => render(chartDir, { set }), re, set.join(" "));
  // Kubernetes versions: the chart needs 1.27; the native sidecar 1.29 (mode 2 works on 1.27).
  assert.throws(() => render(chartDir, { kubeVersion: "1.26.5" }), /kubeVersion|incompatible/);
  assert.throws(() => render(parentChart("parent-native"), { kubeVersion: "1.28.3" }), /need Kubernetes >= 1.29/);
  assert.equal(podSpecs(render(parentChart("parent-native"), { kubeVersion: "1.29.0" })).length, 1);
  assert.equal(podSpecs(render(parentChart("parent-injected"), { kubeVersion: "1.27.1" })).length, 1);
});

// Starts the node with the environment and args each case renders (Secret references resolved to
// a test key, the downward API to a pod name) and expects it to reach SYNCING, then to exit 0 on
// SIGTERM: every variable name and value the chart writes is one the node accepts. Only what
// exists inside a pod alone is replaced, by flags (which beat the environment): the data dir, the
// API and mesh addresses (free loopback ports), attachment roots and inbox (temp dirs), the agent's
// client certificate files (made here).
const nodeBin = process.env.PEAT_NODE_BIN ?? join(repoRoot, "build/peat-node");
test("the node accepts the configuration every case renders", { skip: !existsSync(nodeBin) && `SKIPPED: no ${nodeBin} (make build)` }, async () => {
  for (const [i, c] of cases.entries()) {
    const k = peatContainer(peatPods(c)[0].spec);
    const env = { PATH: process.env.PATH };
    for (const e of k.env) env[e.name] = e.value ?? (e.valueFrom.secretKeyRef ? KEY : "pod-1");
    const dir = mkdtempSync(join(tmpdir(), "peat-chart-node-"));
    const args = k.args.map((a) => (a.startsWith("--data-dir=") ? `--data-dir=${dir}/data` : a));
    args.push(`--listen=tcp://127.0.0.1:0`, `--mesh-listen=tcp://127.0.0.1:0`);
    if (env.PEAT_NODE_ATTACHMENT_ROOTS) {
      const roots = env.PEAT_NODE_ATTACHMENT_ROOTS.split(",").map((r) => r.split("=")[0]);
      for (const r of roots) mkdirSync(join(dir, r));
      args.push(`--attachment-root=${roots.map((r) => `${r}=${dir}/${r}`).join(",")}`);
    }
    if (env.PEAT_NODE_ATTACHMENT_INBOX) args.push(`--attachment-inbox=${dir}/inbox`);
    if (env.PEAT_NODE_AGENT_TLS_CERT) {
      // The mounted Secret exists only in a pod, and the node reads and checks these files at
      // startup: a CA and a client certificate it signed stand in for them.
      const pki = (cmd) => execFileSync("openssl", cmd, { cwd: dir, stdio: "ignore" });
      pki(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=test-ca", "-days", "1"]);
      pki(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=peat-node"]);
      pki(["x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tls.crt", "-days", "1"]);
      args.push(`--agent-tls-cert=${dir}/tls.crt`, `--agent-tls-key=${dir}/tls.key`);
      if (env.PEAT_NODE_AGENT_TLS_CA) args.push(`--agent-tls-ca=${dir}/ca.crt`);
    }
    const child = spawn(nodeBin, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    const exited = new Promise((res) => child.on("exit", (code, signal) => res({ code, signal })));
    const syncing = new Promise((res) => child.stderr.on("data", (b) => { log += b; if (log.includes("phase SYNCING")) res("syncing"); }));
    const timeout = new Promise((res) => setTimeout(() => res("timeout"), 15000).unref());
    const first = await Promise.race([syncing, exited, timeout]);
    if (first !== "syncing") child.kill("SIGKILL");
    assert.equal(first, "syncing", `${c.name}: the node did not start: ${JSON.stringify(first)}\n${log}`);
    child.kill("SIGTERM");
    assert.deepEqual(await exited, { code: 0, signal: null }, `${c.name}: exit after SIGTERM\n${log}`);
    rmSync(dir, { recursive: true, force: true });
  }
});
