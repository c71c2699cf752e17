#include "rpc/message_codec.h"

#include <google/protobuf/util/json_util.h>

namespace peat::rpc {

Status DecodeMessage(Codec codec, std::string_view bytes, google::protobuf::Message* out) {
  if (codec == Codec::kProto) {
    if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return InvalidArgumentError("malformed protobuf request message");
    }
    return Status::Ok();
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(bytes.data(), bytes.size()), out, options);
  if (!st.ok()) {
    return InvalidArgumentError("malformed JSON request message: " + std::string(st.message()));
  }
  return Status::Ok();
}

std::string EncodeMessage(Codec codec, const google::protobuf::Message& msg) {
  std::string out;
  if (codec == Codec::kProto) {
    msg.SerializeToString(&out);
  } else {
    google::protobuf::util::JsonPrintOptions options;
    (void)google::protobuf::util::MessageToJsonString(msg, &out, options);
  }
  return out;
}

}  // namespace peat::rpc
