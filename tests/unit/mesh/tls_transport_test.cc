#include "mesh/tls_transport.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/ed25519.h"
#include "crypto/test_util.h"

namespace peat::mesh {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

std::string EndpointIdOf(const Ed25519Key& key) { return testing::ToHex(key.PublicKey()); }

// Everything one side of a connection observed.
struct Recorder {
  std::shared_ptr<MeshConnection> conn;
  std::vector<std::string> frames;
  std::optional<Status> closed;
  int closed_calls = 0;
  size_t frames_seen_before_close = 0;

  static std::shared_ptr<Recorder> Start(std::shared_ptr<MeshConnection> c) {
    auto r = std::make_shared<Recorder>();
    r->conn = std::move(c);
    r->conn->Start(
        [r](std::string frame) {
          EXPECT_FALSE(r->closed.has_value()) << "frame delivered after on_closed";
          r->frames.push_back(std::move(frame));
        },
        [r](const Status& why) {
          ++r->closed_calls;
          r->closed = why;
          r->frames_seen_before_close = r->frames.size();
        });
    return r;
  }
};

struct Failure {
  std::string reason;
  Status status;
};

class TlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* key : {&key_a_, &key_b_, &key_c_}) {
      auto k = Ed25519Key::Generate();
      ASSERT_TRUE(k.ok());
      key->emplace(std::move(k).value());
    }
    id_a_ = EndpointIdOf(*key_a_);
    id_b_ = EndpointIdOf(*key_b_);
    id_c_ = EndpointIdOf(*key_c_);
  }

  void TearDown() override {
    for (auto& t : transports_) t->Stop();
    transports_.clear();
    guard_.reset();
    io_.run_for(2s);  // let closes finish; returns early once no work is left
  }

  TlsTransport& MakeTransport(const Ed25519Key& key, TlsTransportOptions options = {}) {
    auto t = TlsTransport::Create(io_, key, options);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    transports_.push_back(std::move(t).value());
    return *transports_.back();
  }

  // Runs the loop until `done()` or the timeout; false on timeout.
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.run_one_for(20ms);
    }
    return true;
  }

  // Runs the loop for `d` (to check that something does NOT happen).
  void RunFor(std::chrono::milliseconds d) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline) io_.run_one_for(5ms);
  }

  std::string Listen(TlsTransport& t, std::vector<std::shared_ptr<MeshConnection>>* accepted,
                     std::vector<Failure>* failures, const std::string& ip = "127.0.0.1") {
    auto bound = t.Listen(
        ip, 0, [accepted](std::shared_ptr<MeshConnection> c) { accepted->push_back(c); },
        [failures](const std::string& reason, const Status& why) {
          failures->push_back({reason, why});
        });
    EXPECT_TRUE(bound.ok()) << bound.status().ToString();
    return bound.ok() ? *bound : std::string();
  }

  std::optional<StatusOr<std::shared_ptr<MeshConnection>>> DialAndWait(
      TlsTransport& t, const std::string& address, const std::string& id,
      std::chrono::milliseconds timeout = 5s) {
    std::optional<StatusOr<std::shared_ptr<MeshConnection>>> result;
    int calls = 0;
    t.Dial(address, id, timeout, [&](StatusOr<std::shared_ptr<MeshConnection>> r) {
      ++calls;
      result.emplace(std::move(r));
    });
    EXPECT_FALSE(result.has_value()) << "Dial must not complete inline";
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }));
    RunFor(5ms);
    EXPECT_EQ(calls, 1);
    return result;
  }

  struct Pair {
    std::shared_ptr<Recorder> dialer;
    std::shared_ptr<Recorder> listener;
  };

  // a dials b (listening on loopback) and both sides are started.
  Pair Connect(TlsTransport& a, TlsTransport& b, const std::string& b_id) {
    if (!b_listening_.count(&b)) {
      b_address_[&b] = Listen(b, &accepted_[&b], &failures_[&b]);
      b_listening_.insert(&b);
    }
    auto& accepted = accepted_[&b];
    const size_t before = accepted.size();
    auto dialed = DialAndWait(a, b_address_[&b], b_id);
    Pair p;
    if (!dialed || !dialed->ok()) {
      ADD_FAILURE() << "dial failed: " << (dialed ? dialed->status().ToString() : "no result");
      return p;
    }
    EXPECT_TRUE(RunUntil([&] { return accepted.size() > before; }));
    if (accepted.size() <= before) return p;
    p.dialer = Recorder::Start(**dialed);
    p.listener = Recorder::Start(accepted.back());
    return p;
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_{
      asio::make_work_guard(io_)};
  std::optional<Ed25519Key> key_a_, key_b_, key_c_;
  std::string id_a_, id_b_, id_c_;
  std::vector<std::unique_ptr<TlsTransport>> transports_;
  std::map<TlsTransport*, std::vector<std::shared_ptr<MeshConnection>>> accepted_;
  std::map<TlsTransport*, std::vector<Failure>> failures_;
  std::map<TlsTransport*, std::string> b_address_;
  std::set<TlsTransport*> b_listening_;
};

