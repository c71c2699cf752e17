#!/usr/bin/env node
// Builds the web console bundle that peat-node embeds and serves at /console/.
//
//   node console/build.mjs --out DIR
//
// 1. buf + protoc-gen-es generate the ES code for proto/peat/sidecar/v1/sidecar.proto into
//    console/gen/ (not committed);
// 2. esbuild bundles src/main.jsx (preact, Connect-Web, protobuf-es) into minified ES2020
//    modules — console.js, and chunk-HASH.js files it imports on demand (the typed Connect
//    client: the first view renders without it) — and console.css into one minified stylesheet;
//    no source maps;
// 3. DIR gets exactly index.html, console.js, its chunks, console.css, favicon.svg and, for each, NAME.gz
//    (gzip level 9, mtime 0, so the bytes are reproducible). DIR is cleared first, and every file
//    is written anew (the build's embedding step follows index.html's mtime).
// Prints every file's size and the gzipped total, and fails when the total exceeds 150 KiB.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const BUDGET_GZ = 150 * 1024;

function parseArgs(argv) {
  const i = argv.indexOf("--out");
  if (i < 0 || !argv[i + 1]) {
    console.error("usage: node console/build.mjs --out DIR");
    process.exit(2);
  }
  return { out: path.resolve(argv[i + 1]) };
}

function generate() {
  const buf = path.join(here, "node_modules", ".bin", "buf");
  execFileSync(buf, ["generate", "--template", "buf.gen.yaml"], { cwd: here, stdio: "inherit" });
}

async function bundle(entry, options = {}) {
  const r = await esbuild.build({
    entryPoints: [path.join(here, entry)],
    bundle: true,
    minify: true,
    write: false,
    sourcemap: false,
    legalComments: "none",
    target: "es2020",
    charset: "utf8",
    logLevel: "warning",
    ...options,
  });
  return r.outputFiles;
}

// One output file's bytes (a single-output build).
function only(entry, outputs) {
  if (outputs.length !== 1) throw new Error(`${entry}: expected one output, got ${outputs.length}`);
  return Buffer.from(outputs[0].contents);
}

async function main() {
  const { out } = parseArgs(process.argv.slice(2));
  generate();
  // console.js and the chunks it imports on demand (the typed client: api.js loadClient).
  const jsOutputs = await bundle("src/main.jsx", {
    format: "esm",
    splitting: true,
    outdir: "/js",
    entryNames: "console",
    chunkNames: "chunk-[hash]",
    jsx: "automatic",
    jsxImportSource: "preact",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const js = Object.fromEntries(jsOutputs.map((f) => [path.basename(f.path), Buffer.from(f.contents)]));
  if (!js["console.js"]) throw new Error("src/main.jsx: no console.js in the output");
  const css = only("console.css", await bundle("console.css", { loader: { ".css": "css" }, outfile: "console.css" }));
  const html = Buffer.from(
    fs
      .readFileSync(path.join(here, "index.html"), "utf8")
      .replace(/\n\s*/g, "")
      .trim() + "\n",
  );
  const files = {
    "index.html": html,
    ...js,
    "console.css": css,
    "favicon.svg": fs.readFileSync(path.join(here, "favicon.svg")),
  };

  // Clear DIR, but only if it is empty or a bundle already (a mistyped --out must not wipe a tree).
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0 && !fs.existsSync(path.join(out, "index.html.gz"))) {
    throw new Error(`${out} is not empty and holds no console bundle: refusing to clear it`);
  }
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  let totalGz = 0;
  const lines = [];
  for (const [name, bytes] of Object.entries(files)) {
    const gz = zlib.gzipSync(bytes, { level: 9 });
    fs.writeFileSync(path.join(out, name), bytes);
    fs.writeFileSync(path.join(out, `${name}.gz`), gz);
    totalGz += gz.length;
    lines.push(`  ${name.padEnd(12)} ${String(bytes.length).padStart(8)} B  gzip ${String(gz.length).padStart(7)} B`);
  }
  console.log(`console bundle -> ${out}`);
  for (const l of lines) console.log(l);
  const kib = (totalGz / 1024).toFixed(1);
  console.log(`console bundle: ${totalGz} B gzipped (${kib} KiB of the ${BUDGET_GZ / 1024} KiB budget)`);
  if (totalGz > BUDGET_GZ) {
    console.error(`console bundle: over budget: ${kib} KiB gzipped > ${BUDGET_GZ / 1024} KiB`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(`console build failed: ${e.message}`);
  process.exit(1);
});
