// gRPC server reflection (grpc.reflection.v1 and v1alpha) against the real binary: clients that
// know nothing but the address. (a) `buf curl` without --schema lists the services and methods and
// calls the sidecar API over gRPC (both reflection versions), Connect and gRPC-Web, over TCP and
// the unix socket. (b) grpc-js-reflection-client (npm) lists the services and fetches file
// descriptors with v1 and v1alpha, and a grpc-js client built from those descriptors alone calls
// GetStatus. (c) One raw bidirectional stream (grpc-js + the reflection proto) gets an answer to
// each request in turn, error_response for the bad ones, and ends OK when the client ends it; a
// malformed message ends the call with INVALID_ARGUMENT while the client's side is still open, a
// client may cancel mid-stream, and afterwards no HTTP/2 connection is left open on the node (a
// stream that kept its call alive would keep its connection too).
//
// Run: PEAT_NODE_BIN=build/peat-node node --test tests/integration/reflection.test.mjs

import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { BUF_BIN, GrpcReflection, grpc, parseJsonSequence, protoLoader, run, SIDECAR } from "./lib/clients.mjs";
import { waitFor } from "./lib/mesh_cluster.mjs";
import { PROTO_DIR, startNode } from "./lib/node_process.mjs";
import { metricValue, scrapeMetrics } from "./lib/raw.mjs";

const SERVICES = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  SIDECAR,
];
const VERSIONS = ["v1", "v1alpha"];

/** `buf curl` with no schema: everything it knows comes from the node's reflection service. */
async function bufCurl(node, args, { unix = false } = {}) {
  const base = unix ? "http://localhost" : node.baseUrl;
  const full = ["curl", ...(unix ? ["--unix-socket", node.unixPath] : []), ...args.map((a) => a.replace("{base}", base))];
  const r = await run(BUF_BIN, full, { timeoutMs: 20_000 });
  assert.equal(r.timedOut, false, `buf curl hung: ${r.cmdline}`);
  return { code: r.code, stdout: r.stdout.toString("utf8"), stderr: r.stderr, cmdline: r.cmdline };
}

const GRPC = ["--protocol", "grpc", "--http2-prior-knowledge"];

