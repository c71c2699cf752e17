// Document semantics (BEHAVIOR.md "Documents", LESSONS.md 4, 13, 14), MergePut, and bad input.
#include "crdt/document.h"

#include <gtest/gtest.h>

#include <string>

#include "crdt/path.h"

namespace peat::crdt {
namespace {

Timestamp T(uint64_t ms, uint64_t tag = 1) { return Timestamp{ms << 16, tag}; }

std::string P(std::initializer_list<std::string_view> keys) {
  std::string path;
  for (auto k : keys) AppendPathSegment(&path, k);
  return path;
}

void MustPut(Document& doc, std::string_view json, Timestamp ts, bool expect_changed = true) {
  auto r = doc.Put(json, ts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->changed, expect_changed) << json;
}

Document Merged(const Document& a, const Document& b) {
  Document m = a;
  m.Merge(b);
  return m;
}

TEST(PathTest, EncodingOrdersDepthFirstWithSortedSiblings) {
  EXPECT_EQ(EncodePathSegment("a"), std::string("a\0", 2));
  EXPECT_EQ(EncodePathSegment(std::string_view("a\0b\x01", 4)), std::string("a\x01\x01"
                                                                            "b\x01\x02\0",
                                                                            7));
  // Order: "a" < "a"/"b" < "a\0" (key) < "a\x01" < "ab".
  std::vector<std::string> paths = {P({"ab"}), P({std::string_view("a\x01", 2)}),
                                    P({std::string_view("a\0", 2)}), P({"a", "b"}), P({"a"})};
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths[0], P({"a"}));
  EXPECT_EQ(paths[1], P({"a", "b"}));
  EXPECT_EQ(paths[2], P({std::string_view("a\0", 2)}));
  EXPECT_EQ(paths[3], P({std::string_view("a\x01", 2)}));
  EXPECT_EQ(paths[4], P({"ab"}));
}

TEST(PathTest, DecodeRoundTripsAndRejectsMalformed) {
  auto keys = DecodePath(P({"x", std::string_view("\0\x01y", 3), ""}));
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_EQ((*keys)[0], "x");
  EXPECT_EQ((*keys)[1], std::string("\0\x01y", 3));
  EXPECT_EQ((*keys)[2], "");
  EXPECT_TRUE(DecodePath("").ok());
  EXPECT_TRUE(DecodePath("")->empty());
  for (std::string bad : {std::string("a"), std::string("a\x01\0", 3),
                          std::string("a\x01\x03\0", 4), std::string("\x01", 1)}) {
    EXPECT_EQ(DecodePath(bad).status().code(), StatusCode::kInvalidArgument);
    EXPECT_FALSE(IsValidEncodedPath(bad));
  }
}

TEST(DocumentTest, EmptyDocumentIsNotLive) {
  Document doc;
  EXPECT_FALSE(doc.IsLive());
  EXPECT_EQ(doc.Render(), "");
  EXPECT_TRUE(doc.MaxTimestamp().IsZero());
}

TEST(DocumentTest, PutCreatesAndRendersCanonically) {
  Document doc;
  auto r = doc.Put(R"({"b":2,"a":{"y":true,"x":"s"}})", T(10));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->ts, T(10));
  EXPECT_TRUE(doc.IsLive());
  EXPECT_EQ(doc.Render(), R"({"a":{"x":"s","y":true},"b":2})");
  EXPECT_EQ(doc.MaxTimestamp(), T(10));
  // Root marker + 3 leaves.
  EXPECT_EQ(doc.registers().size(), 4u);
  EXPECT_EQ(doc.registers().at("").kind, RegisterKind::kObject);
  EXPECT_EQ(doc.registers().at(P({"a", "x"})).value, "s");
}

TEST(DocumentTest, RePutOfIdenticalContentChangesNothing) {
  Document doc;
  MustPut(doc, R"({"a":1,"b":{"c":[1,2]},"d":{}})", T(10));
  const std::string before = doc.Encode();
  // Same content, different order and whitespace.
  auto r = doc.Put(R"( { "d" : {}, "b":{"c":[1, 2]}, "a":1 } )", T(20));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->changed);
  EXPECT_TRUE(r->ts.IsZero());
  EXPECT_EQ(doc.Encode(), before);
}

