// Attachment crash loops (docs/spec/ATTACHMENTS.md §18 "Crash"; issue #10: "A kill -9 loop during
// ingest and during inbox writes: no orphan blob or registry row, never a truncated visible file,
// every COMPLETED target's file byte-identical (SHA-256)"). Real processes, real SIGKILL; every
// kill moment is found by polling the node's files or drawn from a PRNG whose seed is logged
// (PEAT_CRASH_SEED=<n> replays the draws), never a fixed sleep.
//
// 1. Ingest loop, one node: each iteration sends a new bundle [2 MiB file, 64 MiB file] (or
//    re-sends the one a kill interrupted) and kills the node at a moment of ingest: once the
//    64 MiB temporary in blobs/tmp reached a drawn fraction, once file 0's blob is installed,
//    once file 1's blob is installed (the window before the registry row and the documents), or
//    a drawn delay after the request. The node restarts on the same data dir with
//    --attachment-blob-retention-secs 0, and then: every bundle the client got OK for is found
//    by Get (COMPLETED: zero targets) with its blobs byte-identical; the interrupted bundle is
//    either unknown (Subscribe NOT_FOUND) or whole; attachments.db (read with the sqlite3 CLI
//    when installed) has no bundle without handles, no handle without its blob or its document,
//    no bundle nobody sent; and once the node has started, every complete blob under blobs/ is
//    referenced by a retained bundle, each with its manifest, and blobs/tmp and blobs/partial are
//    empty.
// 2. Inbox loop, two nodes on loopback: A sends a 32 MiB file to B; B is killed while it writes
//    the file into its inbox (its `.<name>.<distribution_id>.partial` reached a drawn size, or a
//    drawn delay after it was complete: fsync, rename, ledger), restarted, killed again, a few
//    rounds with a new file each. A poller checks the final name all along (at every poll,
//    across the kills): absent, or a regular file of the full size whose SHA-256 is the sent
//    one, never truncated. Each round ends with the distribution COMPLETED on A and the file
//    identical; no `.partial` is left.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/attach_crash.test.mjs

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { SIDECAR, makeClient } from "./lib/clients.mjs";
import { makeDataDir, preview, startNodeOn, strip, withTimeout } from "./lib/documents.mjs";
import { prng, randInt, startCluster, waitFor } from "./lib/mesh_cluster.mjs";

const SEED = process.env.PEAT_CRASH_SEED ? Number(process.env.PEAT_CRASH_SEED) : crypto.randomInt(2 ** 31);
const MiB = 1024 * 1024;
const CHUNK_BYTES = 256 * 1024; // blob chunk size (src/blob/manifest.h kChunkBytes)
const COMPLETED = "DISTRIBUTION_STATUS_COMPLETED";

const tmpDirs = new Set();
process.on("exit", () => {
  if (process.env.PEAT_IT_KEEP_TMP) return;
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});
function tmpDir(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.add(d);
  return d;
}

const sha256 = (buf) => crypto.createHash("sha256").update(buf).digest();
const exists = (p) => fs.existsSync(p);
const sleepPoll = () => new Promise((r) => setTimeout(r, 1));

/** SHA-256 (hex) of what the open fd (or path) holds, read in 4 MiB steps. */
function sha256OfFile(fileOrFd) {
  const fd = typeof fileOrFd === "number" ? fileOrFd : fs.openSync(fileOrFd, "r");
  try {
    const h = crypto.createHash("sha256");
    const buf = Buffer.allocUnsafe(4 * MiB);
    for (let pos = 0; ; ) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
    return h.digest("hex");
  } finally {
    if (typeof fileOrFd !== "number") fs.closeSync(fd);
  }
}

/** Our blob root of `buf` (manifest = "peat-blob-v1" ‖ size u64 BE ‖ chunk_bytes u32 BE ‖ chunk SHA-256s), 64 hex. */
function blobToken(buf) {
  const head = Buffer.alloc(12);
  head.writeBigUInt64BE(BigInt(buf.length), 0);
  head.writeUInt32BE(CHUNK_BYTES, 8);
  const parts = [Buffer.from("peat-blob-v1"), head];
  for (let off = 0; off < buf.length; off += CHUNK_BYTES) parts.push(sha256(buf.subarray(off, off + CHUNK_BYTES)));
  return sha256(Buffer.concat(parts)).toString("hex");
}

