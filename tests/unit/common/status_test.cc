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

StatusOr<int> Half(int n) {
  if (n % 2 != 0) return InvalidArgumentError("odd");
  return n / 2;
}

StatusOr<int> Quarter(int n) {
  PEAT_ASSIGN_OR_RETURN(int half, Half(n));
  PEAT_ASSIGN_OR_RETURN(half, Half(half));  // assigns to an existing variable
  return half;
}

TEST(StatusOrTest, AssignOrReturnUnwrapsOrPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(3).status().message(), "odd");  // first call fails
  EXPECT_EQ(Quarter(6).status().message(), "odd");  // second call fails
}

StatusOr<std::string> MovesValue() {
  StatusOr<std::string> big = std::string(1000, 'x');
  PEAT_ASSIGN_OR_RETURN(std::string s, std::move(big));
  return s;
}

TEST(StatusOrTest, AssignOrReturnMovesTheValue) { EXPECT_EQ(MovesValue()->size(), 1000u); }

}  // namespace
}  // namespace peat
