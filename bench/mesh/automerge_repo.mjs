// B3 anchor (bench/mesh.sh): @automerge/automerge-repo (pinned in bench/mesh/package.json), two
// processes on loopback over its websocket adapter, the same documents as the peat-node run.
//
//   node bench/mesh/automerge_repo.mjs --docs FILE.jsonl --count N [--timeout-s 900]
//
// The parent forks a "server" process (Repo + WebSocketServerAdapter on a ws server on 127.0.0.1:0,
// in-memory, the writer, like peat's A) and a "client" process (Repo + WebSocketClientAdapter, the
// reader, like peat's B), waits until they see each other, then tells the server to create the N
// documents (repo.create(doc), one document per JSON object of FILE). The clock starts just before
// the first create and stops when the client holds all N documents with their content (the
// server announces new documents to its peer: the default generous share policy). Wire bytes are
// what crossed the server's TCP sockets both ways (socket.bytesRead + bytesWritten: HTTP upgrade,
// websocket framing and automerge-repo's sync messages), read once the counters are still.
//
// Prints one JSON line: {scenario, impl, docs, seconds, write_seconds, docs_per_s, bytes,
// raw_json_bytes, ratio, timed_out, received}. Both processes share the machine's clock
// (performance.timeOrigin + performance.now()).

import { fork } from "node:child_process";
import fs from "node:fs";
import { fileURLToPath } from "node:url";

const SELF = fileURLToPath(import.meta.url);
const now = () => performance.timeOrigin + performance.now();
const role = ["server", "client"].includes(process.argv[2]) ? process.argv[2] : "parent";

async function automerge() {
  const { Repo } = await import("@automerge/automerge-repo");
  const ws = await import("@automerge/automerge-repo-network-websocket");
  return { Repo, ...ws };
}

function readDocs(file, count) {
  const lines = fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
  if (lines.length < count) throw new Error(`${file} holds ${lines.length} documents, ${count} wanted`);
  return lines.slice(0, count);
}

/** Polls fn every ms until it returns true. */
function every(ms, fn) {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (fn()) {
        clearInterval(timer);
        resolve();
      }
    }, ms);
  });
}

async function server(file, count) {
  const { Repo, WebSocketServerAdapter } = await automerge();
  const { WebSocketServer } = await import("ws");
  const docs = readDocs(file, count).map((l) => JSON.parse(l));
  const sockets = [];
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (_ws, req) => sockets.push(req.socket));
  await new Promise((r) => wss.on("listening", r));
  const repo = new Repo({ network: [new WebSocketServerAdapter(wss)], peerId: "server" });
  process.send({ type: "listening", port: wss.address().port });
  await every(10, () => repo.peers.length > 0);
  process.send({ type: "peer" });
  process.on("message", (m) => {
    if (m.type === "go") {
      const t0 = now();
      for (const d of docs) repo.create(d);
      process.send({ type: "written", t0, tWritten: now() });
    } else if (m.type === "bytes") {
      process.send({ type: "bytes", bytes: sockets.reduce((a, s) => a + s.bytesRead + s.bytesWritten, 0) });
    }
  });
}

async function client(port, count) {
  const { Repo, WebSocketClientAdapter } = await automerge();
  const repo = new Repo({ network: [new WebSocketClientAdapter(`ws://127.0.0.1:${port}`)], peerId: "client" });
  await every(10, () => repo.peers.length > 0);
  process.send({ type: "ready" });
  const done = new Set();
  const readable = (h) => {
    try {
      return h.isReady() && h.doc() && Object.keys(h.doc()).length > 0;
    } catch {
      return false;
    }
  };
  let lastReport = 0;
  await every(5, () => {
    const hs = repo.handles;
    for (const id in hs) if (!done.has(id) && readable(hs[id])) done.add(id);
    if (Date.now() - lastReport > 1000) {
      lastReport = Date.now();
      process.send({ type: "progress", received: done.size });
    }
    return done.size >= count;
  });
  process.send({ type: "done", tDone: now(), received: done.size });
}

/** Resolves with the next IPC message of child whose type is `type`. */
function next(child, type, timeoutMs, onOther = () => {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("message", on);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${type}"`));
    }, timeoutMs);
    const on = (m) => {
      if (m.type !== type) return onOther(m);
      clearTimeout(timer);
      child.off("message", on);
      resolve(m);
    };
    child.on("message", on);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before "${type}"`));
    });
  });
}

async function parent() {
  const args = process.argv.slice(2);
  const opt = { docs: "", count: 0, "timeout-s": 900 };
  for (let i = 0; i < args.length; i += 2) opt[args[i].replace(/^--/, "")] = args[i + 1];
  const count = Number(opt.count);
  const timeoutMs = Number(opt["timeout-s"]) * 1000;
  if (!opt.docs || !(count > 0)) throw new Error("usage: automerge_repo.mjs --docs FILE.jsonl --count N [--timeout-s S]");
  const raw = readDocs(opt.docs, count).reduce((a, l) => a + Buffer.byteLength(l), 0);

  const kids = [];
  const cleanup = () => kids.forEach((k) => k.kill("SIGKILL"));
  process.on("exit", cleanup);
  const srv = fork(SELF, ["server", opt.docs, String(count)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  kids.push(srv);
  const { port } = await next(srv, "listening", 30_000);
  const cli = fork(SELF, ["client", String(port), String(count)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  kids.push(cli);
  await Promise.all([next(srv, "peer", 30_000), next(cli, "ready", 30_000)]);

  let received = 0;
  const doneP = next(cli, "done", timeoutMs, (m) => {
    if (m.type === "progress") received = m.received;
  }).catch((e) => ({ error: e }));
  const writtenP = next(srv, "written", timeoutMs);
  srv.send({ type: "go" });
  const written = await writtenP;
  const done = await doneP;
  const timedOut = !!done.error;
  if (!timedOut) received = done.received;

  // wire bytes once the sockets are still (trailing acknowledgements), bounded
  let bytes = (await (srv.send({ type: "bytes" }), next(srv, "bytes", 10_000))).bytes;
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 200));
    srv.send({ type: "bytes" });
    const b = (await next(srv, "bytes", 10_000)).bytes;
    if (b === bytes) break;
    bytes = b;
  }
  const seconds = timedOut ? null : (done.tDone - written.t0) / 1000;
  console.log(
    JSON.stringify({
      scenario: "b3",
      impl: "automerge-repo",
      docs: count,
      seconds,
      write_seconds: (written.tWritten - written.t0) / 1000,
      docs_per_s: seconds ? count / seconds : null,
      bytes,
      raw_json_bytes: raw,
      ratio: bytes / raw,
      timed_out: timedOut,
      received,
    }),
  );
  cleanup();
  process.exit(0);
}

if (role === "server") server(process.argv[3], Number(process.argv[4]));
else if (role === "client") client(Number(process.argv[3]), Number(process.argv[4]));
else
  parent().catch((e) => {
    console.error(`automerge_repo.mjs: ${e.stack ?? e}`);
    process.exit(1);
  });
