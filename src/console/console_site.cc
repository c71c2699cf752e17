#include "console/console_site.h"

#include <boost/asio/post.hpp>
#include <cstdlib>
#include <utility>
#include <vector>

#include "console/mesh_overview.h"

namespace peat::console {
namespace {

constexpr std::string_view kPrefix = "/console";

rpc::HeaderList SecurityHeaders() {
  return {{"content-security-policy", std::string(kContentSecurityPolicy)},
          {"x-content-type-options", "nosniff"},
          {"referrer-policy", "no-referrer"},
          {"x-frame-options", "DENY"},
          {"cross-origin-opener-policy", "same-origin"},
          {"cross-origin-resource-policy", "same-origin"}};
}

void SendText(rpc::HttpExchange& exchange, int status, std::string text) {
  rpc::HeaderList headers = SecurityHeaders();
  headers.emplace_back("content-type", "text/plain; charset=utf-8");
  headers.emplace_back("cache-control", "no-store");
  exchange.SendResponse(status, std::move(headers), std::move(text));
}

// Whether an Accept-Encoding value admits gzip: "gzip" or "*" with no q or q > 0.
bool AcceptsGzip(const rpc::HttpRequest& req) {
  auto accept = req.Header("accept-encoding");
  if (!accept) return false;
  std::string_view rest = *accept;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && coding.front() == ' ') coding.remove_prefix(1);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (coding != "gzip" && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    const std::string params(item.substr(semi + 1));
    const size_t q = params.find("q=");
    return q == std::string::npos || std::strtod(params.c_str() + q + 2, nullptr) > 0;
  }
  return false;
}

}  // namespace

ConsoleSite::ConsoleSite(ConsoleSiteOptions options) : options_(std::move(options)) {}

bool ConsoleSite::Handle(const std::shared_ptr<rpc::HttpExchange>& exchange) const {
  const std::string& path = exchange->request().path;
  if (!path.starts_with(kPrefix)) return false;
  std::string_view rest = std::string_view(path).substr(kPrefix.size());
  if (!rest.empty() && rest.front() != '/') return false;  // "/consoles" is not ours

  if (!options_.enabled) {
    SendText(*exchange, 404, "the web console is off on this node (--console=false)\n");
    return true;
  }
  if (rest.empty()) {
    rpc::HeaderList headers = SecurityHeaders();
    headers.emplace_back("location", "/console/");
    headers.emplace_back("content-type", "text/plain; charset=utf-8");
    exchange->SendResponse(308, std::move(headers), "see /console/\n");
    return true;
  }
  rest.remove_prefix(1);
  if (rest == "api/mesh") {
    ServeOverview(exchange);
    return true;
  }
  ServeFile(*exchange, rest.empty() ? std::string_view("index.html") : rest);
  return true;
}

void ConsoleSite::ServeFile(rpc::HttpExchange& exchange, std::string_view name) const {
  if (options_.assets.empty()) {
    SendText(exchange, 404,
             "this peat-node was built without the web console (cmake -DPEAT_CONSOLE=OFF)\n");
    return;
  }
  const ConsoleAsset* asset = nullptr;
  for (const ConsoleAsset& a : options_.assets) {
    if (a.name == name) asset = &a;
  }
  if (!asset) {
    SendText(exchange, 404, "no such console file\n");
    return;
  }
  rpc::HeaderList headers = SecurityHeaders();
  headers.emplace_back("cache-control", "no-cache");
  headers.emplace_back("etag", std::string(asset->etag));
  headers.emplace_back("vary", "accept-encoding");
  auto match = exchange.request().Header("if-none-match");
  if (match && *match == asset->etag) {
    exchange.SendResponse(304, std::move(headers), {});
    return;
  }
  headers.emplace_back("content-type", std::string(asset->content_type));
  const bool gzip = !asset->gzip_body.empty() && AcceptsGzip(exchange.request());
  if (gzip) headers.emplace_back("content-encoding", "gzip");
  exchange.SendResponse(200, std::move(headers),
                        std::string(gzip ? asset->gzip_body : asset->body));
}

void ConsoleSite::ServeOverview(const std::shared_ptr<rpc::HttpExchange>& exchange) const {
  // Counting reads every live row: off the connection's thread. Then the peers, on the mesh's
  // thread; the answer goes back to the exchange's executor.
  // Copies, not `this`: the callbacks may outlive the request's connection.
  boost::asio::post(
      options_.blocking, [store = options_.store, peers = options_.peers,
                          feed_seq_of = options_.feed_seq, node_id = options_.node_id, exchange] {
        auto counts = store->CountByCollection();
        if (!counts.ok()) {
          boost::asio::post(exchange->executor(), [exchange, status = counts.status()] {
            SendText(*exchange, 503, "cannot count documents: " + status.ToString() + "\n");
          });
          return;
        }
        const uint64_t feed_seq = feed_seq_of ? feed_seq_of() : 0;
        peers->ListPeers([node_id, exchange, feed_seq,
                          counts = std::move(counts).value()](std::vector<PeerView> views) {
          std::string body = MeshOverviewJson(node_id, feed_seq, views, counts);
          boost::asio::post(exchange->executor(), [exchange, body = std::move(body)]() mutable {
            rpc::HeaderList headers = SecurityHeaders();
            headers.emplace_back("content-type", "application/json");
            headers.emplace_back("cache-control", "no-store");
            exchange->SendResponse(200, std::move(headers), std::move(body));
          });
        });
      });
}

}  // namespace peat::console