TEST(DocumentTest, UnchangedLeavesKeepTheirTimestamps) {
  Document doc;
  MustPut(doc, R"({"a":1,"b":2,"c":{"d":3}})", T(10));
  MustPut(doc, R"({"a":1,"b":5,"c":{"d":3}})", T(20));
  EXPECT_EQ(doc.registers().at(P({"a"})).ts, T(10));
  EXPECT_EQ(doc.registers().at(P({"b"})).ts, T(20));
  EXPECT_EQ(doc.registers().at(P({"c", "d"})).ts, T(10));
  EXPECT_EQ(doc.registers().at("").ts, T(10));  // root marker untouched while live
  // A type change with the same text is a change.
  MustPut(doc, R"({"a":"1","b":5,"c":{"d":3}})", T(30));
  EXPECT_EQ(doc.registers().at(P({"a"})).ts, T(30));
  MustPut(doc, R"({"a":"1","b":5.0,"c":{"d":3}})", T(40));
  EXPECT_EQ(doc.Render(), R"({"a":"1","b":5.0,"c":{"d":3}})");
}

TEST(DocumentTest, ADroppedFieldIsRemovedWithATombstone) {
  Document doc;
  MustPut(doc, R"({"a":1,"b":{"c":2,"d":3}})", T(10));
  MustPut(doc, R"({"b":{"d":3}})", T(20));
  EXPECT_EQ(doc.Render(), R"({"b":{"d":3}})");
  EXPECT_EQ(doc.registers().at(P({"a"})).kind, RegisterKind::kTombstone);
  EXPECT_EQ(doc.registers().at(P({"a"})).ts, T(20));
  EXPECT_EQ(doc.registers().at(P({"b", "c"})).kind, RegisterKind::kTombstone);
  MustPut(doc, "{}", T(30));
  EXPECT_EQ(doc.Render(), "{}");
  EXPECT_TRUE(doc.IsLive());
}

TEST(DocumentTest, ScalarAndObjectReplaceEachOther) {
  Document doc;
  MustPut(doc, R"({"a":1})", T(10));
  MustPut(doc, R"({"a":{"b":1}})", T(20));
  EXPECT_EQ(doc.Render(), R"({"a":{"b":1}})");
  EXPECT_EQ(doc.registers().at(P({"a"})).kind, RegisterKind::kTombstone);
  MustPut(doc, R"({"a":[1]})", T(30));
  EXPECT_EQ(doc.Render(), R"({"a":[1]})");
  MustPut(doc, R"({"a":{}})", T(40));
  EXPECT_EQ(doc.Render(), R"({"a":{}})");
  MustPut(doc, R"({"a":{"b":{}}})", T(50));
  EXPECT_EQ(doc.Render(), R"({"a":{"b":{}}})");
  MustPut(doc, R"({"a":null})", T(60));
  EXPECT_EQ(doc.Render(), R"({"a":null})");
}

TEST(DocumentTest, DeleteAndPutAfterDeleteHasOnlyTheNewContent) {
  Document doc;
  MustPut(doc, R"({"a":1,"b":2})", T(10));
  ChangeResult d = doc.Delete(T(20));
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.ts, T(20));
  EXPECT_FALSE(doc.IsLive());
  EXPECT_EQ(doc.Render(), "");
  EXPECT_EQ(doc.delete_ts(), T(20));
  EXPECT_EQ(doc.registers().size(), 3u);  // kept, covered by the delete (for concurrent updates)
  for (const auto& [path, reg] : doc.registers()) EXPECT_TRUE(doc.deletes().Covers(reg.ts));
  EXPECT_FALSE(doc.Delete(T(30)).changed);  // already deleted
  EXPECT_EQ(doc.delete_ts(), T(20));
  MustPut(doc, R"({"c":3})", T(40));
  EXPECT_TRUE(doc.IsLive());
  EXPECT_EQ(doc.Render(), R"({"c":3})");
  EXPECT_EQ(doc.registers().at(P({"a"})).kind, RegisterKind::kTombstone);  // the old fields
  EXPECT_EQ(doc.registers().at(P({"a"})).ts, T(40));
  // Re-putting the old content after a delete writes it again (a creation writes everything).
  Document again;
  MustPut(again, R"({"a":1,"b":2})", T(10));
  again.Delete(T(20));
  MustPut(again, R"({"a":1,"b":2})", T(50));
  EXPECT_EQ(again.Render(), R"({"a":1,"b":2})");
  EXPECT_EQ(again.registers().at(P({"a"})).ts, T(50));
  EXPECT_EQ(again.registers().at("").ts, T(50));
}

TEST(DocumentTest, DeleteOfANeverWrittenDocumentIsANoOp) {
  Document doc;
  ChangeResult d = doc.Delete(T(5));
  EXPECT_FALSE(d.changed);
  EXPECT_TRUE(doc.delete_ts().IsZero());
  EXPECT_EQ(doc, Document());
}

