// MethodTable: the RPC methods the server exposes, keyed by HTTP path ("/pkg.Service/Method").
//
// Handlers are written once against typed request messages; the protocol adapters decode the
// request, create the ServerCall and invoke the handler on the connection's executor. Build the
// table before the server starts; afterwards it is read-only and safe to share between threads.
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"
#include "rpc/server_call.h"

namespace peat::rpc {

// kBidiStreaming: a stream of requests and a stream of responses, full duplex over gRPC, Connect
// streaming or binary gRPC-Web on HTTP/2 (RpcRouter::StreamsRequestBody); over HTTP/1.1 the
// request stream arrives whole, so the call is half duplex. gRPC-Web text cannot carry it.
enum class MethodKind { kUnary, kServerStreaming, kBidiStreaming };

struct MethodSpec {
  std::string path;
  MethodKind kind = MethodKind::kUnary;
  const google::protobuf::Message* request_prototype = nullptr;
  // Receives the decoded request (its dynamic type is that of request_prototype). A bidirectional
  // method's handler runs once per request message, in order, on the connection's executor, all
  // with the same call, and once more with a null request when the client has sent its last one;
  // it finishes the call when it is done (at the latest then).
  std::function<void(const std::shared_ptr<ServerCall>&,
                     std::unique_ptr<google::protobuf::Message>)>
      handler;
};

class MethodTable {
 public:
  void Add(MethodSpec spec);
  const MethodSpec* Find(std::string_view path) const;
  size_t size() const { return methods_.size(); }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [path, spec] : methods_) fn(spec);
  }

  // A unary handler that answers synchronously on the connection thread (cheap, non-blocking work).
  template <typename Req, typename Resp>
  void AddUnary(std::string path, std::function<Status(const Req&, Resp*)> fn) {
    Add(MethodSpec{std::move(path), MethodKind::kUnary, &Req::default_instance(),
                   [fn = std::move(fn)](const std::shared_ptr<ServerCall>& call,
                                        std::unique_ptr<google::protobuf::Message> req) {
                     auto resp = std::make_unique<Resp>();
                     Status st = fn(static_cast<const Req&>(*req), resp.get());
                     if (st.ok()) {
                       call->Reply(std::move(resp));
                     } else {
                       call->Finish(std::move(st));
                     }
                   }});
  }

  // A bidirectional stream: `fn` gets each request in turn, then nullptr at the end of the
  // client's stream (see MethodSpec::handler).
  template <typename Req>
  void AddBidi(std::string path,
               std::function<void(const std::shared_ptr<ServerCall>&, const Req*)> fn) {
    Add(MethodSpec{std::move(path), MethodKind::kBidiStreaming, &Req::default_instance(),
                   [fn = std::move(fn)](const std::shared_ptr<ServerCall>& call,
                                        std::unique_ptr<google::protobuf::Message> req) {
                     fn(call, static_cast<const Req*>(req.get()));
                   }});
  }

  // A handler that answers later, possibly from another thread, through the ServerCall. A
  // server-streaming handler refuses a request by finishing the call before it returns; returning
  // with the call open accepts it, and its response headers go out at once (rpc_router.h).
  template <typename Req>
  void AddAsync(std::string path, MethodKind kind,
                std::function<void(const std::shared_ptr<ServerCall>&, const Req&)> fn) {
    Add(MethodSpec{std::move(path), kind, &Req::default_instance(),
                   [fn = std::move(fn)](const std::shared_ptr<ServerCall>& call,
                                        std::unique_ptr<google::protobuf::Message> req) {
                     fn(call, static_cast<const Req&>(*req));
                   }});
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, MethodSpec, Hash, std::equal_to<>> methods_;
};

}  // namespace peat::rpc