/** A file's content: `base` with its first 16 bytes replaced by a tag, so every tag is a new blob. */
function tagged(base, tag) {
  const buf = Buffer.from(base);
  crypto.createHash("sha256").update(tag).digest().copy(buf, 0, 0, 16);
  return buf;
}

/** Unary call through a grpc-js client: {ok, message} or {ok: false, code, errorMessage}. */
async function call(client, method, req, timeoutMs = 30_000) {
  const r = await client.unary(SIDECAR, method, req, { timeoutMs });
  return r.ok ? { ok: true, message: strip(r.message) } : r;
}

/** SubscribeAttachmentBundle until the stream ends: {frames, error}. */
async function subscribeToEnd(client, bundleId, timeoutMs = 15_000) {
  const h = client.openStream(SIDECAR, "SubscribeAttachmentBundle", { bundleId }, { timeoutMs });
  const r = await withTimeout(h.done, timeoutMs + 2_000, `SubscribeAttachmentBundle ${bundleId} to end`);
  return { frames: r.messages.map(strip), error: r.error };
}

// ---------------------------------------------------------------------------------------------
// The sender's data dir: blobs/<2 hex>/<64 hex> (+ .manifest), blobs/tmp/, blobs/partial/,
// attachments.db
// ---------------------------------------------------------------------------------------------

const HEX64 = /^[0-9a-f]{64}$/;

/** What the blob store holds: {complete: [token], manifests: [token], tmp: [{name, size}], partial: [name], other: [path]}. */
function blobDirState(dataDir) {
  const dir = path.join(dataDir, "blobs");
  const out = { complete: [], manifests: [], tmp: [], partial: [], other: [] };
  let shards = [];
  try {
    shards = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of shards) {
    const p = path.join(dir, e.name);
    if (e.name === "tmp" || e.name === "partial") {
      for (const f of fs.readdirSync(p)) {
        let size = -1;
        try {
          size = fs.statSync(path.join(p, f)).size;
        } catch {
          /* removed meanwhile */
        }
        out[e.name].push(e.name === "tmp" ? { name: f, size } : f);
      }
    } else if (e.isDirectory() && /^[0-9a-f]{2}$/.test(e.name)) {
      for (const f of fs.readdirSync(p)) {
        const m = /^([0-9a-f]{64})(\.manifest)?$/.exec(f);
        if (m && m[1].startsWith(e.name)) (m[2] ? out.manifests : out.complete).push(m[1]);
        else out.other.push(`${e.name}/${f}`);
      }
    }
  }
  return out;
}

const blobPath = (dataDir, token) => path.join(dataDir, "blobs", token.slice(0, 2), token);

/** The sqlite3 CLI, or null (then the registry is checked through the API only). */
const SQLITE3 = (() => {
  try {
    execFileSync("sqlite3", ["-version"], { stdio: "pipe" });
    return "sqlite3";
  } catch {
    return null;
  }
})();

/** Rows of a read-only query on <data-dir>/attachments.db (the node may be running: WAL readers are fine). */
function registryQuery(dataDir, sql) {
  const out = execFileSync(SQLITE3, ["-readonly", "-json", path.join(dataDir, "attachments.db"), sql], { encoding: "utf8", timeout: 10_000 });
  return out.trim() ? JSON.parse(out) : [];
}

// ---------------------------------------------------------------------------------------------
// 1. Ingest loop
// ---------------------------------------------------------------------------------------------

const INGEST_MIN_KILLS = 10;
const INGEST_MAX_KILLS = 20;
const INGEST_BUDGET_MS = 45_000; // no new kill once the kills are enough and this passed
const INGEST_HARD_LIMIT_MS = 150_000; // fewer than INGEST_MIN_KILLS by then: fail
const SMALL_BYTES = 2 * MiB;
const BIG_BYTES = 64 * MiB;
const KILL_MODES = ["tmp-fraction", "file0-installed", "file1-installed", "delay"];

