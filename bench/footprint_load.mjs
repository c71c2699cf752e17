// B6 load generator for bench/footprint.sh: PutDocument / GetDocument over gRPC (h2c) with a
// fixed number of calls in flight, on Node's own http2 client (no dependencies: the three string
// fields of PutDocumentRequest / GetDocumentRequest are encoded by hand, which keeps the client
// cheap enough that the node, not the client, is what the rate measures).
//
//   node bench/footprint_load.mjs put --url http://127.0.0.1:PORT --count N [--start I]
//        [--inflight 256] [--conns 4] [--collection tracks] [--budget-s S] [--check-at N]
//   node bench/footprint_load.mjs get --url http://127.0.0.1:PORT --count N --ids M
//        [--inflight 256] [--conns 4] [--collection tracks] [--seed 1]
//
// put writes documents trk-<I>..trk-<I+N-1> (unique ids, ~300 B of JSON each: strings, numbers,
// a nested object and a small array, values from a seeded PRNG). With --budget-s and --check-at,
// it stops after --check-at documents if the rate so far projects the full --count beyond the
// budget (the caller extrapolates). get reads --count documents chosen uniformly at random among
// trk-0..trk-(M-1).
//
// Prints one JSON line on stdout: {mode, requested, done, ok, errors, seconds, rate, rawJsonBytes,
// found, stopped_early, projected_s, first_error}. Exit code 0 unless it could not run at all.

import http2 from "node:http2";

const args = process.argv.slice(2);
const mode = args.shift();
const opt = {
  url: "",
  count: 0,
  start: 0,
  inflight: 256,
  conns: 4,
  collection: "tracks",
  "budget-s": 0,
  "check-at": 0,
  ids: 0,
  seed: 1,
};
for (let i = 0; i < args.length; i += 2) {
  const k = args[i].replace(/^--/, "");
  if (!(k in opt)) throw new Error(`unknown option ${args[i]}`);
  opt[k] = k === "url" || k === "collection" ? args[i + 1] : Number(args[i + 1]);
}
if ((mode !== "put" && mode !== "get") || !opt.url || !(opt.count > 0)) {
  console.error("usage: footprint_load.mjs put|get --url URL --count N [...]");
  process.exit(2);
}
if (mode === "get" && !(opt.ids > 0)) {
  console.error("get needs --ids M (documents trk-0..trk-(M-1) exist)");
  process.exit(2);
}

// --- PRNG (mulberry32) --------------------------------------------------------------------------
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// --- Documents ----------------------------------------------------------------------------------
const KINDS = ["track", "contact", "waypoint", "sensor"];
const STATUS = ["ACTIVE", "LOST", "TENTATIVE", "CONFIRMED"];
const CLASSES = ["UNKNOWN", "FRIEND", "NEUTRAL", "SUSPECT", "HOSTILE"];
const TAGS = ["alpha", "bravo", "charlie", "delta", "echo", "eo-ir", "radar", "ais", "uav", "ugv"];
const pad = (n, w) => String(n).padStart(w, "0");
const docId = (i) => `trk-${pad(i, 7)}`;

function makeDoc(i) {
  const r = rng(i * 2654435761 + 7);
  const t = Date.UTC(2026, 10, 28) + Math.floor(r() * 86400000);
  return JSON.stringify({
    id: docId(i),
    kind: KINDS[i % KINDS.length],
    callsign: `HAWK-${pad(Math.floor(r() * 10000), 4)}`,
    status: STATUS[Math.floor(r() * STATUS.length)],
    classification: CLASSES[Math.floor(r() * CLASSES.length)],
    position: {
      lat: +(59 + r()).toFixed(6),
      lon: +(18 + r()).toFixed(6),
      alt_m: +(r() * 3000).toFixed(1),
    },
    speed_mps: +(r() * 40).toFixed(2),
    heading_deg: Math.floor(r() * 360),
    confidence: +r().toFixed(3),
    tags: [TAGS[i % TAGS.length], TAGS[(i >> 3) % TAGS.length], `sensor-${i % 7}`],
    seq: i,
    updated_at: new Date(t).toISOString(),
  });
}

