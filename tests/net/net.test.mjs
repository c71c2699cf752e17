// Self-test of the node wrapper (tests/net/net.mjs); tests/net/selftest.sh runs it after the bash
// checks. Root only:  node --test tests/net/net.test.mjs
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { PeatNet, REPO_ROOT } from "./net.mjs";

const CLEANUP = path.join(REPO_ROOT, "tests/net/cleanup.sh");

/** Running (a zombie counts as gone: the reaper of orphans may be slow). */
function alive(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0] !== "Z";
  } catch {
    return false;
  }
}

async function waitFor(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("PeatNet: hosts, links, partition, spawn, close leaves nothing", async (t) => {
  const net = await PeatNet.create({ hosts: ["alpha", "bravo", "charlie"], t, seed: 7 });
  assert.deepEqual(net.hosts, ["alpha", "bravo", "charlie"]);
  assert.equal(net.addr("bravo"), "10.77.0.2");

  const p0 = await net.ping("alpha", "bravo", { count: 3, intervalS: 0.05 });
  assert.equal(p0.received, 3, JSON.stringify(p0));

  assert.equal(await net.set("alpha", "bravo", { delay_ms: 50 }), 2);
  const p1 = await net.ping("alpha", "bravo", { count: 10, intervalS: 0.05 });
  console.log(`# alpha<->bravo 50 ms each way: rtt ${JSON.stringify(p1)}`);
  assert.ok(p1.avg_ms > 98 && p1.avg_ms < 103, JSON.stringify(p1));

  const links = await net.get("alpha", "bravo");
  assert.equal(links[0].delay_ms, 50);
  await assert.rejects(net.set("alpha", "nobody", { delay_ms: 1 }), /unknown host nobody/);
  await assert.rejects(net.set("alpha", "bravo", { delay: 1 }), /unknown field delay/);

  await net.partition(["alpha"], ["bravo", "charlie"]);
  const cut = await net.ping("alpha", "bravo", { count: 3, intervalS: 0.05, waitS: 0.5 });
  assert.equal(cut.received, 0);
  const inside = await net.ping("bravo", "charlie", { count: 3, intervalS: 0.05 });
  assert.equal(inside.received, 3);
  await net.heal();
  assert.equal((await net.ping("alpha", "charlie", { count: 3, intervalS: 0.05 })).received, 3);

  // A TCP service in one host, reached from another by address.
  const server = net.spawn("bravo", process.execPath, ["-e", `require("net").createServer((s) => s.end("hi from bravo\\n")).listen(7000, "${net.addr("bravo")}", () => console.log("up"))`]);
  await new Promise((r) => server.stdout.once("data", r));
  const r = await net.exec("alpha", process.execPath, ["-e", `require("net").connect(7000, "${net.addr("bravo")}").on("data", (d) => process.stdout.write(d))`]);
  assert.equal(r.stdout, "hi from bravo\n");
  const st = await net.linkStats("alpha", "bravo");
  assert.ok(st.out_pkts > 0 && st.drop_down > 0, JSON.stringify(st));

  // A wrapper script runs a program inside a host (for helpers that take a binary path).
  const w = net.wrapper("charlie", "/bin/sh");
  assert.match(execFileSync(w, ["-c", "ip -o -4 addr show dev peat0"], { encoding: "utf8" }), /10\.77\.0\.3\/24/);

  const sleeper = net.spawn("charlie", "sleep", ["1000"]);
  await net.close();
  assert.equal(net.leftovers(), "");
  await waitFor(() => !alive(sleeper.pid), 5000, "sleeper killed");
});

test("a test process killed with SIGKILL leaves nothing behind (emulator --die-with-parent)", async () => {
  const id = `killtest${process.pid}`;
  const script = `
    import { PeatNet } from ${JSON.stringify(path.join(REPO_ROOT, "tests/net/net.mjs"))};
    const net = await PeatNet.create({ hosts: 2, id: ${JSON.stringify(id)} });
    const s = net.spawn("h1", "sleep", ["1000"]);
    console.log("READY " + s.pid + " " + net.proc.pid);
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /READY (\d+) (\d+)/.exec(out);
      if (m) resolve(m);
    });
    child.on("exit", (c) => reject(new Error(`child exited ${c}`)));
  });
  const [sleeperPid, emuPid] = [Number(line[1]), Number(line[2])];
  assert.ok(fs.existsSync(`/run/netns/peatnet-${id}-h1`));
  child.kill("SIGKILL");
  const check = () => {
    try {
      execFileSync("bash", [CLEANUP, "--check", id], { stdio: "ignore" });
      return !alive(emuPid) && !alive(sleeperPid);
    } catch {
      return false;
    }
  };
  try {
    await waitFor(check, 30_000, "the emulator's own cleanup"); // slow only on a loaded machine
  } finally {
    execFileSync("bash", [CLEANUP, id]);
  }
});
