// SystemdNotifier: the sd_notify(3) protocol without libsystemd. Each Notify sends one datagram
// ("READY=1", "STOPPING=1", "STATUS=…", newline-separated assignments) to the AF_UNIX socket that
// systemd names in $NOTIFY_SOCKET: an absolute path, or "@name" for the abstract namespace.
//
// Contract:
//   - Without NOTIFY_SOCKET (unset or empty) every call is a no-op that returns OK; so is any call
//     on a notifier built from nullptr or "".
//   - Failures (a relative or too-long address, no listener, a full queue) are returned as a
//     Status and logged as one warning, the first time only: readiness notification must never
//     stop or slow the node. The node never treats them as fatal.
//   - Not thread-safe: main calls it from the control thread only (the one systemd accepts
//     messages from under the default NotifyAccess=main, since it is the main process).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace peat {

class SystemdNotifier {
 public:
  // `notify_socket` is the value of NOTIFY_SOCKET (nullptr or "" = disabled).
  explicit SystemdNotifier(const char* notify_socket);
  // Reads NOTIFY_SOCKET from the process environment.
  static SystemdNotifier FromEnvironment();

  bool enabled() const { return !socket_.empty(); }
  // Sends `state` as one datagram. OK when disabled.
  Status Notify(std::string_view state);

 private:
  std::string socket_;
  bool warned_ = false;
};

// "READY=1\nSTATUS=serving on A, B": sent once /readyz answers 200.
std::string ReadyState(const std::vector<std::string>& addresses);
// "STOPPING=1\nSTATUS=draining (REASON)": sent when the drain starts.
std::string StoppingState(std::string_view reason);

}  // namespace peat
