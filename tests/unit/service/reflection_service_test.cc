// gRPC server reflection: the answers of ReflectionIndex over a pool built here (imports, a private
// file, proto2 extensions), and the registered v1 / v1alpha methods over the generated pool,
// driven through the router as bidirectional gRPC streams.
#include "service/reflection_service.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/empty.pb.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "grpc/reflection/v1alpha/reflection.pb.h"
#include "peat/sidecar/v1/sidecar.pb.h"
#include "rpc/envelope.h"
#include "rpc/fake_exchange.h"
#include "rpc/rpc_metrics.h"
#include "rpc/rpc_router.h"
#include "rpc/stream_registry.h"
#include "service/health_service.h"

namespace peat::service {
namespace {

namespace gpb = google::protobuf;
namespace rpb = grpc::reflection::v1;

constexpr int kNotFound = 5;
constexpr int kInvalidArgument = 3;

// test/echo/v1/echo.proto imports google/protobuf/empty.proto and test/ext/v1/more.proto, which
// imports test/ext/v1/base.proto (proto2: Base has an extension range, more.proto extends it with
// field 150; Ping returns more.proto's More, which holds a Base). test/private/v1/secret.proto is
// in the pool but no served service needs it.
class ReflectionIndexTest : public ::testing::Test {
 protected:
  ReflectionIndexTest() {
    gpb::FileDescriptorProto empty;
    gpb::Empty::descriptor()->file()->CopyTo(&empty);
    Build(empty);
    Build(R"pb(
      name: "test/ext/v1/base.proto"
      package: "test.ext.v1"
      syntax: "proto2"
      message_type {
        name: "Base"
        field { name: "id" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
        extension_range { start: 100 end: 200 }
      }
    )pb");
    Build(R"pb(
      name: "test/ext/v1/more.proto"
      package: "test.ext.v1"
      syntax: "proto2"
      dependency: "test/ext/v1/base.proto"
      message_type {
        name: "More"
        field {
          name: "base"
          number: 1
          label: LABEL_OPTIONAL
          type: TYPE_MESSAGE
          type_name: ".test.ext.v1.Base"
        }
      }
      extension {
        name: "more"
        number: 150
        label: LABEL_OPTIONAL
        type: TYPE_INT32
        extendee: ".test.ext.v1.Base"
      }
    )pb");
    Build(R"pb(
      name: "test/echo/v1/echo.proto"
      package: "test.echo.v1"
      syntax: "proto3"
      dependency: "google/protobuf/empty.proto"
      dependency: "test/ext/v1/more.proto"
      service {
        name: "Echo"
        method {
          name: "Ping"
          input_type: ".google.protobuf.Empty"
          output_type: ".test.ext.v1.More"
        }
      }
    )pb");
    Build(R"pb(
      name: "test/private/v1/secret.proto"
      package: "test.private.v1"
      syntax: "proto3"
      dependency: "google/protobuf/empty.proto"
      service {
        name: "Secret"
        method {
          name: "Peek"
          input_type: ".google.protobuf.Empty"
          output_type: ".google.protobuf.Empty"
        }
      }
    )pb");
    index_ = std::make_unique<ReflectionIndex>(
        pool_, std::vector<std::string>{"test.echo.v1.Echo", "no.such.Service"});
  }

  void Build(const std::string& text) {
    gpb::FileDescriptorProto file;
    ASSERT_TRUE(gpb::TextFormat::ParseFromString(text, &file)) << text;
    Build(file);
  }
  void Build(const gpb::FileDescriptorProto& file) {
    ASSERT_NE(pool_.BuildFile(file), nullptr) << file.name();
  }

  rpb::ServerReflectionResponse Ask(const std::string& text) {
    rpb::ServerReflectionRequest req;
    EXPECT_TRUE(gpb::TextFormat::ParseFromString(text, &req)) << text;
    return index_->Answer(req);
  }

  // The names of the files in a file_descriptor_response, in order.
  static std::vector<std::string> Files(const rpb::ServerReflectionResponse& resp) {
    EXPECT_TRUE(resp.has_file_descriptor_response()) << resp.DebugString();
    std::vector<std::string> names;
    for (const auto& bytes : resp.file_descriptor_response().file_descriptor_proto()) {
      gpb::FileDescriptorProto file;
      EXPECT_TRUE(file.ParseFromString(bytes));
      names.push_back(file.name());
    }
    return names;
  }

  static void ExpectError(const rpb::ServerReflectionResponse& resp, int code,
                          const std::string& needle) {
    ASSERT_TRUE(resp.has_error_response()) << resp.DebugString();
    EXPECT_EQ(resp.error_response().error_code(), code);
    EXPECT_NE(resp.error_response().error_message().find(needle), std::string::npos)
        << resp.error_response().error_message();
  }

  gpb::DescriptorPool pool_;
  std::unique_ptr<ReflectionIndex> index_;
};

TEST_F(ReflectionIndexTest, ListsTheServedServicesThePoolKnows) {
  auto resp = Ask(R"pb(host: "node:50051" list_services: "*")pb");
  ASSERT_TRUE(resp.has_list_services_response());
  ASSERT_EQ(resp.list_services_response().service_size(), 1);
  EXPECT_EQ(resp.list_services_response().service(0).name(), "test.echo.v1.Echo");
  // The request is echoed back with the host.
  EXPECT_EQ(resp.valid_host(), "node:50051");
  EXPECT_EQ(resp.original_request().list_services(), "*");
}

TEST_F(ReflectionIndexTest, AFileComesFirstThenEveryTransitiveImportOnce) {
  auto names = Files(Ask(R"pb(file_containing_symbol: "test.echo.v1.Echo")pb"));
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(names[0], "test/echo/v1/echo.proto");
  EXPECT_EQ(std::set<std::string>(names.begin() + 1, names.end()),
            (std::set<std::string>{"google/protobuf/empty.proto", "test/ext/v1/more.proto",
                                   "test/ext/v1/base.proto"}));
  // The answer is complete: a fresh pool builds every file from it, imports first.
  auto resp = Ask(R"pb(file_containing_symbol: "test.echo.v1.Echo")pb");
  gpb::DescriptorPool fresh;
  const auto& files = resp.file_descriptor_response().file_descriptor_proto();
  for (int i = files.size() - 1; i >= 0; --i) {
    gpb::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(files[i]));
    ASSERT_NE(fresh.BuildFile(file), nullptr) << file.name();
  }
  EXPECT_NE(fresh.FindMethodByName("test.echo.v1.Echo.Ping"), nullptr);
}

TEST_F(ReflectionIndexTest, FindsMethodsMessagesAndFullyQualifiedNames) {
  EXPECT_EQ(Files(Ask(R"pb(file_containing_symbol: "test.echo.v1.Echo.Ping")pb"))[0],
            "test/echo/v1/echo.proto");
  auto base = Files(Ask(R"pb(file_containing_symbol: ".test.ext.v1.Base")pb"));
  EXPECT_EQ(base, (std::vector<std::string>{"test/ext/v1/base.proto"}));
  EXPECT_EQ(Files(Ask(R"pb(file_containing_symbol: "google.protobuf.Empty")pb"))[0],
            "google/protobuf/empty.proto");
}

TEST_F(ReflectionIndexTest, FilesByName) {
  auto names = Files(Ask(R"pb(file_by_filename: "test/ext/v1/more.proto")pb"));
  EXPECT_EQ(names, (std::vector<std::string>{"test/ext/v1/more.proto", "test/ext/v1/base.proto"}));
  EXPECT_EQ(Files(Ask(R"pb(file_by_filename: "google/protobuf/empty.proto")pb")).size(), 1u);
}

TEST_F(ReflectionIndexTest, UnknownOrUndisclosedFilesAndSymbolsAreNotFound) {
  ExpectError(Ask(R"pb(file_by_filename: "nope.proto")pb"), kNotFound, "nope.proto");
  // In the pool, but no served service needs it.
  ExpectError(Ask(R"pb(file_by_filename: "test/private/v1/secret.proto")pb"), kNotFound,
              "secret.proto");
  ExpectError(Ask(R"pb(file_containing_symbol: "test.private.v1.Secret")pb"), kNotFound,
              "test.private.v1.Secret");
  ExpectError(Ask(R"pb(file_containing_symbol: "no.such.Thing")pb"), kNotFound, "no.such.Thing");
  ExpectError(Ask(R"pb(file_containing_symbol: "")pb"), kNotFound, "symbol");
}

TEST_F(ReflectionIndexTest, Extensions) {
  auto names = Files(Ask(R"pb(file_containing_extension {
                                containing_type: "test.ext.v1.Base"
                                extension_number: 150
                              })pb"));
  EXPECT_EQ(names[0], "test/ext/v1/more.proto");
  ExpectError(Ask(R"pb(file_containing_extension {
                         containing_type: "test.ext.v1.Base"
                         extension_number: 151
                       })pb"),
              kNotFound, "extension 151");
  ExpectError(
      Ask(R"pb(file_containing_extension { containing_type: "no.Such" extension_number: 1 })pb"),
      kNotFound, "no.Such");

