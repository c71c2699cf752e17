#!/usr/bin/env node
// The Dockerfile's rules (PACKAGING.md §2.1 and §3 "Dockerfile"), checked without a container
// engine or hadolint: multi-stage; the final stage FROM scratch; every other base pinned by digest
// (a `FROM ${ARG}` counts through the ARG's default); a numeric non-root USER; exec-form
// ENTRYPOINT, CMD and HEALTHCHECK (no shell in the image); no `ADD <url>`; VOLUME, EXPOSE of the
// API port, STOPSIGNAL SIGTERM, OCI labels; the staged rootfs as the final stage's only content; and
// no CMD flag that stops a key-less start.
//
//   node scripts/package/check-dockerfile.mjs [Dockerfile]            check; exit 1 listing every broken rule
//   node scripts/package/check-dockerfile.mjs --config [Dockerfile]   print the final stage's image config
//                                                                     as JSON (check-image.sh builds its OCI
//                                                                     layout from it); label ${ARG}s take
//                                                                     the environment's value, else the default
//   node scripts/package/check-dockerfile.mjs --self-test             broken variants must each fail
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Instructions [{op, args, line}] with continuations joined and comments dropped. */
export function parseDockerfile(text) {
  const out = [];
  let buf = "";
  let start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (buf === "" && /^\s*(#|$)/.test(line)) return;
    if (buf !== "" && /^\s*#/.test(line)) return; // comment inside a continuation
    if (buf === "") start = i + 1;
    if (/\\\s*$/.test(line)) {
      buf += line.replace(/\\\s*$/, " ");
      return;
    }
    buf += line;
    const m = /^\s*(\S+)\s*(.*)$/.exec(buf);
    out.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: start });
    buf = "";
  });
  return out;
}

/** The JSON array of an exec-form argument list, or null for the shell form. */
function execForm(args) {
  if (!args.startsWith("[")) return null;
  try {
    const v = JSON.parse(args);
    return Array.isArray(v) && v.every((s) => typeof s === "string") ? v : null;
  } catch {
    return null;
  }
}

