// TcpPathInfo on real loopback TCP sockets: the kernel answers TCP_INFO with an RTT sample once
// data crossed, a non-TCP socket gives nothing, and QueueDelay adds the RTT above the minimum to
// the unsent bytes at the delivery rate.
#include "mesh/tcp_path_info.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace peat::mesh {
namespace {

using std::chrono::microseconds;

struct TcpPair {
  int client = -1, server = -1;
  TcpPair() {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(listen(listener, 1), 0);
    EXPECT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    client = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), len), 0);
    server = accept(listener, nullptr, nullptr);
    close(listener);
  }
  ~TcpPair() {
    close(client);
    close(server);
  }
};

TEST(TcpPathInfoTest, ALoopbackConnectionHasAnRttSampleOnceDataCrossed) {
  TcpPair pair;
  char buf[4096] = {};
  ASSERT_EQ(write(pair.client, buf, sizeof(buf)), static_cast<ssize_t>(sizeof(buf)));
  ASSERT_EQ(read(pair.server, buf, sizeof(buf)), static_cast<ssize_t>(sizeof(buf)));
  ASSERT_EQ(write(pair.server, buf, 1), 1);  // its ACK carries the RTT sample
  ASSERT_EQ(read(pair.client, buf, 1), 1);
  auto info = ReadTcpPathInfo(pair.client);
  ASSERT_TRUE(info.has_value());
  EXPECT_GT(info->min_rtt.count(), 0);
  EXPECT_GE(info->smoothed_rtt.count(), 0);
  EXPECT_LT(info->min_rtt, std::chrono::seconds(1));
  EXPECT_EQ(info->notsent_bytes, 0u);
}

TEST(TcpPathInfoTest, BytesAckedCountsPayloadOnlyAndStopsAtWhatThePeerTook) {
  TcpPair pair;
  const int small = 4096;  // far below the peer's receive window: all of it is acknowledged
  std::vector<char> buf(1 << 20);
  ASSERT_EQ(write(pair.client, buf.data(), small), small);
  uint64_t acked = 0;
  for (int i = 0; i < 1000 && acked < static_cast<uint64_t>(small); ++i) {
    auto info = ReadTcpPathInfo(pair.client);
    ASSERT_TRUE(info.has_value());
    acked = info->bytes_acked;
    if (acked < static_cast<uint64_t>(small)) usleep(1000);
  }
  EXPECT_EQ(acked, static_cast<uint64_t>(small)) << "the SYN is not a payload byte";
  // The peer stops reading: what does not fit in its receive buffer is written (queued in our
  // send buffer) but never acknowledged.
  fcntl(pair.client, F_SETFL, O_NONBLOCK);
  uint64_t written = small;
  for (;;) {
    const ssize_t n = write(pair.client, buf.data(), buf.size());
    if (n <= 0) break;
    written += static_cast<uint64_t>(n);
  }
  auto info = ReadTcpPathInfo(pair.client);
  ASSERT_TRUE(info.has_value());
  EXPECT_LT(info->bytes_acked, written);
  EXPECT_GT(info->bytes_acked, static_cast<uint64_t>(small));
}

TEST(TcpPathInfoTest, CongestionControlIsSetWhereTheKernelHasItAndRefusedOtherwise) {
  TcpPair pair;
  const std::string before = ReadCongestionControl(pair.client);
  EXPECT_FALSE(before.empty());
  EXPECT_FALSE(SetCongestionControl(pair.client, "no_such_cc"));
  EXPECT_EQ(ReadCongestionControl(pair.client), before) << "a refusal leaves the socket as it was";
  EXPECT_FALSE(SetCongestionControl(pair.client, ""));
  // reno is built into every Linux kernel and always allowed.
  ASSERT_TRUE(SetCongestionControl(pair.client, "reno"));
  EXPECT_EQ(ReadCongestionControl(pair.client), "reno");
}

TEST(TcpPathInfoTest, NotATcpSocketGivesNothing) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  EXPECT_FALSE(ReadTcpPathInfo(fds[0]).has_value());
  close(fds[0]);
  close(fds[1]);
  EXPECT_FALSE(ReadTcpPathInfo(-1).has_value());
}

TEST(TcpPathInfoTest, QueueDelayIsRttAboveTheMinimumPlusUnsentBytesAtTheRate) {
  TcpPathInfo info;
  info.smoothed_rtt = microseconds(250'000);
  info.min_rtt = microseconds(200'000);
  info.delivery_rate = 125'000;  // 1 Mbit/s
  EXPECT_EQ(QueueDelay(info, 0), microseconds(50'000));
  EXPECT_EQ(QueueDelay(info, 12'500), microseconds(150'000));  // + 100 ms of unsent bytes
  info.smoothed_rtt = microseconds(150'000);                   // below the minimum: no queue
  EXPECT_EQ(QueueDelay(info, 0), microseconds(0));
  info.delivery_rate = 0;  // unknown rate: the unsent bytes cannot be timed
  EXPECT_EQ(QueueDelay(info, 1 << 20), microseconds(0));
}

}  // namespace
}  // namespace peat::mesh
