#include "attach/send_validation.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <limits>
#include <string>

#include "attach/attach_test_util.h"

namespace peat::attach {
namespace {

using testing::Inode;
using testing::RootFixture;
using testing::Symlink;
using testing::WriteFile;

const std::string kSha(32, '\x5a');

class SendValidationTest : public RootFixture {
 protected:
  void SetUp() override {
    RootFixture::SetUp();
    WriteFile(InRoot("a.txt"), "hello");           // 5 bytes
    WriteFile(InRoot("sub/b.txt"), "0123456789");  // 10 bytes
  }

  static FileSpec File(std::string rel, uint64_t size, std::string sha = kSha,
                       std::string root = "docs") {
    FileSpec f;
    f.root_name = std::move(root);
    f.relative_path = std::move(rel);
    f.size_bytes = size;
    f.sha256 = std::move(sha);
    return f;
  }

  static SendRequest Request(std::vector<FileSpec> files) {
    SendRequest r;
    r.files = std::move(files);
    r.scope = ScopeKind::kAllNodes;
    return r;
  }

  StatusOr<std::vector<OpenedFile>> Validate(const SendRequest& r) {
    return ValidateSendRequest(r, limits_, roots_);
  }

  // The answer must carry `code` and a message that starts with "<field>: ".
  void Expect(const SendRequest& r, StatusCode code, const std::string& field,
              std::string_view reason = "") {
    auto v = Validate(r);
    ASSERT_FALSE(v.ok()) << "expected " << field;
    EXPECT_EQ(v.status().code(), code) << v.status().ToString();
    EXPECT_TRUE(v.status().message().starts_with(field + ": ")) << v.status().message();
    EXPECT_NE(v.status().message().find(reason), std::string::npos) << v.status().message();
  }

