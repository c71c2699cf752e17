#include "rpc/grpc_protocol.h"

#include <algorithm>
#include <cstdio>

#include "common/base64.h"
#include "rpc/call_timeout.h"
#include "rpc/envelope.h"
#include "rpc/message_codec.h"

namespace peat::rpc {

std::string PercentEncodeGrpcMessage(std::string_view msg) {
  std::string out;
  out.reserve(msg.size());
  for (unsigned char c : msg) {
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

namespace {

HeaderList StatusTrailers(const Status& status) {
  HeaderList t;
  t.emplace_back("grpc-status", std::to_string(static_cast<int>(status.code())));
  if (!status.message().empty()) {
    t.emplace_back("grpc-message", PercentEncodeGrpcMessage(status.message()));
  }
  return t;
}

class GrpcEncoder : public CallEncoder {
 public:
  GrpcEncoder(std::shared_ptr<HttpExchange> exchange, HeaderList extra)
      : exchange_(std::move(exchange)), extra_(std::move(extra)) {}

  void SendHeaders() override {
    if (started_) return;
    started_ = true;
    extra_.emplace_back("content-type", "application/grpc");
    extra_.emplace_back("grpc-accept-encoding", "identity,gzip");
    exchange_->StartStream(200, std::move(extra_));
  }

  void SendMessage(const google::protobuf::Message& msg) override {
    SendHeaders();
    std::string frame;
    frame.reserve(kEnvelopeHeaderSize + msg.ByteSizeLong());
    AppendEnvelope(frame, 0, msg.SerializeAsString());
    exchange_->StreamData(std::move(frame));
  }

  void Finish(const Status& status) override {
    if (!started_) {
      // Nothing sent yet (a unary error, or a stream refused before it was accepted):
      // trailers-only response, one HEADERS frame with the status, ending the stream.
      extra_.emplace_back("content-type", "application/grpc");
      for (auto& h : StatusTrailers(status)) extra_.push_back(std::move(h));
      exchange_->SendResponse(200, std::move(extra_), {});
      return;
    }
    exchange_->EndStream(StatusTrailers(status));
  }

 private:
  std::shared_ptr<HttpExchange> exchange_;
  HeaderList extra_;
  bool started_ = false;
};

class GrpcWebEncoder : public CallEncoder {
 public:
  GrpcWebEncoder(std::shared_ptr<HttpExchange> exchange, bool text, std::string content_type,
                 HeaderList extra)
      : exchange_(std::move(exchange)),
        text_(text),
        content_type_(std::move(content_type)),
        extra_(std::move(extra)) {}

  void SendHeaders() override {
    if (started_) return;
    started_ = true;
    extra_.emplace_back("content-type", content_type_);
    extra_.emplace_back("grpc-accept-encoding", "identity,gzip");
    exchange_->StartStream(200, std::move(extra_));
  }

  void SendMessage(const google::protobuf::Message& msg) override {
    SendHeaders();
    std::string frame;
    AppendEnvelope(frame, 0, EncodeMessage(Codec::kProto, msg));
    Send(std::move(frame));
  }

  void Finish(const Status& status) override {
    SendHeaders();
    std::string block;
    for (const auto& [k, v] : StatusTrailers(status)) block += k + ": " + v + "\r\n";
    std::string frame;
    AppendEnvelope(frame, kEnvelopeGrpcWebTrailers, block);
    Send(std::move(frame));
    exchange_->EndStream({});
  }

 private:
  void Send(std::string frame) {
    if (text_) {
      frame = Base64Encode(std::span(reinterpret_cast<const uint8_t*>(frame.data()), frame.size()));
    }
    exchange_->StreamData(std::move(frame));
  }

  std::shared_ptr<HttpExchange> exchange_;
  bool text_;
  std::string content_type_;
  HeaderList extra_;
  bool started_ = false;
};

// Decodes grpc-web-text: base64, possibly several padded chunks concatenated.
StatusOr<std::string> DecodeGrpcWebText(std::string_view body) {
  std::string out;
  size_t pos = 0;
  while (pos < body.size()) {
    // A chunk ends after the first 4-character group that carries padding, or at the end.
    size_t end = pos;
    while (end < body.size()) {
      size_t group_end = std::min(end + 4, body.size());
      bool padded = body.substr(end, group_end - end).find('=') != std::string_view::npos;
      end = group_end;
      if (padded) break;
    }
    auto chunk = Base64Decode(body.substr(pos, end - pos));
    if (!chunk.ok()) return InvalidArgumentError("malformed grpc-web-text body: not base64");
    out.append(chunk->begin(), chunk->end());
    pos = end;
  }
  return out;
}

// gRPC, or gRPC-Web (binary or base64 text).
class GrpcAdapter : public ProtocolAdapter {
 public:
  GrpcAdapter(bool web, bool text)
      : ProtocolAdapter("grpc-timeout", ParseGrpcTimeout), web_(web), text_(text) {}

  Status DecodeRequest(const HttpRequest& req, size_t max,
                       google::protobuf::Message* out) const override {
    if (!text_)
      return DecodeEnvelopedRequest(req, req.body, "grpc-encoding", Codec::kProto, max, out);
    PEAT_ASSIGN_OR_RETURN(std::string body, DecodeGrpcWebText(req.body));
    return DecodeEnvelopedRequest(req, body, "grpc-encoding", Codec::kProto, max, out);
  }

  // gRPC-Web text is base64 in chunks of any size: no stream of envelopes to cut.
  bool CarriesRequestStream() const override { return !text_; }
  Status DecodeStreamMessage(const HttpRequest& req, const Envelope& envelope, size_t max,
                             google::protobuf::Message* out) const override {
    if (text_) return ProtocolAdapter::DecodeStreamMessage(req, envelope, max, out);
    return DecodeEnvelope(req, envelope, "grpc-encoding", Codec::kProto, max, out);
  }

  std::unique_ptr<CallEncoder> MakeEncoder(std::shared_ptr<HttpExchange> exchange,
                                           HeaderList extra_headers) const override {
    if (!web_) return MakeGrpcEncoder(std::move(exchange), std::move(extra_headers));
    std::string content_type(exchange->request().Header("content-type").value_or(""));
    return MakeGrpcWebEncoder(std::move(exchange), text_, std::move(content_type),
                              std::move(extra_headers));
  }

 private:
  bool web_;
  bool text_;
};

}  // namespace

std::unique_ptr<CallEncoder> MakeGrpcEncoder(std::shared_ptr<HttpExchange> exchange,
                                             HeaderList extra_headers) {
  return std::make_unique<GrpcEncoder>(std::move(exchange), std::move(extra_headers));
}

std::unique_ptr<CallEncoder> MakeGrpcWebEncoder(std::shared_ptr<HttpExchange> exchange, bool text,
                                                std::string content_type,
                                                HeaderList extra_headers) {
  return std::make_unique<GrpcWebEncoder>(std::move(exchange), text, std::move(content_type),
                                          std::move(extra_headers));
}

const ProtocolAdapter& GrpcProtocol() {
  static const GrpcAdapter kGrpc(/*web=*/false, /*text=*/false);
  return kGrpc;
}

const ProtocolAdapter& GrpcWebProtocol(bool text) {
  static const GrpcAdapter kBinary(/*web=*/true, /*text=*/false);
  static const GrpcAdapter kText(/*web=*/true, /*text=*/true);
  return text ? kText : kBinary;
}

}  // namespace peat::rpc
