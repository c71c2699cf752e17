#include "common/status.h"

#include <gtest/gtest.h>

namespace peat {
namespace {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, CodeNamesRoundTrip) {
  for (int i = 0; i <= 16; ++i) {
    auto code = static_cast<StatusCode>(i);
    auto back = StatusCodeFromName(StatusCodeName(code));
    ASSERT_TRUE(back.has_value()) << i;
    EXPECT_EQ(*back, code);
  }
  EXPECT_EQ(StatusCodeName(StatusCode::kInvalidArgument), "invalid_argument");
  EXPECT_FALSE(StatusCodeFromName("bogus").has_value());
}

TEST(StatusTest, ToStringNamesTheCode) {
  EXPECT_EQ(InvalidArgumentError("bad doc").ToString(), "INVALID_ARGUMENT: bad doc");
  EXPECT_EQ(CancelledError("gone").ToString(), "CANCELLED: gone");
}

TEST(StatusOrTest, HoldsValueOrError) {
  StatusOr<int> v = 42;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 42);
  StatusOr<int> e = NotFoundError("nope");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kNotFound);
}

Status FailsWhen(bool fail) {
  PEAT_RETURN_IF_ERROR(fail ? InternalError("x") : Status::Ok());
  return Status::Ok();
}

TEST(StatusTest, ReturnIfErrorPropagates) {
  EXPECT_TRUE(FailsWhen(false).ok());
  EXPECT_EQ(FailsWhen(true).code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace peat
