// Documents, typed collections and collection configs over a real socket, through Connect JSON
// (curl, HTTP/1.1) and gRPC (grpc-js): BEHAVIOR.md "Documents", "Typed collections", "Collection
// lifecycle", "Bad input"; CONTRACT.md "Typed collections" and the JSON conventions.
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/documents.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { makeClient } from "./lib/clients.mjs";
import { bytewiseCompare, fails, getDoc, makeDataDir, ok, preview, putDoc, startNodeOn } from "./lib/documents.mjs";

const MAX_DOC = 4096;
const KINDS = ["curl-json-h1", "grpc-js"];

/** `depth` nested objects: {"a":{"a":...{"a":1}}} */
const nestedObjects = (depth) => "{\"a\":".repeat(depth - 1) + '{"a":1}' + "}".repeat(depth - 1);
/** one object holding `depth - 1` nested arrays: {"a":[[[...[1]...]]]} */
const nestedArrays = (depth) => '{"a":' + "[".repeat(depth - 1) + "1" + "]".repeat(depth - 1) + "}";
/** A compact document of exactly n bytes: {"p":"xxxx"} */
const docOfBytes = (n) => `{"p":"${"x".repeat(n - 8)}"}`;

describe("documents, typed collections, collection configs", () => {
  let node;
  before(async () => {
    node = await startNodeOn(makeDataDir(), { args: ["--max-document-bytes", String(MAX_DOC)] });
  });
  after(async () => {
    await node?.kill();
  });

  for (const kind of KINDS) {
    describe(kind, () => {
      let c;
      const p = kind === "grpc-js" ? "g" : "j"; // per-client prefix: both clients share the node
      const coll = (name) => `${p}-${name}`;
      before(() => {
        c = makeClient(kind, node, "tcp");
      });
      after(() => c?.close());

      // ---------------------------------------------------------------- documents
      describe("PutDocument / GetDocument", () => {
        it("returns canonical JSON: compact, keys sorted bytewise, 1.0 stays 1.0, big ints stay ints, nested objects", async () => {
          const input =
            '{ "z": 1, "a": { "y": [1, 2.5, {"b": true, "a": null}], "x": "s" },\n "f": 1.0, "small": 0.1, ' +
            '"big": 9007199254740993, "neg": -9223372036854775808, "u": 18446744073709551615, "B": "upper", ' +
            '"\u00e9": "\u00fc", "t": false, "n": null, "e": {}, "arr": [] }';
          const want =
            '{"B":"upper","a":{"x":"s","y":[1,2.5,{"a":null,"b":true}]},"arr":[],"big":9007199254740993,"e":{},' +
            '"f":1.0,"n":null,"neg":-9223372036854775808,"small":0.1,"t":false,"u":18446744073709551615,"z":1,"\u00e9":"\u00fc"}';
          await putDoc(c, coll("docs"), "canon", input);
          assert.equal(await getDoc(c, coll("docs"), "canon"), want);
        });

        it("string escapes survive (semantic equality)", async () => {
          const doc = { s: 'quote " backslash \\ newline \n tab \t ctl \u0001 slash / emoji \u{1F600}', k: "\u2028" };
          await putDoc(c, coll("docs"), "escapes", doc);
          const got = await getDoc(c, coll("docs"), "escapes");
          assert.equal(typeof got, "string");
          assert.deepEqual(JSON.parse(got), doc);
          assert.ok(!got.includes("\n"), `not compact / raw newline in output: ${preview(got)}`);
        });

        it('a field named "value" is an ordinary field (top level and nested)', async () => {
          await putDoc(c, coll("docs"), "value1", '{"value":5}');
          assert.equal(await getDoc(c, coll("docs"), "value1"), '{"value":5}');
          await putDoc(c, coll("docs"), "value2", '{"value":{"value":"x","a":1},"other":true}');
          assert.equal(await getDoc(c, coll("docs"), "value2"), '{"other":true,"value":{"a":1,"value":"x"}}');
          await putDoc(c, coll("docs"), "value3", '{"value":"only"}');
          assert.equal(await getDoc(c, coll("docs"), "value3"), '{"value":"only"}');
        });

        it("the empty object is a valid document", async () => {
          await putDoc(c, coll("docs"), "empty", "{}");
          assert.equal(await getDoc(c, coll("docs"), "empty"), "{}");
        });

        it("a Put replaces the document: dropped fields (top level and nested) are gone", async () => {
          await putDoc(c, coll("docs"), "repl", { a: 1, b: { c: 2, d: 3 }, e: [1, 2] });
          await putDoc(c, coll("docs"), "repl", { b: { c: 4 }, f: "new" });
          assert.equal(await getDoc(c, coll("docs"), "repl"), '{"b":{"c":4},"f":"new"}');
          await putDoc(c, coll("docs"), "repl", { b: 7 });
          assert.equal(await getDoc(c, coll("docs"), "repl"), '{"b":7}');
          await putDoc(c, coll("docs"), "repl", { b: { deep: { er: 1 } } });
          assert.equal(await getDoc(c, coll("docs"), "repl"), '{"b":{"deep":{"er":1}}}');
        });

        it("GetDocument of a missing doc: success with jsonData absent (never not_found)", async () => {
          const m = await ok(c, "GetDocument", { collection: coll("docs"), docId: "never-written" });
          assert.deepEqual(m, {}, `expected an empty response, got ${preview(m)}`);
          const m2 = await ok(c, "GetDocument", { collection: coll("no-such-collection"), docId: "x" });
          assert.deepEqual(m2, {});
        });

        it("doc ids with ':' work (alpha-agent:nginx); 1024-byte ids work", async () => {
          await putDoc(c, coll("docs"), "alpha-agent:nginx", { k: 1 });
          assert.equal(await getDoc(c, coll("docs"), "alpha-agent:nginx"), '{"k":1}');
          const long = "i".repeat(1024);
          await putDoc(c, coll("docs"), long, { k: 2 });
          assert.equal(await getDoc(c, coll("docs"), long), '{"k":2}');
          const longColl = "C".repeat(1024);
          await putDoc(c, longColl, "d", { k: 3 });
          assert.equal(await getDoc(c, longColl, "d"), '{"k":3}');
        });

        it(`a document of exactly --max-document-bytes (${MAX_DOC}) and nesting depth 64 are accepted`, async () => {
          const d = docOfBytes(MAX_DOC);
          assert.equal(Buffer.byteLength(d), MAX_DOC);
          await putDoc(c, coll("docs"), "max-size", d);
          assert.equal(await getDoc(c, coll("docs"), "max-size"), d);
          await putDoc(c, coll("docs"), "depth64", nestedObjects(64));
          assert.equal(await getDoc(c, coll("docs"), "depth64"), nestedObjects(64));
          await putDoc(c, coll("docs"), "depth64a", nestedArrays(64));
          assert.equal(await getDoc(c, coll("docs"), "depth64a"), nestedArrays(64));
        });
      });

      describe("DeleteDocument / ListDocuments", () => {
        it("Delete of a missing doc: success", async () => {
          await ok(c, "DeleteDocument", { collection: coll("del"), docId: "never-written" });
          await ok(c, "DeleteDocument", { collection: coll("no-such-collection"), docId: "x" });
        });

        it("Get after Delete: jsonData absent; Delete twice: success; Put after Delete: only the new content", async () => {
          await putDoc(c, coll("del"), "d1", { a: 1, b: { c: 2 } });
          await ok(c, "DeleteDocument", { collection: coll("del"), docId: "d1" });
          assert.equal(await getDoc(c, coll("del"), "d1"), undefined);
          await ok(c, "DeleteDocument", { collection: coll("del"), docId: "d1" });
          const ids = (await ok(c, "ListDocuments", { collection: coll("del") })).docIds ?? [];
          assert.ok(!ids.includes("d1"), `deleted doc listed: ${preview(ids)}`);
          await putDoc(c, coll("del"), "d1", { z: 9 });
          assert.equal(await getDoc(c, coll("del"), "d1"), '{"z":9}');
          assert.deepEqual((await ok(c, "ListDocuments", { collection: coll("del") })).docIds, ["d1"]);
        });

        it("ListDocuments: live ids sorted bytewise; unknown collection → empty", async () => {
          const ids = ["b", "a", "c:1", "A", "a:b", "\u00e9", "a-", "10", "9", "zz", "gone"];
          for (const id of ids) await putDoc(c, coll("list"), id, { id });
          await ok(c, "DeleteDocument", { collection: coll("list"), docId: "gone" });
          const want = ids.filter((x) => x !== "gone").sort(bytewiseCompare);
          const m = await ok(c, "ListDocuments", { collection: coll("list") });
          assert.deepEqual(m.docIds, want);
          const empty = await ok(c, "ListDocuments", { collection: coll("never-used") });
          assert.deepEqual(empty.docIds ?? [], []);
        });
      });

      // ---------------------------------------------------------------- bad input
      describe("bad input → invalid_argument naming the problem", () => {
        const badJson = [
          ["invalid JSON (truncated)", '{"a":', /json|pars|syntax|invalid/i],
          ["invalid JSON (garbage)", "not json", /json|pars|syntax|invalid/i],
          ["invalid JSON (trailing garbage)", '{"a":1} x', /json|pars|syntax|invalid|trailing/i],
          ["invalid JSON (empty string)", "", /json|empty|pars|invalid/i],
          ["non-object: array", "[1,2]", /object/i],
          ["non-object: string", '"str"', /object/i],
          ["non-object: number", "42", /object/i],
          ["non-object: null", "null", /object/i],
          [`over --max-document-bytes (${MAX_DOC + 1} bytes)`, docOfBytes(MAX_DOC + 1), /byte|size|large|limit|max/i],
          ["nesting depth 65 (objects)", nestedObjects(65), /depth|nest/i],
          ["nesting depth 65 (arrays)", nestedArrays(65), /depth|nest/i],
        ];
        for (const [what, jsonData, re] of badJson) {
          it(`PutDocument: ${what}`, async () => {
            const msg = await fails(c, "PutDocument", { collection: coll("bad"), docId: "b", jsonData }, "invalid_argument", what);
            assert.match(msg, re, `error message does not say what is wrong: ${preview(msg)}`);
            assert.equal(await getDoc(c, coll("bad"), "b"), undefined, "a rejected Put must not store anything");
          });
        }

        const badIds = [
          ["empty collection", "", "d", /collection/i],
          ["empty doc_id", "c", "", /doc_?id/i],
          ["1025-byte doc_id", "c", "x".repeat(1025), /doc_?id/i],
          ["1026-byte doc_id of 513 two-byte characters", "c", "\u00e9".repeat(513), /doc_?id/i],
          ["1025-byte collection", "c".repeat(1025), "d", /collection/i],
          ["NUL in doc_id", "c", "a\u0000b", /doc_?id/i],
          ["NUL in collection", "c\u0000x", "d", /collection/i],
        ];
        for (const [what, collection, docId, re] of badIds) {
          for (const method of ["PutDocument", "GetDocument", "DeleteDocument"]) {
            it(`${method}: ${what}`, async () => {
              const req = { collection: collection && coll(collection), docId };
              if (method === "PutDocument") req.jsonData = '{"a":1}';
              const msg = await fails(c, method, req, "invalid_argument", what);
              assert.match(msg, re, `error message does not name the field: ${preview(msg)}`);
            });
          }
        }
        it("ListDocuments: empty collection", async () => {
          const msg = await fails(c, "ListDocuments", { collection: "" }, "invalid_argument");
          assert.match(msg, /collection/i);
        });
      });

      // ---------------------------------------------------------------- typed collections
      describe("typed collections", () => {
        const id = (x) => `${p}-${x}`;
        const byId = (list, want) => (list ?? []).find((x) => x.id === want);

        it("PutNode / GetNodes round trip; optionals absent stay absent; enums by name", async () => {
          const full = {
            id: id("n-full"),
            nodeType: "uav",
            name: "Raven 1",
            status: "NODE_STATUS_BUSY",
            latitude: 38.5,
            longitude: -77.25,
            altitudeM: 120.5,
            readiness: 0.75,
            capabilities: ["eo", "ir"],
            unitId: "u-7",
            callsign: "RAVEN",
          };
          const min = { id: id("n-min"), name: "bare" };
          const zeroOpt = { id: id("n-zero-opt"), unitId: "", callsign: "" }; // set-but-empty optionals stay set
          for (const n of [full, min, zeroOpt]) await ok(c, "PutNode", { node: n });
          const nodes = (await ok(c, "GetNodes", {})).nodes;
          assert.deepEqual(byId(nodes, full.id), full);
          assert.deepEqual(byId(nodes, min.id), min);
          assert.deepEqual(byId(nodes, zeroOpt.id), zeroOpt);
        });

        it("stored JSON of a node: snake_case keys, enums as integers, absent optionals null", async () => {
          await ok(c, "PutNode", {
            node: { id: id("n-stored"), nodeType: "ugv", name: "Mule", status: "NODE_STATUS_DEGRADED", latitude: 1.5, longitude: 2.5, altitudeM: 3.5, readiness: 0.5, capabilities: ["lift"], unitId: "u-1" },
          });
          const raw = await getDoc(c, "nodes", id("n-stored"));
          assert.equal(typeof raw, "string", "GetDocument on collection nodes returned nothing");
          const keys = ["altitude_m", "callsign", "capabilities", "id", "latitude", "longitude", "name", "node_type", "readiness", "status", "unit_id"];
          assert.deepEqual(Object.keys(JSON.parse(raw)), keys, `stored JSON keys: ${raw}`);
          assert.deepEqual(JSON.parse(raw), {
            altitude_m: 3.5,
            callsign: null,
            capabilities: ["lift"],
            id: id("n-stored"),
            latitude: 1.5,
            longitude: 2.5,
            name: "Mule",
            node_type: "ugv",
            readiness: 0.5,
            status: 3,
            unit_id: "u-1",
          });
        });

        it("a doc written with PutDocument into nodes with missing/mistyped fields comes back from GetNodes with defaults", async () => {
          await putDoc(c, "nodes", id("n-raw"), {
            id: id("n-raw"),
            node_type: "uds-remote-agent",
            name: 42,
            status: "busy",
            latitude: "1.5",
            longitude: 2.5,
            readiness: true,
            capabilities: "eo",
            unit_id: 7,
            callsign: "ok",
            agent_id: "agent-1",
            last_seen: 1700000000,
          });
          await putDoc(c, "nodes", id("n-raw2"), { id: id("n-raw2"), status: 4, altitude_m: 10, capabilities: ["a", 1, "b"] });
          const nodes = (await ok(c, "GetNodes", {})).nodes;
          assert.deepEqual(byId(nodes, id("n-raw")), { id: id("n-raw"), nodeType: "uds-remote-agent", longitude: 2.5, callsign: "ok" });
          const n2 = byId(nodes, id("n-raw2"));
          assert.ok(n2, `doc n-raw2 missing from GetNodes: ${preview(nodes, 2000)}`);
          assert.equal(n2.status, "NODE_STATUS_OFFLINE");
          assert.equal(n2.altitudeM, 10);
          // Non-string elements of a string list are skipped or the list defaults; never a failure.
          assert.ok(n2.capabilities === undefined || ["a,b", ""].includes((n2.capabilities ?? []).join(",")), preview(n2));
        });

        it("PutCell / GetCells round trip; stored JSON", async () => {
          const full = {
            id: id("c-full"),
            name: "Cell A",
            status: "CELL_STATUS_ACTIVE",
            nodeCount: 4,
            centerLatitude: 10.25,
            centerLongitude: -20.5,
            capabilities: ["c2", "isr"],
            formationId: "f-1",
            leaderId: "n-1",
          };
          const min = { id: id("c-min") };
          for (const x of [full, min]) await ok(c, "PutCell", { cell: x });
          const cells = (await ok(c, "GetCells", {})).cells;
          assert.deepEqual(byId(cells, full.id), full);
          assert.deepEqual(byId(cells, min.id), min);
          const raw = JSON.parse(await getDoc(c, "cells", min.id));
          assert.deepEqual(Object.keys(raw), ["capabilities", "center_latitude", "center_longitude", "formation_id", "id", "leader_id", "name", "node_count", "status"]);
          assert.equal(raw.formation_id, null);
          assert.equal(raw.leader_id, null);
          assert.equal(raw.status, 0);
          assert.equal(JSON.parse(await getDoc(c, "cells", full.id)).node_count, 4);
          assert.equal(JSON.parse(await getDoc(c, "cells", full.id)).status, 1);
        });

        it("PutTrack / GetTracks round trip; optional doubles set to 0 stay present; stored JSON", async () => {
          const full = {
            id: id("t-full"),
            sourceNode: "n-1",
            cellId: "c-1",
            formationId: "f-1",
            latitude: 1.25,
            longitude: 2.25,
            altitudeM: 0,
            cepM: 5.5,
            headingDeg: 270.25,
            speedMps: 12.5,
            classification: "hostile",
            confidence: 0.9,
            category: "TRACK_CATEGORY_VEHICLE",
          };
          const min = { id: id("t-min"), sourceNode: "n-2" };
          for (const x of [full, min]) await ok(c, "PutTrack", { track: x });
          const tracks = (await ok(c, "GetTracks", {})).tracks;
          assert.deepEqual(byId(tracks, full.id), full);
          assert.deepEqual(byId(tracks, min.id), min);
          const rawMin = JSON.parse(await getDoc(c, "tracks", min.id));
          assert.deepEqual(Object.keys(rawMin), [
            "altitude_m",
            "category",
            "cell_id",
            "cep_m",
            "classification",
            "confidence",
            "formation_id",
            "heading_deg",
            "id",
            "latitude",
            "longitude",
            "source_node",
            "speed_mps",
          ]);
          for (const k of ["altitude_m", "cell_id", "cep_m", "formation_id", "heading_deg", "speed_mps"]) assert.equal(rawMin[k], null, `${k} in ${preview(rawMin)}`);
          const rawFull = JSON.parse(await getDoc(c, "tracks", full.id));
          assert.equal(rawFull.altitude_m, 0);
          assert.equal(rawFull.category, 2);
        });

        it("PutCommand / GetCommands round trip; int64 fields are JSON numbers in the stored doc (exact for big values)", async () => {
          const full = {
            id: id("cmd-full"),
            targetId: "n-1",
            commandType: "move",
            status: "COMMAND_STATUS_PENDING",
            createdAt: "9007199254740993",
            expiresAt: "1700000060000",
            payloadJson: '{"x":1,"y":[2]}',
          };
          const min = { id: id("cmd-min") };
          for (const x of [full, min]) await ok(c, "PutCommand", { command: x });
          const cmds = (await ok(c, "GetCommands", {})).commands;
          assert.deepEqual(byId(cmds, full.id), full);
          assert.deepEqual(byId(cmds, min.id), min);
          const raw = await getDoc(c, "commands", full.id);
          assert.match(raw, /"created_at":9007199254740993[,}]/, `created_at must be an exact JSON integer: ${raw}`);
          assert.match(raw, /"expires_at":1700000060000[,}]/, raw);
          const parsed = JSON.parse(raw);
          assert.deepEqual(Object.keys(parsed), ["command_type", "created_at", "expires_at", "id", "payload_json", "status", "target_id"]);
          assert.equal(parsed.payload_json, '{"x":1,"y":[2]}');
          assert.equal(parsed.status, 1);
        });

        for (const [method, field] of [
          ["PutNode", "node"],
          ["PutCell", "cell"],
          ["PutTrack", "track"],
          ["PutCommand", "command"],
        ]) {
          it(`${method} without ${field} → invalid_argument naming it`, async () => {
            const msg = await fails(c, method, {}, "invalid_argument");
            assert.match(msg, new RegExp(field, "i"), preview(msg));
          });
          it(`${method} with an empty id → invalid_argument`, async () => {
            await fails(c, method, { [field]: { name: "no id" } }, "invalid_argument");
          });
        }
      });

      // ---------------------------------------------------------------- collection configs
      describe("collection configs", () => {
        it("Set / Get / List; UNSPECIFIED is stored as SOFT_DELETE; Set replaces wholesale", async () => {
          const tomb = { collection: coll("cfg-tomb"), deletionPolicy: "DELETION_POLICY_TOMBSTONE", tombstoneTtlSecs: "3600" };
          const ttl = { collection: coll("cfg-ttl"), deletionPolicy: "DELETION_POLICY_IMPLICIT_TTL", softDeleteTtlSecs: "86400", tombstoneTtlSecs: "0" };
          await ok(c, "SetCollectionConfig", { config: tomb });
          await ok(c, "SetCollectionConfig", { config: ttl });
          await ok(c, "SetCollectionConfig", { config: { collection: coll("cfg-unspec") } });
          assert.deepEqual((await ok(c, "GetCollectionConfig", { collection: tomb.collection })).config, tomb);
          assert.deepEqual((await ok(c, "GetCollectionConfig", { collection: ttl.collection })).config, ttl);
          assert.deepEqual((await ok(c, "GetCollectionConfig", { collection: coll("cfg-unspec") })).config, {
            collection: coll("cfg-unspec"),
            deletionPolicy: "DELETION_POLICY_SOFT_DELETE",
          });
          // replace wholesale: the dropped tombstoneTtlSecs is gone
          const tomb2 = { collection: tomb.collection, deletionPolicy: "DELETION_POLICY_SOFT_DELETE", softDeleteTtlSecs: "5" };
          await ok(c, "SetCollectionConfig", { config: tomb2 });
          assert.deepEqual((await ok(c, "GetCollectionConfig", { collection: tomb.collection })).config, tomb2);
          const list = (await ok(c, "ListCollectionConfigs", {})).configs ?? [];
          const mine = list.filter((x) => x.collection.startsWith(`${p}-cfg-`)).sort((a, b) => bytewiseCompare(a.collection, b.collection));
          assert.deepEqual(mine, [tomb2, ttl, { collection: coll("cfg-unspec"), deletionPolicy: "DELETION_POLICY_SOFT_DELETE" }].sort((a, b) => bytewiseCompare(a.collection, b.collection)));
        });

        it("GetCollectionConfig of an unconfigured collection: success with config absent", async () => {
          assert.deepEqual(await ok(c, "GetCollectionConfig", { collection: coll("cfg-never") }), {});
        });

        it("missing config / empty collection → invalid_argument", async () => {
          await fails(c, "SetCollectionConfig", {}, "invalid_argument", "without config");
          await fails(c, "SetCollectionConfig", { config: { deletionPolicy: "DELETION_POLICY_IMMUTABLE" } }, "invalid_argument", "empty collection");
          await fails(c, "GetCollectionConfig", { collection: "" }, "invalid_argument", "empty collection");
        });

        it("IMMUTABLE: DeleteDocument fails failed_precondition and the doc is still there", async () => {
          const imm = coll("immutable");
          await ok(c, "SetCollectionConfig", { config: { collection: imm, deletionPolicy: "DELETION_POLICY_IMMUTABLE" } });
          await putDoc(c, imm, "keep", { k: "v" });
          const msg = await fails(c, "DeleteDocument", { collection: imm, docId: "keep" }, "failed_precondition");
          assert.ok(msg.length > 0, "the error should explain why");
          assert.equal(await getDoc(c, imm, "keep"), '{"k":"v"}');
          assert.deepEqual((await ok(c, "ListDocuments", { collection: imm })).docIds, ["keep"]);
        });
      });
    });
  }

  it("the node is still alive after all of the above", () => {
    assert.equal(node.exit, null, `server exited: ${JSON.stringify(node.exit)}\n${node.stderrText}`);
  });
});

