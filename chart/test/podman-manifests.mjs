// Turns `helm template` output into what podman 4.3's `kube play` can run
// (scripts/package/test-chart.sh):
//   node podman-manifests.mjs RENDERED.yaml PODS.yaml SECRETS_DIR
// Secrets go to SECRETS_DIR/<name>.json as {"key": "<base64>"}: podman 4.3 resolves an env
// secretKeyRef against a podman secret (`podman secret create`) holding exactly that JSON, and
// fails on the YAML a Secret document in the manifest would store. podman 4.3 also makes every
// emptyDir a named volume called after the pod's volume, shared by all pods that use that name
// (two peat-node pods would share one data dir); emptyDir volumes are renamed
// <object name>-<volume name> so each pod has its own, as in Kubernetes. Every other document is
// written to PODS.yaml unchanged. Prints what it wrote.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";

const [rendered, podsOut, secretsDir] = process.argv.slice(2);
if (!secretsDir) {
  console.error("usage: podman-manifests.mjs RENDERED.yaml PODS.yaml SECRETS_DIR");
  process.exit(2);
}
const docs = YAML.parseAllDocuments(readFileSync(rendered, "utf8"))
  .map((d) => d.toJS())
  .filter((o) => o && typeof o === "object");
mkdirSync(secretsDir, { recursive: true });
const kept = [];
for (const o of docs) {
  if (o.kind === "Secret") {
    const data = { ...o.data };
    for (const [k, v] of Object.entries(o.stringData ?? {})) data[k] = Buffer.from(v).toString("base64");
    writeFileSync(join(secretsDir, `${o.metadata.name}.json`), JSON.stringify(data), { mode: 0o600 });
    console.log(`podman-manifests: secret ${o.metadata.name} (${Object.keys(data).join(", ")})`);
  } else {
    const pod = o.kind === "Pod" ? o.spec : o.spec?.template?.spec;
    for (const v of pod?.volumes ?? []) {
      if (!v.emptyDir) continue;
      const name = `${o.metadata.name}-${v.name}`;
      for (const k of [...(pod.containers ?? []), ...(pod.initContainers ?? [])])
        for (const m of k.volumeMounts ?? []) if (m.name === v.name) m.name = name;
      console.log(`podman-manifests: ${o.kind} ${o.metadata.name}: emptyDir ${v.name} -> ${name}`);
      v.name = name;
    }
    kept.push(o);
    console.log(`podman-manifests: ${o.kind} ${o.metadata.name}`);
  }
}
writeFileSync(podsOut, kept.map((o) => YAML.stringify(o)).join("---\n"));
