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
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { RUNNABLE_LANGS, docBlocks, firstLineOf, problemsOf, runBlock } from "./lib/doc_blocks.mjs";
import { waitReady } from "./lib/documents.mjs";
import { REPO_ROOT, nodeBinary } from "./lib/node_process.mjs";
import { spawnNodeExact } from "./lib/raw.mjs";

const README = path.join(REPO_ROOT, "README.md");

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

const blocks = docBlocks(fs.readFileSync(README, "utf8"), "README.md");
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
      const problems = problemsOf(block.commands, run, "README.md");
      if (problems.length) assert.fail(`README.md block at line ${block.line}:\n${problems.join("\n\n")}`);
    });
  }
});
