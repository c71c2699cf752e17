// CollectionConfigs: the in-memory copy of the persisted collection lifecycle configs
// (BEHAVIOR.md "Collection lifecycle"), loaded at open and updated by the writer after each
// commit that changed one. Reads never touch SQLite. Few entries (one per configured collection).
//
// Also the policy arithmetic the writer and the GC share. Thread-safe.
#pragma once

#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/document_store.h"
#include "store/sqlite_connection.h"

namespace peat::store {

class CollectionConfigs {
 public:
  // Loads every row of collection_configs.
  Status Load(SqliteConnection& db);

  std::optional<CollectionConfig> Get(const std::string& collection) const;
  // Sorted by collection.
  std::vector<CollectionConfig> List() const;
  void Set(CollectionConfig config);

  // UNSPECIFIED/unknown policies are stored as SOFT_DELETE.
  static CollectionConfig Normalize(CollectionConfig config);
  // The deletion policy in force (SOFT_DELETE for unconfigured collections).
  static DeletionPolicy PolicyOf(const std::optional<CollectionConfig>& config);

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, CollectionConfig> configs_;
};

}  // namespace peat::store
