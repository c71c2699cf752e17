#include "bridge/nats_envelope.h"

#include <gtest/gtest.h>

namespace peat::bridge {
namespace {

std::string Deep(int n) { return std::string(n, '[') + std::string(n, ']'); }

TEST(NatsPayload, Checks) {
  EXPECT_EQ(CheckNatsPayload(R"({"a":1})"), PayloadCheck::kOk);
  EXPECT_EQ(CheckNatsPayload(" 42 "), PayloadCheck::kOk);
  EXPECT_EQ(CheckNatsPayload(R"("text")"), PayloadCheck::kOk);
  EXPECT_EQ(CheckNatsPayload(""), PayloadCheck::kNotJson);
  EXPECT_EQ(CheckNatsPayload("{"), PayloadCheck::kNotJson);
  EXPECT_EQ(CheckNatsPayload("{} {}"), PayloadCheck::kNotJson);
  EXPECT_EQ(CheckNatsPayload("\"\xff\""), PayloadCheck::kNotUtf8);
  EXPECT_EQ(CheckNatsPayload("\"\xed\xa0\x80\""), PayloadCheck::kNotUtf8);  // a surrogate
  EXPECT_EQ(CheckNatsPayload(Deep(127)), PayloadCheck::kOk);
  EXPECT_EQ(CheckNatsPayload(Deep(128)), PayloadCheck::kTooDeep);
  EXPECT_EQ(CheckNatsPayload(Deep(5000)), PayloadCheck::kTooDeep);
  // Brackets inside strings do not count.
  EXPECT_EQ(CheckNatsPayload("[\"" + std::string(300, '[') + "\\\"\"]"), PayloadCheck::kOk);
  const std::string fits = "\"" + std::string(kMaxPayloadBytes - 2, 'x') + "\"";
  EXPECT_EQ(CheckNatsPayload(fits), PayloadCheck::kOk);
  EXPECT_EQ(CheckNatsPayload(fits + " "), PayloadCheck::kTooLarge);
  // Size is checked first: an oversized non-UTF-8 message is too_large.
  EXPECT_EQ(CheckNatsPayload(std::string(kMaxPayloadBytes + 1, '\xff')), PayloadCheck::kTooLarge);
  EXPECT_STREQ(PayloadCheckName(PayloadCheck::kTooDeep), "too_deep");
}

TEST(NatsEnvelope, RoundTripKeepsThePayloadExactly) {
  for (const std::string& payload : std::vector<std::string>{
           std::string(R"({ "a" : 1 ,"b":[1, 2.50, 3e2] })"),
           std::string("\"caf\\u00e9 \xc3\xa9 \xf0\x9f\x9a\x80 \\\" \\\\ \\n\""), std::string("[]"),
           std::string("\"tab\there\"")}) {
    const std::string env = MakeNatsEnvelope("s.t", "node-a", payload);
    auto parsed = ParseNatsEnvelope(env);
    ASSERT_TRUE(parsed.has_value()) << env;
    EXPECT_EQ(parsed->payload, payload);
    EXPECT_EQ(parsed->subject, "s.t");
    EXPECT_EQ(parsed->source_node_id, "node-a");
  }
  EXPECT_EQ(
      MakeNatsEnvelope("s", "n", "1"),
      R"({"kind":"peat.nats-bridge","version":1,"subject":"s","source_node_id":"n","payload":"1"})");
}

TEST(NatsEnvelope, RejectsOtherDocuments) {
  EXPECT_FALSE(ParseNatsEnvelope(R"({"a":1})").has_value());
  EXPECT_FALSE(ParseNatsEnvelope("[]").has_value());
  EXPECT_FALSE(
      ParseNatsEnvelope(
          R"({"kind":"other","version":1,"subject":"s","source_node_id":"n","payload":"1"})")
          .has_value());
  EXPECT_FALSE(
      ParseNatsEnvelope(
          R"({"kind":"peat.nats-bridge","version":2,"subject":"s","source_node_id":"n","payload":"1"})")
          .has_value());
  EXPECT_FALSE(ParseNatsEnvelope(
                   R"({"kind":"peat.nats-bridge","version":1,"subject":"s","source_node_id":"n"})")
                   .has_value());
  EXPECT_FALSE(
      ParseNatsEnvelope(
          R"({"kind":"peat.nats-bridge","version":1,"subject":"s","source_node_id":"n","payload":1})")
          .has_value());
}

}  // namespace
}  // namespace peat::bridge
