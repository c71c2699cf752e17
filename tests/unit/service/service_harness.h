// ServiceHarness: drives the document, typed-collection and Subscribe services through a real
// RpcRouter over in-memory exchanges, backed by a FakeDocumentStore, for unit tests; Register()
// adds other services (e.g. the peer service over a fake mesh).
//
// The test thread runs the io_context (the "connection thread"); handlers that answer on the
// blocking pool and store writer threads hop back onto it through the ServerCall. RunUntil()
// runs the io_context until a predicate holds (waiting on the io_context, never sleeping), so a
// test can wait for an answer produced on another thread.
#pragma once

#include <google/protobuf/message.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "peat/sidecar/v1/sidecar.pb.h"
#include "rpc/envelope.h"
#include "rpc/fake_exchange.h"
#include "rpc/message_codec.h"
#include "rpc/method_table.h"
#include "rpc/rpc_metrics.h"
#include "rpc/rpc_router.h"
#include "rpc/stream_registry.h"
#include "service/document_service.h"
#include "service/fake_document_store.h"
#include "service/sidecar_service.h"
#include "service/subscribe_service.h"
#include "service/typed_collection_service.h"

namespace peat::service::testing {

// A FakeExchange whose transport backlog (PendingBytes) the test controls, to play a slow
// consumer. PendingBytes is read from other threads (the snapshot runs on the blocking pool).
class TestExchange : public rpc::testing::FakeExchange {
 public:
  using FakeExchange::FakeExchange;
  size_t PendingBytes() const override {
    pending_queries.fetch_add(1, std::memory_order_relaxed);
    return pending_bytes.load(std::memory_order_relaxed);
  }
  std::atomic<size_t> pending_bytes{0};
  mutable std::atomic<int> pending_queries{0};
};

// Incrementally decodes the DocumentChange messages of a server stream (gRPC or Connect
// streaming, proto or JSON) from a TestExchange, and its end status.
class StreamReader {
 public:
  StreamReader(std::shared_ptr<TestExchange> ex, rpc::Codec codec)
      : ex_(std::move(ex)), codec_(codec) {}

  // Decodes whatever arrived since the last call. Call on the io thread (or while it is idle).
  const std::vector<peat::sidecar::v1::DocumentChange>& Poll() {
    for (; next_event_ < ex_->events.size(); ++next_event_) {
      if (ex_->events[next_event_].kind == rpc::testing::FakeExchange::Kind::kStreamData) {
        buf_ += ex_->events[next_event_].body;
      }
    }
    while (buf_.size() - offset_ >= rpc::kEnvelopeHeaderSize) {
      const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + offset_);
      uint32_t len = (uint32_t{p[1]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 8) | p[4];
      if (buf_.size() - offset_ - rpc::kEnvelopeHeaderSize < len) break;
      uint8_t flags = p[0];
      std::string_view payload(buf_.data() + offset_ + rpc::kEnvelopeHeaderSize, len);
      offset_ += rpc::kEnvelopeHeaderSize + len;
      if (flags == 0) {
        peat::sidecar::v1::DocumentChange change;
        Status st = rpc::DecodeMessage(codec_, payload, &change);
        EXPECT_TRUE(st.ok()) << st.ToString();
        changes_.push_back(std::move(change));
      } else if (flags == rpc::kEnvelopeConnectEndStream) {
        connect_end_ = std::string(payload);
      } else {
        ADD_FAILURE() << "unexpected envelope flags " << int{flags};
      }
    }
    if (offset_ > (1 << 16)) {
      buf_.erase(0, offset_);
      offset_ = 0;
    }
    return changes_;
  }
  const std::vector<peat::sidecar::v1::DocumentChange>& changes() { return Poll(); }
  // The Connect end-stream envelope's payload ("{}" or {"error":...}), once received.
  const std::optional<std::string>& connect_end() {
    Poll();
    return connect_end_;
  }
  TestExchange& exchange() { return *ex_; }

 private:
  std::shared_ptr<TestExchange> ex_;
  rpc::Codec codec_;
  size_t next_event_ = 0;
  std::string buf_;
  size_t offset_ = 0;
  std::vector<peat::sidecar::v1::DocumentChange> changes_;
  std::optional<std::string> connect_end_;
};

// grpc-status / grpc-message of a gRPC response, from the trailers or a trailers-only response.
inline std::optional<std::string> GrpcHeader(const TestExchange& ex, std::string_view name) {
  if (auto t = ex.Trailer(name)) return t;
  for (const auto& e : ex.events) {
    if (e.kind == rpc::testing::FakeExchange::Kind::kSendResponse) {
      return rpc::testing::FakeExchange::Find(e.headers, name);
    }
  }
  return std::nullopt;
}

class ServiceHarness {
 public:
  using Mode = store::testing::FakeDocumentStore::Mode;

