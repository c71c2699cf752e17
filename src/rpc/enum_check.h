// Enum values of a decoded request, checked against the message descriptor (the rpc layer knows
// descriptors, not services).
//
// proto3 enums are open: a binary message keeps a number that has no EnumValueDescriptor (say 99)
// in the field, and handlers would see it. CheckEnumValues walks a message with reflection and
// answers INVALID_ARGUMENT for the first such value, naming the field by its proto path and
// listing the accepted names:
//   config.deletion_policy: unknown enum value 99; accepted: DELETION_POLICY_UNSPECIFIED, …
// The one exception is declared below (UnknownEnumValueTakesDefault): on those fields an unknown
// value is replaced by the field's default instead. So after a successful check every enum field
// of the message holds a declared value.
//
// Messages whose descriptor tree has no enum field are not walked (HasEnumFields, cached per
// type and thread). Stateless apart from that cache; thread-safe.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <array>
#include <string>
#include <string_view>

#include "common/status.h"

namespace peat::rpc {

// Enum fields (full names) on which an unknown value, by name or number, is not an error but
// takes the field's default value (0, *_UNSPECIFIED). ATTACHMENTS.md §2 and §5: an unknown
// AttachmentPriority (e.g. 99) takes --attachment-default-priority, as in the original; a name
// this node does not know (a newer client's class) is treated the same way, so a request means
// the same in JSON and in binary.
inline constexpr std::array<std::string_view, 1> kEnumFieldsWhereUnknownTakesDefault = {
    "peat.sidecar.v1.SendAttachmentsRequest.priority",
};

// True if `field` is listed in kEnumFieldsWhereUnknownTakesDefault.
bool UnknownEnumValueTakesDefault(const google::protobuf::FieldDescriptor& field);

// True if `message` or any message type reachable through its fields (nested, repeated, map
// values, recursive) has an enum field. Cached per thread for descriptors of the generated pool.
bool HasEnumFields(const google::protobuf::Descriptor& message);
// The same for `message`'s type; for generated classes answered from a per-thread cache keyed by
// the C++ type, without asking for the descriptor (the check every decoded request pays).
bool HasEnumFields(const google::protobuf::Message& message);

// Whether `type` declares a value numbered `number` / named `name`.
bool IsDeclaredEnumValue(const google::protobuf::EnumDescriptor& type, int number);
bool IsDeclaredEnumName(const google::protobuf::EnumDescriptor& type, std::string_view name);

// "<path>: unknown enum value <shown>; accepted: NAME_A, NAME_B, …" — `shown` is the value as the
// client sent it (a number, or a name already quoted).
std::string UnknownEnumValueMessage(std::string_view path,
                                    const google::protobuf::EnumDescriptor& type,
                                    std::string_view shown);

// Every enum value in `message`, at any depth, must have an EnumValueDescriptor: INVALID_ARGUMENT
// (UnknownEnumValueMessage) for the first one that has none, except on the fields of
// kEnumFieldsWhereUnknownTakesDefault, which are reset to their default.
Status CheckEnumValues(google::protobuf::Message* message);

}  // namespace peat::rpc
