// The flat JSON fast path against protobuf's JsonStringToMessage: whenever the fast path takes a
// body, protobuf must accept it too and produce the same message (same serialized bytes); when
// it declines, the message is left empty for protobuf to decode. Checked on hand-picked edge
// cases and on 30,000 random mutations of realistic bodies (fixed seed).
#include "rpc/flat_json_decoder.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "peat/sidecar/v1/sidecar.pb.h"

namespace peat::rpc {
namespace {

namespace pb = google::protobuf;

// message Flat { string s = 1; string doc_id = 2; bool b = 3; int32 i32 = 4; int64 i64 = 5;
//   uint32 u32 = 6; uint64 u64 = 7; sint32 s32 = 8; fixed64 f64 = 9; double d = 10; E e = 11;
//   bytes by = 12; repeated string rs = 13; Flat sub = 14; oneof choice { string o1 = 15; } }
const pb::Message& FlatPrototype() {
  static const pb::Message* prototype = [] {
    pb::FileDescriptorProto file;
    const bool parsed = pb::TextFormat::ParseFromString(
        R"pb(
          name: "flat.proto"
          package: "tflat"
          syntax: "proto3"
          enum_type {
            name: "E"
            value { name: "E_ZERO" number: 0 }
            value { name: "E_ONE" number: 1 }
          }
          message_type {
            name: "Flat"
            field { name: "s" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "s" }
            field {
              name: "doc_id"
              number: 2
              label: LABEL_OPTIONAL
              type: TYPE_STRING
              json_name: "docId"
            }
            field { name: "b" number: 3 label: LABEL_OPTIONAL type: TYPE_BOOL json_name: "b" }
            field { name: "i32" number: 4 label: LABEL_OPTIONAL type: TYPE_INT32 json_name: "i32" }
            field { name: "i64" number: 5 label: LABEL_OPTIONAL type: TYPE_INT64 json_name: "i64" }
            field { name: "u32" number: 6 label: LABEL_OPTIONAL type: TYPE_UINT32 json_name: "u32" }
            field { name: "u64" number: 7 label: LABEL_OPTIONAL type: TYPE_UINT64 json_name: "u64" }
            field { name: "s32" number: 8 label: LABEL_OPTIONAL type: TYPE_SINT32 json_name: "s32" }
            field {
              name: "f64"
              number: 9
              label: LABEL_OPTIONAL
              type: TYPE_FIXED64
              json_name: "f64"
            }
            field { name: "d" number: 10 label: LABEL_OPTIONAL type: TYPE_DOUBLE json_name: "d" }
            field {
              name: "e"
              number: 11
              label: LABEL_OPTIONAL
              type: TYPE_ENUM
              type_name: ".tflat.E"
              json_name: "e"
            }
            field { name: "by" number: 12 label: LABEL_OPTIONAL type: TYPE_BYTES json_name: "by" }
            field { name: "rs" number: 13 label: LABEL_REPEATED type: TYPE_STRING json_name: "rs" }
            field {
              name: "sub"
              number: 14
              label: LABEL_OPTIONAL
              type: TYPE_MESSAGE
              type_name: ".tflat.Flat"
              json_name: "sub"
            }
            field {
              name: "o1"
              number: 15
              label: LABEL_OPTIONAL
              type: TYPE_STRING
              json_name: "o1"
              oneof_index: 0
            }
            oneof_decl { name: "choice" }
          }
        )pb",
        &file);
    if (!parsed) std::abort();
    static pb::DescriptorPool pool(pb::DescriptorPool::generated_pool());
    const pb::FileDescriptor* fd = pool.BuildFile(file);
    if (fd == nullptr) std::abort();
    static pb::DynamicMessageFactory factory(&pool);
    return factory.GetPrototype(fd->FindMessageTypeByName("Flat"));
  }();
  return *prototype;
}

struct Outcome {
  bool fast = false;            // the fast path took the body
  bool fast_left_empty = true;  // when it declined: the message was left empty
  bool protobuf_ok = false;
  bool same = false;  // fast path and protobuf gave the same bytes (when both decoded)
};

Outcome Compare(const pb::Message& prototype, const std::string& body) {
  std::unique_ptr<pb::Message> fast(prototype.New());
  std::unique_ptr<pb::Message> slow(prototype.New());
  Outcome o;
  o.fast = TryDecodeFlatJson(body, fast.get());
  if (!o.fast) o.fast_left_empty = fast->ByteSizeLong() == 0;
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  o.protobuf_ok = pb::util::JsonStringToMessage(body, slow.get(), options).ok();
  if (o.fast && o.protobuf_ok) {
    std::string a, b;
    pb::io::StringOutputStream sa(&a), sb(&b);
    {
      pb::io::CodedOutputStream ca(&sa), cb(&sb);
      ca.SetSerializationDeterministic(true);
      cb.SetSerializationDeterministic(true);
      fast->SerializeToCodedStream(&ca);
      slow->SerializeToCodedStream(&cb);
    }
    o.same = a == b;
  }
  return o;
}

void ExpectAgreement(const pb::Message& prototype, const std::string& body) {
  const Outcome o = Compare(prototype, body);
  if (o.fast) {
    EXPECT_TRUE(o.protobuf_ok) << "fast path took a body protobuf refuses: " << body;
    EXPECT_TRUE(o.same) << "fast path and protobuf differ on: " << body;
  } else {
    EXPECT_TRUE(o.fast_left_empty) << "declined but left fields set: " << body;
  }
}

TEST(FlatJsonDecoderTest, TakesPlainRequestsAndMatchesProtobuf) {
  namespace sc = peat::sidecar::v1;
  const std::string put =
      R"({"collection":"bench","docId":"put-1","jsonData":"{\"a\":1,\"b\":\"x\\u00e9\"}"})";
  sc::PutDocumentRequest req;
  ASSERT_TRUE(TryDecodeFlatJson(put, &req));
  EXPECT_EQ(req.collection(), "bench");
  EXPECT_EQ(req.doc_id(), "put-1");
  EXPECT_EQ(req.json_data(), "{\"a\":1,\"b\":\"x\\u00e9\"}");
  ExpectAgreement(sc::PutDocumentRequest::default_instance(), put);
  // The proto name works as well as the json_name; unknown keys of any shape are skipped.
  ExpectAgreement(sc::PutDocumentRequest::default_instance(),
                  R"({"doc_id":"d","extra":{"x":[1,2,{"y":null}]},"collection":"c"})");
  sc::GetDocumentRequest get;
  EXPECT_TRUE(TryDecodeFlatJson(R"( {"collection":"c", "doc_id":"d"} )", &get));
  EXPECT_EQ(get.doc_id(), "d");
  EXPECT_TRUE(TryDecodeFlatJson("{}", &get));
  EXPECT_EQ(get.ByteSizeLong(), 0u);
}

