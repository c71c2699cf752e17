// docs/CONFIGURATION.md against the binary: the flag tables list exactly the flags `peat-node
// --help` prints, with the same environment variable names and, where the help shows a plain
// default value, the same default; and every sample error message in the doc is what the binary
// prints for the command shown next to it.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/flags_doc.test.mjs

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "./lib/node_process.mjs";
import { runNodeBinary } from "./lib/raw.mjs";

const DOC = path.join(REPO_ROOT, "docs", "CONFIGURATION.md");

/** {flag → {env: [...], default?: string}} from `peat-node --help`. */
function parseHelp(text) {
  const flags = new Map();
  // An option line starts with two spaces; its description may wrap onto the next line when the
  // flag column is too wide, so join each option with what follows until the next option line.
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith("Options:"));
  const end = lines.findIndex((l, i) => i > start && /^\S/.test(l));
  let cur = null;
  const entries = [];
  for (const line of lines.slice(start + 1, end)) {
    const m = /^ {2}(?:-h,)?--([a-z0-9-]+)\b(.*)$/.exec(line);
    if (m) {
      cur = { name: m[1], text: m[2] };
      entries.push(cur);
    } else if (cur) cur.text += ` ${line.trim()}`;
  }
  for (const { name, text: desc } of entries) {
    const env = /\[env: ([^\]]+)\]/.exec(desc);
    const dflt = /\(default: ([^,)]+)/.exec(desc);
    flags.set(name, { env: env ? env[1].split(",").map((s) => s.trim()) : [], default: dflt ? dflt[1].trim() : undefined });
  }
  return flags;
}

/** {flag → {env: [...], defaultCell, line}} from every Markdown table row whose first cell names flags. */
function parseDocTables(text) {
  const flags = new Map();
  for (const line of text.split("\n")) {
    if (!line.startsWith("| `-")) continue;
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    const names = [...cells[0].matchAll(/`--([a-z0-9-]+)/g)].map((m) => m[1]);
    const env = cells.length >= 5 ? [...cells[1].matchAll(/PEAT_NODE_[A-Z0-9_]+/g)].map((m) => m[0]) : [];
    for (const name of names) {
      assert.ok(!flags.has(name), `docs/CONFIGURATION.md lists --${name} in two table rows`);
      flags.set(name, { env, defaultCell: cells.length >= 5 ? cells[2] : undefined, line });
    }
  }
  return flags;
}

describe("docs/CONFIGURATION.md matches peat-node --help", async () => {
  const help = await runNodeBinary(["--help"]);
  const fromHelp = parseHelp(help.stdout);
  const fromDoc = parseDocTables(fs.readFileSync(DOC, "utf8"));

  it("--help parses (sanity: a few flags and their env vars)", () => {
    assert.equal(help.code, 0, help.stderr);
    assert.ok(fromHelp.size >= 50, `only ${fromHelp.size} flags parsed from --help`);
    assert.deepEqual(fromHelp.get("peer")?.env, ["PEAT_NODE_PEERS", "PEAT_NODE_PEER"]);
    assert.deepEqual(fromHelp.get("help")?.env, []);
    assert.ok(fromDoc.size >= 50, `only ${fromDoc.size} flags parsed from the doc's tables`);
  });

  it("every flag of --help is in the doc's tables, and every flag in the tables is in --help", () => {
    const missing = [...fromHelp.keys()].filter((f) => !fromDoc.has(f));
    const extra = [...fromDoc.keys()].filter((f) => !fromHelp.has(f));
    assert.deepEqual(missing, [], `flags missing from docs/CONFIGURATION.md: ${missing.map((f) => `--${f}`).join(", ")}`);
    assert.deepEqual(extra, [], `flags documented but unknown to the binary: ${extra.map((f) => `--${f}`).join(", ")}`);
  });

  it("each flag's environment variable names are the same in both", () => {
    const diffs = [];
    for (const [name, h] of fromHelp) {
      const d = fromDoc.get(name);
      if (!d) continue;
      if (JSON.stringify([...h.env].sort()) !== JSON.stringify([...d.env].sort())) diffs.push(`--${name}: help [${h.env}] vs doc [${d.env}]`);
    }
    assert.deepEqual(diffs, []);
  });

  it("plain default values shown by --help are the doc's defaults", () => {
    const diffs = [];
    for (const [name, h] of fromHelp) {
      const d = fromDoc.get(name);
      if (!d || h.default === undefined || /\s/.test(h.default)) continue; // prose defaults are not compared
      const cell = d.defaultCell ?? "";
      const same = cell.includes(`\`${h.default}\``) || ((h.default === "none" || h.default === "unset") && cell.startsWith(h.default));
      if (!same) diffs.push(`--${name}: help says ${h.default}, doc says ${cell}`);
    }
    assert.deepEqual(diffs, []);
  });
});

describe("docs/CONFIGURATION.md sample error messages are what the binary prints", () => {
  // Each sample in a ```console block is a line "$ [VAR=value ]peat-node ARGS" followed by the
  // stderr line(s) it prints and "# exit N".
  const text = fs.readFileSync(DOC, "utf8");
  const samples = [];
  for (const block of text.matchAll(/```console\n([\s\S]*?)```/g)) {
    let cur = null;
    for (const line of block[1].split("\n")) {
      if (line.startsWith("$ ")) {
        cur = { cmd: line.slice(2), stderr: [], exit: undefined };
        samples.push(cur);
      } else if (cur && /^# exit \d+$/.test(line)) cur.exit = Number(line.split(" ").pop());
      else if (cur && line) cur.stderr.push(line);
    }
  }

  it("the doc has samples", () => {
    assert.ok(samples.length >= 4, `only ${samples.length} samples found`);
  });

  for (const s of samples) {
    it(s.cmd, async () => {
      const words = s.cmd.split(" ");
      const env = {};
      while (/^[A-Z_]+=/.test(words[0])) {
        const [k, ...v] = words.shift().split("=");
        env[k] = v.join("=");
      }
      assert.equal(words.shift(), "peat-node", "a sample runs peat-node");
      const r = await runNodeBinary(words, { env });
      assert.equal(r.timedOut, false, `${s.cmd}: the node kept running`);
      if (s.exit !== undefined) assert.equal(r.code, s.exit, `${s.cmd}: exit code\n${r.stderr}`);
      // Log lines start with a timestamp, which differs from run to run.
      const norm = (lines) => lines.map((l) => l.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, "<ts> "));
      assert.deepEqual(norm(r.stderr.split("\n").filter(Boolean)), norm(s.stderr), `${s.cmd}: stderr`);
    });
  }
});
