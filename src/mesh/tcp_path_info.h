// TcpPathInfo: what the kernel knows about one TCP connection's path (TCP_INFO), read for the
// send window's congestion signal (send_window.h), the dead-link detector's RTO
// (link_liveness.h) and the acknowledged byte count (GetSyncStats); plus the congestion control.
// Linux only; an older kernel or a socket that is not TCP gives nullopt. The syscall is cheap (no
// locks beyond the socket's), callable from any thread that owns the fd.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace peat::mesh {

struct TcpPathInfo {
  std::chrono::microseconds smoothed_rtt{0};  // tcpi_rtt: segments' RTT, retransmissions excluded
  std::chrono::microseconds rtt_var{0};       // tcpi_rttvar: its mean deviation
  std::chrono::microseconds min_rtt{0};       // tcpi_min_rtt: the path's base delay
  uint64_t notsent_bytes = 0;                 // written by us, not yet sent (the socket buffer)
  uint64_t delivery_rate = 0;                 // bytes per second recently delivered (0: unknown)
  uint64_t bytes_acked = 0;  // tcpi_bytes_acked: payload bytes the peer acknowledged (SYN excluded)
};

std::optional<TcpPathInfo> ReadTcpPathInfo(int fd);

// The socket's TCP congestion control (TCP_CONGESTION, e.g. "bbr", "cubic"); "" when unknown.
std::string ReadCongestionControl(int fd);
// Asks for congestion control `name` on the socket; false when the kernel refuses (not built
// in, not allowed in this namespace): the socket keeps the system default.
bool SetCongestionControl(int fd, const std::string& name);

// The queueing delay a byte written now would see before it reaches the peer: the RTT above the
// path's minimum (a queue at the bottleneck) plus `unsent_bytes` (socket buffer and anything
// queued above it) drained at the delivery rate. Loss repaired by retransmission does not count:
// TCP's RTT samples skip retransmitted segments.
std::chrono::microseconds QueueDelay(const TcpPathInfo& info, uint64_t unsent_bytes);

}  // namespace peat::mesh