TEST(FlatJsonDecoderTest, DeclinesWhatOnlyProtobufMayJudge) {
  const pb::Message& flat = FlatPrototype();
  for (const std::string body : {"",
                                 " ",
                                 "[]",
                                 "null",
                                 "\"s\"",
                                 "{",
                                 R"({"s":"a",})",
                                 R"({"s":"a"} x)",
                                 R"({"s":null})",
                                 R"({"s":1})",
                                 R"({"b":"true"})",
                                 R"({"i32":"5"})",
                                 R"({"i32":5.0})",
                                 R"({"i32":1e2})",
                                 R"({"i32":2147483648})",
                                 R"({"u32":-1})",
                                 R"({"u64":-1})",
                                 R"({"i64":9223372036854775808})",
                                 R"({"i64":123456789012345678901234})",
                                 R"({"d":1.5})",
                                 R"({"e":"E_ONE"})",
                                 R"({"e":1})",
                                 R"({"by":"AAEC"})",
                                 R"({"rs":["a"]})",
                                 R"({"sub":{"s":"x"}})",
                                 R"({"o1":"x"})",
                                 R"({"s":"a","s":"b"})",
                                 R"({"docId":"a","doc_id":"b"})",
                                 "{\"s\":\"\xff\"}",
                                 R"({"s":"\ud800"})",
                                 R"({"s":"\u0000"})",
                                 R"({"s":"a\/b"})"}) {
    SCOPED_TRACE(body);
    ExpectAgreement(flat, body);
  }
  std::unique_ptr<pb::Message> m(flat.New());
  EXPECT_FALSE(TryDecodeFlatJson(R"({"s":"kept?","e":"E_ONE"})", m.get()));
  EXPECT_EQ(m->ByteSizeLong(), 0u) << "a declined body leaves nothing behind";
}

TEST(FlatJsonDecoderTest, TakesEveryScalarKindItHandles) {
  const pb::Message& flat = FlatPrototype();
  const std::string body =
      R"({"s":"é\n\"q\"","docId":"x","b":true,"i32":-2147483648,"i64":-9223372036854775808,)"
      R"("u32":4294967295,"u64":18446744073709551615,"s32":-7,"f64":12,"unknown":[1,{}]})";
  EXPECT_TRUE(Compare(flat, body).fast);
  ExpectAgreement(flat, body);
  ExpectAgreement(flat, R"({"i32":-0,"u64":0,"b":false,"s":""})");
}

// Random edits of realistic bodies: whatever the fast path takes, protobuf takes the same way.
TEST(FlatJsonDecoderTest, RandomMutationsAgreeWithProtobuf) {
  const pb::Message& flat = FlatPrototype();
  const std::vector<std::string> seeds = {
      R"({"s":"abc","docId":"d-1","b":true,"i32":42,"u64":7})",
      R"({"s":"x\u00e9\n","i64":-5,"u32":0,"s32":3,"f64":9,"skip":{"a":[1,"2",null]}})",
      R"({"doc_id":"k","b":false,"d":2.5,"e":"E_ONE","rs":["p","q"],"sub":{"s":"n"}})",
  };
  const std::string alphabet = "{}[]\":,\\0123456789-+.eEtrufalsn xu\xc3\xa9\xff";
  std::mt19937 rng(20261206);
  int taken = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string body = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      const size_t at = rng() % body.size();
      switch (rng() % 3) {
        case 0:
          body.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 1:
          body.erase(at, 1);
          break;
        default:
          body[at] = alphabet[rng() % alphabet.size()];
          break;
      }
    }
    const Outcome o = Compare(flat, body);
    if (o.fast) {
      ++taken;
      ASSERT_TRUE(o.protobuf_ok) << "fast path took a body protobuf refuses: " << body;
      ASSERT_TRUE(o.same) << "fast path and protobuf differ on: " << body;
    } else {
      ASSERT_TRUE(o.fast_left_empty) << body;
    }
  }
  EXPECT_GT(taken, 1000) << "the mutations should still leave many bodies the fast path takes";
}

}  // namespace
}  // namespace peat::rpc
