// ConsoleSite: the web console on the API port (docs/CONSOLE.md), the router's OpsHooks::web.
//   GET /console            → 308 to /console/
//   GET /console/           → index.html;  GET /console/NAME → that built-in file (404 otherwise)
//   GET /console/api/mesh   → MeshOverviewJson (peers' links, documents per collection)
// Files are sent gzipped when the client accepts it, with an ETag (304 on If-None-Match) and
// `Cache-Control: no-cache`. Every answer under /console carries a strict
// Content-Security-Policy (same-origin scripts, styles and fetches only; no inline code, no
// framing) and nosniff / no-referrer headers. With --console=false, or in a binary built without
// the console, /console answers 404 and says why. Other paths are left to the router.
// Thread-safe: Handle runs on any connection's executor; the overview reads the store on the
// `blocking` executor and the peers on the mesh's thread, and answers on the exchange's executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/peer_control.h"
#include "console/console_assets.h"
#include "rpc/http_exchange.h"
#include "store/document_store.h"

namespace peat::console {

// The policy every /console answer carries (docs/CONSOLE.md "Security").
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

struct ConsoleSiteOptions {
  bool enabled = true;                    // --console
  std::span<const ConsoleAsset> assets;   // BuiltInConsoleAssets(), or a test's files
  std::string node_id;                    // the endpoint id, in the overview
  store::DocumentStore* store = nullptr;  // documents per collection
  PeerControl* peers = nullptr;           // ListPeers with links
  std::function<uint64_t()> feed_seq;     // the replication log's last seq
  boost::asio::any_io_executor blocking;  // where the store is read (may block)
};

class ConsoleSite {
 public:
  explicit ConsoleSite(ConsoleSiteOptions options);

  // Answers GETs under /console and returns true; false for any other path.
  bool Handle(const std::shared_ptr<rpc::HttpExchange>& exchange) const;

 private:
  void ServeFile(rpc::HttpExchange& exchange, std::string_view name) const;
  void ServeOverview(const std::shared_ptr<rpc::HttpExchange>& exchange) const;

  ConsoleSiteOptions options_;
};

}  // namespace peat::console
