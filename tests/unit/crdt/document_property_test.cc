// Property tests: random put/delete/merge histories on 3–5 replicas converge, also with patches
// (MergePut) among the writes, and merge is a join (idempotent, commutative, associative) —
// DESIGN.md "CRDT"; a document is never a fragment (BEHAVIOR.md, issue #13 item 5), checked
// against a model that tracks which writes each delete had seen. Fixed seeds; each failure names
// the seed of its history so it can be replayed alone (PEAT_CRDT_SEED=<seed>).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "crdt/document.h"
#include "crdt/path.h"

namespace peat::crdt {
namespace {

// A random JSON value over a tiny key alphabet, so paths written by different replicas collide.
struct Json {
  enum Type { kScalar, kArray, kObject } type = kScalar;
  std::string scalar;                  // canonical text of a scalar or a whole array
  std::map<std::string, Json> fields;  // kObject, sorted bytewise like the canonical form
};

class Generator {
 public:
  explicit Generator(std::mt19937_64* rng) : rng_(*rng) {}

  Json Object(int depth) {
    Json j;
    j.type = Json::kObject;
    const int n = static_cast<int>(Pick(depth == 0 ? 5 : 3));
    for (int i = 0; i < n; ++i) j.fields[Key()] = Value(depth + 1);
    return j;
  }

  // Canonical text (what Render must return).
  static std::string Canonical(const Json& j) {
    if (j.type != Json::kObject) return j.scalar;
    std::string s = "{";
    for (const auto& [k, v] : j.fields) {
      if (s.size() > 1) s += ',';
      s += Quote(k) + ":" + Canonical(v);
    }
    return s + "}";
  }

  // The same value with shuffled keys and whitespace.
  std::string Scrambled(const Json& j) {
    if (j.type != Json::kObject) return j.scalar;
    std::vector<const std::pair<const std::string, Json>*> fields;
    for (const auto& f : j.fields) fields.push_back(&f);
    std::shuffle(fields.begin(), fields.end(), rng_);
    std::string s = Pick(2) ? "{ " : "{";
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) s += Pick(2) ? ", " : ",";
      s += Quote(fields[i]->first) + (Pick(2) ? " : " : ":") + Scrambled(fields[i]->second);
    }
    return s + (Pick(2) ? " }" : "}");
  }

  uint64_t Pick(uint64_t n) { return rng_() % n; }

 private:
  std::string Key() {
    static const char* kKeys[] = {"a", "b", "c", "value", "", "é"};
    return kKeys[Pick(6)];
  }

  static std::string Quote(const std::string& s) { return "\"" + s + "\""; }

  Json Value(int depth) {
    static const char* kScalars[] = {
        "null",  "true", "false", "0",           "1",        "-7",    "18446744073709551615",
        "1.0",   "-0.0", "0.5",   "1e+300",      "\"x\"",    "\"y\"", "\"\\u0000\\n\"",
        "\"é\"", "[]",   "[1,2]", "[{\"a\":1}]", "[[null]]", "\"1\"", "-9223372036854775808"};
    const uint64_t r = Pick(10);
    if (depth < 3 && r < 3) return Object(depth);
    Json j;
    j.scalar = kScalars[Pick(sizeof(kScalars) / sizeof(kScalars[0]))];
    j.type = j.scalar[0] == '[' ? Json::kArray : Json::kScalar;
    return j;
  }

  std::mt19937_64& rng_;
};

// The top-level key (encoded segment) of a non-root path.
std::string_view TopKey(std::string_view path) { return path.substr(0, path.find('\0') + 1); }

Document MergedCopy(const Document& a, const Document& b) {
  Document m = a;
  m.Merge(b);
  return m;
}

void ExpectCodecRoundTrip(const Document& d) {
  const std::string bytes = d.Encode();
  auto back = Document::Decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(*back, d);
}

