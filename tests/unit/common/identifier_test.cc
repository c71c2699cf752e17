#include "common/identifier.h"

#include <gtest/gtest.h>

#include <string>

namespace peat {
namespace {

void ExpectInvalid(std::string_view field, const std::string& value, const std::string& message) {
  Status st = ValidateIdentifier(field, value);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << "value of " << value.size() << " bytes";
  EXPECT_EQ(st.message(), message);
}

TEST(ValidateIdentifierTest, EmptyIsInvalidAndNamesTheField) {
  ExpectInvalid("collection", "", "collection must not be empty");
  ExpectInvalid("doc_id", "", "doc_id must not be empty");
  ExpectInvalid("node.id", "", "node.id must not be empty");
}

TEST(ValidateIdentifierTest, ExactlyTheLimitIsValid) {
  ASSERT_EQ(kMaxIdentifierBytes, 1024u);
  EXPECT_TRUE(ValidateIdentifier("doc_id", std::string(1024, 'x')).ok());
}

TEST(ValidateIdentifierTest, OneByteOverTheLimitIsInvalid) {
  ExpectInvalid("doc_id", std::string(1025, 'x'), "doc_id is 1025 bytes; the limit is 1024");
}

TEST(ValidateIdentifierTest, LimitCountsBytesNotCharacters) {
  // 341 × "€" (3 bytes) + "a" = 1024 bytes in 342 characters.
  std::string at_limit;
  for (int i = 0; i < 341; ++i) at_limit += "\xE2\x82\xAC";
  at_limit += "a";
  ASSERT_EQ(at_limit.size(), 1024u);
  EXPECT_TRUE(ValidateIdentifier("collection", at_limit).ok());
  ExpectInvalid("collection", at_limit + "b", "collection is 1025 bytes; the limit is 1024");
}

TEST(ValidateIdentifierTest, NulIsInvalidAnywhere) {
  ExpectInvalid("doc_id", std::string("a\0b", 3), "doc_id must not contain NUL characters");
  ExpectInvalid("doc_id", std::string("\0", 1), "doc_id must not contain NUL characters");
  ExpectInvalid("collection", std::string("abc\0", 4),
                "collection must not contain NUL characters");
}

TEST(ValidateIdentifierTest, InvalidUtf8IsInvalid) {
  const char* bad[] = {
      "\xFF",                  // never valid in UTF-8
      "abc\x80",               // lone continuation byte
      "\xC3",                  // truncated 2-byte sequence at the end
      "\xC3(",                 // lead byte followed by a non-continuation
      "\xE2\x82",              // truncated 3-byte sequence
      "\xC0\xAF",              // overlong "/"
      "\xE0\x80\xAF",          // overlong "/" (3 bytes)
      "\xF0\x80\x80\xAF",      // overlong "/" (4 bytes)
      "\xED\xA0\x80",          // UTF-16 surrogate U+D800
      "\xF4\x90\x80\x80",      // U+110000, above the Unicode range
      "\xF8\x88\x80\x80\x80",  // 5-byte form
  };
  for (const char* s : bad) {
    SCOPED_TRACE(::testing::PrintToString(std::string(s)));
    ExpectInvalid("doc_id", s, "doc_id must be valid UTF-8");
  }
}

TEST(ValidateIdentifierTest, ValidUtf8IsAccepted) {
  const char* good[] = {
      "plain",
      "caf\xC3\xA9",       // é (2 bytes)
      "\xE2\x82\xAC",      // € (3 bytes)
      "\xF0\x9F\x98\x80",  // 😀 (4 bytes)
      "\xF4\x8F\xBF\xBF",  // U+10FFFF, the last code point
      "\xED\x9F\xBF",      // U+D7FF, just below the surrogates
      "\xEE\x80\x80",      // U+E000, just above the surrogates
      "with space and/slash",
  };
  for (const char* s : good) {
    SCOPED_TRACE(::testing::PrintToString(std::string(s)));
    EXPECT_TRUE(ValidateIdentifier("doc_id", s).ok());
  }
}

TEST(ValidateIdentifierTest, ColonsAreAllowed) {
  EXPECT_TRUE(ValidateIdentifier("doc_id", "alpha-agent:nginx").ok());
  EXPECT_TRUE(ValidateIdentifier("doc_id", "node-1:registry.local:5000-amd64").ok());
  EXPECT_TRUE(ValidateIdentifier("doc_id", ":").ok());
}

TEST(ValidateIdentifierTest, SizeIsCheckedBeforeContent) {
  // A value that breaks several rules reports the first one: length, then NUL, then UTF-8.
  ExpectInvalid("doc_id", std::string(1100, '\0'), "doc_id is 1100 bytes; the limit is 1024");
  ExpectInvalid("doc_id", std::string("\xFF\0", 2), "doc_id must not contain NUL characters");
}

}  // namespace
}  // namespace peat