describe("server reflection: buf curl without --schema", () => {
  let node;
  before(async () => {
    node = await startNode();
  });
  after(() => node?.kill());

  it("lists every service the node serves, reflection included", async () => {
    const r = await bufCurl(node, [...GRPC, "--list-services", "{base}"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), SERVICES);
  });

  it("lists the methods of every service", async () => {
    const r = await bufCurl(node, [...GRPC, "--list-methods", "{base}"]);
    assert.equal(r.code, 0, r.stderr);
    const methods = r.stdout.trim().split("\n");
    for (const m of [`${SIDECAR}/GetStatus`, `${SIDECAR}/Subscribe`, `${SIDECAR}/PutDocument`, "grpc.health.v1.Health/Check"]) {
      assert.ok(methods.includes(m), `${m} missing from ${r.stdout}`);
    }
  });

  for (const version of VERSIONS) {
    it(`calls GetStatus over gRPC with reflection ${version}`, async () => {
      const r = await bufCurl(node, [...GRPC, "--reflect-protocol", `grpc-${version}`, "--data", "{}", `{base}/${SIDECAR}/GetStatus`]);
      assert.equal(r.code, 0, `${r.cmdline}\n${r.stderr}`);
      const [status] = parseJsonSequence(r.stdout);
      assert.match(status.nodeId, /./);
      assert.match(status.phase, /^NODE_PHASE_/);
    });
  }

  it("puts and gets a document over gRPC (request and response shapes from reflection)", async () => {
    const put = await bufCurl(node, [...GRPC, "--data", JSON.stringify({ collection: "refl", docId: "d1", jsonData: JSON.stringify({ a: 1 }) }), `{base}/${SIDECAR}/PutDocument`]);
    assert.equal(put.code, 0, put.stderr);
    const get = await bufCurl(node, [...GRPC, "--data", JSON.stringify({ collection: "refl", docId: "d1" }), `{base}/${SIDECAR}/GetDocument`]);
    assert.equal(get.code, 0, get.stderr);
    const [doc] = parseJsonSequence(get.stdout);
    assert.deepEqual(JSON.parse(doc.jsonData), { a: 1 });
  });

  for (const [what, args, unix] of [
    ["gRPC over the unix socket", GRPC, true],
    ["Connect over HTTP/2", ["--protocol", "connect", "--http2-prior-knowledge"], false],
    ["binary gRPC-Web over HTTP/2", ["--protocol", "grpcweb", "--http2-prior-knowledge"], false],
  ]) {
    it(`calls GetStatus with reflection over ${what}`, async () => {
      const r = await bufCurl(node, [...args, "--data", "{}", `{base}/${SIDECAR}/GetStatus`], { unix });
      assert.equal(r.code, 0, `${r.cmdline}\n${r.stderr}`);
      assert.match(parseJsonSequence(r.stdout)[0].nodeId, /./);
    });
  }

  it("an unknown service is reported by buf, and the node goes on serving", async () => {
    const r = await bufCurl(node, [...GRPC, "--data", "{}", "{base}/no.such.v1.Service/Get"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no\.such\.v1\.Service/);
    const again = await bufCurl(node, [...GRPC, "--list-services", "{base}"]);
    assert.equal(again.code, 0, again.stderr);
  });
});

describe("server reflection: grpc-js-reflection-client (npm)", () => {
  let node;
  before(async () => {
    node = await startNode({ unix: false });
  });
  after(() => node?.kill());

  for (const version of VERSIONS) {
    it(`${version}: lists services, fetches descriptors, and a client built from them alone calls GetStatus`, async () => {
      const client = new GrpcReflection(node.tcpAddr, grpc.credentials.createInsecure(), {}, version);
      assert.deepEqual([...(await client.listServices())].sort(), SERVICES);

      const byName = await client.getDescriptorByFileName("grpc/health/v1/health.proto");
      assert.ok(byName.getProtobufJsRoot().lookupService("grpc.health.v1.Health"));

      const methods = (await client.listMethods(SIDECAR)).map((m) => m.name);
      assert.ok(methods.includes("GetStatus") && methods.includes("Subscribe"), methods.join(","));

      const descriptor = await client.getDescriptorBySymbol(SIDECAR);
      const pkg = descriptor.getPackageObject({ keepCase: true, longs: String, enums: String, defaults: true });
      const Sidecar = pkg.peat.sidecar.v1.PeatSidecar;
      const sidecar = new Sidecar(node.tcpAddr, grpc.credentials.createInsecure());
      try {
        const status = await new Promise((resolve, reject) =>
          sidecar.GetStatus({}, { deadline: Date.now() + 10_000 }, (err, resp) => (err ? reject(err) : resolve(resp))),
        );
        assert.match(status.node_id, /./);
        assert.match(status.phase, /^NODE_PHASE_/);
      } finally {
        sidecar.close();
      }

      await assert.rejects(client.getDescriptorBySymbol("no.such.v1.Thing"), /not found/);
    });
  }
});

/** The name (field 1) of a serialized FileDescriptorProto. */
function fileName(bytes) {
  const buf = Buffer.from(bytes);
  assert.equal(buf[0], 0x0a, "FileDescriptorProto starts with its name");
  let len = 0;
  let shift = 0;
  let i = 1;
  for (;;) {
    const b = buf[i++];
    len |= (b & 0x7f) << shift;
    if (!(b & 0x80)) break;
    shift += 7;
  }
  return buf.subarray(i, i + len).toString("utf8");
}

describe("server reflection: one raw bidirectional stream", () => {
  let node;
  before(async () => {
    node = await startNode({ unix: false });
  });
  after(() => node?.kill());

  for (const version of VERSIONS) {
    it(`${version}: answers each request in turn, error_response for bad ones, OK at the end`, async () => {
      const def = protoLoader.loadSync(path.join(PROTO_DIR, `grpc/reflection/${version}/reflection.proto`), { keepCase: true, defaults: false, oneofs: true });
      const Reflection = grpc.loadPackageDefinition(def).grpc.reflection[version].ServerReflection;
      const client = new Reflection(node.tcpAddr, grpc.credentials.createInsecure());
      const call = client.ServerReflectionInfo({ deadline: Date.now() + 15_000 });
      const answers = [];
      let waiter = null;
      call.on("data", (m) => {
        answers.push(m);
        waiter?.();
      });
      const ended = new Promise((resolve, reject) => {
        call.on("status", resolve);
        call.on("error", reject);
      });
      // Each request waits for its answer, as reflection clients do: the stream is full duplex.
      const ask = async (req) => {
        const n = answers.length;
        const got = new Promise((resolve) => {
          waiter = () => answers.length > n && resolve();
        });
        call.write(req);
        await got;
        return answers[n];
      };
      try {
        const list = await ask({ host: "here", list_services: "" });
        assert.deepEqual(list.list_services_response.service.map((s) => s.name), SERVICES);
        assert.equal(list.valid_host, "here");

        const mesh = await ask({ file_by_filename: "peat/mesh/v1/mesh.proto" }); // compiled in, private
        assert.equal(mesh.message_response, "error_response");
        assert.equal(mesh.error_response.error_code, 5);

        const empty = await ask({});
        assert.equal(empty.error_response.error_code, 3);

        const ext = await ask({ file_containing_extension: { containing_type: `${SIDECAR}`, extension_number: 1 } });
        assert.equal(ext.error_response.error_code, 5);
        const numbers = await ask({ all_extension_numbers_of_type: "peat.sidecar.v1.GetStatusRequest" });
        assert.equal(numbers.all_extension_numbers_response.base_type_name, "peat.sidecar.v1.GetStatusRequest");

        const file = await ask({ file_containing_symbol: `${SIDECAR}.GetStatus` });
        const names = file.file_descriptor_response.file_descriptor_proto.map(fileName);
        assert.equal(names[0], "peat/sidecar/v1/sidecar.proto");

        const own = await ask({ file_containing_symbol: `grpc.reflection.${version}.ServerReflection` });
        assert.deepEqual(own.file_descriptor_response.file_descriptor_proto.map(fileName), [`grpc/reflection/${version}/reflection.proto`]);
      } finally {
        call.end();
      }
      const status = await ended;
      assert.equal(status.code, grpc.status.OK);
      client.close();
    });
  }

  it("a malformed message ends the call at once; a client may cancel; nothing is left open", async () => {
    const PATH = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    const raw = new grpc.Client(node.tcpAddr, grpc.credentials.createInsecure());
    const bytes = (b) => b;
    try {
      // The client never ends its side: the server ends the call.
      const bad = raw.makeBidiStreamRequest(PATH, bytes, bytes, new grpc.Metadata(), { deadline: Date.now() + 10_000 });
      const badStatus = new Promise((resolve) => bad.on("error", resolve));
      bad.write(Buffer.from([0xff, 0xff, 0xff]));
      assert.equal((await badStatus).code, grpc.status.INVALID_ARGUMENT);

      // One answer, then the client cancels.
      const def = protoLoader.loadSync(path.join(PROTO_DIR, "grpc/reflection/v1/reflection.proto"), { keepCase: true });
      const Reflection = grpc.loadPackageDefinition(def).grpc.reflection.v1.ServerReflection;
      const client = new Reflection(node.tcpAddr, grpc.credentials.createInsecure());
      const call = client.ServerReflectionInfo({ deadline: Date.now() + 10_000 });
      const first = new Promise((resolve) => call.once("data", resolve));
      const cancelled = new Promise((resolve) => call.on("error", resolve));
      call.write({ list_services: "" });
      assert.equal((await first).list_services_response.service.length, SERVICES.length);
      call.cancel();
      assert.equal((await cancelled).code, grpc.status.CANCELLED);
      client.close();
    } finally {
      raw.close();
    }
    const target = { via: "tcp", addr: node.tcpAddr };
    await waitFor(async () => metricValue((await scrapeMetrics(target)).samples, "peat_rpc_open_connections", { protocol: "http2" }) === 0, {
      timeoutMs: 10_000,
      what: "every HTTP/2 connection closed once the reflection clients closed",
    });
    const samples = (await scrapeMetrics(target)).samples;
    assert.equal(metricValue(samples, "peat_rpc_open_streams"), 0);
  });
});
