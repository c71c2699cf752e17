// docs/WATCHER.md's command blocks, run as written (the "Try it against the fake agent"
// walk-through: the fake agent from the command line, driven with curl over h2c and mTLS), with the
// conventions of ./readme.test.mjs (./lib/doc_blocks.mjs): each command's output must match the
// `# ` lines under it. The blocks use ports the OS picks; the last one runs build/peat-node (after
// `make build`) polling the fake agent, on a unix socket.
//
// Run: node --test tests/integration/watcher_guide.test.mjs

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { RUNNABLE_LANGS, docBlocks, itPerBlock } from "./lib/doc_blocks.mjs";
import { REPO_ROOT } from "./lib/node_process.mjs";

const DOC = "docs/WATCHER.md";
const runnable = docBlocks(fs.readFileSync(path.join(REPO_ROOT, DOC), "utf8"), DOC).filter((b) => RUNNABLE_LANGS.has(b.lang));

describe(`${DOC} command blocks, run as written`, () => {
  it("the guide has a fake-agent walk-through with expected outputs", () => {
    assert.ok(runnable.filter((b) => !b.skip).length >= 3, `too few runnable sh blocks in ${DOC}`);
    assert.ok(runnable.flatMap((b) => b.commands.filter((c) => c.expect)).length >= 10, `too few expected outputs in ${DOC}`);
  });

  itPerBlock(runnable, DOC);
});
