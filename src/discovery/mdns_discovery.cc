#include "discovery/mdns_discovery.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <pthread.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/post.hpp>
#include <future>

#include "discovery/mdns_wire.h"

namespace peat::discovery {
namespace {

namespace ip = boost::asio::ip;
const ip::address_v4 kGroup = ip::make_address_v4("224.0.0.251");

std::vector<std::pair<std::string, ip::address_v4>> MulticastInterfaces() {
  std::vector<std::pair<std::string, ip::address_v4>> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if (!(i->ifa_flags & IFF_UP) || !(i->ifa_flags & IFF_MULTICAST) ||
        (i->ifa_flags & IFF_LOOPBACK)) {
      continue;
    }
    const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    out.emplace_back(i->ifa_name, ip::address_v4(ntohl(sin->sin_addr.s_addr)));
  }
  freeifaddrs(list);
  return out;
}

}  // namespace

MdnsDiscovery::MdnsDiscovery(MdnsDiscoveryOptions options, Clock& clock, DiscoveryMetrics& metrics,
                             CandidateSink sink)
    : options_(std::move(options)),
      instance_(InstanceName(options_.advert.endpoint_id, kMdnsServiceType)),
      host_("peat-" + options_.advert.endpoint_id.substr(0, 16) + ".local."),
      clock_(clock),
      metrics_(metrics),
      sink_(std::move(sink)),
      rng_(std::random_device{}()) {}

MdnsDiscovery::~MdnsDiscovery() { Stop(); }

Status MdnsDiscovery::Start() {
  boost::system::error_code ec;
  for (auto& [name, address] : MulticastInterfaces()) {
    if (!options_.interface_ip.empty() && address.to_string() != options_.interface_ip) continue;
    interfaces_.push_back(Interface{name, address});
  }
  if (interfaces_.empty()) {
    return UnavailableError(
        "mdns: no up, multicast-capable IPv4 interface" +
        (options_.interface_ip.empty() ? std::string() : " holding " + options_.interface_ip));
  }
  socket_.open(ip::udp::v4(), ec);
  if (!ec) socket_.set_option(ip::udp::socket::reuse_address(true), ec);
  if (!ec) {
    // Also SO_REUSEPORT: Linux lets a socket share the port only with sockets that set the same
    // option, and other mDNS stacks set one or the other.
    const int one = 1;
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  }
  if (!ec) socket_.bind(ip::udp::endpoint(ip::address_v4::any(), options_.mdns_port), ec);
  if (!ec) socket_.set_option(ip::multicast::hops(255), ec);
  if (!ec) socket_.set_option(ip::multicast::enable_loopback(true), ec);  // nodes on one host
  if (ec) return UnavailableError("mdns: socket on port 5353: " + ec.message());
  for (const auto& iface : interfaces_) {
    socket_.set_option(ip::multicast::join_group(kGroup, iface.address), ec);
    if (ec) {
      spdlog::warn("mdns: cannot join 224.0.0.251 on {} ({}): {}", iface.name,
                   iface.address.to_string(), ec.message());
      continue;
    }
    interface_names_.push_back(iface.name + " " + iface.address.to_string());
  }
  if (interface_names_.empty()) return UnavailableError("mdns: no interface joined 224.0.0.251");
  announce_timer_ = clock_.MakeTimer(io_);
  answer_timer_ = clock_.MakeTimer(io_);
  boost::asio::post(io_, [this] {
    Receive();
    ScheduleAnnounce(0);
  });
  started_ = true;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "peat-mdns");
    io_.run();
  });
  return Status::Ok();
}

void MdnsDiscovery::Stop() {
  if (!started_ || stopped_.exchange(true)) return;
  std::promise<void> done;
  boost::asio::post(io_, [this, &done] {
    announce_timer_->Cancel();
    answer_timer_->Cancel();
    SendAdvert(0);  // goodbye
    boost::system::error_code ec;
    socket_.close(ec);
    done.set_value();
  });
  done.get_future().wait();
  io_.stop();
  thread_.join();
}

void MdnsDiscovery::Receive() {
  socket_.async_receive_from(
      boost::asio::buffer(buffer_), from_,
      [this](const boost::system::error_code& ec, size_t bytes) {
        if (ec == boost::asio::error::operation_aborted || !socket_.is_open()) return;
        if (!ec) OnDatagram(std::span<const uint8_t>(buffer_.data(), bytes), from_);
        Receive();
      });
}

