// MdnsDiscovery: advertises this node on the LAN and browses for the others (docs/DISCOVERY.md).
//
// One UDP socket on 0.0.0.0:5353 (SO_REUSEADDR + SO_REUSEPORT: other mDNS responders and nodes on
// the machine share the port), joined to 224.0.0.251 on every up, multicast-capable, non-loopback
// IPv4 interface (or only the one holding `interface_ip` when set). It sends:
//   - a PTR query for _peat-node._tcp.local. at start and 1 s and 3 s later;
//   - our advert (PTR, SRV, TXT of mdns_txt.h, A) at the same times, then every
//     `announce_interval` (±20 % jitter), and in answer to any query for the service (one answer
//     per `answer_gap` at most, 20–120 ms after the query);
//   - a goodbye (TTL 0) at Stop.
// Every advert received (a response from port 5353 with a TXT record of a `_peat-node._tcp`
// instance) is decoded and checked (CheckAdvert: self, other formation → counted as skipped);
// the rest become PeerCandidates whose address is the datagram's source IP and the advertised
// mesh port, handed to `sink`. Malformed datagrams and TXT records are counted and dropped.
//
// IPv4 only. Threading: its own thread runs the socket and the timers (clock.MakeTimer); Start
// and Stop from one outside thread; the sink runs on the discovery thread.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "discovery/candidate_dialer.h"
#include "discovery/mdns_txt.h"
#include "discovery/peer_candidate.h"

namespace peat::discovery {

struct MdnsDiscoveryOptions {
  MdnsAdvert advert;         // ours: endpoint id, mesh port, formation tag
  std::string interface_ip;  // IPv4 literal: only the interface holding it; "" = every one
  uint16_t mdns_port = 5353;
  uint32_t ttl_secs = 120;
  std::chrono::milliseconds announce_interval{30'000};
  std::chrono::milliseconds answer_gap{1'000};
};

class MdnsDiscovery {
 public:
  MdnsDiscovery(MdnsDiscoveryOptions options, Clock& clock, DiscoveryMetrics& metrics,
                CandidateSink sink);
  ~MdnsDiscovery();

  // Opens the socket, joins the group, starts the thread. UNAVAILABLE when the socket cannot
  // be opened or no interface could join (the node then runs without mDNS).
  Status Start();
  // Sends the goodbye, closes the socket, joins the thread. Idempotent.
  void Stop();

  // Interfaces joined (for the log).
  const std::vector<std::string>& interfaces() const { return interface_names_; }

 private:
  struct Interface {
    std::string name;
    boost::asio::ip::address_v4 address;
  };
  void Receive();
  void OnDatagram(std::span<const uint8_t> datagram, const boost::asio::ip::udp::endpoint& from);
  void SendAdvert(uint32_t ttl);
  void SendQuery();
  void SendToGroup(const Interface& iface, const std::vector<uint8_t>& packet);
  // Start bursts (0, 1 s, 3 s), then announcements every announce_interval with jitter.
  void ScheduleAnnounce(int round);
  void ScheduleAnswer();

  const MdnsDiscoveryOptions options_;
  const std::string instance_;
  const std::string host_;
  Clock& clock_;
  DiscoveryMetrics& metrics_;
  CandidateSink sink_;
  boost::asio::io_context io_;
  boost::asio::ip::udp::socket socket_{io_};
  std::vector<Interface> interfaces_;
  std::vector<std::string> interface_names_;
  std::unique_ptr<Timer> announce_timer_;
  std::unique_ptr<Timer> answer_timer_;
  std::optional<Clock::TimePoint> last_answer_;
  bool answer_pending_ = false;
  std::minstd_rand rng_;
  std::array<uint8_t, 9000> buffer_{};
  boost::asio::ip::udp::endpoint from_;
  std::thread thread_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
};

}  // namespace peat::discovery
