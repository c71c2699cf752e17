// Status and StatusOr<T>: the error type returned across every module boundary.
//
// A Status is an error code (the gRPC code space, so the RPC layer maps it 1:1 onto the wire) plus
// a human-readable message. StatusOr<T> holds either a value or a non-OK Status. Both are plain
// values: cheap to move, safe to copy, no exceptions on the request path. Thread-compatible.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace peat {

// Numeric values equal the gRPC status codes.
enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// Lower snake case name as used by the Connect protocol ("invalid_argument").
std::string_view StatusCodeName(StatusCode code);
// Inverse of StatusCodeName; nullopt for an unknown name.
std::optional<StatusCode> StatusCodeFromName(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message" style, for logs and tests.
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFoundError(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status InternalError(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }
inline Status UnavailableError(std::string m) {
  return Status(StatusCode::kUnavailable, std::move(m));
}
inline Status UnimplementedError(std::string m) {
  return Status(StatusCode::kUnimplemented, std::move(m));
}
inline Status AlreadyExistsError(std::string m) {
  return Status(StatusCode::kAlreadyExists, std::move(m));
}
inline Status ResourceExhaustedError(std::string m) {
  return Status(StatusCode::kResourceExhausted, std::move(m));
}
inline Status FailedPreconditionError(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
inline Status PermissionDeniedError(std::string m) {
  return Status(StatusCode::kPermissionDenied, std::move(m));
}
inline Status DeadlineExceededError(std::string m) {
  return Status(StatusCode::kDeadlineExceeded, std::move(m));
}
inline Status CancelledError(std::string m) { return Status(StatusCode::kCancelled, std::move(m)); }

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  // Implicit on purpose: `return value;` and `return SomeError(...);` both work.
  StatusOr(T value) : v_(std::move(value)) {}        // NOLINT
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "StatusOr built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace peat

// Propagates a non-OK Status out of the enclosing function.
#define PEAT_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::peat::Status peat_status_ = (expr);        \
    if (!peat_status_.ok()) return peat_status_; \
  } while (0)

// `PEAT_ASSIGN_OR_RETURN(lhs, expr)`: evaluates `expr` (a StatusOr<T>); on error returns its
// Status from the enclosing function, else moves the value into `lhs`, which may declare a
// variable (`PEAT_ASSIGN_OR_RETURN(auto rows, db.Query(...));`) or name an existing one.
#define PEAT_STATUS_CONCAT_INNER_(a, b) a##b
#define PEAT_STATUS_CONCAT_(a, b) PEAT_STATUS_CONCAT_INNER_(a, b)
#define PEAT_ASSIGN_OR_RETURN(lhs, expr) \
  PEAT_ASSIGN_OR_RETURN_IMPL_(PEAT_STATUS_CONCAT_(peat_statusor_, __LINE__), lhs, expr)
#define PEAT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
