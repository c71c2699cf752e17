// Subscribe (BEHAVIOR.md "Change streams") through connect-node (Connect streaming over HTTP/1.1
// and HTTP/2, gRPC) and grpc-js: snapshot then live with no gap, DELETE without json_data, the
// collections filter, the query language, concurrent writers (count every event), 100 subscribers
// with one deliberately slow one (raw HTTP/2 stream with a tiny flow-control window), streams that
// outlive --rpc-default-timeout-secs, and SIGTERM ending open subscriptions cleanly.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/subscribe.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SIDECAR, envelope, makeClient } from "./lib/clients.mjs";
import { fails, makeDataDir, ok, preview, putDoc, sleep, startNodeOn, strip, withTimeout } from "./lib/documents.mjs";
import { H2, h2Frame, h2RequestHeaders, h2Settings, rawH2Connect } from "./lib/raw.mjs";

const UPSERT = "CHANGE_TYPE_UPSERT";
const DELETE = "CHANGE_TYPE_DELETE";
/** connect-node Connect streaming (HTTP/1.1 JSON, HTTP/2 proto), connect-node gRPC, grpc-js. */
const STREAM_KINDS = ["cn-connect-json-h1", "cn-connect-proto-h2", "cn-grpc-h2", "grpc-js"];

const subscribe = (client, req = {}, opts = {}) => client.openStream(SIDECAR, "Subscribe", req, opts);
const events = (h) => h.messages.map(strip);
const isProbe = (e) => e.docId.startsWith("probe-");

