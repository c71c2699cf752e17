#include "mesh/identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

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

TEST(IsValidEndpointIdTest, Format) {
  EXPECT_TRUE(IsValidEndpointId(std::string(64, 'a')));
  EXPECT_TRUE(
      IsValidEndpointId("035254fa2cdf94cdd5fbf7ef7fe27efd26e1490d7db3b03b1bf30859be447634"));
  EXPECT_FALSE(IsValidEndpointId(std::string(63, 'a')));
  EXPECT_FALSE(IsValidEndpointId(std::string(65, 'a')));
  EXPECT_FALSE(IsValidEndpointId(std::string(64, 'A')));
  EXPECT_FALSE(IsValidEndpointId(std::string(64, 'g')));
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

}  // namespace
}  // namespace peat
