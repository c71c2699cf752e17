// A bidirectional stream through RpcRouter, its body handed over in pieces by TransportExchange
// (the transports' shared body hand-over), driven by fuzz input:
//
//   byte 0  bits 0-1 content type (gRPC, Connect streaming proto, binary gRPC-Web, gRPC-Web text:
//           refused); bit 2 gzip message encoding headers; bit 3 the peer leaves after piece N;
//           bit 4 the server drains after piece N; bit 5 the body is delivered before the handler
//           reads it (all pieces queued first).
//   byte 1  seed of the piece sizes (1..16 bytes each); N = byte 1 % 8.
//   rest    the request body: envelopes as the client would send them (possibly truncated,
//           oversized, compressed or malformed).
//
// Handler (HealthCheckRequest in, HealthCheckRequest out): echoes each request's service; "end…"
// ends the call with OK; the end of the client's stream ends it with OK.
//
// Invariants (a violation traps): no exchange contract breach; unless the peer left, exactly one
// response started and ended; every echoed message equals a request the handler saw, in order;
// no stream left in the registry; and, checked by LeakSanitizer when the input is done, nothing
// kept alive (the body reader owns its call, which owns the exchange).
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"
#include "fuzz_check.h"
#include "grpc/health/v1/health.pb.h"
#include "rpc/envelope.h"
#include "rpc/http_exchange.h"
#include "rpc/method_table.h"
#include "rpc/rpc_metrics.h"
#include "rpc/rpc_router.h"
#include "rpc/stream_registry.h"

namespace {

namespace hpb = grpc::health::v1;
using peat::rpc::HeaderList;

constexpr const char* kPath = "/fuzz.Echo/Bidi";
constexpr size_t kMaxMessage = 256;

class StreamExchange : public peat::rpc::TransportExchange {
 public:
  StreamExchange(boost::asio::io_context& io, peat::rpc::HttpRequest req)
      : TransportExchange(std::move(req)), io_(io) {}
  boost::asio::any_io_executor executor() const override { return io_.get_executor(); }
  void SendResponse(int, HeaderList, std::string) override {
    if (!Writable() || started_) ++violations;
    if (!Writable()) return;
    started_ = true;
    ++starts;
    ++ends;
    MarkEnded();
  }
  void StartStream(int, HeaderList) override {
    if (!Writable()) return;
    if (started_) ++violations;
    started_ = true;
    ++starts;
  }
  void StreamData(std::string bytes) override {
    if (!Writable()) return;
    if (!started_) ++violations;
    data += bytes;
  }
  void EndStream(HeaderList) override {
    if (!Writable()) return;
    if (!started_) ++violations;
    ++ends;
    MarkEnded();
  }
  size_t PendingBytes() const override { return 0; }

  std::string data;
  int violations = 0;
  int starts = 0;
  int ends = 0;

 private:
  boost::asio::io_context& io_;
};

struct ContentType {
  const char* value;
  bool echoes;  // carries a request stream and answers in plain envelopes
};
constexpr ContentType kContentTypes[] = {
    {"application/grpc", true},
    {"application/connect+proto", true},
    {"application/grpc-web+proto", true},
    {"application/grpc-web-text", false},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t b0 = data[0];
  const uint8_t b1 = data[1];
  const ContentType& ct = kContentTypes[b0 & 3];
  const bool gzip = b0 & 0x04;
  const bool leave = b0 & 0x08;
  const bool drain = b0 & 0x10;
  const bool queued = b0 & 0x20;
  const size_t stop_after = b1 % 8;
  const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);

  boost::asio::io_context io;
  auto run_ready = [&io] {  // every ready handler, as one round of the connection's event loop
    io.restart();
    io.poll();
  };
  peat::rpc::RpcMetrics metrics;
  peat::rpc::StreamRegistry streams(&metrics.open_streams);
  peat::rpc::MethodTable table;
  std::vector<std::string> seen;
  int ends_seen = 0;
  table.AddBidi<hpb::HealthCheckRequest>(
      kPath, [&seen, &ends_seen](const std::shared_ptr<peat::rpc::ServerCall>& call,
                                 const hpb::HealthCheckRequest* req) {
        if (!req) {
          ++ends_seen;
          return call->Finish(peat::Status::Ok());
        }
        seen.push_back(req->service());
        if (req->service().rfind("end", 0) == 0) return call->Finish(peat::Status::Ok());
        auto echo = std::make_unique<hpb::HealthCheckRequest>();
        echo->set_service(req->service());
        call->Write(std::move(echo));
      });

  {
    peat::rpc::RpcRouter router(
        table,
        peat::rpc::RouterOptions{kMaxMessage, std::chrono::seconds(120), std::chrono::seconds(300)},
        metrics, streams, peat::rpc::OpsHooks{});
    peat::rpc::HttpRequest req;
    req.method = "POST";
    req.path = kPath;
    req.http2 = true;
    req.headers.emplace_back("content-type", ct.value);
    if (gzip) {
      req.headers.emplace_back("grpc-encoding", "gzip");
      req.headers.emplace_back("connect-content-encoding", "gzip");
    }
    FUZZ_CHECK(router.StreamsRequestBody(req));
    auto ex = std::make_shared<StreamExchange>(io, std::move(req));
    ex->ExpectStreamedBody();

    // The pieces: sizes 1..16 from a small generator seeded by byte 1; the last one ends the body.
    std::vector<std::string_view> pieces;
    uint32_t state = b1 * 2654435761u + 1;
    for (size_t pos = 0; pos < body.size();) {
      state = state * 1664525u + 1013904223u;
      size_t n = std::min<size_t>(body.size() - pos, 1 + (state >> 28));
      pieces.push_back(body.substr(pos, n));
      pos += n;
    }
    if (pieces.empty()) pieces.emplace_back();

    auto deliver = [&](size_t i) {
      if (leave && i == stop_after) ex->Cancel();
      if (drain && i == stop_after) streams.EndAll();
      ex->DeliverBody(pieces[i], i + 1 == pieces.size());
      run_ready();
    };
    if (queued) {
      for (size_t i = 0; i < pieces.size(); ++i) deliver(i);
      boost::asio::post(io, [&router, ex] { router.Handle(ex); });
      run_ready();
    } else {
      boost::asio::post(io, [&router, ex] { router.Handle(ex); });
      run_ready();
      for (size_t i = 0; i < pieces.size(); ++i) deliver(i);
    }
    run_ready();

    FUZZ_CHECK(ex->violations == 0);
    FUZZ_CHECK(ex->starts <= 1 && ex->ends <= 1);
    if (!ex->IsCancelled()) FUZZ_CHECK(ex->starts == 1 && ex->ends == 1);
    FUZZ_CHECK(ends_seen <= 1);
    if (!ct.echoes) FUZZ_CHECK(seen.empty());
    // Every echoed message is a request the handler saw, in order (the last envelope of gRPC-Web
    // is its trailer frame).
    const std::string echoes = ct.echoes ? ex->data : std::string();
    auto envs = peat::rpc::ParseEnvelopes(echoes, 1 << 20);
    FUZZ_CHECK(envs.ok());
    size_t echoed = 0;
    for (const auto& e : *envs) {
      if (e.flags != 0) continue;
      hpb::HealthCheckRequest r;
      FUZZ_CHECK(r.ParseFromArray(e.payload.data(), static_cast<int>(e.payload.size())));
      FUZZ_CHECK(echoed < seen.size() && r.service() == seen[echoed]);
      ++echoed;
    }
  }
  run_ready();
  FUZZ_CHECK(streams.size() == 0);
  return 0;
}
