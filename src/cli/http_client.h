// The HTTP/1.1 client under `peat`: one keep-alive connection to the node's API over TCP or a
// unix socket (Boost.Beast), for Connect unary calls (one POST, whole answer) and server streams
// (POST, then the body as it arrives).
//
// Every operation of a unary call is bounded by the timeout given at construction; stream reads
// wait as long as it takes (observe and watch run until Ctrl-C). After CancelOnSignals, SIGINT or
// SIGTERM cancels the operation in progress and every later one: they fail with CANCELLED
// "interrupted" and interrupted() turns true.
//
// Errors: UNAVAILABLE (cannot connect, connection lost, malformed answer), DEADLINE_EXCEEDED (no
// answer within the timeout), CANCELLED (interrupted); messages name the node's address.
// Not thread-safe: one client per thread, one call at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "cli/node_address.h"
#include "common/status.h"

namespace peat::cli {

struct HttpReply {
  unsigned status = 0;
  std::string content_type;
  std::string body;  // whole body for Post; empty for StartStream (read it with ReadStream)
};

class HttpClient {
 public:
  HttpClient(NodeAddress address, std::chrono::milliseconds timeout);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  const NodeAddress& address() const;
  void CancelOnSignals();
  bool interrupted() const;

  // POST `path` with `body`; connects (again) when there is no open connection.
  StatusOr<HttpReply> Post(std::string_view path, std::string_view content_type, std::string body);

  // POST for a stream: returns once the answer's header is in (status and content type).
  StatusOr<HttpReply> StartStream(std::string_view path, std::string_view content_type,
                                  std::string body);
  // Appends the next body bytes of the stream to `out`; the value is false once the body is
  // complete (`out` may still have received its last bytes).
  StatusOr<bool> ReadStream(std::string& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace peat::cli
