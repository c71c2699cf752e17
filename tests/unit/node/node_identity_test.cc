// Node identity (node_identity.h): the CONTRACT.md derivation vectors; LoadOrCreateIdentity over
// an in-memory IdentityFiles (first boot, restart, corrupt files, a lost creation race, I/O
// errors); and over the real files (PosixIdentityFiles: modes, no temporary files left, threads
// racing on one directory).
#include "node/node_identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/endpoint_id.h"
#include "crypto/hkdf.h"

namespace peat {
namespace {

constexpr char kZeros[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
constexpr char kStars[] = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

// CONTRACT.md "Identity" known-answer vectors.
TEST(DeriveIdentityTest, ContractVectors) {
  struct Vector {
    const char* key;
    const char* node_id;
    const char* endpoint_id;
  };
  const Vector vectors[] = {
      {kZeros, "attach-a", "035254fa2cdf94cdd5fbf7ef7fe27efd26e1490d7db3b03b1bf30859be447634"},
      {kZeros, "attach-b", "70de0ba0781a5e9698106335b7fa8733813db4063c110a375f0c5ed798f4e6f9"},
      {kStars, "node-a", "4229afe8d9c12d0acfd98cb56d4e2edd0e844442651a70a6995c2ed7ef100684"},
      {kStars, "node-b", "f0782d206a443de24a744a6682851c11b71813fd1c03c9447ddecd9a5e9df279"},
  };
  for (const auto& v : vectors) {
    auto id = DeriveIdentity(v.key, v.node_id);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    EXPECT_EQ(id->EndpointId(), v.endpoint_id) << v.node_id;
    EXPECT_EQ(id->ShortId(), std::string(v.endpoint_id).substr(0, 10));
    EXPECT_EQ(id->node_id, v.node_id);
    EXPECT_TRUE(IsValidEndpointId(id->EndpointId()));
  }
}

TEST(DeriveIdentityTest, BadKeyNamesTheFlag) {
  for (const char* bad :
       {"", "not-base64!", "AAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
    auto id = DeriveIdentity(bad, "node-a");
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(id.status().message().find("--shared-key"), std::string::npos)
        << id.status().message();
  }
  auto empty_node = DeriveIdentity(kZeros, "");
  ASSERT_FALSE(empty_node.ok());
  EXPECT_NE(empty_node.status().message().find("--node-id"), std::string::npos);
}

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("peat-identity-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

mode_t FileMode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(LoadOrCreateIdentityTest, RandomKeyPersistsAcrossRestarts) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/nested/data";  // parents are created
  auto first = LoadOrCreateIdentity(dir, "node-x", "");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->node_id, "node-x");
  EXPECT_TRUE(IsValidEndpointId(first->EndpointId()));

  const std::string key_path = dir + "/identity.key";
  ASSERT_TRUE(std::filesystem::exists(key_path));
  EXPECT_EQ(FileMode(key_path), 0600u);
  EXPECT_EQ(std::filesystem::file_size(key_path), 32u);

  auto second = LoadOrCreateIdentity(dir, "node-x", "");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->EndpointId(), first->EndpointId());
  EXPECT_TRUE(second->key.Seed() == first->key.Seed());

  // No temporary files are left behind.
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "identity.key") << name;
  }
}

TEST(LoadOrCreateIdentityTest, GeneratedNodeIdPersists) {
  TempDir tmp;
  auto first = LoadOrCreateIdentity(tmp.path(), "", "");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->node_id.size(), 36u);  // UUIDv4
  EXPECT_EQ(FileMode(tmp.path() + "/node-id"), 0600u);
  auto second = LoadOrCreateIdentity(tmp.path(), "", "");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->node_id, first->node_id);
  EXPECT_EQ(second->EndpointId(), first->EndpointId());
}

TEST(LoadOrCreateIdentityTest, SharedKeyIsDeterministicAndWritesNoKeyFile) {
  TempDir tmp;
  auto id = LoadOrCreateIdentity(tmp.path(), "node-a", kStars);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->EndpointId(), "4229afe8d9c12d0acfd98cb56d4e2edd0e844442651a70a6995c2ed7ef100684");
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/identity.key"));

  // Shared key + generated node id: the node id is persisted and the identity is stable.
  TempDir tmp2;
  auto a = LoadOrCreateIdentity(tmp2.path(), "", kStars);
  auto b = LoadOrCreateIdentity(tmp2.path(), "", kStars);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->node_id, b->node_id);
  EXPECT_EQ(a->EndpointId(), b->EndpointId());
  auto expected = DeriveIdentity(kStars, a->node_id);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(a->EndpointId(), expected->EndpointId());
}

TEST(LoadOrCreateIdentityTest, BadSharedKeyIsRejected) {
  TempDir tmp;
  auto id = LoadOrCreateIdentity(tmp.path(), "n", "AAAA");
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("--shared-key"), std::string::npos);
}

