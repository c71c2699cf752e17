// SubscriptionFilter: a compiled SubscriptionQuery (Subscribe's filter language).
//
// Semantics (BEHAVIOR.md "Change streams"): eq compares with strict JSON typing ("42" ≠ 42,
// 1 ≠ 1.0); lt/gt compare two strings bytewise or two numbers numerically, any other pair (or a
// missing field) is false; and of nothing is true, or of nothing is false; not negates; all
// matches everything. Fields are dotted paths into nested objects; a key that itself contains a
// dot matches first. Immutable after compilation and safe to share between threads.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "peat/sidecar/v1/sidecar.pb.h"

namespace peat::service {

inline constexpr int kMaxQueryDepth = 16;
inline constexpr size_t kMaxValueDepth = 64;  // nesting of a comparison value (as documents)

class SubscriptionFilter {
 public:
  // An absent query matches everything.
  static SubscriptionFilter MatchAll();
  // INVALID_ARGUMENT for an unset oneof, an empty field, a value that is not JSON, or nesting
  // deeper than kMaxQueryDepth; the message names the problem.
  static StatusOr<SubscriptionFilter> Compile(const peat::sidecar::v1::SubscriptionQuery& query);

  bool Matches(const nlohmann::json& document) const;

 private:
  struct Node {
    enum class Op { kEq, kLt, kGt, kAnd, kOr, kNot, kAll } op = Op::kAll;
    std::string field;
    nlohmann::json value;
    std::vector<Node> children;
  };
  static StatusOr<Node> CompileNode(const peat::sidecar::v1::SubscriptionQuery& q, int depth);
  static bool Eval(const Node& node, const nlohmann::json& doc);

  Node root_;
};

// Strict JSON equality: same type (integers of either sign are one type, floats another) and
// equal value, recursively for arrays and objects.
bool StrictJsonEqual(const nlohmann::json& a, const nlohmann::json& b);
// Looks up a dotted field; nullptr if absent. Exact keys win over dotted descent.
const nlohmann::json* LookupField(const nlohmann::json& document, std::string_view field);

}  // namespace peat::service