// Every replica, merging all of them in its own random order, ends equal to `total` (same
// rendering, same bytes), and `total` round-trips through the codec.
void ExpectEveryMergeOrderGives(const std::vector<Document>& replicas, const Document& total,
                                std::mt19937_64& rng) {
  for (size_t i = 0; i < replicas.size(); ++i) {
    Document doc = replicas[i];
    std::vector<size_t> order;
    for (size_t j = 0; j < replicas.size(); ++j) order.push_back(j);
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t j : order) doc.Merge(replicas[j]);
    ASSERT_EQ(doc, total);
    ASSERT_EQ(doc.Render(), total.Render());
    ASSERT_EQ(doc.Encode(), total.Encode());
  }
  ExpectCodecRoundTrip(total);
}

// A MergePut at `ts` of a random patch, checked against its contract: registers of the keys not
// in the patch are untouched, and the document renders as the union of those registers and a
// fresh Put of the patch (their top-level keys are disjoint, so the union renders both).
void CheckedMergePut(Generator& gen, Document& doc, Timestamp ts) {
  const Json patch = gen.Object(0);
  const std::string canonical = Generator::Canonical(patch);
  const std::string before = doc.Render();
  const bool was_live = doc.IsLive();
  const Document old = doc;
  auto r = doc.MergePut(gen.Pick(2) ? gen.Scrambled(patch) : canonical, ts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  std::set<std::string, std::less<>> keys;
  for (const auto& [k, v] : patch.fields) {
    std::string seg;
    AppendPathSegment(&seg, k);
    keys.insert(seg);
  }
  auto others = [&](const Document& d) {
    std::map<std::string, Register> out;
    for (const auto& [path, reg] : d.registers()) {
      if (!path.empty() && !keys.contains(TopKey(path))) out.emplace(path, reg);
    }
    return out;
  };
  if (!was_live) {  // a deleted (or absent) document is created as a Put of the patch
    Document want = old;
    ASSERT_TRUE(want.Put(canonical, ts).ok());
    ASSERT_EQ(doc, want);
    ASSERT_TRUE(r->changed);
    return;
  }
  ASSERT_EQ(others(doc), others(old));

  Document want;
  ASSERT_TRUE(want.Put(canonical, ts).ok());
  for (auto& [path, reg] : others(old)) want.MergeRegister(path, reg);
  ASSERT_EQ(doc.Render(), want.Render()) << "before " << before << " patch " << canonical;
  ASSERT_EQ(r->changed, !was_live || before != want.Render());
  if (!r->changed) {
    ASSERT_EQ(doc, old);
  }
}

// One random history; returns the replicas' states. `merge_puts`: some writes are patches.
std::vector<Document> RandomHistory(uint64_t seed, bool merge_puts = false) {
  std::mt19937_64 rng(seed);
  Generator gen(&rng);
  const size_t n = 3 + gen.Pick(3);
  std::vector<Document> replicas(n);
  std::vector<uint64_t> tags(n);
  for (size_t i = 0; i < n; ++i) tags[i] = 1 + gen.Pick(1000) * 7919 + i;  // distinct
  const int steps = 10 + static_cast<int>(gen.Pick(25));
  for (int step = 0; step < steps; ++step) {
    const size_t i = gen.Pick(n);
    Document& doc = replicas[i];
    // Random clocks (often colliding, sometimes behind the state) stress tie-breaks and the
    // "local writes are newer" rule.
    const Timestamp ts{(1 + gen.Pick(40)) << 16 | gen.Pick(3), tags[i]};
    const uint64_t op = gen.Pick(100);
    if (merge_puts && op >= 80) {
      CheckedMergePut(gen, doc, ts);
    } else if (op < 45) {
      const Json j = gen.Object(0);
      const std::string canonical = Generator::Canonical(j);
      const std::string before = doc.Render();
      auto r = doc.Put(gen.Pick(2) ? gen.Scrambled(j) : canonical, ts);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(doc.Render(), canonical);  // a Put replaces the document
      EXPECT_EQ(r->changed, before != canonical);
    } else if (op < 55) {
      if (!doc.IsLive()) continue;
      const std::string before = doc.Encode();
      auto r = doc.Put(doc.Render(), ts);  // re-put of what renders: nothing to replicate
      EXPECT_TRUE(r.ok() && !r->changed);
      EXPECT_EQ(doc.Encode(), before);
    } else if (op < 65) {
      const bool was_live = doc.IsLive();
      EXPECT_EQ(doc.Delete(ts).changed, was_live);
      EXPECT_FALSE(doc.IsLive());
    } else {
      const size_t j = gen.Pick(n);  // may be i itself
      const Document before = doc;
      const bool changed = doc.Merge(replicas[j]).changed;
      EXPECT_EQ(changed, !(doc == before));
      EXPECT_FALSE(doc.Merge(replicas[j]).changed);  // re-merge: nothing new
    }
    if (gen.Pick(4) == 0) ExpectCodecRoundTrip(doc);
  }
  return replicas;
}

class DocumentPropertyTest : public ::testing::Test {
 protected:
  // PEAT_CRDT_SEED=<seed> replays one history; PEAT_CRDT_HISTORIES=<n> runs more.
  static std::vector<uint64_t> Seeds(uint64_t base, int count) {
    if (const char* one = std::getenv("PEAT_CRDT_SEED")) return {std::strtoull(one, nullptr, 10)};
    if (const char* n = std::getenv("PEAT_CRDT_HISTORIES")) count = std::atoi(n);
    std::vector<uint64_t> seeds;
    for (int i = 0; i < count; ++i) seeds.push_back(base + static_cast<uint64_t>(i));
    return seeds;
  }
};

TEST_F(DocumentPropertyTest, AllReplicasConvergeWhateverTheMergeOrder) {
  for (uint64_t seed : Seeds(1'000'000, 2000)) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<Document> replicas = RandomHistory(seed);
    std::mt19937_64 rng(seed ^ 0x5eed);
    const size_t n = replicas.size();

    // Reference: merge everything in one random grouping (a random binary tree of merges).
    std::vector<Document> pool = replicas;
    while (pool.size() > 1) {
      const size_t a = rng() % pool.size();
      size_t b = rng() % (pool.size() - 1);
      if (b >= a) ++b;
      pool[a].Merge(pool[b]);
      pool.erase(pool.begin() + static_cast<ptrdiff_t>(b));
    }
    const Document& total = pool[0];
    const std::string rendered = total.Render();
    const std::string encoded = total.Encode();

    // Every replica, merging the others in its own random order (with self-merges and repeats),
    // ends byte-identical.
    for (size_t i = 0; i < n; ++i) {
      Document doc = replicas[i];
      std::vector<size_t> order;
      for (size_t j = 0; j < n; ++j) order.push_back(j);
      order.push_back(rng() % n);
      order.push_back(i);
      std::shuffle(order.begin(), order.end(), rng);
      for (size_t j : order) doc.Merge(replicas[j]);
      ASSERT_EQ(doc.Render(), rendered);
      ASSERT_EQ(doc.Encode(), encoded);
      ASSERT_EQ(doc, total);
      ASSERT_FALSE(doc.Merge(total).changed);
    }
    auto decoded = Document::Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    ASSERT_EQ(*decoded, total);
    // The converged document behaves like any other: a re-put of its rendering is a no-op.
    if (total.IsLive()) {
      Document copy = total;
      auto r = copy.Put(rendered, Timestamp{1, 1});
      ASSERT_TRUE(r.ok());
      ASSERT_FALSE(r->changed);
    }
  }
}

