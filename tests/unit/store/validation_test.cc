#include "store/validation.h"

#include <gtest/gtest.h>

namespace peat::store {
namespace {

TEST(ValidationTest, KeysNameTheField) {
  EXPECT_TRUE(ValidateDocumentKey("c", "alpha-agent:nginx").ok());
  Status s = ValidateDocumentKey("c", "");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("doc_id"), std::string::npos);
  s = ValidateDocumentKey(std::string(1025, 'c'), "d");
  EXPECT_NE(s.message().find("collection"), std::string::npos);
  EXPECT_TRUE(ValidateKey("collection", std::string(1024, 'c')).ok());
}

TEST(ValidationTest, KeysFollowTheApisIdentifierRule) {
  // The store answers exactly what the API's request check answers (common/identifier.h).
  for (const std::string& v : {std::string(), std::string(1025, 'k'), std::string("a\0b", 3),
                               std::string("\xc0\xaf"), std::string("ok")}) {
    EXPECT_EQ(ValidateKey("doc_id", v), ValidateIdentifier("doc_id", v)) << v.size();
  }
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
