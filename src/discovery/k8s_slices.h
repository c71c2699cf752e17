// Kubernetes discovery, pure part: EndpointSlice list responses and watch events parsed leniently
// (discovery.k8s.io/v1, JSON), and the peers they describe. No I/O.
//
// What is read of a slice: metadata.name, metadata.resourceVersion, metadata.annotations whose key
// starts with the annotation prefix (--discovery-annotation-prefix, prefix stripped), ports[] (the
// mesh port: the one named "mesh", else the only one, else the first TCP one; the annotation
// "<prefix>mesh-port" overrides it) and endpoints[]: addresses[0], targetRef (kind Pod: its name
// is the pod name; else hostname) and conditions.terminating (a terminating endpoint is skipped;
// not-ready endpoints are kept: discovery only proposes, the formation handshake decides).
// Anything else is ignored; an endpoint or slice missing what it needs is skipped, never an error.
// Errors (INVALID_ARGUMENT) are for bodies that are not JSON or not the expected shape at the top.
//
// Peer identity (the original's rule, CONTRACT.md "Identity"): a pod's endpoint id is derived from
// its pod name with the formation key, seed = HKDF-SHA256(shared key, "iroh:" + pod name); the
// caller passes that derivation in (DesiredPeers), so this file needs no key.
//
// Thread-safe: free functions over values.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace peat::discovery {

struct K8sEndpoint {
  std::string pod_name;  // targetRef.name (kind Pod), else hostname
  std::string ip;        // addresses[0]
};

struct K8sSlice {
  std::string name;
  std::string resource_version;
  std::map<std::string, std::string> annotations;  // prefixed keys only, prefix stripped
  uint16_t mesh_port = 0;                          // 0: none usable
  bool port_named = false;  // mesh_port is the port named "mesh" or the annotation's, not a guess
  std::vector<K8sEndpoint> endpoints;  // terminating ones already skipped
};

struct K8sSliceList {
  std::string resource_version;  // of the list: the watch starts there
  std::vector<K8sSlice> items;
};

// A list response (`GET .../endpointslices`).
StatusOr<K8sSliceList> ParseSliceList(std::string_view body, std::string_view annotation_prefix);

enum class K8sEventType { kAdded, kModified, kDeleted, kBookmark, kError };

struct K8sWatchEvent {
  K8sEventType type = K8sEventType::kError;
  K8sSlice slice;  // kAdded/kModified/kDeleted; for kBookmark only resource_version is set
  int code = 0;    // kError: the Status object's code (410 = resource version too old)
  std::string message;
};

// One line of a watch stream (`{"type":…,"object":…}`).
StatusOr<K8sWatchEvent> ParseWatchEvent(std::string_view line, std::string_view annotation_prefix);

// A peer the slices propose: its pod, derived endpoint id and "ip:port" addresses.
struct K8sPeer {
  std::string pod_name;
  std::vector<std::string> addresses;  // "ip:port", "[ip]:port" for IPv6, in slice name order
};

// pod name → endpoint id (the formation derivation); an error skips the pod.
using DeriveEndpointId = std::function<StatusOr<std::string>(const std::string& pod_name)>;

// The peers of all `slices` (by slice name), keyed by endpoint id; `own_pod` and
// `own_endpoint_id` are skipped, as are endpoints with no pod name, no IP or a slice without a
// mesh port. A pod listed in several slices gets all its addresses. When any slice names its mesh
// port ("mesh" or the annotation), slices whose port is only guessed are ignored: the pods of a
// chart are also listed by the slices of the API Service (port "grpc"), whose port must never be
// dialed — not even while the slices change one at a time.
std::map<std::string, K8sPeer> DesiredPeers(const std::map<std::string, K8sSlice>& slices,
                                            const std::string& own_pod,
                                            const std::string& own_endpoint_id,
                                            const DeriveEndpointId& derive);

// One reconcile step: what to drop and what to dial, given the peers listed now (`desired`), the
// peers this discovery proposed before (`proposed`: endpoint id → the addresses last seen, updated
// in place), the peers connected now and the dials still in flight.
//  * drops: proposed peers no longer listed (erased from `proposed`);
//  * dials: listed peers not connected, or whose addresses changed (moved), unless a dial to
//    them is in flight. A listed peer already connected (it dialed us) is recorded, not dialed,
//    so that it is dropped too when it leaves.
struct K8sReconcilePlan {
  std::vector<std::string> drops;
  std::vector<std::string> dials;
};
K8sReconcilePlan PlanReconcile(const std::map<std::string, K8sPeer>& desired,
                               std::map<std::string, std::vector<std::string>>& proposed,
                               const std::set<std::string>& connected,
                               const std::set<std::string>& dialing);

}  // namespace peat::discovery