TEST_F(TlsTransportTest, CreateRejectsBadOptions) {
  TlsTransportOptions o;
  o.max_frame_bytes = 0;
  EXPECT_EQ(TlsTransport::Create(io_, *key_a_, o).status().code(), StatusCode::kInvalidArgument);
  o = {};
  o.handshake_timeout = 0ms;
  EXPECT_EQ(TlsTransport::Create(io_, *key_a_, o).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TlsTransportTest, DialAndAcceptAuthenticateBothSides) {
  auto& a = MakeTransport(*key_a_);
  auto& b = MakeTransport(*key_b_);
  EXPECT_EQ(a.local_endpoint_id(), id_a_);
  auto p = Connect(a, b, id_b_);
  ASSERT_TRUE(p.dialer && p.listener);
  EXPECT_EQ(p.dialer->conn->peer_endpoint_id(), id_b_);
  EXPECT_EQ(p.listener->conn->peer_endpoint_id(), id_a_);
  EXPECT_TRUE(p.dialer->conn->is_dialer());
  EXPECT_FALSE(p.listener->conn->is_dialer());
  EXPECT_EQ(p.dialer->conn->remote_address(), b_address_[&b]);
  EXPECT_EQ(p.listener->conn->remote_address().rfind("127.0.0.1:", 0), 0u)
      << p.listener->conn->remote_address();
  // Channel binding: equal on both ends, non-zero, different for another connection.
  EXPECT_EQ(p.dialer->conn->channel_binding(), p.listener->conn->channel_binding());
  EXPECT_NE(p.dialer->conn->channel_binding(), (std::array<uint8_t, 32>{}));
  auto q = Connect(a, b, id_b_);
  ASSERT_TRUE(q.dialer && q.listener);
  EXPECT_EQ(q.dialer->conn->channel_binding(), q.listener->conn->channel_binding());
  EXPECT_NE(p.dialer->conn->channel_binding(), q.dialer->conn->channel_binding());
  EXPECT_TRUE(failures_[&b].empty());
  EXPECT_EQ(a.live_connection_count(), 2u);
}

TEST_F(TlsTransportTest, FramesFlowBothWaysInOrder) {
  auto& a = MakeTransport(*key_a_);
  auto& b = MakeTransport(*key_b_);
  auto p = Connect(a, b, id_b_);
  ASSERT_TRUE(p.dialer && p.listener);
  constexpr int kSmall = 1000;
  std::string big(1024 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + 3);
  uint64_t payload = 0;
  for (int i = 0; i < kSmall; ++i) {
    p.dialer->conn->Send("a->b #" + std::to_string(i));
    p.listener->conn->Send("b->a #" + std::to_string(i));
    payload += ("a->b #" + std::to_string(i)).size();
    if (i == kSmall / 2) {
      p.dialer->conn->Send(big);
      p.listener->conn->Send(big);
      payload += big.size();
    }
  }
  p.dialer->conn->Send("");
  p.listener->conn->Send("");
  EXPECT_GT(p.dialer->conn->queued_bytes(), 0u);
  const size_t total = kSmall + 2;
  ASSERT_TRUE(RunUntil(
      [&] { return p.dialer->frames.size() == total && p.listener->frames.size() == total; }));
  for (auto [rec, prefix] : {std::pair{p.listener, "a->b #"}, std::pair{p.dialer, "b->a #"}}) {
    size_t k = 0;
    for (int i = 0; i < kSmall; ++i) {
      ASSERT_EQ(rec->frames[k++], prefix + std::to_string(i));
      if (i == kSmall / 2) {
        ASSERT_EQ(rec->frames[k++], big);
      }
    }
    EXPECT_EQ(rec->frames[k], "");
  }
  ASSERT_TRUE(RunUntil([&] { return p.dialer->conn->queued_bytes() == 0; }));
  // Wire counters: real TLS bytes, so at least the framed payload, and symmetric.
  const uint64_t framed = payload + 4 * total;
  EXPECT_GE(p.dialer->conn->wire_bytes_sent(), framed);
  EXPECT_GE(p.dialer->conn->wire_bytes_received(), framed);
  EXPECT_GE(p.listener->conn->wire_bytes_sent(), framed);
  EXPECT_EQ(p.dialer->conn->wire_bytes_sent(), p.listener->conn->wire_bytes_received());
  EXPECT_FALSE(p.dialer->closed.has_value());
  EXPECT_FALSE(p.listener->closed.has_value());
}

TEST_F(TlsTransportTest, HandshakeBytesAreCounted) {
  auto& a = MakeTransport(*key_a_);
  auto& b = MakeTransport(*key_b_);
  auto p = Connect(a, b, id_b_);
  ASSERT_TRUE(p.dialer && p.listener);
  // Certificates and key shares went both ways before any frame.
  EXPECT_GT(p.dialer->conn->wire_bytes_sent(), 200u);
  EXPECT_GT(p.dialer->conn->wire_bytes_received(), 200u);
  EXPECT_EQ(p.dialer->conn->wire_bytes_sent(), p.listener->conn->wire_bytes_received());
  EXPECT_EQ(p.listener->conn->wire_bytes_sent(), p.dialer->conn->wire_bytes_received());
}

TEST_F(TlsTransportTest, AckedBytesReachWhatWasSentAndSurviveTheClose) {
  auto& a = MakeTransport(*key_a_);
  auto& b = MakeTransport(*key_b_);
  auto p = Connect(a, b, id_b_);
  ASSERT_TRUE(p.dialer && p.listener);
  p.dialer->conn->Send(std::string(256 * 1024, 'x'));  // > TCP_NOTSENT_LOWAT: partial writes
  ASSERT_TRUE(RunUntil([&] { return p.listener->frames.size() == 1; }));
  ASSERT_TRUE(RunUntil(
      [&] { return p.dialer->conn->wire_bytes_acked() == p.dialer->conn->wire_bytes_sent(); }));
  EXPECT_GT(p.dialer->conn->wire_bytes_acked(), 256u * 1024);
  const uint64_t acked = p.dialer->conn->wire_bytes_acked();
  p.dialer->conn->Close("test");
  ASSERT_TRUE(RunUntil([&] { return p.dialer->closed.has_value(); }));
  EXPECT_GE(p.dialer->conn->wire_bytes_acked(), acked);  // read one last time at the close
  EXPECT_LE(p.dialer->conn->wire_bytes_acked(), p.dialer->conn->wire_bytes_sent());
  // The congestion control asked for (TlsTransportOptions: bbr) or the kernel's default.
  EXPECT_FALSE(p.listener->conn->congestion_control().empty());
}

TEST_F(TlsTransportTest, WrongExpectedIdIsPermissionDenied) {
  auto& a = MakeTransport(*key_a_);
  auto& b = MakeTransport(*key_b_);
  std::vector<std::shared_ptr<MeshConnection>> accepted;
  std::vector<Failure> failures;
  const std::string addr = Listen(b, &accepted, &failures);
  auto r = DialAndWait(a, addr, id_c_);
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r->status().message(), "identity mismatch: dialed " + id_c_.substr(0, 10) +
                                       " but peer presented " + id_b_.substr(0, 10));
  // The dialer aborts inside the handshake: the listener sees a TLS failure, never a connection.
  ASSERT_TRUE(RunUntil([&] { return !failures.empty(); }));
  EXPECT_EQ(failures[0].reason, "tls");
  EXPECT_TRUE(accepted.empty());
}