  AttachmentLimits limits_;
};

TEST_F(SendValidationTest, AValidRequestOpensEveryFileInOrder) {
  auto v = Validate(Request({File("sub/b.txt", 10), File("./a.txt", 5)}));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->size(), 2u);
  EXPECT_EQ((*v)[0].st.st_ino, Inode(InRoot("sub/b.txt")));
  EXPECT_EQ((*v)[1].st.st_ino, Inode(InRoot("a.txt")));
  EXPECT_EQ((*v)[1].st.st_size, 5);
}

TEST_F(SendValidationTest, DefaultLimitsAreThoseOfTheSpec) {
  const AttachmentLimits d;
  EXPECT_EQ(d.max_file_bytes, 256u << 20);
  EXPECT_EQ(d.max_bundle_bytes, 1u << 30);
  EXPECT_EQ(d.max_files_per_bundle, 64u);
  EXPECT_EQ(d.max_node_list_len, 256u);
}

TEST_F(SendValidationTest, Row2NoFiles) {
  Expect(Request({}), StatusCode::kInvalidArgument, "files");
}

TEST_F(SendValidationTest, Row3TooManyFiles) {
  Expect(Request(std::vector<FileSpec>(65, File("a.txt", 5))), StatusCode::kResourceExhausted,
         "files", "65 files exceed --attachment-max-files-per-bundle (64)");
  EXPECT_TRUE(Validate(Request(std::vector<FileSpec>(64, File("a.txt", 5)))).ok());
}

TEST_F(SendValidationTest, Row4SizesOverflowingU64) {
  const uint64_t half = (uint64_t{1} << 63);
  Expect(Request({File("a.txt", half), File("a.txt", half)}), StatusCode::kResourceExhausted,
         "files", "2^64");
}

TEST_F(SendValidationTest, Row5BundleCapBeatsEveryPerFileError) {
  Expect(Request({File("a.txt", 1, std::string(3, 'x')), File("../x", uint64_t{1} << 30)}),
         StatusCode::kResourceExhausted, "files",
         "1073741825 bytes in total exceed --attachment-max-bundle-bytes (1073741824)");
}

TEST_F(SendValidationTest, Row6ScopeMissing) {
  SendRequest r = Request({File("a.txt", 5)});
  r.scope = ScopeKind::kNone;
  Expect(r, StatusCode::kInvalidArgument, "scope");
}

TEST_F(SendValidationTest, Row7And8NodeListLength) {
  SendRequest r = Request({File("a.txt", 5)});
  r.scope = ScopeKind::kNodeList;
  Expect(r, StatusCode::kInvalidArgument, "scope.node_list.node_ids");
  r.node_ids.assign(257, "a1b2c3d4e5");
  Expect(r, StatusCode::kResourceExhausted, "scope.node_list.node_ids",
         "257 ids exceed --attachment-max-node-list-len (256)");
  r.node_ids.resize(256);
  EXPECT_TRUE(Validate(r).ok());
}

TEST_F(SendValidationTest, Row9FormationAndCapableBeatBadFiles) {
  SendRequest r = Request({File("a.txt", 5, "short"), File("/abs", 1)});
  r.scope = ScopeKind::kFormation;
  Expect(r, StatusCode::kFailedPrecondition, "scope.formation");
  r.scope = ScopeKind::kCapable;
  Expect(r, StatusCode::kFailedPrecondition, "scope.capable");
}

TEST_F(SendValidationTest, Row10NodeIdSyntax) {
  SendRequest r = Request({File("a.txt", 5)});
  r.scope = ScopeKind::kNodeList;
  const std::string bad[] = {
      "", std::string(1025, 'n'), std::string("a\0b", 3), "tab\there", "del\x7f", "c1\xc2\x85"};
  for (const std::string& id : bad) {
    r.node_ids = {"a1b2c3d4e5", "alpha", id};
    Expect(r, StatusCode::kInvalidArgument, "scope.node_list.node_ids[2]");
  }
  r.node_ids = {"alpha", std::string(1024, 'n'), "caf\xc3\xa9", std::string(64, 'f')};
  EXPECT_TRUE(Validate(r).ok());
  // Node ids are not looked at for all_nodes.
  r.scope = ScopeKind::kAllNodes;
  r.node_ids = {""};
  EXPECT_TRUE(Validate(r).ok());
}

TEST_F(SendValidationTest, Row11BundleIdSyntax) {
  SendRequest r = Request({File("a.txt", 5)});
  for (const std::string& id :
       {std::string(1025, 'b'), std::string("x\ny"), std::string("\0", 1)}) {
    r.bundle_id = id;
    Expect(r, StatusCode::kInvalidArgument, "bundle_id");
  }
  r.bundle_id = "";  // row 32: the caller assigns a UUID
  EXPECT_TRUE(Validate(r).ok());
  r.bundle_id = std::string(1024, 'b');
  EXPECT_TRUE(Validate(r).ok());
}

TEST_F(SendValidationTest, Row12Sha256LengthIsCheckedWithoutIo) {
  for (size_t len : {0, 31, 33, 64}) {
    // The file does not exist: no I/O happens before the length check.
    Expect(Request({File("a.txt", 5), File("missing", 1, std::string(len, 's'))}),
           StatusCode::kInvalidArgument, "files[1].sha256",
           "must be exactly 32 bytes (got " + std::to_string(len) + ")");
  }
}

TEST_F(SendValidationTest, Row13Sha256BeatsAnUnknownRoot) {
  Expect(Request({File("a.txt", 5, std::string(64, 's'), "nope")}), StatusCode::kInvalidArgument,
         "files[0].sha256");
}

TEST_F(SendValidationTest, Row14UnknownOrEmptyRoot) {
  Expect(Request({File("a.txt", 5, kSha, "nope")}), StatusCode::kInvalidArgument,
         "files[0].root_name", "`nope`");
  Expect(Request({File("a.txt", 5, kSha, "")}), StatusCode::kInvalidArgument, "files[0].root_name");
}

TEST_F(SendValidationTest, Rows15To20PathErrorsNameTheRelativePath) {
  Symlink("/etc/passwd", InRoot("passwd"));
  Symlink("a.txt", InRoot("link"));
  for (const std::string& rel :
       {std::string(""), std::string("/etc/passwd"), std::string("../x"), std::string("a/../b"),
        std::string("a/.."), std::string("missing"), std::string("a.txt/"),
        std::string("a.txt\0", 6), std::string("passwd"), std::string("sub")}) {
    Expect(Request({File("a.txt", 5), File(rel, 5)}), StatusCode::kInvalidArgument,
           "files[1].relative_path");
  }
  EXPECT_TRUE(Validate(Request({File("./a.txt", 5), File("sub//b.txt", 10)})).ok());
  EXPECT_TRUE(Validate(Request({File("link", 5)})).ok());  // row 19
}

TEST_F(SendValidationTest, Row21SizeMismatchBeatsTheSizeCapOfTheSameFile) {
  limits_.max_file_bytes = 4;
  Expect(Request({File("sub/b.txt", 12)}), StatusCode::kInvalidArgument, "files[0].size_bytes",
         "12 does not match the file's size on disk (10)");
}

TEST_F(SendValidationTest, Row22FileOverTheSizeCap) {
  const uint64_t size = (uint64_t{256} << 20) + 1;
  WriteFile(InRoot("big.bin"), "");
  ASSERT_EQ(::truncate(InRoot("big.bin").c_str(), static_cast<off_t>(size)), 0);  // sparse
  Expect(Request({File("big.bin", size)}), StatusCode::kResourceExhausted, "files[0].size_bytes",
         "268435457 bytes exceed --attachment-max-file-bytes (268435456)");
}

TEST_F(SendValidationTest, Row23FileZerosSizeCapBeatsFileOnesBadPath) {
  limits_.max_file_bytes = 8;
  Expect(Request({File("sub/b.txt", 10), File("../x", 1)}), StatusCode::kResourceExhausted,
         "files[0].size_bytes");
}

TEST_F(SendValidationTest, EveryCheckOfFileIComesBeforeFileIPlusOne) {
  // File 0's bad path beats file 1's bad sha256 (a per-file check without I/O).
  Expect(Request({File("missing", 1), File("a.txt", 5, "x")}), StatusCode::kInvalidArgument,
         "files[0].relative_path");
  // File 0's size mismatch beats file 1's unknown root.
  Expect(Request({File("a.txt", 6), File("a.txt", 5, kSha, "nope")}), StatusCode::kInvalidArgument,
         "files[0].size_bytes");
}

TEST_F(SendValidationTest, Row24UnreadableFileNamesTheFile) {
  ASSERT_EQ(::chmod(InRoot("a.txt").c_str(), 0), 0);
  MakeTraversable();
  testing::ExpectAsUnprivileged([&]() -> std::string {
    auto v = Validate(Request({File("sub/b.txt", 10), File("a.txt", 5)}));
    if (v.status().code() == StatusCode::kInvalidArgument &&
        v.status().message().starts_with("files[1]: ")) {
      return "";
    }
    return v.status().ToString();
  });
}

TEST(HasControlCharacterTest, C0DelAndC1) {
  EXPECT_FALSE(HasControlCharacter(""));
  EXPECT_FALSE(HasControlCharacter("plain text \xc3\xa9 \xc2\xa0"));
  EXPECT_TRUE(HasControlCharacter(std::string("\0", 1)));
  EXPECT_TRUE(HasControlCharacter("a\x1f"));
  EXPECT_TRUE(HasControlCharacter("\x7f"));
  EXPECT_TRUE(HasControlCharacter("\xc2\x80"));
  EXPECT_TRUE(HasControlCharacter("\xc2\x9f"));
}

}  // namespace
}  // namespace peat::attach
