#include "app/systemd_notifier.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace peat {

namespace {

// The address of `name` ("/path" or "@abstract"); INVALID_ARGUMENT for any other form.
Status ToAddress(const std::string& name, sockaddr_un* addr, socklen_t* len) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (name[0] != '/' && name[0] != '@') {
    return InvalidArgumentError("NOTIFY_SOCKET must be an absolute path or @abstract, got '" +
                                name + "'");
  }
  if (name.size() >= sizeof(addr->sun_path)) {
    return InvalidArgumentError("NOTIFY_SOCKET is longer than a unix socket address allows (" +
                                std::to_string(name.size()) + " bytes)");
  }
  std::memcpy(addr->sun_path, name.data(), name.size());
  // Abstract: a leading NUL, and the length counts exactly the name (no terminator).
  if (name[0] == '@') addr->sun_path[0] = '\0';
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                (name[0] == '/' ? 1 : 0));
  return Status::Ok();
}

Status ErrnoError(const std::string& what, int err) {
  return UnavailableError(what + ": " + std::strerror(err));
}

}  // namespace

SystemdNotifier::SystemdNotifier(const char* notify_socket)
    : socket_(notify_socket ? notify_socket : "") {}

SystemdNotifier SystemdNotifier::FromEnvironment() {
  return SystemdNotifier(std::getenv("NOTIFY_SOCKET"));
}

Status SystemdNotifier::Notify(std::string_view state) {
  if (!enabled()) return Status::Ok();
  Status st = [&]() -> Status {
    sockaddr_un addr;
    socklen_t len = 0;
    PEAT_RETURN_IF_ERROR(ToAddress(socket_, &addr, &len));
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return ErrnoError("NOTIFY_SOCKET: socket", errno);
    const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                                  reinterpret_cast<const sockaddr*>(&addr), len);
    const int err = errno;
    ::close(fd);
    if (sent < 0) return ErrnoError("NOTIFY_SOCKET " + socket_, err);
    if (static_cast<size_t>(sent) != state.size()) {
      return UnavailableError("NOTIFY_SOCKET " + socket_ + ": short send");
    }
    return Status::Ok();
  }();
  if (!st.ok() && !warned_) {
    warned_ = true;
    spdlog::warn(
        "systemd notification failed (the node runs on; further failures are not logged): {}",
        st.message());
  }
  return st;
}

std::string ReadyState(const std::vector<std::string>& addresses) {
  std::string status;
  for (const auto& a : addresses) status += (status.empty() ? "" : ", ") + a;
  return "READY=1\nSTATUS=serving on " + status;
}

std::string StoppingState(std::string_view reason) {
  return "STOPPING=1\nSTATUS=draining (" + std::string(reason) + ")";
}

}  // namespace peat