TEST(DocumentTest, EmptyObjectDocumentIsLiveAndDeletable) {
  Document doc;
  MustPut(doc, "{}", T(1));
  EXPECT_TRUE(doc.IsLive());
  EXPECT_EQ(doc.Render(), "{}");
  MustPut(doc, "{}", T(2), /*expect_changed=*/false);
  EXPECT_TRUE(doc.Delete(T(3)).changed);
  EXPECT_EQ(doc.Render(), "");
  MustPut(doc, "{}", T(4));
  EXPECT_EQ(doc.Render(), "{}");
}

TEST(DocumentTest, LocalWritesAreNewerThanTheState) {
  Document doc;
  MustPut(doc, R"({"a":1})", T(100, 5));
  // The caller's clock is behind the document (e.g. a clamped far-future remote): the write
  // still lands, just above the state.
  auto r = doc.Put(R"({"a":2})", T(50, 3));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->ts, (Timestamp{(uint64_t{100} << 16) + 1, 3}));
  EXPECT_EQ(doc.Render(), R"({"a":2})");
  auto patch = doc.MergePut(R"({"b":1})", T(50, 3));  // a patch too
  ASSERT_TRUE(patch.ok());
  EXPECT_TRUE(patch->changed);
  EXPECT_GT(patch->ts, r->ts);
  ChangeResult d = doc.Delete(T(1, 3));
  EXPECT_GT(d.ts, r->ts);
  EXPECT_FALSE(doc.IsLive());
  // A Put with the zero timestamp on a fresh document still creates a live document.
  Document fresh;
  MustPut(fresh, R"({"x":1})", Timestamp{});
  EXPECT_TRUE(fresh.IsLive());
}

TEST(DocumentTest, ConcurrentWritersOfDifferentFieldsBothSurvive) {  // LESSONS 13
  Document base;
  MustPut(base, R"({"pos":{"lat":1.5,"lon":2.5},"status":"ok","fuel":80})", T(10, 1));
  Document a = base, b = base;
  MustPut(a, R"({"pos":{"lat":1.75,"lon":2.5},"status":"ok","fuel":80})", T(20, 1));
  MustPut(b, R"({"pos":{"lat":1.5,"lon":2.5},"status":"ok","fuel":75})", T(21, 2));
  const std::string want = R"({"fuel":75,"pos":{"lat":1.75,"lon":2.5},"status":"ok"})";
  EXPECT_EQ(Merged(a, b).Render(), want);
  EXPECT_EQ(Merged(b, a).Render(), want);
}

TEST(DocumentTest, AFieldTheWriterNeverSawSurvivesAMerge) {
  Document base;
  MustPut(base, R"({"a":1,"b":2})", T(10, 1));
  Document a = base, b = base;
  MustPut(a, R"({"a":1,"b":2,"new":{"x":1}})", T(20, 1));  // adds a field b never sees
  MustPut(b, R"({"a":1})", T(30, 2));                      // drops "b", which it had seen
  const std::string want = R"({"a":1,"new":{"x":1}})";
  EXPECT_EQ(Merged(a, b).Render(), want);
  EXPECT_EQ(Merged(b, a).Render(), want);
}

TEST(DocumentTest, ConcurrentScalarVersusObjectNewerSideWins) {
  Document base;
  MustPut(base, R"({"a":1})", T(10, 1));
  Document a = base, b = base;
  MustPut(a, R"({"a":{"b":1,"c":2}})", T(30, 1));
  MustPut(b, R"({"a":2})", T(20, 2));
  EXPECT_EQ(Merged(a, b).Render(), R"({"a":{"b":1,"c":2}})");
  EXPECT_EQ(Merged(b, a).Render(), R"({"a":{"b":1,"c":2}})");
  Document c = base;
  MustPut(c, R"({"a":"late"})", T(40, 3));
  EXPECT_EQ(Merged(Merged(a, b), c).Render(), R"({"a":"late"})");
  EXPECT_EQ(Merged(c, Merged(b, a)).Render(), R"({"a":"late"})");
}

TEST(DocumentTest, PutClearsRegistersHiddenByTheConflictRule) {
  // a.c (newest) hides the older scalar a=1; a.b is older than the scalar.
  Document x, y, z;
  MustPut(x, R"({"a":1})", T(5, 1));
  MustPut(y, R"({"a":{"b":1}})", T(4, 2));
  MustPut(z, R"({"a":{"c":2}})", T(8, 3));
  Document m = Merged(Merged(x, y), z);
  EXPECT_EQ(m.Render(), R"({"a":{"b":1,"c":2}})");
  // Dropping a.c must not resurrect the hidden scalar.
  MustPut(m, R"({"a":{"b":1}})", T(20, 1));
  EXPECT_EQ(m.Render(), R"({"a":{"b":1}})");
  EXPECT_EQ(m.registers().at(P({"a"})).kind, RegisterKind::kTombstone);
  EXPECT_EQ(m.registers().at(P({"a", "b"})).ts, T(4, 2));  // unchanged leaf keeps its clock
}

