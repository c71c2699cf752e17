#include "mesh/peer_address.h"

#include <gtest/gtest.h>

namespace peat::mesh {
namespace {

TEST(PeerAddressTest, IpLiteralsFirstUnusableDroppedDuplicatesRemoved) {
  EXPECT_EQ(
      OrderAddresses({"peer.example:7000", "10.0.0.7:7000", "bogus", "[::1]:7000", "10.0.0.7:7000",
                      "host:0", "name2:1"}),
      (std::vector<std::string>{"10.0.0.7:7000", "[::1]:7000", "peer.example:7000", "name2:1"}));
  EXPECT_TRUE(OrderAddresses({}).empty());
  EXPECT_TRUE(OrderAddresses({"", ":80", "host:", "host:65536"}).empty());
}

}  // namespace
}  // namespace peat::mesh
