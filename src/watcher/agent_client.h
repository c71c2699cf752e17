// The watcher's client of the UDS Remote Agent (WATCHER.md §2, §3, §5): one Call() = one request
// on its own connection, answered once through its callback.
// - Requests: GET /status; POST /zarfapi.v1.ZarfAPIService/ListPackages and
//   /registryapi.v1.RegistryService/ListPulledPackages with `content-type: application/json` and
//   the body `{}`. Every request carries Connect-Protocol-Version: 1, Accept: application/json and
//   User-Agent: peat-node/<version>.
// - Transport: http:// is HTTP/2 with prior knowledge (h2c). https:// is TLS ≥ 1.2 with ALPN h2,
//   falling back to HTTP/1.1 when the agent selects http/1.1 (or nothing), with SNI (for names)
//   and hostname / IP verification. With --agent-tls-ca only that CA is trusted (pinning),
//   otherwise the system store. With cert + key the client authenticates (mTLS).
// - Limits: TCP connect 2 s; 5 s per call from Call() to the last byte; a body over 4 MiB.
// - Result (the `result` label of peat_agent_polls_total, §5), decided in this order:
//     connect_error  DNS failure, refused, or the connection lost before a response began
//     tls_error      handshake or certificate failure (also one the server reports on the first
//                    read, as TLS 1.3 does for a rejected client certificate)
//     timeout        the connect or the whole call took too long (hang, drip)
//     http_error     a non-2xx status (the message carries the Connect error body's `code`), or
//                    the stream reset by the agent before a response began
//     parse_error    a 2xx response whose body is over 4 MiB or cut short (reset mid-body); a
//                    body that is not the expected JSON is the caller's parse_error
//                    (agent_responses.h), not decided here
//     ok             a complete 2xx response; `body` holds it
//   plus `cancelled` (CancelAll / destruction), which is never counted.
// - Certificate rotation: before each call the cert, key and CA files are stat()ed; when one
//   changed (mtime, size or inode), all are re-read and checked (agent_endpoint.h). A failed
//   reload keeps the old credentials, logs one warning per change and bumps
//   credential_reload_failures().
// Threading: not thread-safe. Create, Call, CancelAll and destroy on the thread that runs `io`
// (one thread); callbacks run there too, never inside Call().
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "watcher/agent_endpoint.h"

namespace peat::watcher {

enum class AgentCall { kStatus, kListPackages, kListPulledPackages };
// "status", "list_packages", "list_pulled_packages" (the `call` label).
std::string_view AgentCallName(AgentCall call);
std::string_view AgentCallPath(AgentCall call);

enum class CallResult {
  kOk,
  kConnectError,
  kTlsError,
  kTimeout,
  kHttpError,
  kParseError,
  kCancelled
};
// "ok", "connect_error", …, "cancelled".
std::string_view CallResultLabel(CallResult result);

struct AgentReply {
  CallResult result = CallResult::kConnectError;
  int http_status = 0;   // 0 when no response headers arrived
  std::string body;      // the response body read (complete only for kOk)
  std::string message;   // why it failed, for logs; empty for kOk
  std::string protocol;  // "h2c", "h2" or "http/1.1" once connected
  std::chrono::steady_clock::duration elapsed{};
};

struct AgentClientOptions {
  std::string addr;   // http(s)://host[:port], as accepted by ParseAgentAddr
  AgentTlsFiles tls;  // all empty, or cert + key (+ CA); only with https://
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds call_timeout{5000};
  size_t max_body_bytes = size_t{4} << 20;
  bool offer_h2 = true;  // false: ALPN offers only http/1.1 (tests of the HTTP/1.1 fallback)
};

class AgentClient {
 public:
  using Callback = std::function<void(AgentReply)>;

  // Checks the address and loads the TLS files (errors as ParseAgentAddr / LoadAgentTlsMaterial).
  static StatusOr<std::unique_ptr<AgentClient>> Create(boost::asio::io_context& io,
                                                       AgentClientOptions options);
  ~AgentClient();  // cancels the calls in flight (their callbacks get kCancelled)
  AgentClient(const AgentClient&) = delete;
  AgentClient& operator=(const AgentClient&) = delete;

  void Call(AgentCall call, Callback done);
  // Ends every call in flight at once; each callback gets kCancelled.
  void CancelAll();

  size_t in_flight() const;
  uint64_t credential_reload_failures() const;
  uint64_t credential_reloads() const;  // successful reloads after the first load

  struct Impl;

 private:
  explicit AgentClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace peat::watcher