/** Resolves once pred() holds for stream handle h (checked on every message / end); rejects after ms. */
function waitStream(h, pred, ms, what) {
  return new Promise((resolve, reject) => {
    const check = () => {
      let v;
      try {
        v = pred();
      } catch (e) {
        return finish(e);
      }
      if (v) return finish(null);
      if (h.ended) finish(new Error(`stream ended (error ${JSON.stringify(h.error)}) before ${what}; ${h.messages.length} messages, last: ${preview(h.messages.slice(-3))}`));
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${ms} ms waiting for ${what}; ${h.messages.length} messages, last: ${preview(h.messages.slice(-3))}`)), ms);
    const finish = (err) => {
      clearTimeout(timer);
      h._waiters.delete(check);
      err ? reject(err) : resolve();
    };
    h._waiters.add(check);
    check();
  });
}

/**
 * Makes sure every stream in `handles` is live (its snapshot is complete): writes and deletes probe
 * docs in `collection` until each stream has seen a probe DELETE (DELETE passes every filter).
 * Returns, per handle, the index of the first probe DELETE (everything before it that is not a
 * probe is the snapshot).
 */
async function waitLive(writer, handles, collection, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  const firstProbeDelete = (h) => h.messages.findIndex((m) => m.changeType === DELETE && m.docId?.startsWith("probe-"));
  for (let i = 0; ; i++) {
    const id = `probe-${i}-${Math.random().toString(36).slice(2, 8)}`;
    await putDoc(writer, collection, id, { probe: i });
    await ok(writer, "DeleteDocument", { collection, docId: id });
    const pending = handles.filter((h) => firstProbeDelete(h) < 0);
    const wait = Math.min(400, Math.max(1, deadline - Date.now()));
    await Promise.all(pending.map((h) => waitStream(h, () => firstProbeDelete(h) >= 0, wait, "probe").catch(() => {})));
    for (const h of handles) if (h.ended) throw new Error(`a subscription ended before it went live: ${JSON.stringify(h.error)} after ${preview(h.messages)}`);
    if (handles.every((h) => firstProbeDelete(h) >= 0)) return handles.map(firstProbeDelete);
    if (Date.now() > deadline) throw new Error(`${handles.filter((h) => firstProbeDelete(h) < 0).length} subscription(s) never delivered a probe DELETE within ${timeoutMs} ms`);
  }
}

/** Groups events (ignoring probes) by `${collection}/${docId}`. */
function byDoc(evs) {
  const m = new Map();
  for (const e of evs) {
    if (isProbe(e)) continue;
    const k = `${e.collection}/${e.docId}`;
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(e);
  }
  return m;
}

function assertEventShape(e) {
  assert.ok(e.changeType === UPSERT || e.changeType === DELETE, `bad changeType: ${preview(e)}`);
  assert.equal(typeof e.collection, "string", preview(e));
  assert.equal(typeof e.docId, "string", preview(e));
  if (e.changeType === DELETE) assert.equal(e.jsonData, undefined, `DELETE events carry no jsonData: ${preview(e)}`);
  else assert.equal(typeof e.jsonData, "string", `UPSERT without jsonData: ${preview(e)}`);
}

// ---------------------------------------------------------------------------------------------
describe("Subscribe: snapshot, live, filters", () => {
  let node;
  let writer;
  before(async () => {
    node = await startNodeOn(makeDataDir());
    writer = makeClient("grpc-js", node, "tcp");
  });
  after(async () => {
    writer?.close();
    await node?.kill();
  });

  describe("every streaming client", { concurrency: true }, () => {
    for (const kind of STREAM_KINDS) {
      describe(kind, () => {
        let c;
        const coll = (x) => `${kind}-${x}`;
        before(() => {
          c = makeClient(kind, node, "tcp");
        });
        after(() => c?.close());

        it("snapshot (one UPSERT per existing doc, canonical JSON) then live UPSERT / DELETE (no jsonData); other collections filtered out", async () => {
          const C = coll("basic");
          await putDoc(writer, C, "a", '{"z":1,"a":1.0}');
          await putDoc(writer, C, "b", { b: true });
          await putDoc(writer, C, "c:1", { nested: { x: [1, 2] } });
          await putDoc(writer, C, "gone", { x: 1 });
          await ok(writer, "DeleteDocument", { collection: C, docId: "gone" });
          await putDoc(writer, coll("other"), "o", { o: 1 });
          const s = subscribe(c, { collections: [C] });
          try {
            await s.waitForMessages(3, 10_000);
            const snap = events(s).slice(0, 3);
            for (const e of snap) assertEventShape(e);
            assert.deepEqual(
              snap.map((e) => [e.collection, e.docId, e.changeType, e.jsonData]).sort(),
              [
                [C, "a", UPSERT, '{"a":1.0,"z":1}'],
                [C, "b", UPSERT, '{"b":true}'],
                [C, "c:1", UPSERT, '{"nested":{"x":[1,2]}}'],
              ],
            );
            // live
            await putDoc(writer, C, "d", { d: 4 });
            await putDoc(writer, C, "a", { a: 2 });
            await ok(writer, "DeleteDocument", { collection: C, docId: "b" });
            await putDoc(writer, coll("other"), "o2", { o: 2 });
            await ok(writer, "DeleteDocument", { collection: coll("other"), docId: "o" });
            await ok(writer, "DeleteDocument", { collection: C, docId: "never-existed" }); // no change → no event required
            await putDoc(writer, C, "sentinel", { end: true });
            await waitStream(s, () => s.messages.some((m) => m.docId === "sentinel"), 10_000, "the sentinel UPSERT");
            const all = events(s);
            for (const e of all) assertEventShape(e);
            assert.ok(all.every((e) => e.collection === C), `events from another collection: ${preview(all.filter((e) => e.collection !== C))}`);
            const live = byDoc(all.slice(3));
            assert.deepEqual(live.get(`${C}/d`), [{ collection: C, docId: "d", changeType: UPSERT, jsonData: '{"d":4}' }]);
            assert.deepEqual(live.get(`${C}/a`), [{ collection: C, docId: "a", changeType: UPSERT, jsonData: '{"a":2}' }]);
            assert.deepEqual(live.get(`${C}/b`), [{ collection: C, docId: "b", changeType: DELETE }]);
            assert.equal(live.has(`${C}/c:1`), false, "no event for an untouched doc");
            assert.equal(live.has(`${C}/gone`), false, "a doc deleted before the call is not in the snapshot");
            assert.equal(s.ended, false, `stream ended: ${JSON.stringify(s.error)}`);
          } finally {
            s.cancel();
          }
        });

        it("collections filter: empty = all collections; several listed = exactly those", async () => {
          const A = coll("all-a");
          const B = coll("all-b");
          const X = coll("all-x");
          await putDoc(writer, A, "a1", { a: 1 });
          await putDoc(writer, B, "b1", { b: 1 });
          await putDoc(writer, X, "x1", { x: 1 });
          const every = subscribe(c, {});
          const two = subscribe(c, { collections: [A, B] });
          try {
            await waitLive(writer, [every], A);
            await waitLive(writer, [two], B);
            const keysOf = (h) => new Set(events(h).filter((e) => !isProbe(e)).map((e) => `${e.collection}/${e.docId}`));
            for (const k of [`${A}/a1`, `${B}/b1`, `${X}/x1`]) assert.ok(keysOf(every).has(k), `snapshot of collections=[] lacks ${k}`);
            assert.deepEqual([...keysOf(two)].sort(), [`${A}/a1`, `${B}/b1`]);
            await putDoc(writer, X, "x2", { x: 2 });
            await ok(writer, "DeleteDocument", { collection: A, docId: "a1" });
            await putDoc(writer, B, "b2", { b: 2 });
            await waitStream(every, () => keysOf(every).has(`${X}/x2`) && keysOf(every).has(`${B}/b2`) && every.messages.some((m) => m.docId === "a1" && m.changeType === DELETE), 10_000, "live events in all collections");
            await waitStream(two, () => keysOf(two).has(`${B}/b2`) && two.messages.some((m) => m.docId === "a1" && m.changeType === DELETE), 10_000, "live events in A and B");
            assert.ok(!keysOf(two).has(`${X}/x2`), "event from an unlisted collection");
          } finally {
            every.cancel();
            two.cancel();
          }
        });

        it("invalid query → invalid_argument", async () => {
          let deep = { eq: { field: "a", value: "1" } };
          for (let i = 0; i < 16; i++) deep = { not: deep }; // 17 levels
          const bad = [
            ["unset oneof", {}],
            ["empty field", { eq: { field: "", value: "1" } }],
            ["value not JSON", { eq: { field: "a", value: "vehicle" } }],
            ["value not JSON (lt)", { lt: { field: "a", value: "{" } }],
            ["empty field (gt)", { gt: { field: "", value: "1" } }],
            ["invalid clause inside and", { and: { clauses: [{ all: {} }, {}] } }],
            ["invalid clause inside or", { or: { clauses: [{ eq: { field: "", value: "1" } }] } }],
            ["invalid query inside not", { not: {} }],
            ["nesting 17 levels", deep],
          ];
          for (const [what, query] of bad) {
            const s = subscribe(c, { collections: [coll("q-invalid")], query }, { timeoutMs: 10_000 });
            const end = await withTimeout(s.done, 12_000, `${what}: stream did not end`);
            assert.deepEqual(end.messages, [], `${what}: no events before the error`);
            assert.equal(end.error?.code, "invalid_argument", `${what}: ${JSON.stringify(end.error)}`);
            assert.ok((end.error.message ?? "").length > 0, `${what}: the error should say what is wrong`);
          }
          // 16 levels is fine
          let d16 = { eq: { field: "a", value: "1" } };
          for (let i = 0; i < 15; i++) d16 = { not: d16 };
          const s = subscribe(c, { collections: [coll("q-16")], query: d16 });
          try {
            await waitLive(writer, [s], coll("q-16"));
          } finally {
            s.cancel();
          }
        });
      });
    }
  });

  // ---- the query language -------------------------------------------------------------------
  const FIXTURES = {
    v1: { type: "vehicle", speed: 42, loc: { lat: 10.5, lon: 20 }, name: "beta" },
    v2: { type: "vehicle", speed: "42", loc: { lat: -5, lon: 1 } },
    v3: { type: "drone", speed: "42.0 as float", n: 1.0 },
    v4: { type: "drone", speed: 42.0 },
    p1: { type: "person", speed: 3, loc: { lat: 50 }, name: "alpha", flag: true },
    z1: { name: "Zulu", n: 1, flag: false },
    dotkey: { "loc.lat": 99, loc: { lat: 1 } },
    deep: { a: { b: { c: "x" } } },
    "del-me": { kind: "to-delete" },
  };
  // speed 42.0 in v4 is written as the JSON text 42.0 (a float), see putFixture below.
  const RAW = { v4: '{"speed":42.0,"type":"drone"}', v3: '{"n":1.0,"speed":"42.0 as float","type":"drone"}' };
  const q = {
    eq: (field, value) => ({ eq: { field, value } }),
    lt: (field, value) => ({ lt: { field, value } }),
    gt: (field, value) => ({ gt: { field, value } }),
    and: (...clauses) => ({ and: { clauses } }),
    or: (...clauses) => ({ or: { clauses } }),
    not: (x) => ({ not: x }),
    all: () => ({ all: {} }),
  };
  const ALL = Object.keys(FIXTURES);
  const CASES = [
    ['eq type "vehicle"', q.eq("type", '"vehicle"'), ["v1", "v2"]],
    ["eq speed 42 (number; not the string, not 42.0)", q.eq("speed", "42"), ["v1"]],
    ['eq speed "42" (string)', q.eq("speed", '"42"'), ["v2"]],
    ["eq speed 42.0 (float; not the integer 42)", q.eq("speed", "42.0"), ["v4"]],
    ["eq n 1 (integer ≠ 1.0)", q.eq("n", "1"), ["z1"]],
    ["eq n 1.0 (float ≠ 1)", q.eq("n", "1.0"), ["v3"]],
    ["eq flag true", q.eq("flag", "true"), ["p1"]],
    ["eq flag false", q.eq("flag", "false"), ["z1"]],
    ["eq on a missing field", q.eq("nope", "1"), []],
    ["gt speed 10 (numbers only; string '42' is not > 10)", q.gt("speed", "10"), ["v1", "v4"]],
    ["lt speed 10", q.lt("speed", "10"), ["p1"]],
    ["gt speed 41.5 (int vs float compares numerically)", q.gt("speed", "41.5"), ["v1", "v4"]],
    ['lt name "b" (bytewise: "Zulu" < "alpha" < "b")', q.lt("name", '"b"'), ["p1", "z1"]],
    ['gt name "Zulu"', q.gt("name", '"Zulu"'), ["p1", "v1"]],
    ['lt speed "5" (strings compare bytewise; number vs string is false)', q.lt("speed", '"5"'), ["v2", "v3"]],
    ["dotted path: eq loc.lon 20", q.eq("loc.lon", "20"), ["v1"]],
    ["dotted path: gt loc.lat 0 (a top-level key 'loc.lat' matches first)", q.gt("loc.lat", "0"), ["dotkey", "p1", "v1"]],
    ["dotted path: lt loc.lat 5 (top-level 'loc.lat' 99 shadows loc.lat 1)", q.lt("loc.lat", "5"), ["v2"]],
    ['dotted path three levels: eq a.b.c "x"', q.eq("a.b.c", '"x"'), ["deep"]],
    ["dotted path into a non-object is a missing field", q.eq("type.x", '"vehicle"'), []],
    ["and(eq type vehicle, gt loc.lat 0)", q.and(q.eq("type", '"vehicle"'), q.gt("loc.lat", "0")), ["v1"]],
    ["or(eq type person, eq speed \"42\")", q.or(q.eq("type", '"person"'), q.eq("speed", '"42"')), ["p1", "v2"]],
    ["not(eq type vehicle)", q.not(q.eq("type", '"vehicle"')), ALL.filter((x) => !["v1", "v2"].includes(x))],
    ["and() empty → true", q.and(), ALL],
    ["or() empty → false", q.or(), []],
    ["all", q.all(), ALL],
    ["not(all)", q.not(q.all()), []],
    ["nested: or(and(eq type drone, not(eq n 1.0)), lt name \"B\")", q.or(q.and(q.eq("type", '"drone"'), q.not(q.eq("n", "1.0"))), q.lt("name", '"B"')), ["v4"]],
  ];

  describe("query filter (snapshot and live; DELETE passes every filter)", { concurrency: 4 }, () => {
    CASES.forEach(([what, query, want], i) => {
      const kind = STREAM_KINDS[i % STREAM_KINDS.length];
      it(`${what} → ${JSON.stringify(want)} (${kind})`, async () => {
        const C = `query-${i}`;
        const c = makeClient(kind, node, "tcp");
        try {
          await Promise.all(Object.entries(FIXTURES).map(([id, doc]) => putDoc(writer, C, id, RAW[id] ?? doc)));
          const s = subscribe(c, { collections: [C], query });
          try {
            const [firstProbe] = await waitLive(writer, [s], C);
            const snap = events(s).slice(0, firstProbe).filter((e) => !isProbe(e));
            for (const e of snap) assertEventShape(e);
            assert.deepEqual(snap.map((e) => e.docId).sort(), [...want].sort(), `snapshot: ${preview(snap, 2000)}`);
            assert.ok(snap.every((e) => e.changeType === UPSERT));
            // live: rewrite every fixture with an extra field (same match result), then delete del-me
            for (const [id, doc] of Object.entries(FIXTURES)) {
              if (id === "del-me") continue;
              const raw = RAW[id] ? RAW[id].replace(/^\{/, '{"rev":2,') : JSON.stringify({ ...doc, rev: 2 });
              await putDoc(writer, C, id, raw);
            }
            await ok(writer, "DeleteDocument", { collection: C, docId: "del-me" });
            const liveWant = want.filter((x) => x !== "del-me");
            await waitStream(
              s,
              () => {
                const live = byDoc(events(s).slice(firstProbe));
                return live.get(`${C}/del-me`)?.length >= 1 && liveWant.every((id) => live.get(`${C}/${id}`)?.length >= 1);
              },
              10_000,
              "the live events",
            );
            const live = byDoc(events(s).slice(firstProbe));
            assert.deepEqual(live.get(`${C}/del-me`), [{ collection: C, docId: "del-me", changeType: DELETE }], "DELETE passes every filter");
            for (const [k, evs] of live) {
              const id = k.slice(C.length + 1);
              if (id === "del-me") continue;
              assert.ok(want.includes(id), `live event for non-matching doc ${id}: ${preview(evs)}`);
              assert.equal(evs.length, 1, preview(evs));
              assert.equal(evs[0].changeType, UPSERT);
              assert.equal(JSON.parse(evs[0].jsonData).rev, 2);
            }
          } finally {
            s.cancel();
          }
        } finally {
          c.close();
        }
      });
    });

    it("a doc that stops matching produces no UPSERT but its DELETE still arrives (grpc-js)", async () => {
      const C = "query-transition";
      const c = makeClient("grpc-js", node, "tcp");
      try {
        await putDoc(writer, C, "t", { type: "vehicle", n: 1 });
        const s = subscribe(c, { collections: [C], query: q.eq("type", '"vehicle"') });
        try {
          const [firstProbe] = await waitLive(writer, [s], C);
          assert.deepEqual(events(s).slice(0, firstProbe).map((e) => e.docId), ["t"]);
          await putDoc(writer, C, "t", { type: "person", n: 2 }); // no longer matches
          await putDoc(writer, C, "t", { type: "vehicle", n: 3 }); // matches again
          await ok(writer, "DeleteDocument", { collection: C, docId: "t" });
          await waitStream(s, () => s.messages.some((m) => m.docId === "t" && m.changeType === DELETE), 10_000, "DELETE t");
          const live = byDoc(events(s).slice(firstProbe)).get(`${C}/t`);
          assert.deepEqual(
            live.map((e) => [e.changeType, e.jsonData && JSON.parse(e.jsonData).n]),
            [
              [UPSERT, 3],
              [DELETE, undefined],
            ],
          );
        } finally {
          s.cancel();
        }
      } finally {
        c.close();
      }
    });
  });

  // ---- snapshot + live with concurrent writers -------------------------------------------------
  describe("snapshot + live with 3 concurrent writers loses nothing", { concurrency: true }, () => {
    for (const kind of ["cn-connect-json-h1", "cn-grpc-h2", "grpc-js"]) {
      it(`${kind}: every acknowledged write is seen; the last event per doc is the last acknowledged state`, async (t) => {
        const C = `concurrent-${kind}`;
        const c = makeClient(kind, node, "tcp");
        const writers = [0, 1, 2].map(() => makeClient("grpc-js", node, "tcp"));
        let stop = false;
        let total = 0;
        try {
          // acked: doc id → last acknowledged state (canonical JSON string, or null = deleted)
          const acked = new Map();
          for (let i = 0; i < 40; i++) {
            const j = JSON.stringify({ i, pre: true });
            await putDoc(writer, C, `pre-${i}`, j);
            acked.set(`pre-${i}`, j);
          }
          const loops = writers.map(async (w, wi) => {
            for (let n = 0; !stop; n++) {
              const id = `w${wi}-${n % 50}`;
              if (n % 7 === 6) {
                await ok(w, "DeleteDocument", { collection: C, docId: id });
                acked.set(id, null);
              } else {
                const j = JSON.stringify({ n, pad: "p".repeat(n % 40), w: wi });
                await putDoc(w, C, id, j);
                acked.set(id, j);
              }
              total++;
            }
          });
          let loopError = null;
          loops.forEach((l) =>
            l.catch((e) => {
              loopError ??= e;
              stop = true;
            }),
          );
          const started = Date.now();
          while (total < 60) {
            if (loopError) throw loopError;
            if (Date.now() - started > 10_000) throw new Error(`writers made only ${total} writes in 10 s`);
            await sleep(5);
          }
          const s = subscribe(c, { collections: [C] });
          const subscribedAt = total;
          await waitStream(s, () => s.messages.length > 0, 10_000, "the first event");
          const t0 = Date.now();
          while ((Date.now() - t0 < 1_500 || total < subscribedAt + 300) && Date.now() - t0 < 10_000 && !loopError) await sleep(10);
          stop = true;
          await Promise.all(loops);
          try {
            // doc id → state of its last event (null = DELETE), maintained incrementally
            const last = new Map();
            let cursor = 0;
            const lastState = () => {
              for (; cursor < s.messages.length; cursor++) {
                const e = s.messages[cursor];
                last.set(e.docId, e.changeType === DELETE ? null : e.jsonData);
              }
              return last;
            };
            await waitStream(
              s,
              () => {
                const last = lastState();
                for (const [id, st] of acked) {
                  if (st === null ? last.has(id) && last.get(id) !== null : last.get(id) !== st) return false;
                }
                return true;
              },
              15_000,
              "the final state of every acknowledged doc",
            ).catch((e) => {
              const last = lastState();
              const wrong = [...acked].filter(([id, st]) => (st === null ? last.has(id) && last.get(id) !== null : last.get(id) !== st));
              throw new Error(`${e.message}\n${wrong.length} doc(s) whose last event differs from the last acknowledged write, e.g. ${preview(wrong.slice(0, 5).map(([id, st]) => ({ id, acked: st, lastEvent: last.get(id) })), 1500)}`);
            });
            const seen = new Set(events(s).map((e) => e.docId));
            const missing = [...acked].filter(([id, st]) => st !== null && !seen.has(id)).map(([id]) => id);
            assert.deepEqual(missing, [], "acknowledged docs never seen (snapshot ∪ live)");
            for (const e of events(s)) assertEventShape(e);
            // The server's view agrees.
            for (const [id, st] of acked) {
              const m = await ok(writer, "GetDocument", { collection: C, docId: id });
              assert.equal(m.jsonData ?? null, st, `GetDocument ${id}`);
            }
            assert.equal(s.ended, false, JSON.stringify(s.error));
            t.diagnostic(`${total} acknowledged writes by 3 writers (${subscribedAt} before Subscribe), ${acked.size} docs, ${s.messages.length} events received`);
          } finally {
            s.cancel();
          }
        } finally {
          stop = true;
          c.close();
          for (const w of writers) w.close();
        }
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
/**
 * A raw HTTP/2 Connect-streaming Subscribe (application/connect+json) whose stream window is tiny
 * and never replenished until resume(): the server cannot send it more than `window` bytes.
 * Envelopes are parsed incrementally as DATA frames arrive.
 */
class SlowSubscriber {
  static async open(node, req, window = 256) {
    const s = new SlowSubscriber();
    s.messages = [];
    s.end = null; // parsed end-stream envelope JSON
    s.dataBytes = 0;
    s.last = new Map(); // `${collection}/${docId}` → last DocumentChange
    s._frameIdx = 0;
    s._buf = Buffer.alloc(0);
    s.conn = await rawH2Connect({ via: "tcp", addr: node.tcpAddr }, { settings: [[0x4 /* INITIAL_WINDOW_SIZE */, window]] });
    s.conn.write(
      Buffer.concat([
        h2RequestHeaders(1, { path: `/${SIDECAR}/Subscribe`, contentType: "application/connect+json", authority: node.tcpAddr, extra: [["connect-protocol-version", "1"]] }),
        h2Frame(H2.DATA, H2.END_STREAM, 1, envelope(JSON.stringify(req))),
      ]),
    );
    return s;
  }

  /** Consumes newly received frames; returns this. */
  update() {
    const frames = this.conn.frames;
    const parts = [this._buf];
    for (; this._frameIdx < frames.length; this._frameIdx++) {
      const f = frames[this._frameIdx];
      if (f.type !== H2.DATA || f.streamId !== 1) continue;
      let p = f.payload;
      if (f.flags & 0x8) p = p.subarray(1, p.length - p[0]);
      this.dataBytes += p.length;
      parts.push(p);
    }
    let buf = parts.length > 1 ? Buffer.concat(parts) : this._buf;
    let off = 0;
    while (buf.length - off >= 5) {
      const flags = buf[off];
      const len = buf.readUInt32BE(off + 1);
      if (buf.length - off - 5 < len) break;
      const payload = JSON.parse(buf.subarray(off + 5, off + 5 + len).toString("utf8"));
      if (flags & 0x02) this.end = payload;
      else {
        this.messages.push(payload);
        this.last.set(`${payload.collection}/${payload.docId}`, payload);
      }
      off += 5 + len;
    }
    this._buf = buf.subarray(off);
    return this;
  }

  /** Opens the flow-control windows wide (connection and stream). */
  resume() {
    const inc = Buffer.alloc(4);
    inc.writeUInt32BE(0x7fffffff - 65535);
    this.conn.write(Buffer.concat([h2Frame(H2.WINDOW_UPDATE, 0, 0, inc), h2Settings([[0x4, 0x7fffffff]])]));
  }

  reset() {
    return this.conn.framesOf(H2.RST_STREAM, 1)[0] ?? this.conn.framesOf(H2.GOAWAY)[0] ?? null;
  }

  close() {
    this.conn.destroy();
  }
}

describe("100 subscribers, one deliberately slow, 2,000 writes", () => {
  it("the 99 others get every event (count per doc id, in order); the slow one is coalesced or told to resubscribe", async (t) => {
    const node = await startNodeOn(makeDataDir(), { t });
    const writer = makeClient("grpc-js", node, "tcp");
    t.after(() => writer.close());
    const DOCS = 200;
    const ROUNDS = 10; // 2,000 writes
    // Ballast only the slow subscriber asks for: its snapshot (~3 MB) fills every buffer on the way.
    const ballastPad = "b".repeat(10_000);
    await Promise.all(Array.from({ length: 300 }, (_, i) => putDoc(writer, "ballast", `b-${i}`, { i, pad: ballastPad })));

    const slow = await SlowSubscriber.open(node, { collections: ["ballast", "fan"] });
    t.after(() => slow.close());
    assert.ok(await slow.conn.waitFor(() => slow.update().dataBytes > 0 || slow.reset(), 10_000), `slow subscriber got no data: ${slow.conn.summary()}`);
    assert.equal(slow.reset(), null, `slow subscription reset: ${slow.conn.summary()}`);

    // 99 well-behaved subscribers, one HTTP/2 connection each (connect-node Connect and gRPC).
    const kinds = ["cn-connect-proto-h2", "cn-grpc-h2"];
    const clients = [];
    const subs = [];
    for (let i = 0; i < 99; i++) {
      const c = makeClient(kinds[i % kinds.length], node, "tcp");
      clients.push(c);
      subs.push(subscribe(c, { collections: ["fan"] }));
    }
    t.after(() => {
      for (const s of subs) s.cancel();
      for (const c of clients) c.close();
    });
    const firstProbe = await waitLive(writer, subs, "fan", 20_000);

    // 2,000 writes: 16 workers, each doc's rounds written in order by one worker.
    const pad = "x".repeat(150);
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let r = 0; r < ROUNDS; r++) {
          for (let d = w; d < DOCS; d += 16) await putDoc(writer, "fan", `f-${d}`, { d, pad, r });
        }
      }),
    );
    const writeMs = Date.now() - t0;

    // Every normal subscriber: exactly ROUNDS UPSERTs per doc, r = 0..ROUNDS-1 in order.
    const countFan = (s, from) => s.messages.slice(from).filter((m) => m.docId.startsWith("f-")).length;
    await Promise.all(
      subs.map((s, i) => waitStream(s, () => s.messages.length - firstProbe[i] >= DOCS * ROUNDS && countFan(s, firstProbe[i]) >= DOCS * ROUNDS, 30_000, `subscriber #${i} (${clients[i].kind}) to receive ${DOCS * ROUNDS} events (has ${countFan(s, firstProbe[i])})`)),
    );
    const deliverMs = Date.now() - t0;
    subs.forEach((s, i) => {
      const per = byDoc(events(s).slice(firstProbe[i]));
      for (let d = 0; d < DOCS; d++) {
        const evs = per.get(`fan/f-${d}`) ?? [];
        const rs = evs.map((e) => (e.changeType === UPSERT ? JSON.parse(e.jsonData).r : "DELETE"));
        assert.deepEqual(rs, [...Array(ROUNDS).keys()], `subscriber #${i} (${clients[i].kind}) doc f-${d}`);
      }
      assert.equal(s.ended, false, `subscriber #${i} ended: ${JSON.stringify(s.error)}`);
    });

    // The slow one resumes: it must end with resource_exhausted, or deliver the latest state of every doc.
    slow.update();
    const beforeResume = { messages: slow.messages.length, bytes: slow.dataBytes };
    slow.resume();
    const latestOk = () => {
      for (let d = 0; d < DOCS; d++) {
        const m = slow.last.get(`fan/f-${d}`);
        if (!m || m.changeType !== UPSERT || JSON.parse(m.jsonData).r !== ROUNDS - 1) return false;
      }
      for (let i = 0; i < 300; i++) if (!slow.last.has(`ballast/b-${i}`)) return false;
      return true;
    };
    const settled = await slow.conn.waitFor(() => slow.update().end !== null || slow.reset() !== null || latestOk(), 30_000);
    const fanEvents = slow.messages.filter((m) => m.collection === "fan" && m.docId.startsWith("f-"));
    t.diagnostic(
      `writes: ${DOCS * ROUNDS} in ${writeMs} ms, all 99 subscribers complete after ${deliverMs} ms; slow subscriber: ${beforeResume.messages} message(s) / ${beforeResume.bytes} bytes before resume, ` +
        `${slow.messages.length} after, ${fanEvents.length} fan events (${DOCS * ROUNDS} written), end=${JSON.stringify(slow.end)}`,
    );
    assert.ok(settled, `slow subscriber neither ended nor caught up within 30 s: ${slow.messages.length} messages, ${fanEvents.length} fan events; frames: ${slow.conn.summary().slice(-500)}`);
    assert.equal(slow.reset(), null, `slow subscription was reset instead of ended with an error or served: ${slow.conn.summary().slice(-500)}`);
    if (slow.end !== null) {
      assert.equal(slow.end.error?.code, "resource_exhausted", `slow subscriber ended: ${JSON.stringify(slow.end)}`);
      assert.match(slow.end.error.message ?? "", /lag|resubscribe/i);
    } else {
      assert.ok(latestOk());
      // Per document, events in commit order (coalescing may skip states, never reorder them).
      const rs = new Map();
      for (const m of fanEvents) {
        const r = JSON.parse(m.jsonData).r;
        const prev = rs.get(m.docId) ?? -1;
        assert.ok(r > prev, `slow subscriber: doc ${m.docId} went from r=${prev} to r=${r}`);
        rs.set(m.docId, r);
      }
    }
    assert.equal(node.exit, null, "the node must survive");
  });
});