  auto numbers = Ask(R"pb(all_extension_numbers_of_type: "test.ext.v1.Base")pb");
  ASSERT_TRUE(numbers.has_all_extension_numbers_response()) << numbers.DebugString();
  EXPECT_EQ(numbers.all_extension_numbers_response().base_type_name(), "test.ext.v1.Base");
  EXPECT_EQ(std::vector<int>(numbers.all_extension_numbers_response().extension_number().begin(),
                             numbers.all_extension_numbers_response().extension_number().end()),
            std::vector<int>{150});
  auto none = Ask(R"pb(all_extension_numbers_of_type: "google.protobuf.Empty")pb");
  ASSERT_TRUE(none.has_all_extension_numbers_response());
  EXPECT_EQ(none.all_extension_numbers_response().extension_number_size(), 0);
  ExpectError(Ask(R"pb(all_extension_numbers_of_type: "no.Such")pb"), kNotFound, "no.Such");
  ExpectError(Ask(R"pb(all_extension_numbers_of_type: "test.private.v1.Secret")pb"), kNotFound,
              "Secret");
}

TEST_F(ReflectionIndexTest, AnEmptyRequestIsInvalidArgument) {
  ExpectError(Ask(R"pb(host: "h")pb"), kInvalidArgument, "list_services");
}

TEST(ReflectionGeneratedPoolTest, TheSidecarApiIsDescribedFromTheBinary) {
  ReflectionIndex index(*gpb::DescriptorPool::generated_pool(), {"peat.sidecar.v1.PeatSidecar"});
  rpb::ServerReflectionRequest req;
  req.set_file_containing_symbol("peat.sidecar.v1.PeatSidecar.GetStatus");
  auto resp = index.Answer(req);
  ASSERT_TRUE(resp.has_file_descriptor_response()) << resp.DebugString();
  gpb::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(resp.file_descriptor_response().file_descriptor_proto(0)));
  EXPECT_EQ(file.name(), "peat/sidecar/v1/sidecar.proto");
  // Byte for byte the descriptor compiled in.
  gpb::FileDescriptorProto compiled;
  peat::sidecar::v1::GetStatusRequest::descriptor()->file()->CopyTo(&compiled);
  EXPECT_EQ(file.SerializeAsString(), compiled.SerializeAsString());
}