/** KEY=VALUE pairs (values optionally double-quoted), as in LABEL and ARG. */
function pairs(args) {
  const out = {};
  for (const m of args.matchAll(/([A-Za-z0-9_.-]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    out[m[1]] = m[2].startsWith('"') ? JSON.parse(m[2]) : m[2];
  }
  return out;
}

/** {errors: [...], config} for a Dockerfile's text. */
export function checkDockerfile(text) {
  const ins = parseDockerfile(text);
  const errors = [];
  const err = (line, msg) => errors.push(`line ${line}: ${msg}`);

  // Global ARGs (before the first FROM) give the defaults a FROM may refer to.
  const globalArgs = {};
  const stages = [];
  for (const i of ins) {
    if (i.op === "FROM") stages.push({ from: i, body: [] });
    else if (stages.length === 0 && i.op === "ARG") Object.assign(globalArgs, pairs(i.args));
    else if (stages.length) stages.at(-1).body.push(i);
  }
  if (stages.length < 2) err(1, `multi-stage build expected (a build stage and a final stage); found ${stages.length} FROM`);
  const stageNames = new Set();
  for (const [n, s] of stages.entries()) {
    const [image, as, name] = s.from.args.replace(/--platform=\S+\s+/, "").split(/\s+/);
    const resolved = image.replace(/^\$\{?([A-Za-z0-9_]+)\}?$/, (_, a) => globalArgs[a] ?? `<ARG ${a} has no default>`);
    const last = n === stages.length - 1;
    if (last) {
      if (resolved !== "scratch") err(s.from.line, `the final stage must be FROM scratch, not ${resolved}`);
    } else if (!stageNames.has(resolved) && resolved !== "scratch" && !/@sha256:[0-9a-f]{64}$/.test(resolved)) {
      err(s.from.line, `base ${resolved} is not pinned by digest (name@sha256:<64 hex>)`);
    }
    if (as?.toUpperCase() === "AS" && name) stageNames.add(name);
  }
  for (const i of ins) {
    if (i.op === "ADD" && /(^|\s)(https?|ftp|git):\/\//i.test(i.args)) err(i.line, "ADD <url>: fetch in a build stage (checksummed), not with ADD");
  }

  const final = stages.at(-1)?.body ?? [];
  const lastOf = (op) => final.filter((i) => i.op === op).at(-1);
  const config = { user: null, entrypoint: null, cmd: null, healthcheck: null, exposedPorts: [], volumes: [], stopSignal: null, labels: {} };

  const user = lastOf("USER");
  if (!user) err(stages.at(-1)?.from.line ?? 1, "the final stage has no USER (it would run as root)");
  else if (!/^[0-9]+(:[0-9]+)?$/.test(user.args)) err(user.line, `USER ${user.args}: must be numeric uid[:gid] (a scratch image cannot resolve names for runAsNonRoot)`);
  else if (user.args.split(":")[0] === "0") err(user.line, "USER 0: must not be root");
  else config.user = user.args;

  for (const op of ["ENTRYPOINT", "CMD"]) {
    const i = lastOf(op);
    if (!i) {
      if (op === "ENTRYPOINT") err(stages.at(-1)?.from.line ?? 1, "the final stage has no ENTRYPOINT");
      continue;
    }
    const v = execForm(i.args);
    if (!v) err(i.line, `${op} must be in exec form (["..."]): the image has no shell`);
    config[op.toLowerCase()] = v;
  }
  for (const arg of config.cmd ?? []) {
    const m = /^--mesh-listen=(?:tcp:\/\/)?(\[[^\]]+\]|[^:]+):/.exec(arg);
    if (m && !/^(127\.|\[::1\]|localhost)/.test(m[1])) err(lastOf("CMD").line, `CMD ${arg}: a non-loopback mesh listener without --shared-key stops a key-less start; document it instead`);
  }

  const hc = lastOf("HEALTHCHECK");
  if (!hc) err(stages.at(-1)?.from.line ?? 1, "the final stage has no HEALTHCHECK");
  else {
    const m = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(.*)$/i.exec(hc.args);
    const v = m && execForm(m[2]);
    if (!v) err(hc.line, "HEALTHCHECK must be CMD in exec form (no shell, no curl in the image)");
    else config.healthcheck = { test: ["CMD", ...v], options: m[1].trim() };
  }

  for (const i of final.filter((x) => x.op === "EXPOSE")) config.exposedPorts.push(...i.args.split(/\s+/).map((p) => (p.includes("/") ? p : `${p}/tcp`)));
  if (!config.exposedPorts.includes("50051/tcp")) err(stages.at(-1)?.from.line ?? 1, "EXPOSE 50051/tcp (the API) is missing");
  for (const i of final.filter((x) => x.op === "VOLUME")) config.volumes.push(...(execForm(i.args) ?? i.args.split(/\s+/)));
  if (!config.volumes.includes("/data/peat-node")) err(stages.at(-1)?.from.line ?? 1, "VOLUME /data/peat-node is missing");
  const stop = lastOf("STOPSIGNAL");
  config.stopSignal = stop?.args ?? null;
  if (config.stopSignal !== "SIGTERM") err(stop?.line ?? 1, "STOPSIGNAL SIGTERM is missing");
  // Label values may name the final stage's ARGs: the environment's value, else the default.
  const stageArgs = {};
  for (const i of final.filter((x) => x.op === "ARG")) {
    const [name, ...dflt] = i.args.split("=");
    stageArgs[name] = process.env[name] ?? dflt.join("=");
  }
  for (const i of final.filter((x) => x.op === "LABEL")) {
    for (const [k, v] of Object.entries(pairs(i.args))) {
      config.labels[k] = v.replace(/\$\{?([A-Za-z0-9_]+)\}?/g, (all, a) => stageArgs[a] ?? all);
    }
  }
  for (const k of ["source", "version", "revision"]) {
    if (!(`org.opencontainers.image.${k}` in config.labels)) errors.push(`LABEL org.opencontainers.image.${k} is missing`);
  }
  if (final.some((i) => i.op === "RUN")) errors.push("the final stage runs commands (RUN): a scratch image has nothing to run them with");
  // The staged rootfs is the image's only content (stage-rootfs.sh is its single source).
  const copies = final.filter((i) => i.op === "COPY" || i.op === "ADD");
  if (copies.length !== 1 || !/^--from=\S+\s+\/rootfs\/?\s+\/$/.test(copies[0].args)) {
    errors.push(`the final stage must get its files from exactly one "COPY --from=<build stage> /rootfs /" (found: ${copies.map((i) => `${i.op} ${i.args}`).join("; ") || "none"})`);
  }
  return { errors, config };
}

function selfTest() {
  const good = fs.readFileSync(path.join(REPO, "Dockerfile"), "utf8");
  if (checkDockerfile(good).errors.length) throw new Error("self-test: the real Dockerfile does not pass");
  const variants = {
    "final stage not scratch": [/^FROM scratch$/m, "FROM debian:bookworm-slim"],
    "unpinned base": [/^ARG BASE=.*$/m, "ARG BASE=debian:bookworm"],
    "root user": [/^USER .*$/m, "USER 0:0"],
    "named user": [/^USER .*$/m, "USER peat"],
    "no user": [/^USER .*$/m, ""],
    "shell-form healthcheck": [/CMD \["\/usr\/bin\/peat-node", "healthcheck"\]/, "CMD curl -f http://localhost:50051/readyz"],
    "ADD url": [/^COPY \. \.$/m, "ADD https://example.com/src.tgz /src"],
    "shell-form entrypoint": [/^ENTRYPOINT .*$/m, "ENTRYPOINT /usr/bin/peat-node"],
    "keyless mesh flag": [/^CMD \[/m, 'CMD ["--mesh-listen=tcp://0.0.0.0:4433", '],
    "no stopsignal": [/^STOPSIGNAL .*$/m, ""],
    "no revision label": [/org\.opencontainers\.image\.revision/, "org.example.revision"],
    "extra file in the final stage": [/^USER 65532:65532$/m, "COPY --from=build /bin/sh /bin/sh\nUSER 65532:65532"],
  };
  let failed = 0;
  for (const [name, [re, repl]] of Object.entries(variants)) {
    if (!re.test(good)) throw new Error(`self-test: variant "${name}" does not apply to the Dockerfile`);
    const { errors } = checkDockerfile(good.replace(re, repl));
    if (errors.length === 0) {
      console.error(`check-dockerfile self-test: "${name}" was NOT caught`);
      failed++;
    }
  }
  if (failed) process.exit(1);
  console.log(`check-dockerfile self-test: ${Object.keys(variants).length} broken variants caught`);
}

const args = process.argv.slice(2);
if (args[0] === "--self-test") selfTest();
else {
  const printConfig = args[0] === "--config";
  const file = (printConfig ? args[1] : args[0]) ?? path.join(REPO, "Dockerfile");
  const { errors, config } = checkDockerfile(fs.readFileSync(file, "utf8"));
  if (errors.length) {
    for (const e of errors) console.error(`check-dockerfile: ${file}: ${e}`);
    process.exit(1);
  }
  if (printConfig) console.log(JSON.stringify(config, null, 2));
  else console.log(`check-dockerfile: ${file}: every rule holds`);
}
