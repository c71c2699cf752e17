// `peat-node healthcheck` (docs/OPERATIONS.md "Probes"; PACKAGING.md §2.1) against a real node: exit
// 0 while the node is ready, over TCP and over the unix socket, with the address from --listen or
// PEAT_NODE_LISTEN; exit 1 with one line on stderr for a 404 path and for a port nobody listens on.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/healthcheck.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startNode } from "./lib/node_process.mjs";
import { runNodeBinary } from "./lib/raw.mjs";

async function healthcheck(args, env = {}) {
  const r = await runNodeBinary(["healthcheck", ...args], { env });
  assert.equal(r.timedOut, false, `healthcheck ${args.join(" ")} hung`);
  return r;
}

describe("peat-node healthcheck against a running node", () => {
  let node;
  let tcp;
  let unix;
  before(async () => {
    node = await startNode();
    tcp = `tcp://127.0.0.1:${node.tcpPort}`;
    unix = `unix://${node.unixPath}`;
  });
  after(() => node?.kill());

  for (const [what, args, env] of [
    ["--listen tcp://", () => ["--listen", tcp], () => ({})],
    ["--listen unix://", () => ["--listen", unix], () => ({})],
    ["PEAT_NODE_LISTEN (first of a list)", () => [], () => ({ PEAT_NODE_LISTEN: `${unix},tcp://127.0.0.1:1` })],
    ["--path /livez", () => ["--listen", tcp, "--path", "/livez"], () => ({})],
  ]) {
    it(`exit 0 and silent when ready: ${what}`, async () => {
      const r = await healthcheck(args(), env());
      assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
      assert.equal(r.stderr, "");
      assert.equal(r.stdout, "");
    });
  }

  it("exit 1 naming the status for a path that is not 200", async () => {
    const r = await healthcheck(["--listen", tcp, "--path", "/nope"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `peat-node healthcheck: ${tcp}/nope: status 404: not found\n`);
  });

  it("exit 2 for a usage error", async () => {
    const r = await healthcheck(["--listen", tcp, "--timeout-ms", "0"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--timeout-ms/);
  });
});

describe("peat-node healthcheck against a dead port", () => {
  it("exit 1 with 'Connection refused' once the node has stopped", async () => {
    const node = await startNode({ unix: false });
    const tcp = `tcp://127.0.0.1:${node.tcpPort}`;
    assert.equal((await healthcheck(["--listen", tcp])).code, 0, "sanity: ready before the stop");
    const exit = await node.stop("SIGTERM");
    assert.equal(exit.code, 0);
    const r = await healthcheck(["--listen", tcp, "--timeout-ms", "2000"]);
    assert.equal(r.code, 1, `exit ${r.code} on a dead port: ${r.stderr}`);
    assert.match(r.stderr, /^peat-node healthcheck: tcp:\/\/127\.0\.0\.1:\d+\/readyz: connect: Connection refused\n$/);
  });
});
