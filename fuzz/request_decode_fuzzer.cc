// DecodeMessage (rpc/message_codec.h) on API request messages, JSON and binary, with its
// descriptor-driven checks (rpc/enum_check.h, rpc/json_shape_check.h):
//
//   byte 0  bit 0: codec (0 JSON, 1 binary); bits 1-4: message type (kTypes, modulo its size)
//   rest    the message
//
// Invariants (a violation traps):
// - the answer is OK or INVALID_ARGUMENT with a message;
// - after OK every enum value in the message, at any depth, is declared (no open-enum number
//   reaches a handler);
// - a decoded message round-trips: binary encode + decode gives the same bytes; JSON encode,
//   decode, encode gives the same text;
// - JSON against protobuf's own parser (unknown fields ignored): when protobuf refuses the text,
//   so does DecodeMessage; when protobuf takes it, DecodeMessage gives the same message (with an
//   unknown AttachmentPriority reset to the default) or refuses it for an unknown enum value or
//   for not being strict JSON; words for a wrong type only ever explain a text protobuf refused.
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "fuzz_check.h"
#include "peat/sidecar/v1/sidecar.pb.h"
#include "rpc/message_codec.h"

namespace {

namespace pb = peat::sidecar::v1;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using peat::Status;
using peat::StatusCode;
using peat::rpc::Codec;
using peat::rpc::DecodeMessage;
using peat::rpc::EncodeMessage;

const Message* const kTypes[] = {
    &pb::SetCollectionConfigRequest::default_instance(),
    &pb::PutNodeRequest::default_instance(),
    &pb::PutCellRequest::default_instance(),
    &pb::PutTrackRequest::default_instance(),
    &pb::PutCommandRequest::default_instance(),
    &pb::SendAttachmentsRequest::default_instance(),
    &pb::SubscribeRequest::default_instance(),
    &pb::PutDocumentRequest::default_instance(),
    &pb::GetNodesResponse::default_instance(),
    &pb::ListCollectionConfigsResponse::default_instance(),
};

// Every enum value of `m`, at any depth, has a descriptor.
bool AllEnumsDeclared(const Message& m) {
  const auto* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < n; ++i) {
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
        const int v = f->is_repeated() ? r->GetRepeatedEnumValue(m, f, i) : r->GetEnumValue(m, f);
        if (f->enum_type()->FindValueByNumber(v) == nullptr) return false;
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (!AllEnumsDeclared(f->is_repeated() ? r->GetRepeatedMessage(m, f, i)
                                               : r->GetMessage(m, f))) {
          return false;
        }
      }
    }
  }
  return true;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

void CheckJsonAgainstProtobuf(const Message& prototype, std::string_view json, const Status& ours,
                              const Message& decoded) {
  std::unique_ptr<Message> theirs(prototype.New());
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const bool protobuf_ok =
      google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(json.data(), json.size()), theirs.get(), options)
          .ok();
  if (!protobuf_ok) {
    FUZZ_CHECK(!ours.ok());
    return;
  }
  if (!ours.ok()) {
    FUZZ_CHECK(ours.message().find(": unknown enum value ") != std::string::npos ||
               StartsWith(ours.message(), "malformed JSON request message: "));
    return;
  }
  if (theirs->GetDescriptor() == pb::SendAttachmentsRequest::descriptor()) {
    auto& send = static_cast<pb::SendAttachmentsRequest&>(*theirs);
    if (!pb::AttachmentPriority_IsValid(send.priority())) {
      send.set_priority(pb::ATTACHMENT_PRIORITY_UNSPECIFIED);
    }
  }
  FUZZ_CHECK(theirs->SerializeAsString() == decoded.SerializeAsString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);  // protobuf logs parse errors to stderr
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  const Codec codec = (data[0] & 1) ? Codec::kProto : Codec::kJson;
  const Message& prototype = *kTypes[(data[0] >> 1) % std::size(kTypes)];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  std::unique_ptr<Message> out(prototype.New());
  const Status st = DecodeMessage(codec, body, out.get());
  FUZZ_CHECK(st.ok() || (st.code() == StatusCode::kInvalidArgument && !st.message().empty()));
  if (codec == Codec::kJson) CheckJsonAgainstProtobuf(prototype, body, st, *out);
  if (!st.ok()) return 0;
  FUZZ_CHECK(AllEnumsDeclared(*out));

  const std::string again = EncodeMessage(codec, *out);
  std::unique_ptr<Message> back(prototype.New());
  const Status st2 = DecodeMessage(codec, again, back.get());
  FUZZ_CHECK(st2.ok());
  FUZZ_CHECK(EncodeMessage(codec, *back) == again);
  return 0;
}