void MdnsDiscovery::OnDatagram(std::span<const uint8_t> datagram, const ip::udp::endpoint& from) {
  auto message = ParseDnsMessage(datagram);
  if (!message.ok()) {
    metrics_.CountSkip(CandidateSource::kMdns, "malformed");
    return;
  }
  if (!message->response) {
    for (const auto& q : message->questions) {
      if ((q.type == kDnsTypePtr || q.type == kDnsTypeAny) && q.name == kMdnsServiceType) {
        ScheduleAnswer();
        break;
      }
    }
    return;
  }
  // RFC 6762 §6: responses come from port 5353; anything else is not a responder's answer.
  if (from.port() != options_.mdns_port || !from.address().is_v4()) return;
  const std::string suffix = "." + std::string(kMdnsServiceType);
  for (const auto& rec : message->records) {
    if (rec.type != kDnsTypeTxt || rec.ttl == 0) continue;
    if (rec.name.size() <= suffix.size() ||
        rec.name.compare(rec.name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    auto advert = DecodeTxt(rec.rdata);
    if (!advert.ok()) {
      metrics_.CountSkip(CandidateSource::kMdns, "malformed");
      continue;
    }
    const auto verdict =
        CheckAdvert(*advert, options_.advert.endpoint_id, options_.advert.formation_tag);
    if (verdict != AdvertVerdict::kPropose) {
      metrics_.CountSkip(CandidateSource::kMdns, VerdictLabel(verdict));
      continue;
    }
    PeerCandidate c;
    c.endpoint_id = std::move(advert->endpoint_id);
    c.addresses.push_back(from.address().to_string() + ":" + std::to_string(advert->mesh_port));
    c.source = CandidateSource::kMdns;
    sink_(std::move(c));
  }
}

void MdnsDiscovery::SendToGroup(const Interface& iface, const std::vector<uint8_t>& packet) {
  boost::system::error_code ec;
  socket_.set_option(ip::multicast::outbound_interface(iface.address), ec);
  if (!ec) {
    socket_.send_to(boost::asio::buffer(packet), ip::udp::endpoint(kGroup, options_.mdns_port), 0,
                    ec);
  }
  if (ec) spdlog::debug("mdns: send on {}: {}", iface.name, ec.message());
}

void MdnsDiscovery::SendAdvert(uint32_t ttl) {
  for (const auto& iface : interfaces_) {
    SendToGroup(iface, BuildAdvert(options_.advert, kMdnsServiceType, instance_, host_,
                                   iface.address.to_bytes(), ttl));
  }
}

void MdnsDiscovery::SendQuery() {
  const auto query = BuildQuery(kMdnsServiceType);
  for (const auto& iface : interfaces_) SendToGroup(iface, query);
}

void MdnsDiscovery::ScheduleAnnounce(int round) {
  if (round < 3) {
    SendQuery();
    SendAdvert(options_.ttl_secs);
  } else {
    SendAdvert(options_.ttl_secs);
  }
  std::chrono::milliseconds next;
  if (round == 0) {
    next = std::chrono::milliseconds(1000);
  } else if (round == 1) {
    next = std::chrono::milliseconds(2000);
  } else {
    const auto base = options_.announce_interval.count();
    std::uniform_int_distribution<long> jitter(-base / 5, base / 5);
    next = std::chrono::milliseconds(base + jitter(rng_));
  }
  announce_timer_->Arm(next, [this, round](bool expired) {
    if (expired && !stopped_) ScheduleAnnounce(round + 1);
  });
}

void MdnsDiscovery::ScheduleAnswer() {
  if (answer_pending_) return;
  std::uniform_int_distribution<int> delay_ms(20, 120);
  auto delay = std::chrono::milliseconds(delay_ms(rng_));
  if (last_answer_) {
    const auto earliest = *last_answer_ + options_.answer_gap;
    if (clock_.Now() + delay < earliest) {
      delay = std::chrono::duration_cast<std::chrono::milliseconds>(earliest - clock_.Now());
    }
  }
  answer_pending_ = true;
  answer_timer_->Arm(delay, [this](bool expired) {
    answer_pending_ = false;
    if (!expired || stopped_) return;
    last_answer_ = clock_.Now();
    SendAdvert(options_.ttl_secs);
  });
}

}  // namespace peat::discovery