TEST(DocumentTest, EmptyObjectMarkerDoesNotHideConcurrentChildren) {
  Document a, b;
  MustPut(a, R"({"a":{}})", T(20, 1));
  MustPut(b, R"({"a":{"b":1}})", T(10, 2));
  EXPECT_EQ(Merged(a, b).Render(), R"({"a":{"b":1}})");
  EXPECT_EQ(Merged(b, a).Render(), R"({"a":{"b":1}})");
  // Re-putting what renders is a no-op even though the marker is still there.
  Document m = Merged(a, b);
  MustPut(m, R"({"a":{"b":1}})", T(30, 1), /*expect_changed=*/false);
}

// "A document is never a fragment" (BEHAVIOR.md, issue #13 item 5): an update the deleting node
// had not seen keeps the whole document, every field at its latest value, whatever the stamps.
TEST(DocumentTest, AnUpdateTheDeleterNeverSawKeepsTheWholeDocument) {
  Document base;
  MustPut(base, R"({"a":1,"b":2,"c":{"d":3}})", T(10, 1));
  for (uint64_t update_ms : {15, 25}) {  // stamped before or after the delete: concurrent both
    SCOPED_TRACE(update_ms);
    Document deleter = base, writer = base;
    EXPECT_TRUE(deleter.Delete(T(20, 1)).changed);
    auto r = writer.MergePut(R"({"b":5})", T(update_ms, 2));
    ASSERT_TRUE(r.ok() && r->changed);
    const std::string want = R"({"a":1,"b":5,"c":{"d":3}})";
    EXPECT_EQ(Merged(deleter, writer).Render(), want);
    EXPECT_EQ(Merged(writer, deleter).Render(), want);
    EXPECT_EQ(Merged(deleter, writer), Merged(writer, deleter));
    // A whole-document Put concurrent with the delete survives as that Put wrote it.
    Document putter = base;
    MustPut(putter, R"({"b":6})", T(update_ms, 3));
    EXPECT_EQ(Merged(deleter, putter).Render(), R"({"b":6})");
    EXPECT_EQ(Merged(putter, deleter).Render(), R"({"b":6})");
  }
}

TEST(DocumentTest, ADeleteThatSawEveryUpdateRemovesTheDocument) {
  Document base;
  MustPut(base, R"({"a":1,"b":2})", T(10, 1));
  Document writer = base;
  ASSERT_TRUE(writer.MergePut(R"({"b":5})", T(30, 2)).ok());  // stamped after the delete's clock
  Document deleter = Merged(base, writer);
  const ChangeResult d = deleter.Delete(T(20, 1));  // but the deleter had seen it
  EXPECT_TRUE(d.changed);
  EXPECT_GT(d.ts, T(30, 2));
  for (const Document* other : {&base, &writer}) {
    EXPECT_FALSE(Merged(deleter, *other).IsLive());
    EXPECT_FALSE(Merged(*other, deleter).IsLive());
    EXPECT_EQ(Merged(*other, deleter), deleter);
  }
  // Two concurrent deletes and a third replica's concurrent update: the update keeps it.
  Document other_deleter = base, updater = base;
  other_deleter.Delete(T(21, 3));
  ASSERT_TRUE(updater.MergePut(R"({"a":7})", T(11, 4)).ok());
  const Document all = Merged(Merged(deleter, other_deleter), updater);
  EXPECT_EQ(all.Render(), R"({"a":7,"b":5})");
  EXPECT_EQ(all, Merged(updater, Merged(other_deleter, deleter)));
  // Deleted again by a node that saw everything: gone everywhere.
  Document last = all;
  last.Delete(T(22, 3));
  for (const Document* d2 : {&deleter, &other_deleter, &updater, &writer, &last}) {
    EXPECT_FALSE(Merged(*d2, last).IsLive());
  }
}

TEST(DocumentTest, StaleReplicaNeverResurrectsADeletedDocument) {  // LESSONS 4
  Document base;
  MustPut(base, R"({"a":1})", T(10, 1));
  Document stale = base;
  MustPut(stale, R"({"a":2})", T(25, 2));  // newer than the delete's stamp, but seen by it
  Document doc = Merged(base, stale);
  doc.Delete(T(20, 1));
  const Document deleted = doc;
  EXPECT_FALSE(doc.Merge(base).changed);
  EXPECT_FALSE(doc.Merge(stale).changed);
  EXPECT_FALSE(doc.IsLive());
  EXPECT_FALSE(Merged(stale, doc).IsLive());
  EXPECT_EQ(Merged(stale, doc), deleted);
}

