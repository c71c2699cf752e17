// B2 engine micro-benchmarks (docs/BENCHMARKS.md): the CRDT document engine on ~300-byte JSON
// documents — create from JSON, single-field update through Put-diff, merge of two replicas that
// each changed one field, render, encode/decode, and the encoded size relative to the JSON.
// bench/engine.sh runs this next to automerge_bench.mjs (the anchor) on the same documents:
//
//   bench_engine --dump_docs=FILE   writes the documents (one JSON object per line) and exits
//   bench_engine [benchmark flags]  runs the benchmarks
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bench_docs.h"
#include "crdt/document.h"

namespace peat::crdt {
namespace {

using bench::MakeDoc;

constexpr size_t kDocs = 100;
constexpr size_t kVariants = 64;                  // update variants per document
constexpr uint64_t kEpochMs = 1'795'000'000'000;  // a 2026 wall clock

struct Corpus {
  std::vector<std::string> docs;                   // the documents as created
  std::vector<std::vector<std::string>> variants;  // per doc: "seq" changed, everything else equal
  std::vector<std::string> status_changed;         // per doc: "status" changed
};

const Corpus& TheCorpus() {
  static const Corpus corpus = [] {
    Corpus c;
    for (size_t i = 0; i < kDocs; ++i) {
      auto fresh = [&](uint64_t seq) {
        std::mt19937_64 rng(42 + i);  // same field values for every seq
        return MakeDoc(rng, i, seq);
      };
      c.docs.push_back(fresh(1));
      c.variants.emplace_back();
      for (size_t v = 0; v < kVariants; ++v) c.variants.back().push_back(fresh(2 + v));
      std::string s = c.docs.back();
      const size_t at = s.find(R"("status":")") + 10;
      s.insert(at, "changed-");
      c.status_changed.push_back(s);
    }
    return c;
  }();
  return corpus;
}

class Clock {
 public:
  explicit Clock(uint64_t tag) : tag_(tag) {}
  Timestamp Next() { return Timestamp{(kEpochMs << 16) + ++n_, tag_}; }

 private:
  uint64_t tag_;
  uint64_t n_ = 0;
};

std::vector<Document> CreatedDocs(Clock& clock) {
  std::vector<Document> out(kDocs);
  for (size_t i = 0; i < kDocs; ++i) {
    if (!out[i].Put(TheCorpus().docs[i], clock.Next()).ok()) std::abort();
  }
  return out;
}

void BM_Create(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  Clock clock(1);
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    Document doc;
    auto r = doc.Put(c.docs[i], clock.Next());
    benchmark::DoNotOptimize(r);
    bytes += c.docs[i].size();
    i = (i + 1) % kDocs;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Create)->UseRealTime();

void BM_UpdateOneField(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  Clock clock(1);
  std::vector<Document> docs = CreatedDocs(clock);
  size_t k = 0;
  for (auto _ : state) {
    const size_t i = k % kDocs;
    const size_t v = (k / kDocs) % kVariants;
    auto r = docs[i].Put(c.variants[i][v], clock.Next());
    if (!r.ok() || !r->changed) state.SkipWithError("update did not change the document");
    ++k;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_UpdateOneField)->UseRealTime();

// Two replicas of the same document; one changes "seq", the other "status"; merge one into a
// fresh copy of the other (copies made outside the timed region, as in the Automerge anchor).
void BM_MergeTwoReplicas(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  Clock clock_a(1), clock_b(2);
  std::vector<Document> base = CreatedDocs(clock_a);
  std::vector<Document> a = base, b = base;
  for (size_t i = 0; i < kDocs; ++i) {
    if (!a[i].Put(c.variants[i][0], clock_a.Next()).ok()) std::abort();
    if (!b[i].Put(c.status_changed[i], clock_b.Next()).ok()) std::abort();
  }
  std::vector<Document> targets;
  size_t merged = 0;
  while (state.KeepRunningBatch(kDocs)) {
    state.PauseTiming();
    targets = a;
    state.ResumeTiming();
    for (size_t i = 0; i < kDocs; ++i) {
      ChangeResult r = targets[i].Merge(b[i]);
      benchmark::DoNotOptimize(r);
    }
    merged += kDocs;
  }
  state.SetItemsProcessed(static_cast<int64_t>(merged));
}
BENCHMARK(BM_MergeTwoReplicas)->UseRealTime();

void BM_Render(benchmark::State& state) {
  Clock clock(1);
  std::vector<Document> docs = CreatedDocs(clock);
  size_t i = 0;
  for (auto _ : state) {
    std::string json = docs[i].Render();
    benchmark::DoNotOptimize(json);
    i = (i + 1) % kDocs;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Render)->UseRealTime();

void BM_Encode(benchmark::State& state) {
  Clock clock(1);
  std::vector<Document> docs = CreatedDocs(clock);
  size_t i = 0;
  for (auto _ : state) {
    std::string bytes = docs[i].Encode();
    benchmark::DoNotOptimize(bytes);
    i = (i + 1) % kDocs;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Encode)->UseRealTime();

void BM_Decode(benchmark::State& state) {
  Clock clock(1);
  std::vector<std::string> encoded;
  for (const Document& d : CreatedDocs(clock)) encoded.push_back(d.Encode());
  size_t i = 0;
  for (auto _ : state) {
    auto doc = Document::Decode(encoded[i]);
    benchmark::DoNotOptimize(doc);
    i = (i + 1) % kDocs;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Decode)->UseRealTime();

// Encoded size / canonical JSON size over the corpus: fresh documents, and after ten single-field
// updates by two writers (counters; the timing is irrelevant).
void BM_EncodedSize(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  Clock clock_a(1), clock_b(2);
  std::vector<Document> docs = CreatedDocs(clock_a);
  double json = 0, fresh = 0, updated = 0, updated_json = 0;
  for (size_t i = 0; i < kDocs; ++i) {
    json += static_cast<double>(docs[i].Render().size());
    fresh += static_cast<double>(docs[i].Encode().size());
    for (size_t v = 0; v < 10; ++v) {
      Clock& clock = v % 2 ? clock_b : clock_a;
      if (!docs[i].Put(c.variants[i][v], clock.Next()).ok()) std::abort();
    }
    updated_json += static_cast<double>(docs[i].Render().size());
    updated += static_cast<double>(docs[i].Encode().size());
  }
  for (auto _ : state) benchmark::DoNotOptimize(fresh);
  state.counters["json_bytes_avg"] = json / kDocs;
  state.counters["encoded_bytes_avg"] = fresh / kDocs;
  state.counters["ratio_fresh"] = fresh / json;
  state.counters["ratio_after_10_updates"] = updated / updated_json;
}
BENCHMARK(BM_EncodedSize)->Iterations(1);

bool DumpDocs(const char* path) {
  std::FILE* f = std::fopen(path, "w");
  if (f == nullptr) return false;
  const Corpus& c = TheCorpus();
  for (size_t i = 0; i < kDocs; ++i) std::fprintf(f, "%s\n", c.docs[i].c_str());
  return std::fclose(f) == 0;
}

}  // namespace
}  // namespace peat::crdt

int main(int argc, char** argv) {
  constexpr std::string_view kDump = "--dump_docs=";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with(kDump)) {
      const std::string path(arg.substr(kDump.size()));
      if (!peat::crdt::DumpDocs(path.c_str())) {
        std::fprintf(stderr, "cannot write %s\n", path.c_str());
        return 1;
      }
      return 0;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
