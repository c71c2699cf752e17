// Config writes: the applier of SetCollectionConfig. The config is normalized, stored, and staged
// in the group, so later ops of the same group (a Delete in an IMMUTABLE collection) already see
// it; CollectionConfigs learns it when the group commits.
//
// Writer thread only. Errors as OpResult (write_context.h): a statement failure is fatal.
#pragma once

#include "store/document_store.h"
#include "store/write_context.h"

namespace peat::store {

struct SetConfigOp {
  CollectionConfig config;
};

OpResult Apply(SetConfigOp& op, WriteContext& ctx);

}  // namespace peat::store
