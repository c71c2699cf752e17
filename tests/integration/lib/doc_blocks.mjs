// Command blocks of a markdown doc, run as written (README.md through ../readme.test.mjs, the
// attachment guide docs/ATTACHMENTS.md through ../attachments/guide.test.mjs, the watcher guide
// docs/WATCHER.md through ../watcher_guide.test.mjs). The conventions are
// those at the top of ../readme.test.mjs: one bash per ```sh block from the repository root, the
// `# ` lines right under a command are its expected stdout (`…` matches anything), every command
// exits 0 (a `timeout ` command may exit 124), nothing may be left running or in TMPDIR, and
// `<!-- readme-test: skip (reason) -->` before a fence skips that block.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { it } from "node:test";
import { REPO_ROOT } from "./node_process.mjs";

const BLOCK_TIMEOUT_MS = 120_000;
const GROUP_EXIT_MS = 5_000; // after bash exits, how long its processes may take to be gone
const MARKER_RE = /^<!--\s*readme-test:\s*(.*?)\s*-->\s*$/;
const SKIP_RE = /^skip \((.+)\)$/;
const FENCE_OPEN_RE = /^```(\S*)\s*$/;
export const RUNNABLE_LANGS = new Set(["sh", "bash"]);

// ---------------------------------------------------------------------------------------------
// Extraction
// ---------------------------------------------------------------------------------------------

/** Whether `text` is a complete bash command list (bash -n parses it). */
function bashParses(text) {
  const r = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
  return { ok: r.status === 0, error: (r.stderr || "").trim() };
}

/**
 * Splits the lines of one block into commands, each with the comment lines directly under it as
 * its expected output. `firstLine` is the doc's line number of lines[0].
 */
function commandsOf(lines, firstLine, doc) {
  const commands = [];
  let i = 0;
  while (i < lines.length) {
    if (/^\s*$/.test(lines[i]) || /^\s*#/.test(lines[i])) {
      i++;
      continue;
    }
    let j = i;
    let text = lines[i];
    for (;;) {
      const parsed = bashParses(text);
      if (!text.endsWith("\\") && parsed.ok) break;
      if (++j >= lines.length) {
        throw new Error(`${doc}:${firstLine + i}: the command starting here does not end inside its block (bash -n: ${parsed.error})`);
      }
      text += "\n" + lines[j];
    }
    let k = j + 1;
    const expected = [];
    while (k < lines.length && /^#( |$)/.test(lines[k])) expected.push(lines[k++].replace(/^# ?/, ""));
    commands.push({
      line: firstLine + i,
      text,
      expect: expected.length ? { line: firstLine + j + 1, lastLine: firstLine + k - 1, text: expected.join("\n") } : null,
    });
    i = k;
  }
  return commands;
}

/** Every fenced block of a markdown doc (named `doc` in errors): {line (of the opening fence), lang, skip (reason or null), commands}. */
export function docBlocks(markdown, doc) {
  const lines = markdown.split("\n");
  const blocks = [];
  let pendingMarker = null; // {line, skip}
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER_RE.exec(lines[i]);
    if (marker) {
      const skip = SKIP_RE.exec(marker[1]);
      if (!skip) throw new Error(`${doc}:${i + 1}: unknown readme-test marker "${marker[1]}" (only "skip (reason)" exists)`);
      pendingMarker = { line: i + 1, skip: skip[1] };
      continue;
    }
    const fence = FENCE_OPEN_RE.exec(lines[i]);
    if (!fence) {
      if (pendingMarker && lines[i].trim() !== "") {
        throw new Error(`${doc}:${pendingMarker.line}: a readme-test marker must be the line right before a fenced block`);
      }
      continue;
    }
    if (pendingMarker && pendingMarker.line !== i) {
      throw new Error(`${doc}:${pendingMarker.line}: a readme-test marker must be the line right before a fenced block`);
    }
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    if (end >= lines.length) throw new Error(`${doc}:${i + 1}: fenced block is never closed`);
    const body = lines.slice(i + 1, end);
    const lang = fence[1];
    blocks.push({
      line: i + 1,
      lang,
      skip: pendingMarker?.skip ?? null,
      commands: RUNNABLE_LANGS.has(lang) ? commandsOf(body, i + 2, doc) : [],
    });
    pendingMarker = null;
    i = end;
  }
  if (pendingMarker) throw new Error(`${doc}:${pendingMarker.line}: a readme-test marker must be the line right before a fenced block`);
  return blocks;
}

// ---------------------------------------------------------------------------------------------
// Expectations: exact after trimming, `…` = any run of characters
// ---------------------------------------------------------------------------------------------

/** null when `actual` matches `expected`; else {offset, part}: the first expected part that fails. */
function mismatch(expected, actual) {
  const parts = expected.split("…");
  if (parts.length === 1) {
    if (actual === expected) return null;
    let at = 0;
    while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
    return { offset: at, part: expected.slice(at) };
  }
  if (!actual.startsWith(parts[0])) return { offset: 0, part: parts[0] };
  let pos = parts[0].length;
  for (let k = 1; k < parts.length - 1; k++) {
    const found = actual.indexOf(parts[k], pos);
    if (found < 0) return { offset: pos, part: parts[k] };
    pos = found + parts[k].length;
  }
  const last = parts[parts.length - 1];
  if (actual.endsWith(last) && actual.length - last.length >= pos) return null;
  return { offset: pos, part: last };
}

const indent = (s) => (s === "" ? "    (nothing)" : s.split("\n").map((l) => `    | ${l}`).join("\n"));
const excerpt = (s, n = 80) => JSON.stringify(s.length > n ? s.slice(0, n) + "…" : s);
export const firstLineOf = (text) => text.split("\n")[0];

// ---------------------------------------------------------------------------------------------
// Running one block
// ---------------------------------------------------------------------------------------------

/** The test's environment without PEAT_NODE_* (those would configure the doc's nodes). */
function blockEnv(tmpDir) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PEAT_NODE_")) env[k] = v;
  env.TMPDIR = tmpDir;
  return env;
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the commands of one block in one bash (its own process group), each followed by a line
 * that reports its exit status on stdout. Resolves {results: [{stdout, rc}] (one per finished
 * command), exitCode, signal, stderr, timedOut, leftProcesses, leftFiles}.
 */
export async function runBlock(commands) {
  const tag = `@@readme-test-${crypto.randomBytes(8).toString("hex")}`;
  let script = "";
  commands.forEach((c, idx) => {
    const okCodes = c.text.startsWith("timeout ") ? "0|124" : "0";
    script += `${c.text}\n`;
    script += `__readme_rc=$?; printf '\\n${tag} %d %d\\n' ${idx} "$__readme_rc"; `;
    script += `case $__readme_rc in ${okCodes}) ;; *) exit 97 ;; esac\n`;
  });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "peat-readme-"));
  const tmpDir = path.join(work, "tmp");
  fs.mkdirSync(tmpDir);
  const scriptPath = path.join(work, "block.sh");
  fs.writeFileSync(scriptPath, script);

  const proc = spawn("bash", ["--noprofile", "--norc", scriptPath], {
    cwd: REPO_ROOT,
    env: blockEnv(tmpDir),
    detached: true, // own process group: everything the block starts can be found and killed
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stdout.setEncoding("utf8");
  proc.stderr.setEncoding("utf8");
  proc.stdout.on("data", (d) => (stdout += d));
  proc.stderr.on("data", (d) => (stderr += d));
  const closed = new Promise((resolve) => proc.on("close", resolve));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (groupAlive(proc.pid)) process.kill(-proc.pid, "SIGKILL");
  }, BLOCK_TIMEOUT_MS);
  const [exitCode, signal] = await new Promise((resolve, reject) => {
    proc.on("error", reject);
    proc.on("exit", (code, sig) => resolve([code, sig]));
  });
  clearTimeout(timer);

  // bash is gone; whatever it started must be gone too (the doc's cleanup waits for its nodes).
  const deadline = Date.now() + GROUP_EXIT_MS;
  while (groupAlive(proc.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const leftProcesses = groupAlive(proc.pid);
  if (leftProcesses) process.kill(-proc.pid, "SIGKILL");
  await closed;

  const leftFiles = fs.readdirSync(tmpDir);
  fs.rmSync(work, { recursive: true, force: true });

  const results = [];
  const re = new RegExp(`\\n${tag} (\\d+) (\\d+)\\n`, "g");
  let from = 0;
  for (let m; (m = re.exec(stdout)) !== null; ) {
    results[Number(m[1])] = { stdout: stdout.slice(from, m.index), rc: Number(m[2]) };
    from = re.lastIndex;
  }
  return { results, exitCode, signal, stderr, timedOut, leftProcesses, leftFiles, trailing: stdout.slice(from) };
}

/** Problems of one run, each naming the doc's lines; empty when the block did what the doc says. */
export function problemsOf(commands, run, doc) {
  const problems = [];
  commands.forEach((c, idx) => {
    const r = run.results[idx];
    const where = `${doc}:${c.line}`;
    if (!r) {
      if (run.results.length === idx) {
        problems.push(`${where}: the block ended in (or before) this command without finishing it (bash exit ${run.exitCode ?? run.signal})\n  command: ${c.text}`);
      }
      return;
    }
    const actual = r.stdout.trim();
    if (r.rc !== 0 && !(r.rc === 124 && c.text.startsWith("timeout "))) {
      problems.push(`${where}: exited ${r.rc} (want 0${c.text.startsWith("timeout ") ? " or 124" : ""}); the block stops here\n  command: ${c.text}\n  stdout:\n${indent(actual)}`);
    }
    if (c.expect) {
      const expected = c.expect.text.trim();
      const bad = mismatch(expected, actual);
      if (bad) {
        const lines = c.expect.line === c.expect.lastLine ? `${c.expect.line}` : `${c.expect.line}-${c.expect.lastLine}`;
        problems.push(
          `${where}: output differs from ${doc}:${lines}\n  command: ${c.text}\n` +
            `  expected (${doc}:${lines}; … matches anything):\n${indent(expected)}\n  actual:\n${indent(actual)}\n` +
            `  first mismatch: expected ${excerpt(bad.part)} at offset ${bad.offset} of the actual output, found ${excerpt(actual.slice(bad.offset))}`,
        );
      }
    }
  });
  if (run.timedOut) problems.push(`the block did not finish within ${BLOCK_TIMEOUT_MS} ms (killed)`);
  if (run.leftProcesses) problems.push(`the block left processes running ${GROUP_EXIT_MS} ms after its shell exited (its cleanup must stop what it starts)`);
  if (run.leftFiles.length) problems.push(`the block left files in its TMPDIR (its cleanup must remove its mktemp dirs): ${run.leftFiles.join(", ")}`);
  if (run.trailing.trim()) problems.push(`output after the last finished command:\n${indent(run.trailing.trim())}`);
  if (problems.length && run.stderr.trim()) problems.push(`the block's stderr (last 3000 characters):\n${indent(run.stderr.trim().slice(-3000))}`);
  return problems;
}


/**
 * Registers one node:test `it` per block of `blocks` (those of `doc`), named `<doc>:<line>: <first
 * command>`: a skipped block is a skipped test showing its reason; any other runs and fails with
 * problemsOf's report.
 */
export function itPerBlock(blocks, doc) {
  for (const block of blocks) {
    const first = block.commands.length ? firstLineOf(block.commands[0].text) : "(empty)";
    const name = `${doc}:${block.line}: ${first.length > 60 ? first.slice(0, 60) + "…" : first}`;
    if (block.skip) {
      it(name, { skip: block.skip }, () => {});
      continue;
    }
    it(name, async () => {
      const run = await runBlock(block.commands);
      const problems = problemsOf(block.commands, run, doc);
      if (problems.length) assert.fail(`${doc} block at line ${block.line}:\n${problems.join("\n\n")}`);
    });
  }
}
