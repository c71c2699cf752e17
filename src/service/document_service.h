// Document RPCs: PutDocument, GetDocument, DeleteDocument, ListDocuments, and the collection
// lifecycle configs (Set/Get/ListCollectionConfig(s)). Validates identifiers, maps proto ↔ store,
// chooses status codes. Writes complete when the store's group commit does; point reads run on
// the connection thread; scans run on the blocking pool.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include "rpc/method_table.h"
#include "store/document_store.h"

namespace peat::service {

// `store` and `blocking` must outlive the table.
void RegisterDocumentService(rpc::MethodTable& table, store::DocumentStore& store,
                             boost::asio::thread_pool& blocking);

}  // namespace peat::service
