#include "bridge/nats_ledger.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

namespace peat::bridge {
namespace {

class NatsLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("peat-nats-ledger-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "nats-bridge.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(NatsLedgerTest, SurvivesReopenAndIsPrivate) {
  {
    auto ledger = NatsLedger::Open(path_);
    ASSERT_TRUE(ledger.ok()) << ledger.status().message();
    ASSERT_TRUE((*ledger)->AddLocal({"c", "l1"}).ok());
    ASSERT_TRUE((*ledger)->AddLocal({"c", "l1"}).ok());  // idempotent
    ASSERT_TRUE((*ledger)->AddLocalBatch({{"c", "b1"}, {"c", "b2"}}).ok());
    ASSERT_TRUE((*ledger)->Reserve({{"c", "r1"}, {"c", "r2"}}, "epoch-1", 42).ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto ledger = NatsLedger::Open(path_);
  ASSERT_TRUE(ledger.ok());
  auto& l = **ledger;
  EXPECT_TRUE(*l.IsLocal({"c", "l1"}));
  EXPECT_FALSE(*l.IsLocal({"c", "r1"}));
  EXPECT_FALSE(*l.IsLocal({"other", "l1"}));
  EXPECT_TRUE(*l.IsDelivered({"c", "r1"}));
  EXPECT_TRUE(*l.IsDelivered({"c", "r2"}));
  EXPECT_FALSE(*l.IsDelivered({"c", "l1"}));
  EXPECT_EQ(*l.Cursor("epoch-1"), 42u);
  EXPECT_EQ(*l.Cursor("epoch-2"), 0u);  // a new store: start over, the delivered set still holds
  EXPECT_TRUE(*l.IsLocal({"c", "b2"}));
  EXPECT_EQ(*l.LocalCount(), 3);
  EXPECT_EQ(*l.DeliveredCount(), 2);
  ASSERT_TRUE(l.Reserve({}, "epoch-2", 7).ok());
  EXPECT_EQ(*l.Cursor("epoch-2"), 7u);
  EXPECT_EQ(*l.Cursor("epoch-1"), 0u);
}

TEST_F(NatsLedgerTest, OpenFailsOnAnUnwritablePath) {
  auto ledger = NatsLedger::Open((dir_ / "missing" / "x.db").string());
  EXPECT_FALSE(ledger.ok());
}

}  // namespace
}  // namespace peat::bridge
