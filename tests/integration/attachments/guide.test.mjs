// docs/ATTACHMENTS.md's command blocks, run as written (the user guide's curl walk-through: a file
// from alpha lands in bravo's inbox; Get, Subscribe, Cancel, bad requests), with the conventions
// of ../readme.test.mjs (../lib/doc_blocks.mjs): each command's output must match the `# ` lines
// under it. The blocks run build/peat-node on the guide's fixed ports (50073, 50074, 4473, 4474),
// so CTest runs this test alone (RUN_SERIAL) and PEAT_NODE_BIN must be build/peat-node.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/attachments/guide.test.mjs

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { RUNNABLE_LANGS, docBlocks, itPerBlock } from "../lib/doc_blocks.mjs";
import { REPO_ROOT, nodeBinary } from "../lib/node_process.mjs";

const DOC = "docs/ATTACHMENTS.md";
const runnable = docBlocks(fs.readFileSync(path.join(REPO_ROOT, DOC), "utf8"), DOC).filter((b) => RUNNABLE_LANGS.has(b.lang));

describe(`${DOC} command blocks, run as written`, () => {
  it("the guide has a walk-through with expected outputs, and the test runs build/peat-node", () => {
    assert.ok(runnable.filter((b) => !b.skip).length >= 1, `no runnable sh block in ${DOC}`);
    assert.ok(runnable.flatMap((b) => b.commands.filter((c) => c.expect)).length >= 10, `too few expected outputs in ${DOC}`);
    const bin = path.join(REPO_ROOT, "build", "peat-node");
    assert.ok(fs.existsSync(bin), `${bin} does not exist: the guide's blocks run build/peat-node (make build)`);
    assert.equal(fs.realpathSync(nodeBinary()), fs.realpathSync(bin), `PEAT_NODE_BIN (${nodeBinary()}) is not build/peat-node, which the guide runs`);
  });

  itPerBlock(runnable, DOC);
});
