#include "service/subscription_query.h"

#include <algorithm>
#include <vector>

namespace peat::service {

namespace pb = peat::sidecar::v1;
using json = nlohmann::json;

namespace {

bool IsInteger(const json& v) { return v.is_number_integer(); }  // signed or unsigned

// Compares two JSON numbers exactly, also across int64/uint64/double. Returns <0, 0, >0.
int CompareNumbers(const json& a, const json& b) {
  if (a.is_number_float() || b.is_number_float()) {
    long double x = a.is_number_float()      ? a.get<double>()
                    : a.is_number_unsigned() ? static_cast<long double>(a.get<uint64_t>())
                                             : static_cast<long double>(a.get<int64_t>());
    long double y = b.is_number_float()      ? b.get<double>()
                    : b.is_number_unsigned() ? static_cast<long double>(b.get<uint64_t>())
                                             : static_cast<long double>(b.get<int64_t>());
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  bool au = a.is_number_unsigned(), bu = b.is_number_unsigned();
  if (au && bu) {
    auto x = a.get<uint64_t>(), y = b.get<uint64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (!au && !bu) {
    auto x = a.get<int64_t>(), y = b.get<int64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  // One unsigned (≥ 0), one signed: a negative signed value is smaller.
  if (au) {
    auto y = b.get<int64_t>();
    if (y < 0) return 1;
    auto x = a.get<uint64_t>();
    return x < static_cast<uint64_t>(y) ? -1 : (x > static_cast<uint64_t>(y) ? 1 : 0);
  }
  auto x = a.get<int64_t>();
  if (x < 0) return -1;
  auto y = b.get<uint64_t>();
  return static_cast<uint64_t>(x) < y ? -1 : (static_cast<uint64_t>(x) > y ? 1 : 0);
}

// Nesting depth of a JSON value, computed without recursion (values come from clients).
size_t JsonDepth(const json& root) {
  size_t max_depth = 0;
  std::vector<std::pair<const json*, size_t>> stack{{&root, 1}};
  while (!stack.empty()) {
    auto [v, d] = stack.back();
    stack.pop_back();
    max_depth = std::max(max_depth, d);
    if (v->is_structured()) {
      for (const auto& child : *v) stack.emplace_back(&child, d + 1);
    }
  }
  return max_depth;
}

}  // namespace

bool StrictJsonEqual(const json& a, const json& b) {
  if (IsInteger(a) && IsInteger(b)) return CompareNumbers(a, b) == 0;
  if (a.is_number_float() && b.is_number_float()) return a.get<double>() == b.get<double>();
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case json::value_t::array: {
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (!StrictJsonEqual(a[i], b[i])) return false;
      }
      return true;
    }
    case json::value_t::object: {
      if (a.size() != b.size()) return false;
      for (auto it = a.begin(); it != a.end(); ++it) {
        auto other = b.find(it.key());
        if (other == b.end() || !StrictJsonEqual(it.value(), *other)) return false;
      }
      return true;
    }
    default:
      return a == b;  // string, boolean, null
  }
}

const json* LookupField(const json& document, std::string_view field) {
  if (!document.is_object()) return nullptr;
  auto exact = document.find(field);
  if (exact != document.end()) return &*exact;
  // Descend at each dot, shortest prefix first: "a.b.c" tries key "a" then path "b.c" inside it.
  for (size_t dot = field.find('.'); dot != std::string_view::npos;
       dot = field.find('.', dot + 1)) {
    auto it = document.find(field.substr(0, dot));
    if (it != document.end() && it->is_object()) {
      if (const json* found = LookupField(*it, field.substr(dot + 1))) return found;
    }
  }
  return nullptr;
}

SubscriptionFilter SubscriptionFilter::MatchAll() { return SubscriptionFilter(); }

StatusOr<SubscriptionFilter> SubscriptionFilter::Compile(const pb::SubscriptionQuery& query) {
  SubscriptionFilter f;
  PEAT_ASSIGN_OR_RETURN(f.root_, CompileNode(query, 1));
  return f;
}

StatusOr<SubscriptionFilter::Node> SubscriptionFilter::CompileNode(const pb::SubscriptionQuery& q,
                                                                   int depth) {
  if (depth > kMaxQueryDepth) {
    return InvalidArgumentError("query: nesting deeper than " + std::to_string(kMaxQueryDepth) +
                                " levels");
  }
  Node n;
  auto leaf = [&](Node::Op op, const std::string& field, const std::string& value,
                  const char* name) -> StatusOr<Node> {
    if (field.empty())
      return InvalidArgumentError(std::string("query: ") + name + ".field is empty");
    json parsed = json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return InvalidArgumentError(std::string("query: ") + name +
                                  ".value is not JSON text: " + value.substr(0, 64));
    }
    if (JsonDepth(parsed) > kMaxValueDepth) {
      return InvalidArgumentError(std::string("query: ") + name + ".value is nested deeper than " +
                                  std::to_string(kMaxValueDepth) + " levels");
    }
    n.op = op;
    n.field = field;
    n.value = std::move(parsed);
    return std::move(n);
  };
  auto group = [&](Node::Op op,
                   const google::protobuf::RepeatedPtrField<pb::SubscriptionQuery>& clauses)
      -> StatusOr<Node> {
    n.op = op;
    for (const auto& c : clauses) {
      PEAT_ASSIGN_OR_RETURN(Node child, CompileNode(c, depth + 1));
      n.children.push_back(std::move(child));
    }
    return n;
  };
  switch (q.q_case()) {
    case pb::SubscriptionQuery::kEq:
      return leaf(Node::Op::kEq, q.eq().field(), q.eq().value(), "eq");
    case pb::SubscriptionQuery::kLt:
      return leaf(Node::Op::kLt, q.lt().field(), q.lt().value(), "lt");
    case pb::SubscriptionQuery::kGt:
      return leaf(Node::Op::kGt, q.gt().field(), q.gt().value(), "gt");
    case pb::SubscriptionQuery::kAnd:
      return group(Node::Op::kAnd, q.and_().clauses());
    case pb::SubscriptionQuery::kOr:
      return group(Node::Op::kOr, q.or_().clauses());
    case pb::SubscriptionQuery::kNot: {
      PEAT_ASSIGN_OR_RETURN(Node child, CompileNode(q.not_(), depth + 1));
      n.op = Node::Op::kNot;
      n.children.push_back(std::move(child));
      return n;
    }
    case pb::SubscriptionQuery::kAll:
      n.op = Node::Op::kAll;
      return n;
    case pb::SubscriptionQuery::Q_NOT_SET:
      break;
  }
  return InvalidArgumentError("query: no condition set (eq, lt, gt, and, or, not or all)");
}

bool SubscriptionFilter::Matches(const json& document) const { return Eval(root_, document); }

bool SubscriptionFilter::Eval(const Node& node, const json& doc) {
  switch (node.op) {
    case Node::Op::kAll:
      return true;
    case Node::Op::kEq: {
      const json* v = LookupField(doc, node.field);
      return v && StrictJsonEqual(*v, node.value);
    }
    case Node::Op::kLt:
    case Node::Op::kGt: {
      const json* v = LookupField(doc, node.field);
      if (!v) return false;
      int cmp;
      if (v->is_string() && node.value.is_string()) {
        cmp = v->get_ref<const std::string&>().compare(node.value.get_ref<const std::string&>());
      } else if (v->is_number() && node.value.is_number()) {
        cmp = CompareNumbers(*v, node.value);
      } else {
        return false;
      }
      return node.op == Node::Op::kLt ? cmp < 0 : cmp > 0;
    }
    case Node::Op::kAnd:
      for (const auto& c : node.children) {
        if (!Eval(c, doc)) return false;
      }
      return true;
    case Node::Op::kOr:
      for (const auto& c : node.children) {
        if (Eval(c, doc)) return true;
      }
      return false;
    case Node::Op::kNot:
      return !Eval(node.children.front(), doc);
  }
  return false;
}

}  // namespace peat::service
