#include "rpc/call_timeout.h"

#include <gtest/gtest.h>

#include <chrono>

namespace peat::rpc {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(GrpcTimeoutTest, ParsesEveryUnit) {
  EXPECT_EQ(ParseGrpcTimeout("2H"), nanoseconds(hours(2)));
  EXPECT_EQ(ParseGrpcTimeout("3M"), nanoseconds(minutes(3)));
  EXPECT_EQ(ParseGrpcTimeout("5S"), nanoseconds(seconds(5)));
  EXPECT_EQ(ParseGrpcTimeout("1m"), nanoseconds(milliseconds(1)));
  EXPECT_EQ(ParseGrpcTimeout("100m"), nanoseconds(milliseconds(100)));
  EXPECT_EQ(ParseGrpcTimeout("7u"), nanoseconds(microseconds(7)));
  EXPECT_EQ(ParseGrpcTimeout("9n"), nanoseconds(9));
  EXPECT_EQ(ParseGrpcTimeout("0S"), nanoseconds(0));
}

TEST(GrpcTimeoutTest, AcceptsEightDigitsAndLeadingZeros) {
  EXPECT_EQ(ParseGrpcTimeout("99999999S"), nanoseconds(seconds(99999999)));
  EXPECT_EQ(ParseGrpcTimeout("00000010m"), nanoseconds(milliseconds(10)));
  EXPECT_EQ(ParseGrpcTimeout("99999999M"), nanoseconds(minutes(99999999)));
}

TEST(GrpcTimeoutTest, RejectsMalformedValues) {
  for (const char* bad : {"", "m", "1", "S5", "1x", "1s", "1h", "-1m", "+1m", "1.5S", " 1m", "1m ",
                          "1 m", "123456789S", "0x10S", "1mm"}) {
    EXPECT_FALSE(ParseGrpcTimeout(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(GrpcTimeoutTest, LargestHourValueDoesNotOverflow) {
  // Regression: 8 digits of hours overflow int64 nanoseconds (max ~2562047 h); the parser must
  // saturate rather than wrap to a negative timeout (a deadline in the past, UB under UBSan).
  auto t = ParseGrpcTimeout("99999999H");
  ASSERT_TRUE(t.has_value());
  EXPECT_GE(*t, nanoseconds(hours(2562047)));
}

TEST(ConnectTimeoutTest, ParsesMilliseconds) {
  EXPECT_EQ(ParseConnectTimeoutMs("0"), nanoseconds(0));
  EXPECT_EQ(ParseConnectTimeoutMs("1"), nanoseconds(milliseconds(1)));
  EXPECT_EQ(ParseConnectTimeoutMs("1500"), nanoseconds(milliseconds(1500)));
  EXPECT_EQ(ParseConnectTimeoutMs("0000000250"), nanoseconds(milliseconds(250)));
  EXPECT_EQ(ParseConnectTimeoutMs("9000000000"), nanoseconds(milliseconds(9000000000)));
}

TEST(ConnectTimeoutTest, RejectsMalformedValues) {
  for (const char* bad : {"", "12345678901", "-1", "+1", "1s", "1.5", " 1", "1 ", "abc", "0x1"}) {
    EXPECT_FALSE(ParseConnectTimeoutMs(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(ConnectTimeoutTest, LargestTenDigitValueIsExact) {
  EXPECT_EQ(ParseConnectTimeoutMs("9999999999"), nanoseconds(milliseconds(9999999999)));
}

}  // namespace
}  // namespace peat::rpc