TEST_F(DocumentPropertyTest, HistoriesWithPatchesConvergeWhateverTheMergeOrder) {
  for (uint64_t seed : Seeds(3'000'000, 1000)) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<Document> replicas = RandomHistory(seed, /*merge_puts=*/true);
    if (HasFatalFailure()) return;
    std::mt19937_64 rng(seed ^ 0x5eed);
    Document total;
    for (const Document& d : replicas) total.Merge(d);
    ExpectEveryMergeOrderGives(replicas, total, rng);
    if (HasFatalFailure()) return;
  }
}

// "A document is never a fragment", against a model. 2–4 replicas run random Puts, patches
// (MergePut), Deletes and merges with random clocks (often behind each other, so a concurrent
// update is as often stamped before the delete as after it). The model records, per write, the
// registers it stamped, and per replica the set H of operations it has seen (its own, and
// everything a merged replica had seen); a Delete's "seen" set is H of its replica when it ran.
// Invariant checked on every replica after every step, and on the converged state:
//   1. state.registers() == R(H): the per-path LWW winner among the registers of all writes in
//      H — no merge and no delete ever loses a field's latest value;
//   2. state.IsLive() == some winner of R(H) was written by a write that no Delete in H had seen,
//      and some winner is not a tombstone;
//   3. live → state.Render() == R(H) rendered (every field's latest value: never a fragment);
//      not live → Render() == "".
// So an update the deleter had not seen keeps the whole document, and a delete that had seen
// every (winning) write removes it. Then every replica, merging all others in its own random
// order, ends equal (and the converged state satisfies 1–3 with H = every operation).
TEST_F(DocumentPropertyTest, ADocumentIsNeverAFragment) {
  // The interesting outcomes must occur: a document kept alive by an update stamped BEFORE a
  // delete that had not seen it, and a document deleted by a node that had merged another
  // replica's update (which survives in the state, covered).
  int kept_by_an_older_stamp = 0;
  int deleted_after_seeing_another_writer = 0;
  const std::vector<uint64_t> seeds = Seeds(4'000'000, 1000);
  for (uint64_t seed : seeds) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    Generator gen(&rng);
    const size_t n = 2 + gen.Pick(3);
    std::vector<Document> replicas(n);
    std::vector<std::set<size_t>> seen(n);  // H per replica: operation ids
    std::vector<std::vector<std::pair<std::string, Register>>> written;  // per op: its registers
    std::vector<std::set<size_t>> delete_saw;  // per op: H of a Delete when it ran (else empty)
    std::vector<bool> is_delete;
    std::map<Timestamp, size_t> writer_of;  // a register's stamp → the write that stamped it

    auto check = [&](const Document& doc, const std::set<size_t>& h) {
      Document model;  // R(H): no delete register
      for (size_t op : h) {
        for (const auto& [path, reg] : written[op]) model.MergeRegister(path, reg);
      }
      ASSERT_EQ(doc.registers(), model.registers());
      bool unseen = false, content = false;
      for (const auto& [path, reg] : model.registers()) {
        content |= reg.kind != RegisterKind::kTombstone;
        const size_t w = writer_of.at(reg.ts);
        bool saw = false;
        for (size_t d : h) saw |= is_delete[d] && delete_saw[d].contains(w);
        unseen |= !saw;
      }
      const bool live = unseen && content;
      ASSERT_EQ(doc.IsLive(), live);
      ASSERT_EQ(doc.Render(), live ? model.Render() : "");
    };
    auto record = [&](size_t i, const Document& doc, Timestamp ts, bool del) {
      const size_t op = written.size();
      written.emplace_back();
      if (!del) {
        for (const auto& [path, reg] : doc.registers()) {
          if (reg.ts == ts) written[op].emplace_back(path, reg);
        }
        writer_of.emplace(ts, op);
      }
      delete_saw.push_back(del ? seen[i] : std::set<size_t>());
      is_delete.push_back(del);
      seen[i].insert(op);
    };

    const int steps = 10 + static_cast<int>(gen.Pick(30));
    for (int step = 0; step < steps; ++step) {
      const size_t i = gen.Pick(n);
      Document& doc = replicas[i];
      const Timestamp ts{(1 + gen.Pick(40)) << 16 | gen.Pick(3), 100 + i};
      const uint64_t op = gen.Pick(100);
      if (op < 25) {
        auto r = doc.Put(Generator::Canonical(gen.Object(0)), ts);
        ASSERT_TRUE(r.ok());
        if (r->changed) record(i, doc, r->ts, false);
      } else if (op < 50) {
        auto r = doc.MergePut(Generator::Canonical(gen.Object(0)), ts);
        ASSERT_TRUE(r.ok());
        if (r->changed) record(i, doc, r->ts, false);
      } else if (op < 65) {
        const ChangeResult r = doc.Delete(ts);
        if (r.changed) record(i, doc, r.ts, true);
      } else {
        const size_t j = gen.Pick(n);
        doc.Merge(replicas[j]);
        seen[i].insert(seen[j].begin(), seen[j].end());
      }
      check(doc, seen[i]);
      if (HasFatalFailure()) return;
      if (gen.Pick(4) == 0) ExpectCodecRoundTrip(doc);
    }

    std::set<size_t> all;
    for (size_t op = 0; op < written.size(); ++op) all.insert(op);
    Document total;
    for (const Document& d : replicas) total.Merge(d);
    check(total, all);
    if (HasFatalFailure()) return;
    for (const auto& [path, reg] : total.registers()) {
      if (total.IsLive() && !total.deletes().Covers(reg.ts) && reg.ts < total.delete_ts()) {
        ++kept_by_an_older_stamp;
        break;
      }
      if (!total.IsLive() && reg.ts.node_tag != total.delete_ts().node_tag) {
        ++deleted_after_seeing_another_writer;
        break;
      }
    }
    ExpectEveryMergeOrderGives(replicas, total, rng);
    if (HasFatalFailure()) return;
  }
  if (seeds.size() >= 1000) {
    EXPECT_GT(kept_by_an_older_stamp, 10);
    EXPECT_GT(deleted_after_seeing_another_writer, 10);
  }
  std::printf(
      "never a fragment: %zu histories; kept alive by an update stamped before the delete "
      "%d, deleted by a node that had seen another writer's update %d\n",
      seeds.size(), kept_by_an_older_stamp, deleted_after_seeing_another_writer);
}