TEST(LoadOrCreateIdentityTest, CorruptKeyFileIsAnErrorNotReplaced) {
  TempDir tmp;
  std::filesystem::create_directories(tmp.path());
  {
    std::ofstream f(tmp.path() + "/identity.key", std::ios::binary);
    f << "short";
  }
  auto id = LoadOrCreateIdentity(tmp.path(), "n", "");
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(std::filesystem::file_size(tmp.path() + "/identity.key"), 5u);
}

TEST(LoadOrCreateIdentityTest, ConcurrentCreatorsAgree) {
  TempDir tmp;
  std::vector<std::string> ids(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] {
      auto id = LoadOrCreateIdentity(tmp.path(), "", "");
      if (id.ok()) ids[i] = id->node_id + "/" + id->EndpointId();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : ids) {
    EXPECT_FALSE(s.empty());
    EXPECT_EQ(s, ids[0]);
  }
}

TEST(LoadOrCreateIdentityTest, UnusableDataDirIsUnavailable) {
  TempDir tmp;
  std::filesystem::create_directories(tmp.path());
  {
    std::ofstream f(tmp.path() + "/a-file");
    f << "x";
  }
  // A data dir below a regular file cannot be created (even by root).
  auto id = LoadOrCreateIdentity(tmp.path() + "/a-file/data", "n", "");
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kUnavailable);
}

// --- LoadOrCreateIdentity over an in-memory IdentityFiles ---------------------------------------

// Files are strings in a map. Failures are scripted per operation; `rival` plays another process
// that creates a file after our Read found nothing and before our CreateExclusive.
class FakeIdentityFiles : public IdentityFiles {
 public:
  std::string PathOf(std::string_view name) const override { return "/fake/" + std::string(name); }
  Status Prepare() override {
    ++prepares;
    return prepare_status;
  }
  StatusOr<std::optional<Contents>> Read(std::string_view name, size_t max_bytes) override {
    ++reads[std::string(name)];
    if (!read_status.ok()) return read_status;
    auto it = files.find(std::string(name));
    if (it == files.end()) return std::optional<Contents>();
    const std::string head = it->second.substr(0, max_bytes + 1);
    return std::optional<Contents>(Contents{SecureBytes(AsBytes(head)), modes[it->first]});
  }
  Status CreateExclusive(std::string_view name, std::span<const uint8_t> content) override {
    const std::string n(name);
    ++creates[n];
    if (!create_status.ok()) return create_status;
    if (auto it = rival.find(n); it != rival.end()) {
      files[n] = it->second;
      modes[n] = 0600;
      rival.erase(it);
    }
    if (files.count(n)) return Status(StatusCode::kAlreadyExists, PathOf(name) + " exists");
    files[n] = std::string(reinterpret_cast<const char*>(content.data()), content.size());
    modes[n] = 0600;
    return Status::Ok();
  }

  std::map<std::string, std::string> files;
  std::map<std::string, uint32_t> modes;
  std::map<std::string, std::string> rival;
  Status prepare_status = Status::Ok();
  Status read_status = Status::Ok();
  Status create_status = Status::Ok();
  int prepares = 0;
  std::map<std::string, int> reads;
  std::map<std::string, int> creates;
};

std::string SeedOf(const NodeIdentity& id) {
  return std::string(reinterpret_cast<const char*>(id.key.Seed().data()), id.key.Seed().size());
}

// The status of LoadOrCreateIdentity(files, node_id, ""), which must fail.
Status FailureOf(FakeIdentityFiles& files, const std::string& node_id) {
  auto id = LoadOrCreateIdentity(files, node_id, "");
  EXPECT_FALSE(id.ok()) << "node " << id->node_id;
  return id.ok() ? Status::Ok() : id.status();
}

TEST(IdentityFilesTest, FirstBootCreatesTheNodeIdAndTheKey) {
  FakeIdentityFiles files;
  auto id = LoadOrCreateIdentity(files, "", "");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(files.prepares, 1);
  EXPECT_EQ(id->node_id.size(), 36u);  // UUIDv4
  EXPECT_EQ(files.files["node-id"], id->node_id + "\n");
  EXPECT_EQ(files.files["identity.key"], SeedOf(*id));
  EXPECT_EQ(files.creates["node-id"], 1);
  EXPECT_EQ(files.creates["identity.key"], 1);
  EXPECT_TRUE(IsValidEndpointId(id->EndpointId()));
}

TEST(IdentityFilesTest, ARestartReadsThemBackAndCreatesNothing) {
  FakeIdentityFiles files;
  auto first = LoadOrCreateIdentity(files, "", "");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  files.creates.clear();
  auto second = LoadOrCreateIdentity(files, "", "");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->node_id, first->node_id);
  EXPECT_EQ(second->EndpointId(), first->EndpointId());
  EXPECT_TRUE(files.creates.empty());

  // A node-id written by hand may end in whitespace; a configured node id skips the file.
  files.files["node-id"] = "hand-written \r\n";
  auto hand = LoadOrCreateIdentity(files, "", "");
  ASSERT_TRUE(hand.ok()) << hand.status().ToString();
  EXPECT_EQ(hand->node_id, "hand-written");
  files.reads.clear();
  auto configured = LoadOrCreateIdentity(files, "configured", "");
  ASSERT_TRUE(configured.ok());
  EXPECT_EQ(configured->node_id, "configured");
  EXPECT_EQ(configured->EndpointId(), first->EndpointId());  // the key does not depend on it
  EXPECT_EQ(files.reads.count("node-id"), 0u);
}