  // `pool_threads` > 1 makes SyncBlockingPool() unreliable; use it only where tests need it.
  // `snapshot_pool_threads` > 0 runs Subscribe snapshots on their own pool, as the node does
  // (node.cc); 0 shares `pool` (so SyncBlockingPool() also waits for snapshots).
  explicit ServiceHarness(Mode mode = Mode::kInline, SubscriberLimits limits = {},
                          int pool_threads = 1, int snapshot_pool_threads = 0)
      : store(mode), pool(pool_threads) {
    if (snapshot_pool_threads > 0) snapshot_pool.emplace(snapshot_pool_threads);
    RegisterDocumentService(table, store, pool);
    RegisterTypedCollectionService(table, store, pool);
    RegisterSubscribeService(table, store, snapshot_pool ? *snapshot_pool : pool,
                             &subscriber_metrics, limits);
    BuildRouter();
  }

  // Registers more methods (e.g. the peer service over a fake mesh); call before any request.
  void Register(const std::function<void(rpc::MethodTable&)>& add) {
    add(table);
    BuildRouter();  // the router indexes its methods when built
  }

  ~ServiceHarness() {
    // Unblock paused scans, end open calls (their cancel hooks stop subscribers), wait for the
    // blocking pool, then flush what it posted back.
    store.Shutdown();
    for (auto& ex : exchanges_) {
      boost::asio::post(io, [ex] { ex->Cancel(); });
    }
    io.restart();
    io.poll();
    pool.join();
    io.restart();
    io.poll();
    work_.reset();
  }

  // Starts a call (the router runs when the io_context next runs).
  std::shared_ptr<TestExchange> Start(const std::string& method, const std::string& content_type,
                                      std::string body, bool http2 = false,
                                      rpc::HeaderList extra = {}) {
    rpc::HttpRequest req;
    req.method = "POST";
    req.path = std::string(kSidecarServicePath) + method;
    req.headers.emplace_back("content-type", content_type);
    for (auto& h : extra) req.headers.push_back(std::move(h));
    req.body = std::move(body);
    req.http2 = http2;
    auto ex = std::make_shared<TestExchange>(io, std::move(req));
    exchanges_.push_back(ex);
    boost::asio::post(io, [this, ex] { router->Handle(ex); });
    return ex;
  }

  // Runs the io_context until `pred` holds or `timeout` passes; returns pred().
  bool RunUntil(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    io.restart();
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return pred();
      // Run what is ready, then check again; if nothing is, wait for the next handler.
      if (io.poll() == 0) io.run_one_for(std::chrono::milliseconds(50));
    }
    return true;
  }
  // Waits until every task posted to the blocking pool so far has run (the pool has one thread,
  // so a marker task runs after all earlier ones).
  void SyncBlockingPool() {
    std::promise<void> ran;
    auto done = ran.get_future();
    boost::asio::post(pool, [&ran] { ran.set_value(); });
    ASSERT_EQ(done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  }

  // Runs every handler that is ready now.
  void Poll() {
    io.restart();
    io.poll();
  }

  // A unary Connect JSON call, run to completion.
  std::shared_ptr<TestExchange> CallJson(const std::string& method, std::string body) {
    auto ex = Start(method, "application/json", std::move(body));
    EXPECT_TRUE(RunUntil([&] { return ex->ended(); })) << method << " did not answer";
    EXPECT_EQ(ex->violations, 0);
    return ex;
  }

  // A server stream over gRPC (binary protobuf), started but not run.
  std::shared_ptr<TestExchange> StartGrpcStream(const std::string& method,
                                                const google::protobuf::Message& req,
                                                rpc::HeaderList extra = {}) {
    std::string body;
    rpc::AppendEnvelope(body, 0, req.SerializeAsString());
    return Start(method, "application/grpc", std::move(body), /*http2=*/true, std::move(extra));
  }

  // Declaration order matters: the io_context outlives everything that posts to it; the pool
  // is joined (destructor) before the store it scans goes away.
  // Calls that are still open reference the metrics and the stream registry.
  boost::asio::io_context io;
  rpc::RpcMetrics metrics;
  rpc::StreamRegistry streams{&metrics.open_streams};
  SubscriberMetrics subscriber_metrics;  // `active` counts live Subscriber objects
  store::testing::FakeDocumentStore store;
  boost::asio::thread_pool pool;  // one thread by default: see SyncBlockingPool()
  std::optional<boost::asio::thread_pool> snapshot_pool;
  rpc::MethodTable table;
  std::unique_ptr<rpc::RpcRouter> router;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io.get_executor()};
  std::vector<std::shared_ptr<TestExchange>> exchanges_;

  void BuildRouter() {
    router = std::make_unique<rpc::RpcRouter>(table, rpc::RouterOptions{}, metrics, streams,
                                              rpc::OpsHooks{});
  }
};

}  // namespace peat::service::testing
