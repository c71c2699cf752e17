#include "store/collection_configs.h"

#include <mutex>

namespace peat::store {

Status CollectionConfigs::Load(SqliteConnection& db) {
  auto st = db.Prepare(
      "SELECT collection, deletion_policy, soft_delete_ttl_secs, tombstone_ttl_secs "
      "FROM collection_configs");
  if (!st.ok()) return st.status();
  std::map<std::string, CollectionConfig> loaded;
  for (;;) {
    const int rc = st->Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteStatus(rc, "load collection configs", db.get());
    CollectionConfig c;
    c.collection = std::string(st->ColumnText(0));
    c.deletion_policy = static_cast<DeletionPolicy>(st->ColumnInt64(1));
    if (!st->ColumnIsNull(2)) c.soft_delete_ttl_secs = static_cast<uint64_t>(st->ColumnInt64(2));
    if (!st->ColumnIsNull(3)) c.tombstone_ttl_secs = static_cast<uint64_t>(st->ColumnInt64(3));
    c = Normalize(std::move(c));
    loaded[c.collection] = std::move(c);
  }
  std::unique_lock lock(mu_);
  configs_ = std::move(loaded);
  return Status::Ok();
}

std::optional<CollectionConfig> CollectionConfigs::Get(const std::string& collection) const {
  std::shared_lock lock(mu_);
  auto it = configs_.find(collection);
  if (it == configs_.end()) return std::nullopt;
  return it->second;
}

std::vector<CollectionConfig> CollectionConfigs::List() const {
  std::shared_lock lock(mu_);
  std::vector<CollectionConfig> out;
  out.reserve(configs_.size());
  for (const auto& [name, c] : configs_) out.push_back(c);
  return out;
}

void CollectionConfigs::Set(CollectionConfig config) {
  std::unique_lock lock(mu_);
  std::string name = config.collection;
  configs_[std::move(name)] = std::move(config);
}

CollectionConfig CollectionConfigs::Normalize(CollectionConfig config) {
  switch (config.deletion_policy) {
    case DeletionPolicy::kSoftDelete:
    case DeletionPolicy::kTombstone:
    case DeletionPolicy::kImplicitTtl:
    case DeletionPolicy::kImmutable:
      break;
    default:
      config.deletion_policy = DeletionPolicy::kSoftDelete;
  }
  return config;
}

DeletionPolicy CollectionConfigs::PolicyOf(const std::optional<CollectionConfig>& config) {
  return config ? config->deletion_policy : DeletionPolicy::kSoftDelete;
}

}  // namespace peat::store
