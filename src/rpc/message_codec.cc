#include "rpc/message_codec.h"

#include <google/protobuf/util/json_util.h>

#include "rpc/enum_check.h"
#include "rpc/flat_json_decoder.h"
#include "rpc/json_shape_check.h"

namespace peat::rpc {

Status DecodeMessage(Codec codec, std::string_view bytes, google::protobuf::Message* out) {
  if (codec == Codec::kProto) {
    if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return InvalidArgumentError("malformed protobuf request message");
    }
    return CheckEnumValues(out);
  }
  if (!TryDecodeFlatJson(bytes, out)) {  // the general path: protobuf's parser and its errors
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    auto st = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(bytes.data(), bytes.size()), out, options);
    if (!st.ok()) {
      // Protobuf's words for a value of the wrong type name its internals ("Starting an object on
      // a scalar field"); say it plainly when the body shows what is wrong.
      if (auto why = ExplainJsonRejection(bytes, *out->GetDescriptor())) {
        return InvalidArgumentError(*why);
      }
      return InvalidArgumentError("malformed JSON request message: " + std::string(st.message()));
    }
  }
  // ignore_unknown_fields also turns an unknown enum NAME into 0 silently: look at the text. Then
  // unknown numbers (kept in proto3's open enums), which also resets the defaulting fields.
  if (!HasEnumFields(*out)) return Status::Ok();
  PEAT_RETURN_IF_ERROR(CheckJsonEnumValues(bytes, *out->GetDescriptor()));
  return CheckEnumValues(out);
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