// --- The registered methods, through the router ----------------------------------------------

class SlowExchange : public rpc::testing::FakeExchange {
 public:
  using FakeExchange::FakeExchange;
  size_t PendingBytes() const override { return pending; }
  size_t pending = 0;
};

class ReflectionServiceTest : public ::testing::Test {
 protected:
  ReflectionServiceTest() {
    RegisterHealthService(table_, health_);
    RegisterReflectionService(table_);
    router_ = std::make_unique<rpc::RpcRouter>(
        table_, rpc::RouterOptions{1 << 20, std::chrono::seconds(120), std::chrono::seconds(300)},
        metrics_, streams_, rpc::OpsHooks{});
  }

  std::shared_ptr<SlowExchange> Open(const std::string& service) {
    rpc::HttpRequest req;
    req.method = "POST";
    req.path = "/" + service + "/ServerReflectionInfo";
    req.headers.emplace_back("content-type", "application/grpc");
    req.http2 = true;
    auto ex = std::make_shared<SlowExchange>(io_, std::move(req));
    ex->StreamBody();
    boost::asio::post(io_, [this, ex] { router_->Handle(ex); });
    Run();
    return ex;
  }

  void Send(const std::shared_ptr<SlowExchange>& ex, const gpb::Message& msg, bool end = false) {
    std::string frame;
    rpc::AppendEnvelope(frame, 0, msg.SerializeAsString());
    boost::asio::post(io_, [ex, frame, end] { ex->FeedBody(frame, end); });
    Run();
  }
  void End(const std::shared_ptr<SlowExchange>& ex) {
    boost::asio::post(io_, [ex] { ex->FeedBody("", true); });
    Run();
  }

  void Run() {
    io_.restart();
    io_.poll();
  }

