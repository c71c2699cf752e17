// README.md's command blocks, run as written against the built node (issue 17): every ```sh block
// is extracted from README.md when the test runs (never a copy), run in bash from the repository
// root, and each command's output is checked against what the README shows under it.
//
// Conventions (README.md "Development" has the one-line version):
//   - Every ```sh (or ```bash) block runs, in order, one bash per block (so variables persist
//     within a block, not across blocks: each block must define what it uses), cwd = the
//     repository root, PEAT_NODE_* variables of the test's environment removed, at most 120 s.
//     `<!-- readme-test: skip (reason) -->` as the line before a block's fence skips that block; the
//     reason is required and shown in the test output. Any other `readme-test:` marker is an error.
//   - A command is a non-comment line plus its continuation lines (a trailing `\`, or the lines
//     that complete a multi-line `for …; do … done`: bash -n decides).
//   - The `#` comment lines directly under a command (no blank line between) are its expected
//     stdout, one comment line per output line without the leading `# `. `…` in an expectation
//     matches any run of characters (also none, also newlines); everything else must match exactly,
//     after trimming leading and trailing whitespace of the whole output. So prose comments go
//     after a blank line, or before a command. A comment at the end of a command line is prose.
//   - Every command must exit 0, except that a command starting with `timeout ` may also exit 124
//     (the bound expired: how a stream such as Subscribe or Watch ends in a script). After a failed
//     command the block stops (bash exits, so the block's EXIT trap cleans up) and the test fails.
//   - A block may not leave processes running (its bash's process group must be empty once bash
//     has exited) nor files in its temp dir: each block runs with TMPDIR set to a fresh directory
//     that must be empty afterwards (the README's mktemp dirs must be removed by its cleanup).
//   - Failures name the README line of the command and of its expectation, with both texts and
//     the first part of the expectation that the actual output does not match.
//
// The node of `make run`: the tour blocks talk to 127.0.0.1:50051, where `make run` serves. This
// test starts the node the way `make run` does: the binary with `--listen $(LISTEN)` (LISTEN's
// default read from the Makefile) and a fresh temp `--data-dir`, and keeps it running while every
// block runs (the self-contained blocks start their own nodes on other ports next to it, as a
// user's would). Decision: the README's address is not made overridable, so that the commands
// that run are the README's own text; when the port is taken the test fails at once and says so
// (free it and re-run). Likewise the blocks run `build/peat-node`, so PEAT_NODE_BIN (CTest passes
// the build's binary) must be that file; otherwise the test fails and says so.
//
// The README's ports are fixed (50051; the self-contained blocks 50071, 50072, 4471, 4472, 50075, 50076, 4475, 4476,
// 50081):
// like test/quickstart.sh this test wants them free while it runs.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/readme.test.mjs
// (the blocks run scripts/buf, which installs the pinned npm clients when they are missing; under
// CTest the integration_npm_deps fixture has installed them already)

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { waitReady } from "./lib/documents.mjs";
import { REPO_ROOT, nodeBinary } from "./lib/node_process.mjs";
import { spawnNodeExact } from "./lib/raw.mjs";