TEST(DocumentTest, MergeReportsStateChanges) {
  Document a;
  MustPut(a, R"({"a":1,"b":2})", T(10, 1));
  Document b = a;
  EXPECT_FALSE(a.Merge(b).changed);
  EXPECT_FALSE(a.Merge(a).changed);  // self
  MustPut(b, R"({"a":1})", T(20, 2));
  EXPECT_TRUE(a.Merge(b).changed);  // a tombstone is a change
  EXPECT_FALSE(a.Merge(b).changed);
  EXPECT_EQ(a, b);
}

TEST(DocumentTest, PurgeDropsOnlyOldTombstones) {
  Document doc;
  MustPut(doc, R"({"a":1,"b":2,"c":3})", T(10));
  MustPut(doc, R"({"c":3})", T(20));  // tombstones a, b at 20
  MustPut(doc, R"({})", T(30));       // tombstone c at 30
  EXPECT_EQ(doc.PurgeOlderThan(T(25)), 2u);
  EXPECT_EQ(doc.registers().count(P({"a"})), 0u);
  EXPECT_EQ(doc.registers().at(P({"c"})).kind, RegisterKind::kTombstone);
  EXPECT_EQ(doc.PurgeOlderThan(T(25)), 0u);
  EXPECT_EQ(doc.PurgeOlderThan(T(1000)), 1u);
  EXPECT_EQ(doc.Render(), "{}");  // live registers (the root marker) are never purged
  Document live = doc;
  doc.Delete(T(2000));
  EXPECT_EQ(doc.PurgeOlderThan(T(1500)), 1u);  // a deleted document's covered registers go too
  EXPECT_TRUE(doc.registers().empty());
  EXPECT_EQ(doc.PurgeOlderThan(T(5000)), 0u);
  EXPECT_EQ(doc.delete_ts(), T(2000));  // the delete register is kept
  // A live document renders its covered registers: they are not purged.
  Document concurrent;
  MustPut(concurrent, R"({"x":1})", T(3000, 2));
  Document resurrected = Merged(doc, concurrent);
  resurrected.Merge(live);
  EXPECT_TRUE(resurrected.IsLive());
  EXPECT_EQ(resurrected.PurgeOlderThan(T(1500)), 0u);
}

TEST(DocumentTest, MergeRegisterAndMergeDeleteFollowTheMergeRule) {
  Document doc;
  EXPECT_TRUE(doc.MergeRegister(P({"a"}), Register{T(10), RegisterKind::kInt, "1"}));
  EXPECT_TRUE(doc.MergeRegister("", Register{T(10), RegisterKind::kObject, ""}));
  EXPECT_FALSE(doc.MergeRegister(P({"a"}), Register{T(5), RegisterKind::kInt, "2"}));  // older
  EXPECT_TRUE(
      doc.MergeRegister(P({"a"}), Register{T(10), RegisterKind::kInt, "3"}));  // tie: larger
  EXPECT_FALSE(doc.MergeRegister(P({"a"}), Register{T(10), RegisterKind::kInt, "3"}));  // same
  EXPECT_EQ(doc.Render(), R"({"a":3})");
  // Rebuilt register by register, a state equals the merge of the same registers.
  Document other;
  MustPut(other, R"({"a":4,"b":{}})", T(20, 2));
  Document rebuilt = doc;
  for (const auto& [path, reg] : other.registers()) rebuilt.MergeRegister(path, reg);
  EXPECT_EQ(rebuilt, Merged(doc, other));
  // The delete register of another state joins in; registers are kept, covered.
  Document deleted = Merged(doc, other);
  deleted.Delete(T(30, 3));
  EXPECT_TRUE(rebuilt.MergeDelete(deleted.deletes()));
  EXPECT_FALSE(rebuilt.MergeDelete(deleted.deletes()));
  EXPECT_EQ(rebuilt, deleted);
  EXPECT_FALSE(rebuilt.IsLive());
  // A covered register merges as any other (it stays covered); an unseen one brings it back.
  EXPECT_TRUE(rebuilt.MergeRegister(P({"z"}), Register{T(5, 2), RegisterKind::kInt, "5"}));
  EXPECT_FALSE(rebuilt.IsLive());
  EXPECT_TRUE(rebuilt.MergeRegister(P({"c"}), Register{T(21, 1), RegisterKind::kInt, "6"}));
  EXPECT_EQ(rebuilt.Render(), R"({"a":4,"b":{},"c":6,"z":5})");
}

// --- MergePut: a patch of top-level keys (WATCHER.md §4 / §9 decision 2) ------------------------
// Other keys keep their registers and clocks, a key's value is replaced as Put would replace it,
// creation and deleted documents behave as Put, and a patch merges with concurrent writes like any
// write.

void MustPatch(Document& doc, std::string_view json, Timestamp ts, bool expect_changed = true) {
  auto r = doc.MergePut(json, ts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->changed, expect_changed) << json;
}

