// PeerControl: what the service layer may ask of the mesh (ConnectPeer, DisconnectPeer,
// ListPeers, StartSync/StopSync, GetSyncStats). Implemented by mesh::Mesh (mesh/mesh.h) and used
// by service/peer_service.h; tests may fake it. It lives in common, below both, so that neither
// layer includes the other: a pure interface of standard types and Status (docs/ARCHITECTURE.md
// "Layers" explains the choice).
//
// Threading: every method may be called from any thread. Callbacks run on the mesh's thread and
// must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace peat {

// A live connection's figures (the console's peers view), read when ListPeers ran.
struct PeerLink {
  // Positions of our change feed the peer has not acknowledged (0 = it holds all we have, or it
  // does not stream our feed now), and of the peer's feed we have not merged yet.
  uint64_t unacked_changes = 0;
  uint64_t unmerged_changes = 0;
  std::optional<int64_t> last_contact_ms;  // since the last frame from the peer
  std::optional<double> rtt_ms;            // smoothed round-trip time, once measured
  uint64_t bytes_sent = 0;                 // this connection's wire bytes the peer acknowledged
  uint64_t bytes_received = 0;
};

struct PeerView {
  std::string endpoint_id;
  std::vector<std::string> addresses;  // in use when connected, else the registered ones
  bool connected = false;
  std::optional<PeerLink> link;  // set when connected
};

struct SyncStats {
  bool sync_active = false;
  uint32_t connected_peers = 0;
  uint64_t bytes_sent = 0;  // mesh wire bytes since start (TLS records, every connection)
  uint64_t bytes_received = 0;
};

class PeerControl {
 public:
  using Done = std::function<void(Status)>;

  virtual ~PeerControl() = default;

  // Dials `addresses` (IP literals first), three attempts 200 ms apart, then the formation
  // handshake. OK: connected and registered (persisted, redialed after drops and restarts).
  // INVALID_ARGUMENT (bad id, own id, no usable address), UNAVAILABLE (unreachable),
  // PERMISSION_DENIED (handshake refused, with the reason).
  virtual void ConnectPeer(std::string endpoint_id, std::vector<std::string> addresses,
                           Done done) = 0;
  // Unregisters (persisted) and closes any connection to the peer. Unknown peer: OK.
  virtual void DisconnectPeer(std::string endpoint_id, Done done) = 0;
  // Connected peers and registered peers that are not connected, sorted by endpoint id.
  virtual void ListPeers(std::function<void(std::vector<PeerView>)> done) = 0;
  // Starts or pauses document replication (connections stay up).
  virtual void SetSyncActive(bool active) = 0;
  virtual bool sync_active() const = 0;
  virtual void GetSyncStats(std::function<void(SyncStats)> done) = 0;
};

}  // namespace peat
