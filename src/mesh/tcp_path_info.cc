// Only <linux/tcp.h> here: its struct tcp_info has the fields this needs (min_rtt, notsent_bytes,
// delivery_rate), glibc's <netinet/tcp.h> (pulled in by Asio elsewhere) does not, and the two
// headers cannot share a translation unit.
#include "mesh/tcp_path_info.h"

#include <linux/tcp.h>
#include <netinet/in.h>  // IPPROTO_TCP
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace peat::mesh {

namespace {
constexpr size_t kCongestionNameMax = 16;  // the kernel's TCP_CA_NAME_MAX
}  // namespace

std::optional<TcpPathInfo> ReadTcpPathInfo(int fd) {
  tcp_info raw{};
  socklen_t len = sizeof(raw);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &raw, &len) != 0) return std::nullopt;
  // A kernel older than the fields we read returns a shorter struct.
  if (len < offsetof(tcp_info, tcpi_delivery_rate) + sizeof(raw.tcpi_delivery_rate)) {
    return std::nullopt;
  }
  if (raw.tcpi_min_rtt == 0 || raw.tcpi_min_rtt == ~0u) return std::nullopt;  // no sample yet
  TcpPathInfo info;
  info.smoothed_rtt = std::chrono::microseconds(raw.tcpi_rtt);
  info.rtt_var = std::chrono::microseconds(raw.tcpi_rttvar);
  info.min_rtt = std::chrono::microseconds(raw.tcpi_min_rtt);
  info.notsent_bytes = raw.tcpi_notsent_bytes;
  info.delivery_rate = raw.tcpi_delivery_rate;
  // The SYN (our side's) is counted as one acknowledged byte once the handshake completes.
  info.bytes_acked = raw.tcpi_bytes_acked > 0 ? raw.tcpi_bytes_acked - 1 : 0;
  return info;
}

std::string ReadCongestionControl(int fd) {
  char name[kCongestionNameMax] = {};
  socklen_t len = sizeof(name);
  if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len) != 0) return "";
  return std::string(name, strnlen(name, std::min<size_t>(len, sizeof(name))));
}

bool SetCongestionControl(int fd, const std::string& name) {
  if (name.empty() || name.size() >= kCongestionNameMax) return false;
  return setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name.data(),
                    static_cast<socklen_t>(name.size())) == 0;
}

std::chrono::microseconds QueueDelay(const TcpPathInfo& info, uint64_t unsent_bytes) {
  std::chrono::microseconds delay = info.smoothed_rtt > info.min_rtt
                                        ? info.smoothed_rtt - info.min_rtt
                                        : std::chrono::microseconds(0);
  if (info.delivery_rate > 0) {
    delay += std::chrono::microseconds(unsent_bytes * 1'000'000 / info.delivery_rate);
  }
  return delay;
}

}  // namespace peat::mesh
