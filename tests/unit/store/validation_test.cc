#include "store/validation.h"

#include <gtest/gtest.h>

namespace peat::store {
namespace {

TEST(ValidationTest, Utf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii:with-colon"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(ValidationTest, KeysNameTheField) {
  EXPECT_TRUE(ValidateDocumentKey("c", "alpha-agent:nginx").ok());
  Status s = ValidateDocumentKey("c", "");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("doc_id"), std::string::npos);
  s = ValidateDocumentKey(std::string(1025, 'c'), "d");
  EXPECT_NE(s.message().find("collection"), std::string::npos);
  EXPECT_TRUE(ValidateKey("collection", std::string(1024, 'c')).ok());
}

TEST(ValidationTest, JsonSize) {
  StoreLimits limits;
  limits.max_document_bytes = 10;
  EXPECT_TRUE(ValidateJsonSize("{\"a\":123}", limits).ok());
  Status s = ValidateJsonSize("{\"a\":12345}", limits);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("json_data"), std::string::npos);
}

}  // namespace
}  // namespace peat::store