const README = path.join(REPO_ROOT, "README.md");
const BLOCK_TIMEOUT_MS = 120_000;
const GROUP_EXIT_MS = 5_000; // after bash exits, how long its processes may take to be gone
const MARKER_RE = /^<!--\s*readme-test:\s*(.*?)\s*-->\s*$/;
const SKIP_RE = /^skip \((.+)\)$/;
const FENCE_OPEN_RE = /^```(\S*)\s*$/;
const RUNNABLE_LANGS = new Set(["sh", "bash"]);

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
 * its expected output. `firstLine` is the README line number of lines[0].
 */
function commandsOf(lines, firstLine) {
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
        throw new Error(`README.md:${firstLine + i}: the command starting here does not end inside its block (bash -n: ${parsed.error})`);
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

/** Every fenced block of README.md: {line (of the opening fence), lang, skip (reason or null), commands}. */
function readmeBlocks(markdown) {
  const lines = markdown.split("\n");
  const blocks = [];
  let pendingMarker = null; // {line, skip}
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER_RE.exec(lines[i]);
    if (marker) {
      const skip = SKIP_RE.exec(marker[1]);
      if (!skip) throw new Error(`README.md:${i + 1}: unknown readme-test marker "${marker[1]}" (only "skip (reason)" exists)`);
      pendingMarker = { line: i + 1, skip: skip[1] };
      continue;
    }
    const fence = FENCE_OPEN_RE.exec(lines[i]);
    if (!fence) {
      if (pendingMarker && lines[i].trim() !== "") {
        throw new Error(`README.md:${pendingMarker.line}: a readme-test marker must be the line right before a fenced block`);
      }
      continue;
    }
    if (pendingMarker && pendingMarker.line !== i) {
      throw new Error(`README.md:${pendingMarker.line}: a readme-test marker must be the line right before a fenced block`);
    }
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    if (end >= lines.length) throw new Error(`README.md:${i + 1}: fenced block is never closed`);
    const body = lines.slice(i + 1, end);
    const lang = fence[1];
    blocks.push({
      line: i + 1,
      lang,
      skip: pendingMarker?.skip ?? null,
      commands: RUNNABLE_LANGS.has(lang) ? commandsOf(body, i + 2) : [],
    });
    pendingMarker = null;
    i = end;
  }
  if (pendingMarker) throw new Error(`README.md:${pendingMarker.line}: a readme-test marker must be the line right before a fenced block`);
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
const firstLineOf = (text) => text.split("\n")[0];

// ---------------------------------------------------------------------------------------------
// Running one block
// ---------------------------------------------------------------------------------------------

/** The test's environment without PEAT_NODE_* (those would configure the README's nodes). */
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
async function runBlock(commands) {
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

  // bash is gone; whatever it started must be gone too (the README's cleanup waits for its nodes).
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

/** Problems of one run, each naming README lines; empty when the block did what the README says. */
function problemsOf(commands, run) {
  const problems = [];
  commands.forEach((c, idx) => {
    const r = run.results[idx];
    const where = `README.md:${c.line}`;
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
          `${where}: output differs from README.md:${lines}\n  command: ${c.text}\n` +
            `  expected (README.md:${lines}; … matches anything):\n${indent(expected)}\n  actual:\n${indent(actual)}\n` +
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

// ---------------------------------------------------------------------------------------------
// The node of `make run`
// ---------------------------------------------------------------------------------------------

/** The Makefile's default `LISTEN ?= …` (what `make run` passes to --listen). */
function makeRunListen() {
  const m = /^LISTEN\s*\?=\s*(\S+)\s*$/m.exec(fs.readFileSync(path.join(REPO_ROOT, "Makefile"), "utf8"));
  assert.ok(m, "Makefile: no `LISTEN ?= …` default (the address `make run` serves on)");
  return m[1];
}

/** Whether something accepts TCP connections on host:port. */
function portTaken(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (taken) => {
      s.destroy();
      resolve(taken);
    };
    s.setTimeout(2_000, () => done(true));
    s.on("connect", () => done(true));
    s.on("error", () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------

const blocks = readmeBlocks(fs.readFileSync(README, "utf8"));
const runnable = blocks.filter((b) => RUNNABLE_LANGS.has(b.lang));

describe("README.md command blocks, run as written", () => {
  let makeRunNode = null;

  before(async () => {
    const readmeBin = path.join(REPO_ROOT, "build", "peat-node");
    assert.ok(fs.existsSync(readmeBin), `${readmeBin} does not exist: the README's blocks run build/peat-node (make build)`);
    assert.equal(
      fs.realpathSync(nodeBinary()),
      fs.realpathSync(readmeBin),
      `PEAT_NODE_BIN (${nodeBinary()}) is not build/peat-node, which the README's blocks run: build into build/ and test that binary`,
    );
    const listen = makeRunListen();
    const addr = new URL(listen.replace(/^tcp:/, "http:"));
    if (await portTaken(addr.hostname, Number(addr.port))) {
      assert.fail(`${addr.host} is already in use: the README's tour talks to the node of \`make run\` there, so this test starts one on it. Stop whatever listens on ${addr.host} (another peat-node? a \`make run\`?) and re-run.`);
    }
    // As `make run` does: the binary, --listen $(LISTEN), --data-dir (a fresh one here).
    makeRunNode = await spawnNodeExact({ argv: ["--listen", listen, "--data-dir", "{tmp}/data"], listeners: 1 });
    await waitReady(makeRunNode);
  });

  after(async () => {
    if (makeRunNode) await makeRunNode.kill();
  });

  it("README.md has runnable blocks with expected outputs, and every skip has a reason", () => {
    assert.ok(runnable.length >= 4, `only ${runnable.length} sh blocks found in README.md`);
    const run = runnable.filter((b) => !b.skip);
    assert.ok(run.length >= 3, `only ${run.length} sh blocks are not skipped`);
    for (const b of run) assert.ok(b.commands.length > 0, `README.md:${b.line}: sh block without a command`);
    const expectations = run.flatMap((b) => b.commands.filter((c) => c.expect));
    assert.ok(expectations.length >= 10, `only ${expectations.length} expected outputs in README.md`);
  });

  for (const block of runnable) {
    const first = block.commands.length ? firstLineOf(block.commands[0].text) : "(empty)";
    const name = `README.md:${block.line}: ${first.length > 60 ? first.slice(0, 60) + "…" : first}`;
    if (block.skip) {
      it(name, { skip: block.skip }, () => {});
      continue;
    }
    it(name, async () => {
      if (makeRunNode?.exit) assert.fail(`the make-run node exited (${JSON.stringify(makeRunNode.exit)})\n${makeRunNode.stderrText}`);
      const run = await runBlock(block.commands);
      const problems = problemsOf(block.commands, run);
      if (problems.length) assert.fail(`README.md block at line ${block.line}:\n${problems.join("\n\n")}`);
    });
  }
});
