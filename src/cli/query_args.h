// `--where` / `--any` / `--query` of `peat query` and `peat observe`, turned into the Subscribe
// query of the API (SubscriptionQuery, BEHAVIOR.md "Change streams"):
//
//   --where 'FIELD=VALUE'   eq        --where 'FIELD<VALUE'   lt
//   --where 'FIELD!=VALUE'  not(eq)   --where 'FIELD>VALUE'   gt
//
// FIELD may be dotted (`location.lat`). VALUE is JSON text when it parses as JSON (`42`, `true`,
// `"42"`, `[1,2]`), otherwise a string (`type=truck` means `"truck"`). Several --where clauses are
// ANDed, or ORed with --any. --query takes the SubscriptionQuery itself as proto3 JSON
// (`{"eq":{"field":"type","value":"\"truck\""}}`) and excludes --where.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "peat/sidecar/v1/sidecar.pb.h"

namespace peat::cli {

// INVALID_ARGUMENT naming the clause for a clause without an operator or with an empty field.
StatusOr<peat::sidecar::v1::SubscriptionQuery> ParseWhereClause(const std::string& clause);

// nullopt when neither --where nor --query was given (no query: everything matches). Errors:
// INVALID_ARGUMENT for a bad clause, --query that is not a SubscriptionQuery in JSON, both given,
// or a query the node would reject (the node's own compile step: unset condition, empty field,
// value not JSON, nesting deeper than 16).
StatusOr<std::optional<peat::sidecar::v1::SubscriptionQuery>> BuildQuery(
    const std::vector<std::string>& where, bool any, const std::string& query_json);

}  // namespace peat::cli
