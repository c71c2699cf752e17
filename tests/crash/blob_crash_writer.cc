// Crash test for the blob store (ATTACHMENTS.md §15.5): "kill -9 at any point leaves either no bit
// or a verified chunk", and an ingest is all or nothing.
//
// Parent mode (default; what CTest runs): each round starts this binary again in child mode, lets
// it write, SIGKILLs it at a random moment (sometimes while it is still opening the store), then
// reopens the store in-process and checks: every chunk the child acknowledged is recorded, every
// recorded chunk reads back as the expected bytes, tmp/ is empty, every acknowledged ingest is
// present and byte-identical. A finished partial is completed (whole-file SHA-256 checked) by the
// parent, and the next round fetches the next blob of the sequence.
// Child mode: resumes the partial of blob number ROUND's generation (BeginPartial), writes its
// missing chunks in random order printing "W <index>" after each WriteChunk returned OK, while a
// second thread ingests small files printing "I <seed>" after each Ingest returned OK.
//
// Usage: blob_crash_writer [--rounds N] [--seed S] [--dir DIR]
//        blob_crash_writer --child DIR GENERATION SEED   (internal)
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "blob/blob_hasher.h"
#include "blob/blob_store.h"
#include "crash_child.h"

namespace {

using peat::blob::BlobDigest;
using peat::blob::BlobHasher;
using peat::blob::BlobStore;
using peat::blob::BlobStoreOptions;

constexpr uint32_t kChunk = 16 * 1024;  // small chunks: many bits per round
constexpr size_t kBlobBytes = 200 * kChunk + 123;

std::string Content(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

BlobDigest Digest(const std::string& content) {
  BlobHasher h(kChunk);
  h.Update({reinterpret_cast<const uint8_t*>(content.data()), content.size()});
  return *h.Finish();
}

std::unique_ptr<BlobStore> OpenStore(const std::string& dir) {
  BlobStoreOptions o;
  o.root_dir = dir + "/blobs";
  o.encryption_key = peat::SecureBytes::FromString(std::string(32, 'c'));
  auto s = BlobStore::Open(std::move(o));
  if (!s.ok()) {
    std::fprintf(stderr, "open failed: %s\n", s.status().ToString().c_str());
    return nullptr;
  }
  return std::move(*s);
}

using peat::crash::WriteLine;

int RunChild(const std::string& dir, uint64_t generation, uint64_t seed) {
  auto store = OpenStore(dir);
  if (!store) return 2;
  const std::string content = Content(generation, kBlobBytes);
  const BlobDigest d = Digest(content);
  auto root = store->BeginPartial(d.manifest_bytes);
  if (!root.ok()) return 2;
  WriteLine("READY");
  std::thread ingester([&] {
    for (uint64_t i = 0;; ++i) {
      const uint64_t s = seed * 1000 + i;
      const std::string path = dir + "/src-" + std::to_string(s);
      std::ofstream(path, std::ios::binary) << Content(s, 3 * kChunk + s % 1000);
      if (store->Ingest(path).ok()) WriteLine("I " + std::to_string(s));
      std::filesystem::remove(path);
    }
  });
  auto missing = store->MissingChunks(*root);
  std::mt19937_64 rng(seed);
  std::shuffle(missing->begin(), missing->end(), rng);
  for (uint64_t i : *missing) {
    const std::string chunk = content.substr(i * kChunk, d.manifest.ChunkLength(i));
    if (store->WriteChunk(*root, i, chunk).ok()) WriteLine("W " + std::to_string(i));
  }
  ingester.join();  // never returns: the parent kills us
  return 0;
}

struct Acks {
  std::set<uint64_t> chunks;
  std::set<uint64_t> ingests;
};

Acks ParseAcks(const std::vector<std::string>& lines) {
  Acks acks;
  for (const std::string& line : lines) {
    if (line.rfind("W ", 0) == 0) acks.chunks.insert(std::stoull(line.substr(2)));
    if (line.rfind("I ", 0) == 0) acks.ingests.insert(std::stoull(line.substr(2)));
  }
  return acks;
}

// Checks the store after a kill; returns the number of violations. Completes a full partial.
int Verify(const std::string& dir, uint64_t generation, const Acks& acks, bool& completed) {
  auto store = OpenStore(dir);
  if (!store) return 1;
  int bad = 0;
  if (!std::filesystem::is_empty(dir + "/blobs/tmp")) {
    std::fprintf(stderr, "tmp/ not empty after reopen\n");
    ++bad;
  }
  const std::string content = Content(generation, kBlobBytes);
  const BlobDigest d = Digest(content);
  auto missing = store->MissingChunks(d.root);
  if (missing.ok()) {
    const std::set<uint64_t> absent(missing->begin(), missing->end());
    for (uint64_t i : acks.chunks) {
      if (absent.count(i) != 0) {
        std::fprintf(stderr, "acknowledged chunk %llu lost\n", static_cast<unsigned long long>(i));
        ++bad;
      }
    }
    for (uint64_t i = 0; i < d.manifest.chunk_count(); ++i) {
      if (absent.count(i) != 0) continue;
      auto got = store->ReadChunk(d.root, i, 0, kChunk);
      if (!got.ok() || *got != content.substr(i * kChunk, d.manifest.ChunkLength(i))) {
        std::fprintf(stderr, "recorded chunk %llu reads back wrong\n",
                     static_cast<unsigned long long>(i));
        ++bad;
      }
    }
    if (missing->empty()) {
      const peat::Status s = store->Complete(d.root, d.file_sha256);
      if (!s.ok() || !store->Has(d.root)) {
        std::fprintf(stderr, "complete failed: %s\n", s.ToString().c_str());
        ++bad;
      }
      completed = true;
    }
  }  // NOT_FOUND: a kill before BeginPartial committed; the next child starts it again.
  for (uint64_t s : acks.ingests) {
    const std::string c = Content(s, 3 * kChunk + s % 1000);
    BlobHasher h;
    h.Update({reinterpret_cast<const uint8_t*>(c.data()), c.size()});
    const auto root = h.Finish()->root;
    std::string back;
    for (uint64_t i = 0; i < peat::blob::ChunkCountFor(c.size(), peat::blob::kChunkBytes); ++i) {
      auto piece = store->ReadChunk(root, i, 0, peat::blob::kChunkBytes);
      if (piece.ok()) back += *piece;
    }
    if (!store->Has(root) || back != c) {
      std::fprintf(stderr, "acknowledged ingest %llu missing or different\n",
                   static_cast<unsigned long long>(s));
      ++bad;
    }
  }
  return bad;
}

int RunParent(int rounds, uint64_t seed, const std::string& dir_flag) {
  const peat::crash::ParentDir work =
      peat::crash::StartParent("blob_crash_writer", dir_flag, rounds, seed);
  if (work.path.empty()) return 2;
  const std::string& dir = work.path;
  std::mt19937_64 rng(seed);
  uint64_t generation = 1;
  size_t acked_chunks = 0;
  Acks all;
  int failures = 0, completed_blobs = 0;
  for (int round = 0; round < rounds && failures == 0; ++round) {
    const auto lines =
        peat::crash::KillRound({"blob_crash_writer", "--child", dir, std::to_string(generation),
                                std::to_string(round + 1)},
                               round, rng, 5, 150);
    if (!lines) {
      ++failures;
      break;
    }
    const Acks acks = ParseAcks(*lines);
    all.chunks.insert(acks.chunks.begin(), acks.chunks.end());
    acked_chunks += acks.chunks.size();
    all.ingests.insert(acks.ingests.begin(), acks.ingests.end());
    bool completed = false;
    failures += Verify(dir, generation, all, completed);
    std::printf("          generation %llu, %zu chunks acked, %zu ingests so far%s\n",
                static_cast<unsigned long long>(generation), acks.chunks.size(), all.ingests.size(),
                completed ? ", completed" : "");
    if (completed) {
      all.chunks.clear();  // chunk acks belong to one generation's blob
      ++generation;
      ++completed_blobs;
    }
  }
  if (acked_chunks == 0 || all.ingests.empty()) {
    std::fprintf(stderr, "no chunk or no ingest was ever acknowledged: the test proved nothing\n");
    ++failures;
  }
  if (work.owned && failures == 0) std::filesystem::remove_all(dir);
  std::printf("blob_crash_writer: %s (%d blobs completed across kills)\n",
              failures == 0 ? "ok" : "FAILED", completed_blobs);
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "--child") {
    return RunChild(argv[2], std::stoull(argv[3]), std::stoull(argv[4]));
  }
  int rounds = 16;
  uint64_t seed = std::random_device{}();
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--rounds")
      rounds = std::stoi(argv[i + 1]);
    else if (flag == "--seed")
      seed = std::stoull(argv[i + 1]);
    else if (flag == "--dir")
      dir = argv[i + 1];
  }
  return RunParent(rounds, seed, dir);
}
