// B2 anchor: @automerge/automerge on the same ~300-byte documents as bench_engine
// (bench/engine.sh passes the file written by `bench_engine --dump_docs=FILE`).
//
//   node bench/engine/automerge_bench.mjs DOCS_FILE [seconds per operation, default 1]
//
// Prints one JSON object: ops/s per operation and encoded sizes. Operations mirror
// engine_bench.cc: create (JSON.parse + Automerge.from), update one field ("seq") with
// Automerge.change, merge two replicas that each changed one field ("seq" / "status") into a
// fresh clone (clones made outside the timed region), render (JSON.stringify of the document),
// save (encode) and load (decode).
import { readFileSync } from "node:fs";
import * as Automerge from "@automerge/automerge";

const [docsFile, secondsArg] = process.argv.slice(2);
if (!docsFile) {
  console.error("usage: automerge_bench.mjs DOCS_FILE [seconds]");
  process.exit(2);
}
const seconds = Number(secondsArg ?? 1);
const docs = readFileSync(docsFile, "utf8").split("\n").filter((l) => l.length > 0);

// Runs `batch()` (which performs `per` operations) until `seconds` have passed; ops/s.
function measure(per, batch, setup = () => {}) {
  // Warm-up (JIT, wasm tiering).
  for (let i = 0; i < 3; ++i) {
    setup();
    batch();
  }
  let ops = 0;
  let elapsedNs = 0n;
  while (elapsedNs < BigInt(Math.round(seconds * 1e9))) {
    setup();
    const t0 = process.hrtime.bigint();
    batch();
    elapsedNs += process.hrtime.bigint() - t0;
    ops += per;
  }
  return ops / (Number(elapsedNs) / 1e9);
}

const n = docs.length;
const created = () => docs.map((j) => Automerge.from(JSON.parse(j)));

const result = { docs: n };

result.create = measure(n, () => {
  for (const j of docs) Automerge.from(JSON.parse(j));
});

{
  let current = created();
  let seq = 2;
  result.update = measure(n, () => {
    for (let i = 0; i < n; ++i) {
      const v = seq;
      current[i] = Automerge.change(current[i], (d) => {
        d.seq = v;
      });
    }
    ++seq;
  });
}

{
  const base = created();
  const a = base.map((d) => Automerge.change(Automerge.clone(d), (x) => { x.seq = 2; }));
  const b = base.map((d) => Automerge.change(Automerge.clone(d), (x) => { x.status = "changed-" + x.status; }));
  let targets = [];
  result.merge = measure(
    n,
    () => {
      for (let i = 0; i < n; ++i) Automerge.merge(targets[i], b[i]);
    },
    () => {
      targets = a.map((d) => Automerge.clone(d));
    },
  );
}

{
  const current = created();
  result.render = measure(n, () => {
    for (const d of current) JSON.stringify(d);
  });
  result.encode = measure(n, () => {
    for (const d of current) Automerge.save(d);
  });
  const saved = current.map((d) => Automerge.save(d));
  result.decode = measure(n, () => {
    for (const s of saved) Automerge.load(s);
  });
}

{
  let json = 0;
  let fresh = 0;
  let updated = 0;
  let updatedJson = 0;
  for (const text of docs) {
    let d = Automerge.from(JSON.parse(text));
    json += JSON.stringify(d).length;
    fresh += Automerge.save(d).length;
    for (let v = 0; v < 10; ++v) {
      d = Automerge.change(d, (x) => {
        x.seq = 2 + v;
      });
    }
    updatedJson += JSON.stringify(d).length;
    updated += Automerge.save(d).length;
  }
  result.json_bytes_avg = json / n;
  result.encoded_bytes_avg = fresh / n;
  result.ratio_fresh = fresh / json;
  result.ratio_after_10_updates = updated / updatedJson;
}

console.log(JSON.stringify(result));