TEST(DocumentMergePutTest, SetsItsKeysAndLeavesTheOthersUntouched) {
  Document doc;
  MustPut(doc, R"({"name":"Alpha Edge","tags":{"x":1},"version":"0.9.0"})", T(10));
  const Register name = doc.registers().at(P({"name"}));
  const Register tag = doc.registers().at(P({"tags", "x"}));
  MustPatch(doc, R"({"version":"0.9.1","last_seen":1767225600})", T(20));
  EXPECT_EQ(doc.Render(),
            R"({"last_seen":1767225600,"name":"Alpha Edge","tags":{"x":1},"version":"0.9.1"})");
  EXPECT_EQ(doc.registers().at(P({"name"})), name);  // same clock: nothing re-replicates
  EXPECT_EQ(doc.registers().at(P({"tags", "x"})), tag);
  EXPECT_EQ(doc.registers().at(P({"version"})).ts, T(20));
  EXPECT_EQ(doc.registers().at(P({"last_seen"})).ts, T(20));
}

TEST(DocumentMergePutTest, UnchangedValuesChangeNothing) {
  Document doc;
  MustPut(doc, R"({"a":1,"b":{"c":[1,2]}})", T(10));
  const std::string before = doc.Encode();
  MustPatch(doc, R"({"b":{"c":[1,2]}})", T(20), /*expect_changed=*/false);
  MustPatch(doc, "{}", T(21), /*expect_changed=*/false);
  EXPECT_EQ(doc.Encode(), before);
  // One changed key among unchanged ones: only its leaf is stamped.
  MustPatch(doc, R"({"a":2,"b":{"c":[1,2]}})", T(30));
  EXPECT_EQ(doc.registers().at(P({"a"})).ts, T(30));
  EXPECT_EQ(doc.registers().at(P({"b", "c"})).ts, T(10));
}

TEST(DocumentMergePutTest, ANestedObjectReplacesTheKeysValueAsPutWould) {
  Document doc;
  MustPut(doc, R"({"keep":true,"o":{"x":1,"y":{"z":2}},"s":"str"})", T(10));
  MustPatch(doc, R"({"o":{"y":{"w":3}},"s":{"now":"object"}})", T(20));
  EXPECT_EQ(doc.Render(), R"({"keep":true,"o":{"y":{"w":3}},"s":{"now":"object"}})");
  EXPECT_EQ(doc.registers().at(P({"o", "x"})).kind, RegisterKind::kTombstone);
  EXPECT_EQ(doc.registers().at(P({"o", "y", "z"})).kind, RegisterKind::kTombstone);
  EXPECT_EQ(doc.registers().at(P({"s"})).kind, RegisterKind::kTombstone);
  // And back to a scalar; an empty object is a value too.
  MustPatch(doc, R"({"o":5,"s":{}})", T(30));
  EXPECT_EQ(doc.Render(), R"({"keep":true,"o":5,"s":{}})");
  // The same key by Put gives the same value.
  Document put;
  MustPut(put, R"({"o":5,"s":{}})", T(40));
  EXPECT_EQ(put.Render(), R"({"o":5,"s":{}})");
}

TEST(DocumentMergePutTest, CreatesAnAbsentDocumentLikeAPut) {
  Document doc;
  MustPatch(doc, R"({"b":1,"a":{"c":null}})", T(10));
  EXPECT_TRUE(doc.IsLive());
  EXPECT_EQ(doc.Render(), R"({"a":{"c":null},"b":1})");
  EXPECT_EQ(doc.registers().at("").kind, RegisterKind::kObject);  // root marker: created at T(10)
  EXPECT_EQ(doc.registers().at("").ts, T(10));
  Document empty;
  MustPatch(empty, "{}", T(10));  // as Put("{}"): an empty, live document
  EXPECT_TRUE(empty.IsLive());
  EXPECT_EQ(empty.Render(), "{}");
}

TEST(DocumentMergePutTest, OnADeletedDocumentItRecreatesWithOnlyThePatchLikeAPut) {
  Document patched, put;
  for (Document* d : {&patched, &put}) {
    MustPut(*d, R"({"name":"old","x":1})", T(10));
    EXPECT_TRUE(d->Delete(T(20)).changed);
  }
  MustPatch(patched, R"({"x":2})", T(30));
  MustPut(put, R"({"x":2})", T(30));
  EXPECT_EQ(patched.Render(), R"({"x":2})");
  EXPECT_EQ(patched, put);  // the same state, register for register
}

