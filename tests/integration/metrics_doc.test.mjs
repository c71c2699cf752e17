// docs/OPERATIONS.md lists exactly the metric families /metrics exports, with their types.
//
// Every collector writes its families' # HELP / # TYPE lines on every scrape, samples or not
// (per-peer mesh families have no samples until a peer is registered), so one fresh node exports
// every family there is.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/metrics_doc.test.mjs

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT, startNode } from "./lib/node_process.mjs";
import { scrapeMetrics } from "./lib/raw.mjs";

const DOC = path.join(REPO_ROOT, "docs", "OPERATIONS.md");

/** {name → type} from the doc's metrics table (a row may name several families: `a` / `b`). */
function documentedFamilies() {
  const text = fs.readFileSync(DOC, "utf8");
  const section = /^## Metrics[^\n]*\n([\s\S]*?)(?=^## )/m.exec(text);
  assert.ok(section, "docs/OPERATIONS.md has no '## Metrics' section");
  const out = new Map();
  for (const line of section[1].split("\n")) {
    if (!line.startsWith("| `peat_")) continue;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    for (const m of cells[0].matchAll(/`(peat_[a-z0-9_]+)`/g)) {
      assert.ok(!out.has(m[1]), `${m[1]} is documented twice`);
      out.set(m[1], cells[1]);
    }
  }
  return out;
}

/** {name → type} from the # TYPE lines of a scrape. */
function exportedFamilies(text) {
  const out = new Map();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1], m[2]);
  return out;
}

describe("docs/OPERATIONS.md metrics table vs GET /metrics", () => {
  it("every exported family is documented with its type, and every documented one is exported", async (t) => {
    // Attachments on (a root, an inbox outside it, the outbox watcher), the agent watcher and the
    // NATS bridge (their servers down: the families exist all the same), so their families exist.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peat-metrics-doc-"));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, "root"));
    const args = ["--attachment-root", `files=${path.join(dir, "root")}`, "--attachment-inbox", path.join(dir, "inbox"), "--attachment-outbox-watch", "true",
      "--agent-addr", "http://127.0.0.1:1", "--nats-url", "nats://127.0.0.1:1", "--nats-mapping", "metrics.doc=metrics_doc"];
    const node = await startNode({ unix: false, t, args });
    const { text } = await scrapeMetrics({ via: "tcp", addr: node.tcpAddr });
    const exported = exportedFamilies(text);
    const documented = documentedFamilies();
    assert.ok(exported.size >= 30, `only ${exported.size} families exported:\n${text}`);

    const undocumented = [...exported.keys()].filter((n) => !documented.has(n));
    const unexported = [...documented.keys()].filter((n) => !exported.has(n));
    assert.deepEqual(undocumented, [], "exported but missing from docs/OPERATIONS.md");
    assert.deepEqual(unexported, [], "documented in docs/OPERATIONS.md but not exported");
    const wrongType = [...exported].filter(([n, type]) => documented.get(n) !== type).map(([n, type]) => `${n}: exported ${type}, documented ${documented.get(n)}`);
    assert.deepEqual(wrongType, []);
  });
});
