// Typed collection RPCs: PutNode/GetNodes, PutCell/GetCells, PutTrack/GetTracks,
// PutCommand/GetCommands, stored as documents of the collections nodes, cells, tracks and
// commands (doc id = the message's id) in the JSON shapes of typed_json.h.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include "rpc/method_table.h"
#include "store/document_store.h"

namespace peat::service {

// `store` and `blocking` must outlive the table.
void RegisterTypedCollectionService(rpc::MethodTable& table, store::DocumentStore& store,
                                    boost::asio::thread_pool& blocking);

}  // namespace peat::service
