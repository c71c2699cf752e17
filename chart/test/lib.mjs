// Helpers shared by the chart checks (chart.test.mjs) and scripts/check-packaging.mjs: render the
// chart or a test parent chart with the pinned helm (HELM, from scripts/package/helm.sh), parse
// the manifests, validate objects against the Kubernetes schemas (kubernetes-models), and read the
// project version from CMakeLists.txt (the single source of every version).
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

export const testDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(testDir, "../..");
export const chartDir = join(repoRoot, "chart/peat-node");

export function helmPath() {
  const helm = process.env.HELM;
  if (!helm) throw new Error("HELM is not set: run through scripts/package/check-chart.sh (HELM=$(scripts/package/helm.sh))");
  return helm;
}

export function projectVersion() {
  const m = readFileSync(join(repoRoot, "CMakeLists.txt"), "utf8").match(/project\(peat-node\s+VERSION\s+([0-9.]+)/);
  if (!m) throw new Error("CMakeLists.txt: no project(peat-node VERSION x.y.z)");
  return m[1];
}

export function readYaml(path) {
  return YAML.parse(readFileSync(path, "utf8"));
}

// Runs helm; returns {status, stdout, stderr}.
export function helm(args) {
  const r = spawnSync(helmPath(), args, { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return r;
}

// A test parent chart (chart/test/<name>) copied to a temp dir with chart/peat-node unpacked in
// its charts/, as `helm dependency build` would leave it, without writing into the work tree.
const parentCopies = new Map();
export function parentChart(name) {
  if (!parentCopies.has(name)) {
    const dir = mkdtempSync(join(tmpdir(), "peat-parent-"));
    cpSync(join(testDir, name), join(dir, name), { recursive: true });
    cpSync(chartDir, join(dir, name, "charts/peat-node"), { recursive: true });
    parentCopies.set(name, join(dir, name));
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return parentCopies.get(name);
}

// Renders a chart; {values: [files], set: [k=v], release, namespace, kubeVersion}. Returns the parsed objects
// (empty documents dropped). Throws with helm's message when the render fails.
export function render(chart, { values = [], set = [], release = "t", namespace = "peat-test", kubeVersion } = {}) {
  const args = ["template", release, chart, "--namespace", namespace];
  if (kubeVersion) args.push("--kube-version", kubeVersion);
  for (const f of values) args.push("-f", f);
  for (const s of set) args.push("--set", s);
  const r = helm(args);
  if (r.status !== 0) {
    const e = new Error(`helm ${args.join(" ")} failed: ${r.stderr.trim()}`);
    e.stderr = r.stderr;
    throw e;
  }
  return YAML.parseAllDocuments(r.stdout)
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0].message}`);
      return d.toJS();
    })
    .filter((o) => o && typeof o === "object");
}

// Schema validation with kubernetes-models; returns null when the object validates, else the
// error message. Kinds the models do not cover (the UDS Package CR) return "unknown kind".
const groupModule = {
  v1: "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "policy/v1": "kubernetes-models/policy/v1",
  "rbac.authorization.k8s.io/v1": "kubernetes-models/rbac.authorization.k8s.io/v1",
};
export async function validateObject(obj) {
  const mod = groupModule[obj.apiVersion];
  if (!mod) return `unknown kind ${obj.apiVersion}/${obj.kind}`;
  const models = await import(mod);
  const Model = models[obj.kind];
  if (!Model) return `unknown kind ${obj.apiVersion}/${obj.kind}`;
  try {
    new Model(obj).validate();
    return null;
  } catch (e) {
    return e.message;
  }
}

// The pod spec of a Deployment, and the peat-node container in it (a container or a native
// sidecar in initContainers).
export function podSpecs(objs) {
  return objs.filter((o) => o.kind === "Deployment").map((d) => ({ name: d.metadata.name, spec: d.spec.template.spec, deployment: d }));
}
export function peatContainer(spec) {
  return [...(spec.containers || []), ...(spec.initContainers || [])].find((c) => c.name === "peat-node");
}
export function envOf(container) {
  return Object.fromEntries((container.env || []).map((e) => [e.name, e]));
}

// The UDS Package CR: apiVersion/kind, and every allow rule well formed and least-privilege
// (no ingress from anywhere without a port, the API port never from anywhere). Returns a list of
// problems (empty when fine).
export function udsPackageProblems(pkg, { meshPort, apiPort }) {
  const problems = [];
  if (pkg.apiVersion !== "uds.dev/v1alpha1" || pkg.kind !== "Package") problems.push(`not a uds.dev/v1alpha1 Package: ${pkg.apiVersion}/${pkg.kind}`);
  const allow = pkg.spec?.network?.allow;
  if (!Array.isArray(allow) || allow.length === 0) return [...problems, "spec.network.allow is empty"];
  const generated = new Set(["Anywhere", "IntraNamespace", "CloudMetadata", "KubeAPI", "KubeNodes"]);
  for (const [i, r] of allow.entries()) {
    const where = `allow[${i}]`;
    if (!["Ingress", "Egress"].includes(r.direction)) problems.push(`${where}: direction ${r.direction}`);
    if (!r.selector || typeof r.selector !== "object" || !Object.keys(r.selector).length) problems.push(`${where}: no pod selector`);
    if (r.remoteGenerated !== undefined && !generated.has(r.remoteGenerated)) problems.push(`${where}: remoteGenerated ${r.remoteGenerated}`);
    if (r.remoteGenerated === undefined && r.remoteNamespace === undefined && r.remoteSelector === undefined && r.remoteCidr === undefined)
      problems.push(`${where}: no remote (remoteGenerated, remoteNamespace, remoteSelector or remoteCidr)`);
    if (r.port !== undefined && !Number.isInteger(r.port)) problems.push(`${where}: port ${r.port} is not an integer`);
    const ports = r.ports ?? (r.port !== undefined ? [r.port] : []);
    if (r.direction === "Ingress" && r.remoteGenerated === "Anywhere") {
      if (ports.length === 0) problems.push(`${where}: ingress from Anywhere on all ports`);
      if (apiPort !== undefined && ports.includes(apiPort)) problems.push(`${where}: API port ${apiPort} open to Anywhere`);
    }
  }
  if (meshPort !== undefined && !allow.some((r) => r.direction === "Ingress" && r.port === meshPort))
    problems.push(`no ingress rule for the mesh port ${meshPort}`);
  const mode = pkg.spec.network.serviceMesh?.mode;
  if (mode !== undefined && !["ambient", "sidecar"].includes(mode)) problems.push(`serviceMesh.mode ${mode}`);
  return problems;
}