TEST_F(TlsTransportTest, DialToClosedPortIsUnavailableQuickly) {
  auto& a = MakeTransport(*key_a_);
  uint16_t port = 0;
  {
    tcp::acceptor probe(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  const auto start = std::chrono::steady_clock::now();
  auto r = DialAndWait(a, "127.0.0.1:" + std::to_string(port), id_b_);
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r->status().message(),
            "dial 127.0.0.1:" + std::to_string(port) + ": connection refused");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(TlsTransportTest, DialInvalidArgumentsCompleteAsynchronously) {
  auto& a = MakeTransport(*key_a_);
  for (auto [addr, id] : {std::pair<std::string, std::string>{"no-port", id_b_},
                          {"127.0.0.1:1", "not-an-id"},
                          {"127.0.0.1:1", std::string(64, 'A')}}) {
    auto r = DialAndWait(a, addr, id);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status().code(), StatusCode::kInvalidArgument) << addr << " " << id;
  }
}

TEST_F(TlsTransportTest, GarbageBytesAreATlsFailure) {
  auto& b = MakeTransport(*key_b_);
  std::vector<std::shared_ptr<MeshConnection>> accepted;
  std::vector<Failure> failures;
  const std::string addr = Listen(b, &accepted, &failures);
  const uint16_t port = static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
  tcp::socket plain(io_);
  plain.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(plain, asio::buffer(std::string("GET / HTTP/1.1\r\n\r\n")));
  ASSERT_TRUE(RunUntil([&] { return !failures.empty(); }));
  EXPECT_EQ(failures[0].reason, "tls");
  EXPECT_EQ(failures[0].status.code(), StatusCode::kUnavailable);
  EXPECT_NE(failures[0].status.message().find("TLS handshake"), std::string::npos)
      << failures[0].status.message();
  EXPECT_TRUE(accepted.empty());
}

TEST_F(TlsTransportTest, SilentClientIsDroppedAfterHandshakeTimeout) {
  TlsTransportOptions o;
  o.handshake_timeout = 200ms;
  auto& b = MakeTransport(*key_b_, o);
  std::vector<std::shared_ptr<MeshConnection>> accepted;
  std::vector<Failure> failures;
  const std::string addr = Listen(b, &accepted, &failures);
  const uint16_t port = static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
  tcp::socket plain(io_);
  plain.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(RunUntil([&] { return !failures.empty(); }, 3s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  EXPECT_EQ(failures[0].reason, "timeout");
  EXPECT_TRUE(accepted.empty());
  // The listener closed the socket.
  char byte;
  boost::system::error_code ec;
  plain.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec);
}

// A TCP server that accepts and never speaks TLS.
class MuteServer {
 public:
  explicit MuteServer(asio::io_context& io)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (!ec) sockets_.push_back(std::move(s));
    });
  }
  std::string address() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

 private:
  tcp::acceptor acceptor_;
  std::vector<tcp::socket> sockets_;
};