TEST_F(DocumentPropertyTest, MergeIsIdempotentCommutativeAndAssociative) {
  for (uint64_t seed : Seeds(2'000'000, 2000)) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<Document> r = RandomHistory(seed);
    std::mt19937_64 rng(seed);
    const Document& a = r[rng() % r.size()];
    const Document& b = r[rng() % r.size()];
    const Document& c = r[rng() % r.size()];
    // Idempotent.
    Document aa = a;
    ASSERT_FALSE(aa.Merge(a).changed);
    ASSERT_EQ(aa, a);
    ASSERT_EQ(MergedCopy(MergedCopy(a, b), b), MergedCopy(a, b));
    // Commutative.
    const Document ab = MergedCopy(a, b);
    const Document ba = MergedCopy(b, a);
    ASSERT_EQ(ab, ba);
    ASSERT_EQ(ab.Render(), ba.Render());
    ASSERT_EQ(ab.Encode(), ba.Encode());
    // Associative.
    const Document left = MergedCopy(ab, c);
    const Document right = MergedCopy(a, MergedCopy(b, c));
    ASSERT_EQ(left, right);
    ASSERT_EQ(left.Render(), right.Render());
    // Merge only moves forward: merging the result into either input gives the result again.
    ASSERT_EQ(MergedCopy(a, ab), ab);
    ASSERT_EQ(MergedCopy(ab, a), ab);
    ASSERT_EQ(MergedCopy(b, ab), ab);
    // Codec round trip of every state.
    for (const Document* d : {&a, &b, &c, &ab, &left}) {
      ExpectCodecRoundTrip(*d);
      if (HasFatalFailure()) return;
    }
  }
}

}  // namespace
}  // namespace peat::crdt
