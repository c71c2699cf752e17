// K8sApiClient: one HTTPS GET to the Kubernetes API server at a time, HTTP/1.1 over TLS (Beast +
// OpenSSL), authenticated with the pod's service-account token. Used by K8sDiscovery for the
// EndpointSlice list (whole body) and watch (a chunked stream of JSON lines).
//
// In-cluster configuration (K8sApiConfig::FromEnvironment): the API server is
// KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT; the service-account directory (default
// /var/run/secrets/kubernetes.io/serviceaccount, overridable with the environment variable
// PEAT_K8S_SERVICEACCOUNT_DIR for tests) holds `token`, `ca.crt` and `namespace`. The token and
// the CA are read again for every request, so a rotated token (kubelet rewrites the file) or CA is
// picked up without a restart. The server certificate must chain to ca.crt and name the host
// (IP SAN for an IP host, DNS name otherwise).
//
// Threading: Get() and Cancel() are called on the io_context's thread; callbacks run there.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace peat::discovery {

struct K8sApiConfig {
  std::string host;  // IP or DNS name
  std::string port = "443";
  std::string token_file;
  std::string ca_file;
  std::string namespace_file;

  // From KUBERNETES_SERVICE_HOST/PORT and the service-account directory (see the header).
  // FAILED_PRECONDITION when KUBERNETES_SERVICE_HOST is unset (not in a cluster).
  static StatusOr<K8sApiConfig> FromEnvironment();
};

// Reads the whole file, trailing whitespace stripped. UNAVAILABLE naming the file on failure.
StatusOr<std::string> ReadTrimmedFile(const std::string& path);

struct K8sResponse {
  Status status;  // transport errors (connect, TLS, cut body, timeout); OK once an answer came
  int http_status = 0;  // 0 when no answer
  std::string body;     // whole body (non-streaming), or what the stream held (error bodies)
};

class K8sApiClient {
 public:
  using LineFn = std::function<void(std::string_view line)>;  // one line of a streaming body
  using DoneFn = std::function<void(K8sResponse)>;

  K8sApiClient(boost::asio::io_context& io, K8sApiConfig config);
  ~K8sApiClient();

  // GET `target` (path + query). `on_line` set: a 2xx body is handed over line by line as it
  // arrives (and not kept); else the body is kept (up to 64 MiB). `timeout` bounds the whole call.
  // One call at a time: a new Get cancels the previous one (its done runs with CANCELLED).
  void Get(std::string target, std::chrono::milliseconds timeout, LineFn on_line, DoneFn done);
  // Cancels the call in progress (its done runs with CANCELLED).
  void Cancel();

 private:
  class Call;
  boost::asio::io_context& io_;
  const K8sApiConfig config_;
  std::shared_ptr<Call> call_;
};

}  // namespace peat::discovery
