// systemd readiness (PACKAGING.md §2.4; the unit is Type=notify): with NOTIFY_SOCKET set, the node
// sends READY=1 once /readyz answers 200 and STOPPING=1 when SIGTERM starts the drain, one datagram
// each; a NOTIFY_SOCKET nobody listens on is logged once and never stops the node. The socket is a
// real AF_UNIX datagram socket bound by a small python3 receiver (node has no unix datagrams).
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/systemd_notify.test.mjs

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT, startNode } from "./lib/node_process.mjs";
import { httpGet } from "./lib/raw.mjs";

const RECEIVER = path.join(REPO_ROOT, "tests/integration/lib/notify_receiver.py");

/** Starts the receiver on `name` ("/path" or "@abstract"); resolves once it is bound. */
async function startReceiver(t, name) {
  const proc = spawn("python3", [RECEIVER, name], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => proc.kill("SIGKILL"));
  const r = { messages: [], waiters: new Set(), stderr: "" };
  let partial = "";
  let bound;
  const isBound = new Promise((resolve, reject) => {
    bound = resolve;
    proc.on("exit", (code) => reject(new Error(`notify receiver exited ${code}: ${r.stderr}`)));
  });
  proc.stderr.setEncoding("utf8");
  proc.stderr.on("data", (d) => (r.stderr += d));
  proc.stdout.setEncoding("utf8");
  proc.stdout.on("data", (d) => {
    partial += d;
    let nl;
    while ((nl = partial.indexOf("\n")) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (line === "BOUND") bound();
      else r.messages.push(JSON.parse(line));
      for (const w of r.waiters) w();
    }
  });
  /** Resolves with the first message matching `re` (already received or future), or rejects after timeoutMs. */
  r.waitFor = (re, timeoutMs = 10_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const m = r.messages.find((x) => re.test(x));
        if (m === undefined) return;
        r.waiters.delete(check);
        clearTimeout(timer);
        resolve(m);
      };
      const timer = setTimeout(() => {
        r.waiters.delete(check);
        reject(new Error(`no notification matching ${re} within ${timeoutMs} ms; got ${JSON.stringify(r.messages)}`));
      }, timeoutMs);
      r.waiters.add(check);
      check();
    });
  await isBound;
  return r;
}

function tempDir(t) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "peat-it-notify-"));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

describe("systemd notification (NOTIFY_SOCKET)", () => {
  const forms = {
    path: (t) => path.join(tempDir(t), "notify.sock"),
    abstract: () => `@peat-it-notify-${process.pid}-${crypto.randomBytes(6).toString("hex")}`,
  };
  for (const [form, makeName] of Object.entries(forms)) {
    it(`READY=1 once /readyz is 200, then STOPPING=1 on SIGTERM, exit 0 (${form} socket)`, async (t) => {
      const name = makeName(t);
      const systemd = await startReceiver(t, name);
      const node = await startNode({ t, env: { NOTIFY_SOCKET: name } });
      const ready = await systemd.waitFor(/^READY=1$/m);
      assert.match(ready, /^STATUS=serving on .*tcp:\/\/127\.0\.0\.1:\d+/m, ready);
      const readyz = await httpGet({ via: "tcp", addr: node.tcpAddr }, "/readyz");
      assert.equal(readyz.status, 200, `/readyz after READY=1: ${readyz.status} ${readyz.body}`);
      assert.ok(!systemd.messages.some((m) => /STOPPING=1/.test(m)), "no STOPPING=1 before SIGTERM");

      const stopped = node.stop("SIGTERM");
      const stopping = await systemd.waitFor(/^STOPPING=1$/m);
      assert.match(stopping, /^STATUS=draining \(SIGTERM\)$/m);
      const res = await stopped;
      assert.equal(res.timedOut, false, "exited within the grace period");
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(
        systemd.messages.map((m) => m.split("\n")[0]),
        ["READY=1", "STOPPING=1"],
        "exactly one READY=1, then one STOPPING=1",
      );
      assert.doesNotMatch(res.stderr, /systemd notification failed/);
    });
  }

  it("a NOTIFY_SOCKET nobody listens on is logged once; the node serves and stops cleanly", async (t) => {
    const missing = path.join(tempDir(t), "nobody.sock");
    const node = await startNode({ t, env: { NOTIFY_SOCKET: missing } });
    const readyz = await httpGet({ via: "tcp", addr: node.tcpAddr }, "/readyz");
    assert.equal(readyz.status, 200);
    const res = await node.stop("SIGTERM");
    assert.equal(res.code, 0, res.stderr);
    const warnings = res.stderr.split("\n").filter((l) => /systemd notification failed/.test(l));
    assert.equal(warnings.length, 1, res.stderr);
    assert.match(warnings[0], new RegExp(missing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  });

  it("without NOTIFY_SOCKET nothing about systemd is logged", async (t) => {
    const node = await startNode({ t, env: { NOTIFY_SOCKET: "" } });
    const res = await node.stop("SIGTERM");
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stderr, /systemd|NOTIFY_SOCKET/);
  });
});