  template <typename Resp>
  static std::vector<Resp> Responses(const rpc::testing::FakeExchange& ex) {
    std::vector<Resp> out;
    const std::string body = ex.body();
    auto envs = rpc::ParseEnvelopes(body, 1 << 24);
    EXPECT_TRUE(envs.ok());
    if (!envs.ok()) return out;
    for (const auto& e : *envs) {
      Resp r;
      EXPECT_TRUE(r.ParseFromArray(e.payload.data(), static_cast<int>(e.payload.size())));
      out.push_back(std::move(r));
    }
    return out;
  }

  boost::asio::io_context io_;
  rpc::RpcMetrics metrics_;
  rpc::StreamRegistry streams_{&metrics_.open_streams};
  rpc::MethodTable table_;
  HealthState health_;
  std::unique_ptr<rpc::RpcRouter> router_;
};

TEST_F(ReflectionServiceTest, ServedServicesAreTheTablesServicesAndReflectionItself) {
  EXPECT_EQ(
      ServedServices(table_),
      (std::vector<std::string>{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                                "grpc.reflection.v1alpha.ServerReflection"}));
}

TEST_F(ReflectionServiceTest, V1AnswersEveryRequestOnOneStreamAndEndsWithTheClient) {
  auto ex = Open("grpc.reflection.v1.ServerReflection");
  rpb::ServerReflectionRequest list;
  list.set_list_services("");
  Send(ex, list);
  rpb::ServerReflectionRequest bad;  // sets nothing: an error_response, the stream goes on
  Send(ex, bad);
  rpb::ServerReflectionRequest missing;
  missing.set_file_by_filename("peat/mesh/v1/mesh.proto");  // compiled in elsewhere, never told
  Send(ex, missing);
  rpb::ServerReflectionRequest health;
  health.set_file_containing_symbol("grpc.health.v1.Health");
  Send(ex, health);
  EXPECT_FALSE(ex->ended());
  End(ex);

  auto resps = Responses<rpb::ServerReflectionResponse>(*ex);
  ASSERT_EQ(resps.size(), 4u);
  std::vector<std::string> names;
  for (const auto& s : resps[0].list_services_response().service()) names.push_back(s.name());
  EXPECT_EQ(names, ServedServices(table_));
  EXPECT_EQ(resps[1].error_response().error_code(), kInvalidArgument);
  EXPECT_EQ(resps[2].error_response().error_code(), kNotFound);
  ASSERT_EQ(resps[3].file_descriptor_response().file_descriptor_proto_size(), 1);
  gpb::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(resps[3].file_descriptor_response().file_descriptor_proto(0)));
  EXPECT_EQ(file.name(), "grpc/health/v1/health.proto");
  EXPECT_TRUE(ex->ended());
  EXPECT_EQ(ex->Trailer("grpc-status"), "0");
  EXPECT_EQ(ex->violations, 0);
}

TEST_F(ReflectionServiceTest, V1AlphaGivesTheSameAnswersInItsOwnTypes) {
  auto ex = Open("grpc.reflection.v1alpha.ServerReflection");
  grpc::reflection::v1alpha::ServerReflectionRequest req;
  req.set_host("localhost");
  req.set_file_containing_symbol("grpc.reflection.v1alpha.ServerReflection");
  Send(ex, req, /*end=*/true);
  auto resps = Responses<grpc::reflection::v1alpha::ServerReflectionResponse>(*ex);
  ASSERT_EQ(resps.size(), 1u);
  EXPECT_EQ(resps[0].valid_host(), "localhost");
  EXPECT_EQ(resps[0].original_request().file_containing_symbol(),
            "grpc.reflection.v1alpha.ServerReflection");
  gpb::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(resps[0].file_descriptor_response().file_descriptor_proto(0)));
  EXPECT_EQ(file.name(), "grpc/reflection/v1alpha/reflection.proto");
  EXPECT_EQ(ex->Trailer("grpc-status"), "0");
}

TEST_F(ReflectionServiceTest, AClientThatDoesNotReadItsAnswersIsStopped) {
  auto ex = Open("grpc.reflection.v1.ServerReflection");
  ex->pending = 2 << 20;
  rpb::ServerReflectionRequest list;
  list.set_list_services("");
  Send(ex, list);
  EXPECT_TRUE(ex->ended());
  EXPECT_EQ(ex->Trailer("grpc-status"), "8");
}

}  // namespace
}  // namespace peat::service
