// Crash test for the document store: "kill -9 at any moment; restart recovers every
// acknowledged write" (BEHAVIOR.md).
//
// Parent mode (default; what CTest runs): for each round, start this binary again in child mode,
// let it write, SIGKILL it at a random moment (sometimes while it is still opening the store),
// then reopen the store in-process and check that every write the child acknowledged is there
// (and every acknowledged delete is still deleted), that seq and HLC never went backwards.
// Child mode: writes continuously from several threads and prints each acknowledged write on
// stdout ("P <key>" after a Put's done(OK), "D <key>" after a Delete's done(OK)).
//
// Usage: crash_writer [--rounds N] [--seed S] [--dir DIR]
//        crash_writer --child DIR ROUND   (internal)
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crash_child.h"
#include "store/sqlite_document_store.h"

namespace {

using peat::Status;
using peat::store::SqliteDocumentStore;
using peat::store::StoreOptions;

constexpr int kChildThreads = 4;

StoreOptions Options(const std::string& dir) {
  StoreOptions o;
  o.data_dir = dir;
  o.node_tag = 0xC0FFEE;
  o.gc_interval = std::chrono::milliseconds(0);
  return o;
}

std::string Body(const std::string& key) {
  return "{\"key\":\"" + key + "\",\"pad\":\"" + std::string(64 + key.size() % 200, 'x') + "\"}";
}

// Deletes are issued (after the Put was acknowledged) for keys ending in 0.
bool MayBeDeleted(const std::string& key) { return key.back() == '0'; }

using peat::crash::WriteLine;

Status Sync(const std::function<void(SqliteDocumentStore::Done)>& op) {
  std::promise<Status> p;
  auto f = p.get_future();
  op([&p](Status s) { p.set_value(std::move(s)); });
  return f.get();
}

int RunChild(const std::string& dir, const std::string& round) {
  auto store = SqliteDocumentStore::Open(Options(dir));
  if (!store.ok()) {
    std::fprintf(stderr, "child: open failed: %s\n", store.status().ToString().c_str());
    return 2;
  }
  SqliteDocumentStore& s = **store;
  WriteLine("READY");
  std::vector<std::thread> threads;
  for (int t = 0; t < kChildThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0;; ++i) {
        const std::string key = "r" + round + "-t" + std::to_string(t) + "-" + std::to_string(i);
        if (!Sync([&](auto done) { s.Put("crash", key, Body(key), std::move(done)); }).ok()) {
          continue;
        }
        WriteLine("P " + key);
        if (MayBeDeleted(key) &&
            Sync([&](auto done) { s.Delete("crash", key, std::move(done)); }).ok()) {
          WriteLine("D " + key);
        }
      }
    });
  }
  for (auto& th : threads) th.join();  // never: the parent kills us
  return 0;
}

struct Acks {
  std::set<std::string> put;
  std::set<std::string> deleted;
};

// The acknowledgements among the child's lines.
Acks ParseAcks(const std::vector<std::string>& lines) {
  Acks acks;
  for (const std::string& line : lines) {
    if (line.rfind("P ", 0) == 0) acks.put.insert(line.substr(2));
    if (line.rfind("D ", 0) == 0) acks.deleted.insert(line.substr(2));
  }
  return acks;
}

int RunParent(int rounds, uint64_t seed, const std::string& dir_flag) {
  const peat::crash::ParentDir work =
      peat::crash::StartParent("crash_writer", dir_flag, rounds, seed);
  if (work.path.empty()) return 2;
  const std::string& dir = work.path;
  std::mt19937_64 rng(seed);
  Acks all;
  uint64_t last_seq = 0, last_hlc = 0;
  int failures = 0;
  for (int round = 0; round < rounds && failures == 0; ++round) {
    const auto lines = peat::crash::KillRound(
        {"crash_writer", "--child", dir, std::to_string(round)}, round, rng, 20, 300);
    if (!lines) {
      ++failures;
      break;
    }
    const Acks acks = ParseAcks(*lines);
    all.put.insert(acks.put.begin(), acks.put.end());
    all.deleted.insert(acks.deleted.begin(), acks.deleted.end());

    auto store = SqliteDocumentStore::Open(Options(dir));
    if (!store.ok()) {
      std::fprintf(stderr, "round %d: reopen failed: %s\n", round,
                   store.status().ToString().c_str());
      ++failures;
      break;
    }
    SqliteDocumentStore& s = **store;
    int missing = 0, resurrected = 0, wrong = 0;
    for (const std::string& key : all.put) {
      auto got = s.Get("crash", key);
      if (!got.ok()) {
        std::fprintf(stderr, "round %d: Get(%s): %s\n", round, key.c_str(),
                     got.status().ToString().c_str());
        ++wrong;
        continue;
      }
      if (all.deleted.count(key) != 0) {
        if (got->has_value()) ++resurrected;
      } else if (!got->has_value()) {
        if (!MayBeDeleted(key)) {
          if (missing++ < 5) std::fprintf(stderr, "round %d: lost %s\n", round, key.c_str());
        }
      } else if (**got != Body(key)) {
        ++wrong;
      }
    }
    if (s.LastSeq() < last_seq || s.LastHlc() < last_hlc) {
      std::fprintf(
          stderr, "round %d: seq/HLC went backwards (%llu < %llu or %llu < %llu)\n", round,
          static_cast<unsigned long long>(s.LastSeq()), static_cast<unsigned long long>(last_seq),
          static_cast<unsigned long long>(s.LastHlc()), static_cast<unsigned long long>(last_hlc));
      ++failures;
    }
    last_seq = s.LastSeq();
    last_hlc = s.LastHlc();
    std::printf("          acked %zu puts %zu deletes this round; verified %zu keys, seq %llu\n",
                acks.put.size(), acks.deleted.size(), all.put.size(),
                static_cast<unsigned long long>(last_seq));
    if (missing + resurrected + wrong > 0) {
      std::fprintf(stderr, "round %d: %d lost, %d resurrected, %d wrong\n", round, missing,
                   resurrected, wrong);
      ++failures;
    }
  }
  if (all.put.empty()) {
    std::fprintf(stderr, "no write was ever acknowledged: the test proved nothing\n");
    ++failures;
  }
  if (work.owned && failures == 0) std::filesystem::remove_all(dir);
  std::printf(failures == 0 ? "PASS\n" : "FAIL\n");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--child") == 0) return RunChild(argv[2], argv[3]);
  int rounds = 24;
  uint64_t seed = std::random_device{}();
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--seed") == 0) seed = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
  }
  return RunParent(rounds, seed, dir);
}