// --- Protobuf + gRPC framing --------------------------------------------------------------------
function varint(n, out) {
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
}
function field(tag, s, parts) {
  const b = Buffer.from(s, "utf8");
  const h = [tag];
  varint(b.length, h);
  parts.push(Buffer.from(h), b);
}
function grpcFrame(fields) {
  const parts = [];
  for (const [tag, s] of fields) field(tag, s, parts);
  const msg = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

// --- Client -------------------------------------------------------------------------------------
const path =
  mode === "put"
    ? "/peat.sidecar.v1.PeatSidecar/PutDocument"
    : "/peat.sidecar.v1.PeatSidecar/GetDocument";
const sessions = [];
for (let i = 0; i < opt.conns; i++) {
  const s = http2.connect(opt.url, { settings: { enablePush: false } });
  s.on("error", (e) => fail(`session error: ${e.message}`));
  sessions.push(s);
}

let ok = 0;
let errors = 0;
let found = 0;
let firstError = null;
let rawJsonBytes = 0;
let issued = 0;
let completed = 0;
let stoppedEarly = false;
let limit = opt.count;
let projected = 0;
const t0 = process.hrtime.bigint();
const secondsSince = () => Number(process.hrtime.bigint() - t0) / 1e9;
const pick = rng(opt.seed);

function fail(msg) {
  errors++;
  if (!firstError) firstError = msg;
}

function nextBody() {
  if (mode === "put") {
    const i = opt.start + issued;
    const json = makeDoc(i);
    rawJsonBytes += Buffer.byteLength(json);
    return grpcFrame([
      [0x0a, opt.collection],
      [0x12, docId(i)],
      [0x1a, json],
    ]);
  }
  const i = Math.floor(pick() * opt.ids);
  return grpcFrame([
    [0x0a, opt.collection],
    [0x12, docId(i)],
  ]);
}

function issue() {
  const session = sessions[issued % sessions.length];
  const body = nextBody();
  issued++;
  const req = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
  });
  let status = null;
  let bytes = 0;
  req.on("response", (h) => {
    if (h["grpc-status"] !== undefined) status = h["grpc-status"]; // trailers-only response
    if (h[":status"] !== 200) status = `http ${h[":status"]}`;
  });
  req.on("trailers", (t) => {
    if (t["grpc-status"] !== undefined) status = t["grpc-status"];
    if (status !== "0" && t["grpc-message"]) status += ` ${t["grpc-message"]}`;
  });
  req.on("data", (d) => {
    bytes += d.length;
  });
  req.on("error", (e) => {
    if (status === null) status = `stream error: ${e.message}`;
  });
  req.on("close", () => {
    if (status === "0") {
      ok++;
      // GetDocumentResponse with json_data set: gRPC frame header (5) + tag + length + bytes.
      if (mode === "get" && bytes > 5) found++;
    } else {
      fail(`grpc-status ${status}`);
    }
    completed++;
    pump();
  });
  req.end(body);
}

function pump() {
  if (opt["check-at"] > 0 && !stoppedEarly && completed === opt["check-at"] && limit > completed) {
    const s = secondsSince();
    projected = (s * opt.count) / completed;
    if (opt["budget-s"] > 0 && projected > opt["budget-s"]) {
      stoppedEarly = true;
      limit = completed;
    }
  }
  while (issued < limit && issued - completed < opt.inflight) issue();
  if (completed >= limit && issued === completed) finish();
}

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  const seconds = secondsSince();
  for (const s of sessions) s.close();
  process.stdout.write(
    JSON.stringify({
      mode,
      requested: opt.count,
      done: completed,
      ok,
      errors,
      seconds: +seconds.toFixed(3),
      rate: +(ok / seconds).toFixed(1),
      rawJsonBytes,
      found,
      stopped_early: stoppedEarly,
      projected_s: +projected.toFixed(1),
      first_error: firstError,
    }) + "\n",
  );
}

pump();
