// A message type built at run time for the enum and JSON shape tests: the shapes sidecar.proto does
// not have (repeated enums, maps with enum and message values, a custom json_name).
//
//   enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; COLOR_BLUE = 2; }
//   message Swatch { Color color = 1; string label = 2; }
//   message Palette {
//     repeated Color colors = 1;
//     map<string, Color> by_name = 2;
//     map<int32, Swatch> swatches = 3;
//     Color accent = 4 [json_name = "xyz"];
//     repeated Swatch list = 5;
//     string note = 6;
//   }
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/text_format.h>

#include <cstdlib>
#include <memory>

namespace peat::rpc::testing {

// The pool and factory live for the whole test binary.
inline const google::protobuf::Message& PalettePrototype() {
  static const google::protobuf::Message* prototype = [] {
    google::protobuf::FileDescriptorProto file;
    const bool parsed = google::protobuf::TextFormat::ParseFromString(
        R"pb(
          name: "palette.proto"
          package: "t"
          syntax: "proto3"
          enum_type {
            name: "Color"
            value { name: "COLOR_UNSPECIFIED" number: 0 }
            value { name: "COLOR_RED" number: 1 }
            value { name: "COLOR_BLUE" number: 2 }
          }
          message_type {
            name: "Swatch"
            field {
              name: "color"
              number: 1
              label: LABEL_OPTIONAL
              type: TYPE_ENUM
              type_name: ".t.Color"
              json_name: "color"
            }
            field {
              name: "label"
              number: 2
              label: LABEL_OPTIONAL
              type: TYPE_STRING
              json_name: "label"
            }
          }
          message_type {
            name: "Palette"
            field {
              name: "colors"
              number: 1
              label: LABEL_REPEATED
              type: TYPE_ENUM
              type_name: ".t.Color"
              json_name: "colors"
            }
            field {
              name: "by_name"
              number: 2
              label: LABEL_REPEATED
              type: TYPE_MESSAGE
              type_name: ".t.Palette.ByNameEntry"
              json_name: "byName"
            }
            field {
              name: "swatches"
              number: 3
              label: LABEL_REPEATED
              type: TYPE_MESSAGE
              type_name: ".t.Palette.SwatchesEntry"
              json_name: "swatches"
            }
            field {
              name: "accent"
              number: 4
              label: LABEL_OPTIONAL
              type: TYPE_ENUM
              type_name: ".t.Color"
              json_name: "xyz"
            }
            field {
              name: "list"
              number: 5
              label: LABEL_REPEATED
              type: TYPE_MESSAGE
              type_name: ".t.Swatch"
              json_name: "list"
            }
            field {
              name: "note"
              number: 6
              label: LABEL_OPTIONAL
              type: TYPE_STRING
              json_name: "note"
            }
            nested_type {
              name: "ByNameEntry"
              options { map_entry: true }
              field {
                name: "key"
                number: 1
                label: LABEL_OPTIONAL
                type: TYPE_STRING
                json_name: "key"
              }
              field {
                name: "value"
                number: 2
                label: LABEL_OPTIONAL
                type: TYPE_ENUM
                type_name: ".t.Color"
                json_name: "value"
              }
            }
            nested_type {
              name: "SwatchesEntry"
              options { map_entry: true }
              field {
                name: "key"
                number: 1
                label: LABEL_OPTIONAL
                type: TYPE_INT32
                json_name: "key"
              }
              field {
                name: "value"
                number: 2
                label: LABEL_OPTIONAL
                type: TYPE_MESSAGE
                type_name: ".t.Swatch"
                json_name: "value"
              }
            }
          }
        )pb",
        &file);
    static google::protobuf::DescriptorPool pool;
    const google::protobuf::FileDescriptor* fd = parsed ? pool.BuildFile(file) : nullptr;
    if (fd == nullptr) std::abort();
    static google::protobuf::DynamicMessageFactory factory(&pool);
    return factory.GetPrototype(fd->FindMessageTypeByName("Palette"));
  }();
  return *prototype;
}

inline std::unique_ptr<google::protobuf::Message> NewPalette() {
  return std::unique_ptr<google::protobuf::Message>(PalettePrototype().New());
}

}  // namespace peat::rpc::testing
