// Store-level micro-benchmarks of the encryption path (B2's store side; bench_engine measures the
// pure CRDT engine): the B2 documents (bench_docs.h) through SqliteDocumentStore with and without
// --encryption-key (argument 1 / 0), so the difference is what encryption costs per operation:
//   BM_StorePutNew        Put of a new document (encrypt every name and value), committed
//   BM_StoreUpdateOneField Put-diff changing "seq" (decrypt the stored state, diff, encrypt)
//   BM_StoreGetUncached   Get with the cache off (read the row, decode, decrypt, render)
//   BM_StoreMergeNew      MergeRemote of a peer's state of a new document (merge, render)
// Each operation waits for its commit (one op per group: the latency path, not the throughput
// one). Temporary data dirs under $TMPDIR, removed at exit.
//
//   bench_store [benchmark flags]
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_docs.h"
#include "crypto/random.h"
#include "store/sqlite_document_store.h"
#include "temp_dir.h"

namespace peat::store {
namespace {

constexpr size_t kDocs = 100;
const char* const kCollection = "bench";

std::string Doc(size_t i, uint64_t seq) {
  std::mt19937_64 rng(42 + i);  // same field values for every seq
  return bench::MakeDoc(rng, i, seq);
}

using TempDir = peat::testing::TempDir;

const SecureBytes& Key() {
  static const SecureBytes key = [] {
    SecureBytes k(32);
    if (!RandomBytes(k.span()).ok()) std::abort();
    return k;
  }();
  return key;
}

std::unique_ptr<SqliteDocumentStore> OpenStore(const TempDir& dir, bool encrypted,
                                               uint64_t node_tag, size_t cache_entries) {
  StoreOptions o;
  o.data_dir = dir.path();
  o.node_tag = node_tag;
  o.gc_interval = std::chrono::milliseconds(0);
  o.cache_max_entries = cache_entries;
  if (encrypted) o.encryption_key = Key().Copy();
  auto s = SqliteDocumentStore::Open(o);
  if (!s.ok()) std::abort();
  return std::move(s).value();
}

Status Wait(const std::function<void(WriteDone)>& op) {
  std::promise<Status> p;
  auto f = p.get_future();
  op([&p](Status s) { p.set_value(std::move(s)); });
  return f.get();
}

void PutOrDie(DocumentStore& s, const std::string& id, const std::string& json) {
  if (!Wait([&](WriteDone d) { s.Put(kCollection, id, json, std::move(d)); }).ok()) {
    std::abort();
  }
}

void BM_StorePutNew(benchmark::State& state) {
  TempDir dir;
  auto s = OpenStore(dir, state.range(0) != 0, 1, 10'000);
  size_t n = 0;
  for (auto _ : state) {
    PutOrDie(*s, "d" + std::to_string(n), Doc(n % kDocs, 1));
    ++n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
}
BENCHMARK(BM_StorePutNew)->Arg(0)->Arg(1)->UseRealTime();

void BM_StoreUpdateOneField(benchmark::State& state) {
  TempDir dir;
  auto s = OpenStore(dir, state.range(0) != 0, 1, 10'000);
  for (size_t i = 0; i < kDocs; ++i) PutOrDie(*s, "d" + std::to_string(i), Doc(i, 1));
  size_t n = 0;
  for (auto _ : state) {
    const size_t i = n % kDocs;
    PutOrDie(*s, "d" + std::to_string(i), Doc(i, 2 + n / kDocs));
    ++n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
}
BENCHMARK(BM_StoreUpdateOneField)->Arg(0)->Arg(1)->UseRealTime();

void BM_StoreGetUncached(benchmark::State& state) {
  TempDir dir;
  auto s = OpenStore(dir, state.range(0) != 0, 1, /*cache_entries=*/0);
  for (size_t i = 0; i < kDocs; ++i) PutOrDie(*s, "d" + std::to_string(i), Doc(i, 1));
  size_t n = 0;
  for (auto _ : state) {
    auto got = s->Get(kCollection, "d" + std::to_string(n % kDocs));
    if (!got.ok() || !got->has_value()) std::abort();
    benchmark::DoNotOptimize(got);
    ++n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
}
BENCHMARK(BM_StoreGetUncached)->Arg(0)->Arg(1)->UseRealTime();

void BM_StoreMergeNew(benchmark::State& state) {
  const bool encrypted = state.range(0) != 0;
  // The peer's states: kDocs documents written on another store (same key).
  TempDir src_dir;
  auto src = OpenStore(src_dir, encrypted, 2, 10'000);
  for (size_t i = 0; i < kDocs; ++i) PutOrDie(*src, "d" + std::to_string(i), Doc(i, 1));
  auto feed = src->ReadFeed(FeedQuery{0, UINT64_MAX, kDocs, 1 << 30, "", {}, false});
  if (!feed.ok() || feed->entries.size() != kDocs) std::abort();
  TempDir dir;
  auto s = OpenStore(dir, encrypted, 1, 10'000);
  size_t n = 0;
  for (auto _ : state) {
    const FeedEntry& e = feed->entries[n % kDocs];
    // A new document id each time, so every merge stores and renders a new state.
    std::vector<RemoteChange> changes{
        RemoteChange{kCollection, e.doc_id + "-" + std::to_string(n), e.state}};
    if (!Wait([&](WriteDone d) {
           s->MergeRemote("peer", std::move(changes), ReplicationCheckpoint{"ep", n}, std::move(d));
         }).ok()) {
      std::abort();
    }
    ++n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
}
BENCHMARK(BM_StoreMergeNew)->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
}  // namespace peat::store

BENCHMARK_MAIN();