TEST(DocumentMergePutTest, ConcurrentWriteToAnotherKeyIsKeptOnBothReplicas) {
  Document base;
  MustPut(base, R"({"last_seen":1,"name":"Alpha"})", T(10, 1));
  Document watcher = base, remote = base;
  MustPatch(watcher, R"({"last_seen":2})", T(20, 1));
  MustPut(remote, R"({"last_seen":1,"name":"Alpha Edge"})", T(15, 2));  // older, other field
  const std::string want = R"({"last_seen":2,"name":"Alpha Edge"})";
  EXPECT_EQ(Merged(watcher, remote).Render(), want);
  EXPECT_EQ(Merged(remote, watcher).Render(), want);
  // Same key: last writer wins, as for any two writes.
  Document late = base;
  MustPut(late, R"({"last_seen":9,"name":"Alpha"})", T(30, 2));
  EXPECT_EQ(Merged(watcher, late).Render(), R"({"last_seen":9,"name":"Alpha"})");
  EXPECT_EQ(Merged(late, watcher).Render(), R"({"last_seen":9,"name":"Alpha"})");
}

TEST(DocumentMergePutTest, ClearsRegistersHiddenInsideItsKeyOnly) {
  // a.c (newest) hides the older scalar a=1; "h" holds the same kind of hidden scalar.
  Document x, y;
  MustPut(x, R"({"a":1,"h":1})", T(5, 1));
  MustPut(y, R"({"a":{"c":2},"h":{"c":2}})", T(8, 2));
  Document m = Merged(x, y);
  EXPECT_EQ(m.Render(), R"({"a":{"c":2},"h":{"c":2}})");
  MustPatch(m, R"({"a":{"b":1}})", T(20, 1));
  EXPECT_EQ(m.Render(), R"({"a":{"b":1},"h":{"c":2}})");
  EXPECT_EQ(m.registers().at(P({"a"})).kind, RegisterKind::kTombstone);  // not resurrected
  EXPECT_EQ(m.registers().at(P({"h"})).kind, RegisterKind::kInt);        // untouched
  EXPECT_EQ(m.registers().at(P({"h"})).ts, T(5, 1));
  // A key that already renders the patch's value is not touched, hidden registers included.
  const std::string before = m.Encode();
  MustPatch(m, R"({"h":{"c":2}})", T(30, 1), /*expect_changed=*/false);
  EXPECT_EQ(m.Encode(), before);
}

TEST(DocumentMergePutTest, KeysThatArePrefixesOfOthersAreSeparate) {
  Document doc;
  MustPut(doc, R"({"a":1,"ab":2,"a\u0000":3,"a\u0001":4})", T(10));
  MustPatch(doc, R"({"a":{"b":5}})", T(20));
  EXPECT_EQ(doc.Render(), R"({"a":{"b":5},"a\u0000":3,"a\u0001":4,"ab":2})");
  EXPECT_EQ(doc.registers().at(P({"ab"})).ts, T(10));
}

