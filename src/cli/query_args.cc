#include "cli/query_args.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "service/subscription_query.h"

namespace peat::cli {

namespace pb = peat::sidecar::v1;

StatusOr<pb::SubscriptionQuery> ParseWhereClause(const std::string& clause) {
  size_t pos = clause.find_first_of("=<>!");
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("--where '" + clause + "': " + why +
                                " (FIELD=VALUE, FIELD!=VALUE, FIELD<VALUE or FIELD>VALUE)");
  };
  if (pos == std::string::npos) return bad("no operator");
  std::string field = clause.substr(0, pos);
  if (field.empty()) return bad("empty field");
  char op = clause[pos];
  size_t value_at = pos + 1;
  if (op == '!') {
    if (pos + 1 >= clause.size() || clause[pos + 1] != '=') return bad("'!' must be '!='");
    value_at = pos + 2;
  }
  std::string value = clause.substr(value_at);
  if (nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false).is_discarded()) {
    value = nlohmann::json(value).dump();  // not JSON: a string
  }
  pb::SubscriptionQuery q;
  switch (op) {
    case '<':
      q.mutable_lt()->set_field(field);
      q.mutable_lt()->set_value(value);
      break;
    case '>':
      q.mutable_gt()->set_field(field);
      q.mutable_gt()->set_value(value);
      break;
    case '!':
      q.mutable_not_()->mutable_eq()->set_field(field);
      q.mutable_not_()->mutable_eq()->set_value(value);
      break;
    default:
      q.mutable_eq()->set_field(field);
      q.mutable_eq()->set_value(value);
      break;
  }
  return q;
}

StatusOr<std::optional<pb::SubscriptionQuery>> BuildQuery(const std::vector<std::string>& where,
                                                          bool any, const std::string& query_json) {
  if (where.empty() && query_json.empty()) return std::optional<pb::SubscriptionQuery>();
  if (!where.empty() && !query_json.empty()) {
    return InvalidArgumentError("--where and --query exclude each other");
  }
  pb::SubscriptionQuery q;
  if (!query_json.empty()) {
    auto st = google::protobuf::util::JsonStringToMessage(query_json, &q);
    if (!st.ok()) {
      return InvalidArgumentError("--query is not a SubscriptionQuery in JSON: " +
                                  std::string(st.message()));
    }
  } else if (where.size() == 1) {
    PEAT_ASSIGN_OR_RETURN(q, ParseWhereClause(where.front()));
  } else {
    auto* clauses = any ? q.mutable_or_()->mutable_clauses() : q.mutable_and_()->mutable_clauses();
    for (const auto& w : where) {
      PEAT_ASSIGN_OR_RETURN(*clauses->Add(), ParseWhereClause(w));
    }
  }
  auto compiled = service::SubscriptionFilter::Compile(q);
  if (!compiled.ok()) return compiled.status();
  return std::optional<pb::SubscriptionQuery>(std::move(q));
}

}  // namespace peat::cli
