#include "rpc/connect_protocol.h"

#include "common/json_string.h"
#include "rpc/call_timeout.h"
#include "rpc/envelope.h"
#include "rpc/gzip.h"

namespace peat::rpc {

int ConnectHttpStatus(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kCancelled:
      return 499;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kFailedPrecondition:
      return 400;
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kUnauthenticated:
      return 401;
    default:
      return 500;  // unknown, internal, data_loss
  }
}

std::string ConnectErrorJson(const Status& status) {
  std::string out = "{\"code\":\"";
  out += StatusCodeName(status.code());
  out += "\"";
  if (!status.message().empty()) {
    out += ",\"message\":";
    AppendJsonString(&out, status.message());
  }
  out += "}";
  return out;
}

void SendConnectUnaryError(HttpExchange& exchange, const Status& status, int http_status,
                           HeaderList extra_headers) {
  extra_headers.emplace_back("content-type", "application/json");
  exchange.SendResponse(http_status, std::move(extra_headers), ConnectErrorJson(status));
}

namespace {

const char* UnaryContentType(Codec codec) {
  return codec == Codec::kJson ? "application/json" : "application/proto";
}
const char* StreamContentType(Codec codec) {
  return codec == Codec::kJson ? "application/connect+json" : "application/connect+proto";
}

class ConnectUnaryEncoder : public CallEncoder {
 public:
  ConnectUnaryEncoder(std::shared_ptr<HttpExchange> exchange, Codec codec, HeaderList extra)
      : exchange_(std::move(exchange)), codec_(codec), extra_(std::move(extra)) {}

  // A unary response is one piece (its HTTP status depends on the outcome): nothing to send early.
  void SendHeaders() override {}

  void SendMessage(const google::protobuf::Message& msg) override {
    body_ = EncodeMessage(codec_, msg);
  }

  void Finish(const Status& status) override {
    if (!status.ok()) {
      SendConnectUnaryError(*exchange_, status, ConnectHttpStatus(status.code()),
                            std::move(extra_));
      return;
    }
    extra_.emplace_back("content-type", UnaryContentType(codec_));
    exchange_->SendResponse(200, std::move(extra_), std::move(body_));
  }

 private:
  std::shared_ptr<HttpExchange> exchange_;
  Codec codec_;
  HeaderList extra_;
  std::string body_;
};

class ConnectStreamEncoder : public CallEncoder {
 public:
  ConnectStreamEncoder(std::shared_ptr<HttpExchange> exchange, Codec codec, HeaderList extra)
      : exchange_(std::move(exchange)), codec_(codec), extra_(std::move(extra)) {}

  void SendHeaders() override {
    if (started_) return;
    started_ = true;
    extra_.emplace_back("content-type", StreamContentType(codec_));
    exchange_->StartStream(200, std::move(extra_));
  }

  void SendMessage(const google::protobuf::Message& msg) override {
    SendHeaders();
    std::string frame;
    AppendEnvelope(frame, 0, EncodeMessage(codec_, msg));
    exchange_->StreamData(std::move(frame));
  }

  void Finish(const Status& status) override {
    SendHeaders();
    std::string end = status.ok() ? "{}" : "{\"error\":" + ConnectErrorJson(status) + "}";
    std::string frame;
    AppendEnvelope(frame, kEnvelopeConnectEndStream, end);
    exchange_->StreamData(std::move(frame));
    exchange_->EndStream({});
  }

 private:
  std::shared_ptr<HttpExchange> exchange_;
  Codec codec_;
  HeaderList extra_;
  bool started_ = false;
};

class ConnectAdapter : public ProtocolAdapter {
 public:
  ConnectAdapter(Codec codec, bool stream)
      : ProtocolAdapter("connect-timeout-ms", ParseConnectTimeoutMs),
        codec_(codec),
        stream_(stream) {}

  Status DecodeRequest(const HttpRequest& req, size_t max,
                       google::protobuf::Message* out) const override {
    if (stream_) {
      return DecodeEnvelopedRequest(req, req.body, "connect-content-encoding", codec_, max, out);
    }
    // Unary: the body is the message.
    std::string_view body = req.body;
    std::string inflated;
    if (auto enc = req.Header("content-encoding"); enc && *enc != "identity") {
      if (*enc != "gzip") {
        return UnimplementedError("unsupported content-encoding \"" + std::string(*enc) + "\"");
      }
      PEAT_ASSIGN_OR_RETURN(inflated, GzipDecompress(body, max));
      body = inflated;
    }
    if (body.size() > max) {
      return ResourceExhaustedError("request message of " + std::to_string(body.size()) +
                                    " bytes exceeds --max-message-bytes (" + std::to_string(max) +
                                    ")");
    }
    return DecodeMessage(codec_, body, out);
  }

  bool CarriesRequestStream() const override { return stream_; }
  Status DecodeStreamMessage(const HttpRequest& req, const Envelope& envelope, size_t max,
                             google::protobuf::Message* out) const override {
    if (!stream_) return ProtocolAdapter::DecodeStreamMessage(req, envelope, max, out);
    return DecodeEnvelope(req, envelope, "connect-content-encoding", codec_, max, out);
  }

  std::unique_ptr<CallEncoder> MakeEncoder(std::shared_ptr<HttpExchange> exchange,
                                           HeaderList extra_headers) const override {
    return stream_ ? MakeConnectStreamEncoder(std::move(exchange), codec_, std::move(extra_headers))
                   : MakeConnectUnaryEncoder(std::move(exchange), codec_, std::move(extra_headers));
  }

 private:
  Codec codec_;
  bool stream_;
};

}  // namespace

std::unique_ptr<CallEncoder> MakeConnectUnaryEncoder(std::shared_ptr<HttpExchange> exchange,
                                                     Codec codec, HeaderList extra_headers) {
  return std::make_unique<ConnectUnaryEncoder>(std::move(exchange), codec,
                                               std::move(extra_headers));
}

std::unique_ptr<CallEncoder> MakeConnectStreamEncoder(std::shared_ptr<HttpExchange> exchange,
                                                      Codec codec, HeaderList extra_headers) {
  return std::make_unique<ConnectStreamEncoder>(std::move(exchange), codec,
                                                std::move(extra_headers));
}

const ProtocolAdapter& ConnectUnaryProtocol(Codec codec) {
  static const ConnectAdapter kJson(Codec::kJson, /*stream=*/false);
  static const ConnectAdapter kProto(Codec::kProto, /*stream=*/false);
  return codec == Codec::kJson ? kJson : kProto;
}

const ProtocolAdapter& ConnectStreamProtocol(Codec codec) {
  static const ConnectAdapter kJson(Codec::kJson, /*stream=*/true);
  static const ConnectAdapter kProto(Codec::kProto, /*stream=*/true);
  return codec == Codec::kJson ? kJson : kProto;
}

}  // namespace peat::rpc