// ---------------------------------------------------------------- persistence across restart
describe("configs and documents survive a restart (SIGTERM, start again on the same data dir)", () => {
  it("documents, deletes and configs are all there after the restart", async (t) => {
    const dataDir = makeDataDir();
    const n1 = await startNodeOn(dataDir, { t });
    const c1 = makeClient("grpc-js", n1, "tcp");
    const docs = {};
    for (let i = 0; i < 50; i++) {
      docs[`d${String(i).padStart(3, "0")}`] = JSON.stringify({ i, s: `v${i}`, nested: { f: i + 0.5 } });
    }
    for (const [id, j] of Object.entries(docs)) await putDoc(c1, "persist", id, j);
    await putDoc(c1, "persist", "deleted", { x: 1 });
    await ok(c1, "DeleteDocument", { collection: "persist", docId: "deleted" });
    const cfgs = [
      { collection: "persist", deletionPolicy: "DELETION_POLICY_TOMBSTONE", tombstoneTtlSecs: "60" },
      { collection: "frozen", deletionPolicy: "DELETION_POLICY_IMMUTABLE" },
    ];
    for (const cfg of cfgs) await ok(c1, "SetCollectionConfig", { config: cfg });
    await ok(c1, "PutNode", { node: { id: "persist-node", name: "p", status: "NODE_STATUS_READY" } });
    const canon = {};
    for (const id of Object.keys(docs)) canon[id] = await getDoc(c1, "persist", id);
    c1.close();
    const exit = await n1.stop("SIGTERM", 10_000);
    assert.equal(exit.timedOut, false, `no exit within 10 s of SIGTERM\n${exit.stderr}`);
    assert.equal(exit.code, 0, exit.stderr);

    const n2 = await startNodeOn(dataDir, { t });
    const c2 = makeClient("curl-json-h1", n2, "tcp");
    t.after(() => c2.close());
    for (const id of Object.keys(docs)) assert.equal(await getDoc(c2, "persist", id), canon[id], `doc ${id} after restart`);
    assert.equal(await getDoc(c2, "persist", "deleted"), undefined, "a deleted doc came back after restart");
    assert.deepEqual((await ok(c2, "ListDocuments", { collection: "persist" })).docIds, Object.keys(docs).sort(bytewiseCompare));
    for (const cfg of cfgs) assert.deepEqual((await ok(c2, "GetCollectionConfig", { collection: cfg.collection })).config, cfg);
    const listed = ((await ok(c2, "ListCollectionConfigs", {})).configs ?? []).sort((a, b) => bytewiseCompare(a.collection, b.collection));
    assert.deepEqual(listed, [...cfgs].sort((a, b) => bytewiseCompare(a.collection, b.collection)));
    const nodes = (await ok(c2, "GetNodes", {})).nodes ?? [];
    assert.deepEqual(nodes, [{ id: "persist-node", name: "p", status: "NODE_STATUS_READY" }]);
    // The restored IMMUTABLE policy is enforced.
    await putDoc(c2, "frozen", "f", { a: 1 });
    await fails(c2, "DeleteDocument", { collection: "frozen", docId: "f" }, "failed_precondition");
  });
});