describe("attachment crash loop: SIGKILL during ingest", () => {
  it("no orphan blob or registry row; every answered bundle survives whole", async (t) => {
    const t0 = Date.now();
    const rnd = prng(SEED);
    t.diagnostic(`seed ${SEED} (PEAT_CRASH_SEED=${SEED} replays the kill draws)`);
    if (!SQLITE3) t.diagnostic("attachments.db check SKIPPED: no sqlite3 CLI (apt-get install sqlite3); the registry is checked through the API only");
    const dataDir = makeDataDir();
    const rootDir = tmpDir("peat-crash-root-");
    const args = ["--attachment-root", `crash=${rootDir}`, "--attachment-blob-retention-secs", "0"];
    const smallBase = crypto.randomBytes(SMALL_BYTES);
    const bigBase = crypto.randomBytes(BIG_BYTES);

    // Bundles: id → {files: [{rel, size, sha, token}], request}. `acked` got an OK answer;
    // `known` is every bundle the registry holds (acked, or found after the kill that cut its answer).
    const bundles = new Map();
    const acked = new Map(); // bundle id → handles [{distributionId, blobToken}]
    const known = new Map();
    const verifiedBlobs = new Set(); // tokens whose stored bytes were hashed once
    const phases = {}; // where the kills landed
    const cut = { unknown: 0, registered: 0 }; // the bundle a kill cut, after the restart
    let pending = null; // the bundle whose answer a kill cut, if it is to be sent again
    let kills = 0;
    let sqliteChecks = 0;
    let calibrationMs = 0;
    const startMs = [];

    const makeBundle = (i) => {
      const id = `crash-ingest-${SEED}-${i}`;
      const files = [
        ["small", smallBase],
        ["big", bigBase],
      ].map(([name, base]) => {
        const buf = tagged(base, `${SEED}/${i}/${name}`);
        const rel = `it${i}/${name}.bin`;
        fs.mkdirSync(path.join(rootDir, `it${i}`), { recursive: true });
        fs.writeFileSync(path.join(rootDir, rel), buf);
        return { rel, size: buf.length, sha: sha256(buf), token: blobToken(buf) };
      });
      const request = {
        bundleId: id,
        files: files.map((f) => ({ rootName: "crash", relativePath: f.rel, sizeBytes: String(f.size), sha256: f.sha })),
        scope: { allNodes: {} },
      };
      const b = { id, iteration: i, files, request };
      bundles.set(id, b);
      return b;
    };
    /** "<token> (file i of <bundle>[, answered | cut by kill #k])" for messages. */
    const blobName = (token) => {
      for (const b of bundles.values()) {
        const i = b.files.findIndex((f) => f.token === token);
        if (i >= 0) return `${token.slice(0, 12)}… (file ${i} of ${b.id}${acked.has(b.id) ? ", answered" : b.cutBy ? `, cut by kill #${b.cutBy.join(", #")}` : ""})`;
      }
      return `${token} (no bundle sent it)`;
    };
    const dropSources = (b) => fs.rmSync(path.join(rootDir, `it${b.iteration}`), { recursive: true, force: true });

    /** Checks the handles of an OK answer against the bundle sent. */
    const checkAnswer = (b, message) => {
      assert.equal(message.bundleId, b.id, `answer for ${b.id}: ${preview(message)}`);
      const handles = (message.handles ?? []).map((h) => ({ fileIndex: Number(h.fileIndex ?? 0), blobToken: h.blobToken, distributionId: h.distributionId }));
      assert.deepEqual(
        handles.map((h) => [h.fileIndex, h.blobToken]),
        b.files.map((f, i) => [i, f.token]),
        `${b.id}: one handle per file, in order, with our blob root: ${preview(message)}`,
      );
      return handles;
    };

    let node = null;
    let client = null;
    const start = async () => {
      const s0 = Date.now();
      node = await startNodeOn(dataDir, { args, t, timeoutMs: 30_000 });
      startMs.push(Date.now() - s0);
      client = makeClient("grpc-js", node, "tcp");
    };
    const killNode = async () => {
      node.proc.kill("SIGKILL");
      await node.exited;
      client.close();
      await node.kill();
    };

    /** Everything a restarted node must satisfy; `inflight` is the bundle the last kill cut (or null). */
    const checkAfterRestart = async (inflight, what) => {
      // (a) every answered (or found) bundle: Get finds each distribution, COMPLETED (no targets), its blob whole
      for (const [id, handles] of known) {
        for (const h of handles) {
          const r = await call(client, "GetAttachmentDistribution", { distributionId: h.distributionId });
          assert.ok(r.ok, `${what}: Get of ${acked.has(id) ? "answered" : "registered"} ${id} file ${h.fileIndex} (${h.distributionId}): ${r.code} ${r.errorMessage}`);
          assert.equal(r.message.status, COMPLETED, `${what}: ${id} file ${h.fileIndex}: ${preview(r.message)}`);
          const p = blobPath(dataDir, h.blobToken);
          assert.ok(exists(p) && exists(`${p}.manifest`), `${what}: blob ${h.blobToken} of ${acked.has(id) ? "answered" : "registered"} ${id} file ${h.fileIndex} is gone (data ${exists(p)}, manifest ${exists(`${p}.manifest`)})`);
          if (!verifiedBlobs.has(h.blobToken)) {
            const f = bundles.get(id).files[h.fileIndex];
            assert.equal(sha256OfFile(p), f.sha.toString("hex"), `${what}: stored blob of ${id} file ${h.fileIndex} differs from the file sent`);
            verifiedBlobs.add(h.blobToken);
          }
        }
      }
      // (b) the bundle the kill cut: unknown, or whole (a frame per file, each found by Get with its blob)
      if (inflight && !acked.has(inflight.id)) {
        const s = await subscribeToEnd(client, inflight.id);
        if (s.error?.code === "not_found" && s.error.message?.startsWith("bundle_id ")) {
          cut.unknown++;
        } else {
          assert.equal(
            s.error,
            null,
            `${what}: Subscribe ${inflight.id} (the bundle the kill cut) ended ${preview(s.error)} after ${preview(s.frames)}` +
              (s.error?.code === "not_found" ? ": the registry holds the bundle but not its distribution (a registry row without its document)" : ""),
          );
          const tokens = [...new Set(s.frames.map((f) => f.blobToken))].sort();
          assert.deepEqual(tokens, inflight.files.map((f) => f.token).sort(), `${what}: frames of ${inflight.id}: ${preview(s.frames)}`);
          const handles = [];
          for (const fr of s.frames) {
            if (handles.some((h) => h.distributionId === fr.distributionId)) continue;
            const r = await call(client, "GetAttachmentDistribution", { distributionId: fr.distributionId });
            assert.ok(r.ok, `${what}: ${inflight.id} is registered but Get ${fr.distributionId} answers ${r.code} ${r.errorMessage}`);
            assert.ok(exists(blobPath(dataDir, fr.blobToken)), `${what}: ${inflight.id} is registered but blob ${fr.blobToken} is missing`);
            handles.push({ fileIndex: inflight.files.findIndex((f) => f.token === fr.blobToken), distributionId: fr.distributionId, blobToken: fr.blobToken });
          }
          known.set(inflight.id, handles);
          cut.registered++;
        }
      }
      // (c) attachments.db: no bundle without handles, no handle without blob and document, nothing nobody sent
      let referenced = new Set([...known.values()].flatMap((hs) => hs.map((h) => h.blobToken)));
      if (SQLITE3) {
        const rowBundles = registryQuery(dataDir, "SELECT bundle_id AS bundle FROM bundles").map((r) => r.bundle);
        const rowHandles = registryQuery(dataDir, "SELECT bundle_id AS bundle, distribution_id AS dist, blob_token AS token FROM handles");
        sqliteChecks++;
        assert.deepEqual(rowBundles.filter((id) => !bundles.has(id)), [], `${what}: attachments.db holds bundles no client sent`);
        for (const id of rowBundles) {
          assert.ok(known.has(id), `${what}: attachments.db: bundle ${id} has a row but the API does not know it (Subscribe NOT_FOUND)`);
          const n = rowHandles.filter((h) => h.bundle === id).length;
          assert.equal(n, bundles.get(id).files.length, `${what}: attachments.db: bundle ${id} has ${n} handle rows`);
        }
        for (const r of rowHandles) {
          assert.ok(rowBundles.includes(r.bundle), `${what}: attachments.db: handle ${r.dist} names bundle ${r.bundle}, which has no row`);
          assert.ok(exists(blobPath(dataDir, r.token)), `${what}: attachments.db: handle ${r.dist} of ${r.bundle} names blob ${r.token}, which is not in the store`);
          const g = await call(client, "GetAttachmentDistribution", { distributionId: r.dist });
          assert.ok(g.ok, `${what}: attachments.db: handle ${r.dist} of ${r.bundle}: Get answers ${g.code} ${g.errorMessage}`);
        }
        referenced = new Set(rowHandles.map((r) => r.token));
      }
      // (d) the blob store once the node has started: only referenced blobs, each whole; no temporaries
      let last;
      await waitFor(
        () => {
          last = blobDirState(dataDir);
          const c = new Set(last.complete);
          const m = new Set(last.manifests);
          last.orphans = last.complete.filter((x) => !referenced.has(x));
          last.manifestOnly = last.manifests.filter((x) => !c.has(x));
          last.dataOnly = last.complete.filter((x) => !m.has(x));
          return !last.orphans.length && !last.manifestOnly.length && !last.dataOnly.length && !last.tmp.length && !last.partial.length && !last.other.length;
        },
        {
          timeoutMs: 10_000,
          intervalMs: 50,
          what: `${what}: every complete blob referenced by a retained bundle, no stray files under blobs/`,
          describe: () =>
            `orphan blobs ${preview(last.orphans.map(blobName))} (of ${last.complete.length} complete; referenced ${preview([...referenced].map(blobName))}); ` +
            `manifests without data ${preview(last.manifestOnly)}; data without manifest ${preview(last.dataOnly)}; ` +
            `tmp ${preview(last.tmp)}; partial ${preview(last.partial)}; other ${preview(last.other)}`,
        },
      );
    };

    try {
      await start();
      // Calibration: one send that is not killed (how long an ingest takes on this machine).
      {
        const b = makeBundle(0);
        const c0 = Date.now();
        const r = await call(client, "SendAttachments", b.request, 60_000);
        calibrationMs = Date.now() - c0;
        assert.ok(r.ok, `calibration send: ${r.code} ${r.errorMessage}`);
        const handles = checkAnswer(b, r.message);
        acked.set(b.id, handles);
        known.set(b.id, handles);
        dropSources(b);
        await checkAfterRestart(null, "after the calibration send");
      }

      for (let i = 1; ; i++) {
        const elapsed = Date.now() - t0;
        if (kills >= INGEST_MAX_KILLS || (kills >= INGEST_MIN_KILLS && elapsed > INGEST_BUDGET_MS)) break;
        assert.ok(elapsed < INGEST_HARD_LIMIT_MS, `only ${kills} kills in ${elapsed} ms (calibration send ${calibrationMs} ms; starts ${startMs.join(",")} ms)`);

        // ---- send (a new bundle, or again the one the last kill cut) and kill at a drawn moment
        const b = pending && rnd() < 0.5 ? pending : makeBundle(i);
        if (pending && b !== pending) dropSources(pending);
        pending = null;
        const mode = KILL_MODES[randInt(rnd, KILL_MODES.length)];
        const fraction = rnd();
        // after an install: up to 40 ms into the next file's ingest; right after the last one (≤ 4 ms)
        const extraMs = randInt(rnd, mode === "file1-installed" ? 5 : 40);
        const delayMs = randInt(rnd, Math.ceil(calibrationMs * 1.2) + 1);
        const what = `kill #${kills + 1} (iteration ${i}, ${b.id}, mode ${mode}, seed ${SEED})`;

        let answer = null;
        const sent = call(client, "SendAttachments", b.request, 60_000).then((r) => (answer = r));
        const s0 = Date.now();
        const fired = () => {
          if (answer) return true;
          switch (mode) {
            case "tmp-fraction":
              return blobDirState(dataDir).tmp.some((x) => x.size >= fraction * BIG_BYTES && x.size > SMALL_BYTES);
            case "file0-installed":
              return exists(blobPath(dataDir, b.files[0].token));
            case "file1-installed":
              return exists(blobPath(dataDir, b.files[1].token));
            default:
              return Date.now() - s0 >= delayMs;
          }
        };
        while (!fired()) await sleepPoll();
        if (mode !== "delay" && mode !== "tmp-fraction" && !answer) {
          const e0 = Date.now();
          while (!answer && Date.now() - e0 < extraMs) await sleepPoll();
        }
        await killNode();
        kills++;
        await sent;
        if (!answer.ok) (b.cutBy ??= []).push(kills);

        // ---- where the kill landed (the node is dead: its files hold still)
        const st = blobDirState(dataDir);
        const has0 = st.complete.includes(b.files[0].token);
        const has1 = st.complete.includes(b.files[1].token);
        let phase;
        if (answer.ok) phase = "answered";
        else if (has0 && has1) phase = "after-ingest";
        else if (has0) phase = "ingest-file1";
        else if (st.tmp.length) phase = "ingest-file0";
        else phase = "before-ingest";
        phases[phase] = (phases[phase] ?? 0) + 1;
        if (answer.ok) {
          const handles = checkAnswer(b, answer.message);
          acked.set(b.id, handles);
          known.set(b.id, handles);
        }

        // ---- restart on the same data dir and check
        await start();
        await checkAfterRestart(answer.ok ? null : b, `after ${what}, phase ${phase}`);
        if (known.has(b.id)) dropSources(b);
        else pending = b;
      }

      // ---- final: the cut bundle goes through; every bundle is still there; clean stop
      if (pending) {
        const r = await call(client, "SendAttachments", pending.request, 60_000);
        assert.ok(r.ok, `re-send of ${pending.id} after the series: ${r.code} ${r.errorMessage}`);
        const handles = checkAnswer(pending, r.message);
        acked.set(pending.id, handles);
        known.set(pending.id, handles);
      }
      await checkAfterRestart(null, "final check");
      client.close();
      const exit = await node.stop("SIGTERM", 15_000);
      assert.equal(exit.code, 0, `clean shutdown after the crash series\n${exit.stderr.slice(-3000)}`);
    } finally {
      client?.close();
      await node?.kill();
    }

    const totalMs = Date.now() - t0;
    const ingestKills = (phases["ingest-file0"] ?? 0) + (phases["ingest-file1"] ?? 0);
    t.diagnostic(
      `seed ${SEED}: ${kills} SIGKILLs in ${totalMs} ms (calibration send ${calibrationMs} ms); kills landed: ${JSON.stringify(phases)}; ` +
        `unanswered bundles after the restart: ${cut.unknown} unknown, ${cut.registered} registered whole; ` +
        `${acked.size} bundles answered (${known.size} in the registry), all found whole after every restart; attachments.db checked ${sqliteChecks}× ` +
        `${SQLITE3 ? "with the sqlite3 CLI" : "(SKIPPED: no sqlite3 CLI on this machine; the registry was checked through the API only)"}; ` +
        `node start→ready: median ${startMs.sort((a, b) => a - b)[startMs.length >> 1]} ms, max ${startMs.at(-1)} ms`,
    );
    assert.ok(kills >= INGEST_MIN_KILLS);
    assert.ok(ingestKills >= 2, `only ${ingestKills} of ${kills} kills landed while a file was being ingested (${JSON.stringify(phases)}): the test proves little`);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Inbox loop
// ---------------------------------------------------------------------------------------------

const INBOX_BYTES = 32 * MiB;
const INBOX_MIN_KILLS = 8;
const INBOX_KILLS_PER_ROUND = 4;
const INBOX_MAX_ROUNDS = 4;
const INBOX_BUDGET_MS = 30_000; // no new round once the kills are enough and this passed
const INBOX_HARD_LIMIT_MS = 150_000; // fewer than INBOX_MIN_KILLS by then: fail

/**
 * Watches `inbox/rel` (and the partials next to it) every ~1 ms until stop(): the final name must be
 * absent or a regular file of `size` bytes at every poll. Each new version (inode) seen is opened at
 * once and hashed later from that fd (what was visible, even after a later rename replaced it).
 */
function watchInbox(inbox, rel, size) {
  const finalPath = path.join(inbox, rel);
  const dir = path.dirname(finalPath);
  const base = path.basename(rel);
  const w = { polls: 0, violations: [], versions: new Map(), partial: null, stopped: false };
  const poll = () => {
    w.polls++;
    let st = null;
    try {
      st = fs.lstatSync(finalPath, { bigint: true });
    } catch {
      /* absent: fine */
    }
    if (st) {
      if (!st.isFile()) w.violations.push(`poll ${w.polls}: ${rel} is not a regular file (mode ${st.mode.toString(8)})`);
      else if (st.size !== BigInt(size)) w.violations.push(`poll ${w.polls}: ${rel} is visible with ${st.size} of ${size} bytes (truncated)`);
      else if (!w.versions.has(st.ino)) {
        let fd = null;
        try {
          fd = fs.openSync(finalPath, "r");
          const again = fs.fstatSync(fd, { bigint: true });
          if (again.ino !== st.ino) {
            fs.closeSync(fd); // replaced between lstat and open: the next poll sees the new one
            fd = null;
          }
        } catch {
          fd = null;
        }
        if (fd !== null) w.versions.set(st.ino, { fd, poll: w.polls });
      }
    }
    // the newest partial of this name: {ino (bigint), size}
    w.partial = null;
    let names = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      /* inbox not created yet */
    }
    for (const n of names) {
      if (!n.startsWith(`.${base}.`) || !n.endsWith(".partial")) continue;
      try {
        const ps = fs.lstatSync(path.join(dir, n), { bigint: true });
        w.partial = { name: n, ino: ps.ino, birth: ps.birthtimeNs, size: Number(ps.size) };
      } catch {
        /* renamed meanwhile */
      }
    }
  };
  w.done = (async () => {
    while (!w.stopped) {
      poll();
      await sleepPoll();
    }
    poll();
  })();
  w.stop = async () => {
    w.stopped = true;
    await w.done;
  };
  /** SHA-256 of every version that was ever visible; closes the fds. */
  w.hashes = () => {
    const out = [];
    for (const [ino, v] of w.versions) {
      out.push({ ino, poll: v.poll, sha: sha256OfFile(v.fd) });
      fs.closeSync(v.fd);
    }
    w.versions.clear();
    return out;
  };
  return w;
}

describe("attachment crash loop: SIGKILL of the receiver during inbox writes", () => {
  it("the final name is never a truncated file; every COMPLETED file is byte-identical", async (t) => {
    const t0 = Date.now();
    const rnd = prng(SEED ^ 0x5bd1e995);
    t.diagnostic(`seed ${SEED} (PEAT_CRASH_SEED=${SEED} replays the kill draws)`);
    const rootDir = tmpDir("peat-crash-root-");
    const inbox = tmpDir("peat-crash-inbox-");
    const cl = await startCluster({
      t,
      n: 2,
      names: ["A", "B"],
      edges: [[1, 0]],
      args: (i) => (i === 0 ? ["--attachment-root", `crash=${rootDir}`] : ["--attachment-inbox", inbox]),
    });
    const [a, b] = cl.nodes;
    const base = crypto.randomBytes(INBOX_BYTES);
    let kills = 0;
    let polls = 0;
    let versionsSeen = 0;
    const landed = { writing: 0, "after-write": 0 };
    let completedBeforeKill = 0;
    const rounds = [];

    for (let round = 0; ; round++) {
      if (kills >= INBOX_MIN_KILLS && (Date.now() - t0 > INBOX_BUDGET_MS || round >= INBOX_MAX_ROUNDS)) break;
      assert.ok(Date.now() - t0 < INBOX_HARD_LIMIT_MS, `only ${kills} kills of the receiver within ${INBOX_HARD_LIMIT_MS} ms (${preview(rounds)})`);
      const rel = `round-${round}.bin`;
      const buf = tagged(base, `${SEED}/inbox/${round}`);
      const shaHex = sha256(buf).toString("hex");
      fs.writeFileSync(path.join(rootDir, rel), buf);
      const watch = watchInbox(inbox, rel, INBOX_BYTES);
      const r0 = Date.now();
      let roundKills = 0;
      try {
        const sent = await a.call("SendAttachments", {
          bundleId: `crash-inbox-${SEED}-${round}`,
          files: [{ rootName: "crash", relativePath: rel, sizeBytes: String(INBOX_BYTES), sha256: sha256(buf) }],
          scope: { nodeList: { nodeIds: [b.shortId] } },
        });
        const distributionId = sent.handles[0].distributionId;
        const done = async () => {
          const g = await a.call("GetAttachmentDistribution", { distributionId });
          return g.status === COMPLETED ? g : null;
        };

        // ---- kill B while it writes, restart, again
        let stale = null; // the partial the last kill left (removed at B's next start)
        while (roundKills < INBOX_KILLS_PER_ROUND) {
          // Draw where to kill: at a fraction of the partial's size, or a delay after it is full.
          const p = rnd() * 1.25;
          const target = p < 1 ? Math.floor(p * INBOX_BYTES) : INBOX_BYTES;
          const afterFullMs = p < 1 ? 0 : Math.floor((p - 1) * 4 * 400);
          let fullAt = null;
          let outcome = null;
          let doneCheckedAt = 0;
          await waitFor(
            async () => {
              const cur = watch.partial;
              const fresh = cur && !(stale && cur.ino === stale.ino && cur.birth === stale.birth);
              if (fresh && cur.size >= target) {
                if (afterFullMs === 0) return (outcome = "writing");
                fullAt ??= Date.now();
                if (Date.now() - fullAt >= afterFullMs) return (outcome = "writing");
              }
              if (fullAt !== null && !fresh) return (outcome = "after-write"); // renamed: kill right after
              if (!cur && watch.versions.size > 0 && Date.now() - doneCheckedAt > 100) {
                doneCheckedAt = Date.now();
                if (await done()) return (outcome = "completed");
              }
              return false;
            },
            {
              timeoutMs: 60_000,
              intervalMs: 1,
              what: `round ${round}: B writing ${rel} into its inbox (seed ${SEED})`,
              describe: () => preview({ partial: watch.partial, versions: watch.versions.size }),
            },
          );
          if (outcome === "completed") {
            completedBeforeKill++; // delivered before the drawn moment came
            break;
          }
          stale = watch.partial;
          await b.kill();
          kills++;
          roundKills++;
          landed[outcome]++;
          assert.deepEqual(watch.violations, [], `round ${round}: after kill #${kills} (seed ${SEED})`);
          await b.start();
        }

        // ---- the round ends COMPLETED with the file identical; nothing partial left
        const g = await waitFor(done, { timeoutMs: 60_000, intervalMs: 100, what: `round ${round}: distribution ${distributionId} COMPLETED on A (seed ${SEED})` });
        assert.equal(g.bytesTransferred, String(INBOX_BYTES), `round ${round}: ${preview(g)}`);
        await waitFor(() => !watch.partial && watch.versions.size > 0, { timeoutMs: 10_000, what: `round ${round}: ${rel} visible, no partial left`, describe: () => preview(watch.partial) });
      } finally {
        await watch.stop();
      }
      assert.deepEqual(watch.violations, [], `round ${round} (seed ${SEED})`);
      const hashes = watch.hashes();
      for (const h of hashes) assert.equal(h.sha, shaHex, `round ${round}: the version of ${rel} visible from poll ${h.poll} on is not the file sent (seed ${SEED})`);
      assert.equal(sha256OfFile(path.join(inbox, rel)), shaHex, `round ${round}: final ${rel}`);
      const leftovers = fs.readdirSync(inbox).filter((n) => n.endsWith(".partial"));
      assert.deepEqual(leftovers, [], `round ${round}: partial files left in the inbox`);
      polls += watch.polls;
      versionsSeen += hashes.length;
      rounds.push({ round, kills: roundKills, ms: Date.now() - r0, versions: hashes.length });
    }

    // Every round's file is still there, whole (a later round's kills never touched an earlier name),
    // and nothing else is in the inbox.
    assert.deepEqual(fs.readdirSync(inbox).sort(), rounds.map(({ round }) => `round-${round}.bin`).sort(), "inbox at the end");
    for (const { round } of rounds) {
      const buf = tagged(base, `${SEED}/inbox/${round}`);
      assert.equal(sha256OfFile(path.join(inbox, `round-${round}.bin`)), sha256(buf).toString("hex"), `round-${round}.bin at the end`);
    }
    const exit = await b.stop("SIGTERM");
    assert.equal(exit.code, 0, `B: clean shutdown after the crash series\n${exit.stderr.slice(-3000)}`);
    t.diagnostic(
      `seed ${SEED}: ${kills} SIGKILLs of the receiver in ${Date.now() - t0} ms over ${rounds.length} rounds ${preview(rounds, 600)}; ` +
        `kills landed: ${JSON.stringify(landed)}; ${completedBeforeKill} round(s) delivered before the drawn kill; ` +
        `${polls} polls of the final names, never truncated; ${versionsSeen} visible version(s), all byte-identical`,
    );
    assert.ok(kills >= INBOX_MIN_KILLS);
    assert.ok(landed.writing >= kills / 2, `only ${landed.writing} of ${kills} kills landed while the partial was being written: the test proves little`);
  });
});
