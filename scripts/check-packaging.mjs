#!/usr/bin/env node
// Gates zarf.yaml and bundle/uds-bundle.yaml against the chart as `helm template` renders it
// (PACKAGING.md §2.3; the original shipped an image the chart did not deploy and waited for a
// Deployment name the chart never rendered):
//   - versions: CMakeLists.txt = Chart version = appVersion = Zarf metadata.version = the Zarf
//     chart version = bundle ref (= bundle version);
//   - Zarf images = exactly the images the chart renders with the Zarf values;
//   - the onDeploy wait names the rendered Deployment, in the chart's namespace;
//   - the bundle's overrides name the Zarf component and chart and existing values, and with them
//     the chart renders a well-formed, least-privilege UDS Package CR.
// Needs HELM (scripts/package/helm.sh) and chart/test/node_modules; run by
// scripts/package/check-chart.sh. Prints one line per check; exits 1 on the first failure list.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chartDir, peatContainer, podSpecs, projectVersion, readYaml, render, repoRoot, udsPackageProblems } from "../chart/test/lib.mjs";

const failures = [];
const check = (ok, what) => {
  console.log(`check-packaging: ${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
};

const version = projectVersion();
const chart = readYaml(join(chartDir, "Chart.yaml"));
const zarf = readYaml(join(repoRoot, "zarf.yaml"));
const bundle = readYaml(join(repoRoot, "bundle/uds-bundle.yaml"));

check(chart.version === version, `Chart.yaml version ${chart.version} = project version ${version}`);
check(String(chart.appVersion) === version, `Chart.yaml appVersion ${chart.appVersion} = ${version}`);
check(zarf.kind === "ZarfPackageConfig", `zarf.yaml kind ${zarf.kind}`);
check(zarf.metadata?.version === version, `zarf.yaml metadata.version ${zarf.metadata?.version} = ${version}`);

const components = zarf.components ?? [];
const zchart = components.flatMap((c) => (c.charts ?? []).map((ch) => ({ component: c, chart: ch }))).find((x) => x.chart.name === chart.name);
check(Boolean(zchart), `zarf.yaml has a component with chart ${chart.name}`);
if (!zchart) {
  process.exit(1);
}
const { component, chart: zc } = zchart;
check(zc.version === chart.version, `zarf chart version ${zc.version} = ${chart.version}`);
check(zc.localPath === "chart/peat-node", `zarf chart localPath ${zc.localPath}`);

// Render as Zarf would: release name, namespace, the values files with ###ZARF_VAR_X### filled in
// (once with the variables' defaults, once with a formation key, as an operator would deploy).
const vars = Object.fromEntries((zarf.variables ?? []).map((v) => [v.name, v.default ?? ""]));
const work = mkdtempSync(join(tmpdir(), "peat-zarf-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
function zarfValues(overrides) {
  return (zc.valuesFiles ?? []).map((f, i) => {
    const text = readFileSync(join(repoRoot, f), "utf8").replace(/###ZARF_VAR_([A-Z0-9_]+)###/g, (m, name) => {
      if (!(name in vars)) throw new Error(`${f}: ${m} is not a variable of zarf.yaml`);
      return overrides[name] ?? vars[name];
    });
    const out = join(work, `values-${Object.keys(overrides).length}-${i}.yaml`);
    writeFileSync(out, text);
    return out;
  });
}
const opts = (extra = {}, set = []) => ({ values: zarfValues(extra), set, release: zc.releaseName, namespace: zc.namespace });
const KEY = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";
const renders = [render(chartDir, opts()), render(chartDir, opts({ SHARED_KEY: KEY }))];

const rendered = [...new Set(renders.flatMap((objs) => podSpecs(objs).flatMap((p) => [...(p.spec.containers ?? []), ...(p.spec.initContainers ?? [])].map((k) => k.image))))].sort();
const listed = [...(component.images ?? [])].sort();
check(JSON.stringify(rendered) === JSON.stringify(listed), `zarf images ${JSON.stringify(listed)} = rendered images ${JSON.stringify(rendered)}`);
for (const img of listed) check(img.endsWith(`:${version}`), `zarf image ${img} is tagged ${version}`);

const deployments = renders[0].filter((o) => o.kind === "Deployment");
check(deployments.length === 1, `the chart renders one Deployment for Zarf (${deployments.map((d) => d.metadata.name)})`);
const waits = ["before", "after", "onSuccess"].flatMap((w) => component.actions?.onDeploy?.[w] ?? []).filter((a) => a.wait?.cluster);
check(waits.length > 0, "zarf onDeploy waits for the cluster");
for (const { wait } of waits) {
  const w = wait.cluster;
  const hit = renders[0].find((o) => o.kind === w.kind && o.metadata.name === w.name);
  check(Boolean(hit), `zarf waits for ${w.kind} ${w.name}, which the chart renders`);
  check(w.namespace === zc.namespace, `zarf wait namespace ${w.namespace} = chart namespace ${zc.namespace}`);
}
check(zc.namespace === "peat-system", `zarf namespace ${zc.namespace}`);
check(deployments.every((d) => peatContainer(d.spec.template.spec)?.image === `${readYaml(join(chartDir, "values.yaml")).image.repository}:${version}`), "the rendered Deployment runs the chart's image at the project version");

// Bundle.
check(bundle.kind === "UDSBundle", `bundle kind ${bundle.kind}`);
check(bundle.metadata?.version === version, `bundle version ${bundle.metadata?.version} = ${version}`);
const pkg = (bundle.packages ?? []).find((p) => p.name === zarf.metadata.name);
check(Boolean(pkg), `bundle has package ${zarf.metadata.name}`);
if (pkg) {
  check(pkg.ref === zarf.metadata.version, `bundle ref ${pkg.ref} = zarf version ${zarf.metadata.version}`);
  check(pkg.path === "../", `bundle path ${pkg.path} (the repo root, where zarf.yaml is)`);
  const sets = [];
  for (const [compName, charts] of Object.entries(pkg.overrides ?? {})) {
    check(components.some((c) => c.name === compName), `bundle override component ${compName} exists in zarf.yaml`);
    for (const [chartName, o] of Object.entries(charts)) {
      check(chartName === chart.name, `bundle override chart ${chartName}`);
      for (const { path, value } of o.values ?? []) {
        const defaults = readYaml(join(chartDir, "values.yaml"));
        const known = path.split(".").reduce((acc, k) => (acc && typeof acc === "object" && k in acc ? acc[k] : undefined), defaults);
        check(known !== undefined, `bundle override ${path} is a value of the chart`);
        sets.push(`${path}=${value}`);
      }
    }
  }
  check(sets.includes("package.enabled=true"), "the bundle turns on the UDS Package CR");
  for (const [i, extra] of [{}, { SHARED_KEY: KEY }].entries()) {
    const objs = render(chartDir, opts(extra, sets));
    const pkgs = objs.filter((o) => o.kind === "Package");
    check(pkgs.length === 1, `bundle render ${i}: one UDS Package CR`);
    if (pkgs.length !== 1) continue;
    const k = peatContainer(podSpecs(objs)[0].spec);
    const port = (name) => k.ports?.find((p) => p.name === name)?.containerPort;
    const problems = udsPackageProblems(pkgs[0], { meshPort: port("mesh"), apiPort: port("grpc") });
    check(problems.length === 0, `bundle render ${i}: UDS Package CR shape and least privilege${problems.length ? ": " + problems.join("; ") : ""}`);
    check(pkgs[0].metadata.namespace === zc.namespace, `bundle render ${i}: Package in ${zc.namespace}`);
  }
}

if (failures.length) {
  console.error(`check-packaging: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log("check-packaging: zarf.yaml and bundle/uds-bundle.yaml agree with the rendered chart");
