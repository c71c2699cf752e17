// `peat-node healthcheck`: one HTTP/1.1 GET of /readyz (or another ops path) against the node's
// own API listener, over TCP or its unix socket, so a container HEALTHCHECK or a Kubernetes exec
// probe needs no shell and no curl (docs/OPERATIONS.md "Probes", PACKAGING.md §2.1).
//
// Contract: exit 0 iff the answer's status is 200; 1 for anything else (connection refused, no
// answer within the timeout, a non-200 status, a malformed answer), with exactly one line on
// stderr saying which; usage errors (exit 2) are reported by the command-line parser. The whole
// probe (resolve, connect, send, receive) is bounded by one deadline, enforced with poll().
//
// Stateless; thread-safe as long as the streams are not shared with other threads.
#pragma once

#include <ostream>
#include <string>

#include "common/status.h"
#include "node/node_config.h"

namespace peat {

struct HealthcheckOptions {
  ListenAddress target;          // where to connect (already mapped by ProbeTargetFor)
  std::string path = "/readyz";  // absolute request path
  int timeout_ms = 3000;         // for the whole exchange; > 0
};

// The address a probe connects to for a node listening on `listen`: a wildcard TCP host
// (0.0.0.0, ::, empty) becomes the loopback of the same family; anything else is unchanged.
ListenAddress ProbeTargetFor(const ListenAddress& listen);

// Performs the GET. OK on status 200; otherwise UNAVAILABLE (connect failed, connection closed,
// malformed answer), DEADLINE_EXCEEDED (timeout) or FAILED_PRECONDITION (a non-200 status; the
// message names it and the first line of the body). Messages start with the target URL.
Status ProbeHealth(const HealthcheckOptions& options);

// ProbeHealth for main(): prints nothing and returns 0 on success; on failure writes
// "peat-node healthcheck: <message>\n" to `err` and returns 1.
int RunHealthcheck(const HealthcheckOptions& options, std::ostream& err);

}  // namespace peat