TEST_F(TlsTransportTest, DialerHandshakeTimeout) {
  TlsTransportOptions o;
  o.handshake_timeout = 200ms;
  auto& a = MakeTransport(*key_a_, o);
  MuteServer mute(io_);
  auto r = DialAndWait(a, mute.address(), id_b_, 5s);
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r->status().message().find("timed out after 200ms"), std::string::npos)
      << r->status().message();
}

TEST_F(TlsTransportTest, DialOverallTimeout) {
  auto& a = MakeTransport(*key_a_);  // handshake timeout 10 s
  MuteServer mute(io_);
  const auto start = std::chrono::steady_clock::now();
  auto r = DialAndWait(a, mute.address(), id_b_, 150ms);
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r->status().message(), "dial " + mute.address() + ": timed out after 150ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(TlsTransportTest, StopCancelsPendingDial) {
  auto& a = MakeTransport(*key_a_);
  MuteServer mute(io_);
  std::optional<StatusOr<std::shared_ptr<MeshConnection>>> result;
  a.Dial(mute.address(), id_b_, 5s,
         [&](StatusOr<std::shared_ptr<MeshConnection>> r) { result.emplace(std::move(r)); });
  RunFor(50ms);  // connected, handshake stalled
  ASSERT_FALSE(result.has_value());
  a.Stop();
  EXPECT_FALSE(result.has_value()) << "callback must not run inside Stop()";
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }, 2s));
  EXPECT_EQ(result->status().code(), StatusCode::kCancelled);
  // A stopped transport refuses new work.
  auto r = DialAndWait(a, mute.address(), id_b_);
  EXPECT_EQ(r->status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(a.Listen("127.0.0.1", 0, nullptr, nullptr).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(TlsTransportTest, OversizeInboundFrameClosesWithResourceExhausted) {
  auto& a = MakeTransport(*key_a_);
  TlsTransportOptions small;
  small.max_frame_bytes = 1024;
  auto& b = MakeTransport(*key_b_, small);
  auto p = Connect(a, b, id_b_);
  ASSERT_TRUE(p.dialer && p.listener);
  p.dialer->conn->Send("fine");
  p.dialer->conn->Send(std::string(2000, 'x'));  // a's limit is 16 MiB: it goes out
  p.dialer->conn->Send("never delivered");
  ASSERT_TRUE(RunUntil([&] { return p.listener->closed && p.dialer->closed; }));
  EXPECT_EQ(p.listener->closed->code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(p.listener->frames, std::vector<std::string>{"fine"});
  EXPECT_EQ(p.dialer->closed->code(), StatusCode::kUnavailable);
  EXPECT_EQ(p.listener->closed_calls, 1);
  EXPECT_EQ(p.dialer->closed_calls, 1);
}

TEST_F(TlsTransportTest, OversizeOutboundFrameIsInternal) {
  TlsTransportOptions small;
  small.max_frame_bytes = 1024;
  auto& a = MakeTransport(*key_a_, small);
  auto& b = MakeTransport(*key_b_);
  auto p = Connect(a, b, id_b_);
  ASSERT_TRUE(p.dialer && p.listener);
  p.dialer->conn->Send(std::string(1025, 'x'));
  EXPECT_FALSE(p.dialer->closed.has_value()) << "on_closed must be posted, not run inside Send";
  ASSERT_TRUE(RunUntil([&] { return p.listener->closed && p.dialer->closed; }));
  EXPECT_EQ(p.dialer->closed->code(), StatusCode::kInternal);
  EXPECT_TRUE(p.listener->frames.empty());
}

TEST_F(TlsTransportTest, CloseFlushesQueuedFramesFirst) {
  auto& a = MakeTransport(*key_a_);
  auto& b = MakeTransport(*key_b_);
  auto p = Connect(a, b, id_b_);
  ASSERT_TRUE(p.dialer && p.listener);
  constexpr int kFrames = 200;
  const std::string body(10 * 1024, 'q');
  for (int i = 0; i < kFrames; ++i) p.dialer->conn->Send(std::to_string(i) + body);
  EXPECT_GT(p.dialer->conn->queued_bytes(), 0u);
  p.dialer->conn->Close("bye now");
  p.dialer->conn->Close("again");  // idempotent
  p.dialer->conn->Send("after close: dropped");
  ASSERT_TRUE(RunUntil([&] { return p.listener->closed && p.dialer->closed; }));
  ASSERT_EQ(p.listener->frames.size(), static_cast<size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) ASSERT_EQ(p.listener->frames[i], std::to_string(i) + body);
  EXPECT_EQ(p.dialer->closed->code(), StatusCode::kCancelled);
  EXPECT_EQ(p.dialer->closed->message(), "bye now");
  EXPECT_EQ(p.listener->closed->code(), StatusCode::kUnavailable);
  EXPECT_NE(p.listener->closed->message().find("closed by peer"), std::string::npos)
      << p.listener->closed->message();
  RunFor(20ms);
  EXPECT_EQ(p.dialer->closed_calls, 1);
  EXPECT_EQ(p.listener->closed_calls, 1);
}

TEST_F(TlsTransportTest, CloseFromInsideFrameHandlerStopsDelivery) {
  auto& a = MakeTransport(*key_a_);
  auto& b = MakeTransport(*key_b_);
  std::vector<std::shared_ptr<MeshConnection>> accepted;
  std::vector<Failure> failures;
  const std::string addr = Listen(b, &accepted, &failures);
  auto dialed = DialAndWait(a, addr, id_b_);
  ASSERT_TRUE(dialed && dialed->ok());
  ASSERT_TRUE(RunUntil([&] { return !accepted.empty(); }));
  auto listener = accepted[0];
  std::vector<std::string> got;
  std::optional<Status> closed;
  listener->Start(
      [&, listener](std::string f) {
        got.push_back(f);
        if (f == "stop") listener->Close("handler said stop");
      },
      [&](const Status& s) { closed = s; });
  auto dialer = Recorder::Start(**dialed);
  for (const char* f : {"one", "stop", "three", "four"}) dialer->conn->Send(f);
  ASSERT_TRUE(RunUntil([&] { return closed.has_value() && dialer->closed.has_value(); }));
  EXPECT_EQ(got, (std::vector<std::string>{"one", "stop"}));
  EXPECT_EQ(closed->code(), StatusCode::kCancelled);
}

TEST_F(TlsTransportTest, StopClosesLiveConnections) {
  auto& a = MakeTransport(*key_a_);
  auto& b = MakeTransport(*key_b_);
  auto p = Connect(a, b, id_b_);
  ASSERT_TRUE(p.dialer && p.listener);
  b.Stop();
  ASSERT_TRUE(RunUntil([&] { return p.listener->closed && p.dialer->closed; }));
  EXPECT_EQ(p.listener->closed->code(), StatusCode::kCancelled);
  EXPECT_EQ(p.dialer->closed->code(), StatusCode::kUnavailable);
  // The listener is gone too.
  auto r = DialAndWait(a, b_address_[&b], id_b_);
  EXPECT_EQ(r->status().code(), StatusCode::kUnavailable);
}

TEST_F(TlsTransportTest, Ipv6LoopbackAndHostName) {
  auto& a = MakeTransport(*key_a_);
  auto& b = MakeTransport(*key_b_);
  std::vector<std::shared_ptr<MeshConnection>> accepted;
  std::vector<Failure> failures;
  boost::system::error_code ec;
  {
    tcp::acceptor probe(io_);
    probe.open(tcp::v6(), ec);
    if (!ec) probe.bind(tcp::endpoint(asio::ip::make_address("::1"), 0), ec);
  }
  if (ec) GTEST_SKIP() << "no IPv6 loopback: " << ec.message();
  const std::string v6 = Listen(b, &accepted, &failures, "::1");
  ASSERT_EQ(v6.rfind("[::1]:", 0), 0u) << v6;
  auto r = DialAndWait(a, v6, id_b_);
  ASSERT_TRUE(r && r->ok()) << r->status().ToString();
  EXPECT_EQ((**r)->remote_address(), v6);

  const std::string v4 = Listen(b, &accepted, &failures, "127.0.0.1");
  const std::string port = v4.substr(v4.rfind(':') + 1);
  auto named = DialAndWait(a, "localhost:" + port, id_b_);
  ASSERT_TRUE(named && named->ok()) << named->status().ToString();
  EXPECT_EQ((**named)->remote_address(), v4);
}

TEST_F(TlsTransportTest, ListenRejectsNonIp) {
  auto& b = MakeTransport(*key_b_);
  EXPECT_EQ(b.Listen("localhost", 0, nullptr, nullptr).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(TlsTransportTest, PeerCloseIsReported) {
  auto& a = MakeTransport(*key_a_);
  auto& b = MakeTransport(*key_b_);
  auto p = Connect(a, b, id_b_);
  ASSERT_TRUE(p.dialer && p.listener);
  p.listener->conn->Close("done");
  ASSERT_TRUE(RunUntil([&] { return p.listener->closed && p.dialer->closed; }));
  EXPECT_EQ(p.dialer->closed->code(), StatusCode::kUnavailable);
  EXPECT_EQ(p.listener->closed->message(), "done");
}

}  // namespace
}  // namespace peat::mesh