TEST(DocumentMergePutTest, BadInputFailsAsPutDoesAndLeavesTheStateAlone) {
  Document doc;
  MustPut(doc, R"({"keep":1})", T(1));
  const std::string before = doc.Encode();
  for (const char* bad : {"[1]", "", "{\"a\":", "{\"a\":{\"b\":{}}}"}) {
    auto patched = doc.MergePut(bad, T(2), /*max_depth=*/2);
    Document copy;
    MustPut(copy, R"({"keep":1})", T(1));
    auto put = copy.Put(bad, T(2), /*max_depth=*/2);
    ASSERT_FALSE(patched.ok()) << bad;
    ASSERT_FALSE(put.ok()) << bad;
    EXPECT_EQ(patched.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(patched.status().message(), put.status().message());
    EXPECT_EQ(doc.Encode(), before);
  }
}

// --- Bad input ---------------------------------------------------------------------------------

std::string PutError(std::string_view json, int max_depth = 64) {
  Document doc;
  auto ok = doc.Put(R"({"keep":1})", T(1));
  EXPECT_TRUE(ok.ok());
  const std::string before = doc.Encode();
  auto r = doc.Put(json, T(2), max_depth);
  if (r.ok()) return "<ok>";
  EXPECT_EQ(doc.Encode(), before) << "state touched by a failed Put";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(DocumentBadInputTest, TopLevelMustBeAnObject) {
  EXPECT_EQ(PutError("[1,2]"), "json_data: top level must be a JSON object, got array");
  EXPECT_EQ(PutError("5"), "json_data: top level must be a JSON object, got number");
  EXPECT_EQ(PutError("\"s\""), "json_data: top level must be a JSON object, got string");
  EXPECT_EQ(PutError("null"), "json_data: top level must be a JSON object, got null");
  EXPECT_EQ(PutError(" true "), "json_data: top level must be a JSON object, got boolean");
}

TEST(DocumentBadInputTest, EmptyInput) {
  EXPECT_EQ(PutError(""), "json_data: empty input");
  EXPECT_EQ(PutError("   "), "json_data: empty input");
}

TEST(DocumentBadInputTest, SyntaxErrorsSayWhereAndWhat) {
  EXPECT_EQ(PutError(R"({"a":1)"),
            "json_data: invalid JSON at byte 6: unexpected end of input, expected ',' or '}'");
  EXPECT_EQ(PutError(R"({"a" 1})"),
            "json_data: invalid JSON at byte 5: expected ':' after object key");
  EXPECT_EQ(PutError(R"({"a":1,})"),
            "json_data: invalid JSON at byte 7: expected a string object key, got '}'");
  EXPECT_EQ(PutError(R"({"a":01})"),
            "json_data: invalid JSON at byte 6: invalid number: leading zero");
  EXPECT_EQ(PutError(R"({"a":tru})"),
            "json_data: invalid JSON at byte 5: invalid literal (expected true, false or null)");
  EXPECT_EQ(PutError(R"({"a":1} x)"),
            "json_data: invalid JSON at byte 8: unexpected data after the top-level value");
  EXPECT_EQ(PutError(R"({"a":"x)"), "json_data: invalid JSON at byte 5: unterminated string");
  EXPECT_EQ(PutError("{\"a\":\"x\ny\"}"),
            "json_data: invalid JSON at byte 7: control character in string (must be escaped)");
  EXPECT_EQ(PutError(R"({"a":"\q"})"),
            "json_data: invalid JSON at byte 6: invalid escape sequence in string");
  EXPECT_EQ(PutError(R"({"a":1e400})"), "json_data: invalid JSON at byte 5: number out of range");
  EXPECT_EQ(PutError(R"({"a":[1,2}})"),
            "json_data: invalid JSON at byte 9: expected ',' or ']', got '}'");
  EXPECT_EQ(PutError(R"({'a':1})"),
            "json_data: invalid JSON at byte 1: expected a string object key, got '''");
  EXPECT_EQ(PutError(std::string("{\"a\":1}\0", 8)),
            "json_data: invalid JSON at byte 7: unexpected data after the top-level value");
}

TEST(DocumentBadInputTest, InvalidUtf8) {
  EXPECT_EQ(PutError("{\"a\":\"\xff\"}"), "json_data: invalid UTF-8 at byte 6");
  EXPECT_EQ(PutError("{\"a\xc3\":1}"), "json_data: invalid UTF-8 at byte 3");
  EXPECT_EQ(PutError("{\"a\":\"\xed\xa0\x80\"}"),
            "json_data: invalid UTF-8 at byte 6");                                    // surrogate
  EXPECT_EQ(PutError("{\"a\":\"\xc0\xaf\"}"), "json_data: invalid UTF-8 at byte 6");  // overlong
}

TEST(DocumentBadInputTest, NestingDepth) {
  auto nested = [](int depth, char open, char close) {
    std::string s = "{\"k\":";
    for (int i = 1; i < depth; ++i)
      s += open == '{' ? std::string("{\"k\":") : std::string(1, open);
    s += "1";
    for (int i = 1; i < depth; ++i) s += close;
    s += "}";
    return s;
  };
  EXPECT_EQ(PutError(nested(64, '{', '}')), "<ok>");
  EXPECT_EQ(PutError(nested(65, '{', '}')), "json_data: nesting depth exceeds 64");
  EXPECT_EQ(PutError(nested(64, '[', ']')), "<ok>");
  EXPECT_EQ(PutError(nested(65, '[', ']')), "json_data: nesting depth exceeds 64");
  EXPECT_EQ(PutError(nested(3000, '[', ']')), "json_data: nesting depth exceeds 64");
  EXPECT_EQ(PutError(R"({"a":{"b":1}})", /*max_depth=*/1), "json_data: nesting depth exceeds 1");
  EXPECT_EQ(PutError(R"({"a":[1]})", /*max_depth=*/1), "json_data: nesting depth exceeds 1");
  EXPECT_EQ(PutError(R"({"a":1})", /*max_depth=*/1), "<ok>");
  // A syntax error deeper than the limit reports the depth first.
  EXPECT_EQ(PutError(nested(100, '[', ']').substr(0, 200)), "json_data: nesting depth exceeds 64");
}

TEST(DocumentBadInputTest, LoneSurrogateEscapes) {
  std::string high = PutError(R"({"a":"\ud800"})");
  std::string low = PutError(R"({"a":"\udc00x"})");
  EXPECT_NE(high, "<ok>");
  EXPECT_NE(low, "<ok>");
  EXPECT_EQ(PutError(R"({"a":"\ud83d\ude00"})"), "<ok>");
}

}  // namespace
}  // namespace peat::crdt