TEST(IdentityFilesTest, ASharedKeyDerivesTheKeyAndWritesNoKeyFile) {
  FakeIdentityFiles files;
  auto id = LoadOrCreateIdentity(files, "node-a", kStars);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->EndpointId(), "4229afe8d9c12d0acfd98cb56d4e2edd0e844442651a70a6995c2ed7ef100684");
  EXPECT_TRUE(files.files.empty());
  EXPECT_TRUE(files.reads.empty());
}

TEST(IdentityFilesTest, ACorruptFileIsDataLossAndNeverReplaced) {
  struct Case {
    const char* file;
    const char* node_id;  // "": the node id is read from node-id
    std::string content;
  };
  const Case cases[] = {
      {"identity.key", "n", "short"},
      {"identity.key", "n", ""},
      {"identity.key", "n", std::string(33, 'k')},
      {"node-id", "", "\n"},
      {"node-id", "", std::string("a\x01") + "b"},
      {"node-id", "", std::string(1025, 'n')},
  };
  for (const Case& c : cases) {
    FakeIdentityFiles files;
    files.files[c.file] = c.content;
    const Status failure = FailureOf(files, c.node_id);
    EXPECT_EQ(failure.code(), StatusCode::kDataLoss) << c.file;
    EXPECT_NE(failure.message().find("/fake/" + std::string(c.file) + " is corrupt"),
              std::string::npos)
        << failure.message();
    EXPECT_EQ(files.files[c.file], c.content);
    EXPECT_TRUE(files.creates.empty());
  }
}

TEST(IdentityFilesTest, LosingTheCreationRaceUsesTheWinnersFiles) {
  FakeIdentityFiles files;
  const std::string their_seed(32, '\x07');
  files.rival["node-id"] = "their-node\n";
  files.rival["identity.key"] = their_seed;
  auto id = LoadOrCreateIdentity(files, "", "");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->node_id, "their-node");
  EXPECT_EQ(SeedOf(*id), their_seed);
  auto expected = Ed25519Key::FromSeed(AsBytes(their_seed));
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(id->key.PublicKey(), expected->PublicKey());
  EXPECT_EQ(files.files["node-id"], "their-node\n");  // ours was not written over theirs
  EXPECT_EQ(files.files["identity.key"], their_seed);
  EXPECT_EQ(files.reads["node-id"], 2);
  EXPECT_EQ(files.reads["identity.key"], 2);
}

TEST(IdentityFilesTest, IoErrorsAreUnavailableAndCreateNothing) {
  FakeIdentityFiles unprepared;
  unprepared.prepare_status = UnavailableError("cannot create data dir /fake: Permission denied");
  EXPECT_EQ(FailureOf(unprepared, "").code(), StatusCode::kUnavailable);
  EXPECT_TRUE(unprepared.reads.empty());

  // An unreadable key is not a missing key: no new key (a new endpoint id) is made.
  FakeIdentityFiles unreadable;
  unreadable.read_status = UnavailableError("cannot read /fake/identity.key: Input/output error");
  const Status read_failure = FailureOf(unreadable, "n");
  EXPECT_EQ(read_failure.code(), StatusCode::kUnavailable);
  EXPECT_EQ(read_failure.message(), "cannot read /fake/identity.key: Input/output error");
  EXPECT_TRUE(unreadable.creates.empty());

  FakeIdentityFiles full;
  full.create_status = UnavailableError("cannot fsync /fake/.node-id.tmp: No space left");
  EXPECT_EQ(FailureOf(full, "").code(), StatusCode::kUnavailable);
  EXPECT_TRUE(full.files.empty());

  // The file exists whenever we create it and is gone whenever we read it: give up, do not loop.
  FakeIdentityFiles vanishing;
  vanishing.create_status = Status(StatusCode::kAlreadyExists, "exists");
  const Status vanished = FailureOf(vanishing, "n");
  EXPECT_EQ(vanished.code(), StatusCode::kUnavailable);
  EXPECT_EQ(vanished.message(), "cannot create /fake/identity.key");
  EXPECT_EQ(vanishing.creates["identity.key"], 2);
}

TEST(IdentityFilesTest, ABadConfiguredNodeIdIsInvalidArgument) {
  FakeIdentityFiles files;
  EXPECT_EQ(FailureOf(files, "a\nb").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(files.files.empty());
}

}  // namespace
}  // namespace peat