// ---------------------------------------------------------------------------------------------
describe("long-lived streams and shutdown", () => {
  it("a subscription outlives --rpc-default-timeout-secs 2 (held 4 s, still live)", async (t) => {
    const node = await startNodeOn(makeDataDir(), { t, args: ["--rpc-default-timeout-secs", "2"] });
    const writer = makeClient("grpc-js", node, "tcp");
    t.after(() => writer.close());
    const kinds = ["cn-connect-json-h1", "cn-connect-proto-h2", "cn-grpc-h2", "grpc-js"];
    const clients = kinds.map((k) => makeClient(k, node, "tcp"));
    t.after(() => clients.forEach((c) => c.close()));
    const subs = clients.map((c) => subscribe(c, { collections: ["long"] }));
    t.after(() => subs.forEach((s) => s.cancel()));
    await waitLive(writer, subs, "long");
    await sleep(4_000);
    subs.forEach((s, i) => assert.equal(s.ended, false, `${kinds[i]}: subscription ended after ${Date.now() - s._t0} ms: ${JSON.stringify(s.error)}`));
    await putDoc(writer, "long", "after-4s", { ok: true });
    await Promise.all(subs.map((s, i) => waitStream(s, () => s.messages.some((m) => m.docId === "after-4s"), 5_000, `${kinds[i]}: event after 4 s`)));
  });

  it("SIGTERM ends open subscriptions cleanly (no error) and the node exits 0", async (t) => {
    const node = await startNodeOn(makeDataDir(), { t });
    const writer = makeClient("grpc-js", node, "tcp");
    t.after(() => writer.close());
    const kinds = ["cn-connect-json-h1", "cn-connect-proto-h2", "cn-grpc-h2", "grpc-js"];
    const clients = kinds.map((k) => makeClient(k, node, "tcp"));
    t.after(() => clients.forEach((c) => c.close()));
    const subs = clients.map((c) => subscribe(c, {}));
    await waitLive(writer, subs, "term");
    const [exit, ...ends] = await Promise.all([node.stop("SIGTERM", 10_000), ...subs.map((s, i) => withTimeout(s.done, 12_000, `${kinds[i]}: stream did not end after SIGTERM`))]);
    assert.equal(exit.timedOut, false, `no exit within 10 s of SIGTERM\n${exit.stderr}`);
    assert.equal(exit.code, 0, exit.stderr);
    ends.forEach((e, i) => assert.equal(e.error, null, `${kinds[i]}: ended with an error instead of cleanly: ${JSON.stringify(e.error)}`));
  });
});
