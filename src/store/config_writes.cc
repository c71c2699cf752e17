#include "store/config_writes.h"

#include <utility>

namespace peat::store {

OpResult Apply(SetConfigOp& op, WriteContext& ctx) {
  CollectionConfig c = CollectionConfigs::Normalize(std::move(op.config));
  SqliteStatement& upsert = ctx.stmts.upsert_config;
  upsert.BindText(1, c.collection);
  upsert.BindInt64(2, static_cast<int64_t>(c.deletion_policy));
  if (c.soft_delete_ttl_secs) {
    upsert.BindInt64(3, static_cast<int64_t>(*c.soft_delete_ttl_secs));
  } else {
    upsert.BindNull(3);
  }
  if (c.tombstone_ttl_secs) {
    upsert.BindInt64(4, static_cast<int64_t>(*c.tombstone_ttl_secs));
  } else {
    upsert.BindNull(4);
  }
  if (OpResult r = RunWrite(upsert, "write collection config", ctx.group); !r.status.ok()) {
    return r;
  }
  std::string name = c.collection;
  ctx.group.configs[std::move(name)] = std::move(c);
  return {};
}

}  // namespace peat::store
