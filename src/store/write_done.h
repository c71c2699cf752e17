// WriteDone: the completion of an asynchronous store write, shared by the store's interfaces
// (DocumentStore, ReplicationLog, PeerStateStore). It runs once, with the write's outcome, on the
// store's writer thread after the group holding the write committed (or failed); an
// implementation may document cases where it runs on the calling thread instead.
#pragma once

#include <functional>

#include "common/status.h"

namespace peat::store {

using WriteDone = std::function<void(Status)>;

}  // namespace peat::store
