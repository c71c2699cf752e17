#include "attach/status_model.h"

namespace peat::attach {

bool IsTerminal(TransferState s) {
  return s == TransferState::kCompleted || s == TransferState::kPartial ||
         s == TransferState::kFailed || s == TransferState::kCancelled;
}

std::string_view StateName(TransferState s) {
  switch (s) {
    case TransferState::kPending:
      return "pending";
    case TransferState::kInProgress:
      return "in_progress";
    case TransferState::kCompleted:
      return "completed";
    case TransferState::kPartial:
      return "partial";
    case TransferState::kFailed:
      return "failed";
    case TransferState::kCancelled:
      return "cancelled";
  }
  return "pending";
}

std::optional<TransferState> ParseTargetState(std::string_view name) {
  for (auto s : {TransferState::kPending, TransferState::kInProgress, TransferState::kCompleted,
                 TransferState::kFailed, TransferState::kCancelled}) {
    if (name == StateName(s)) return s;
  }
  return std::nullopt;
}

bool TargetTransitionAllowed(TransferState from, TransferState to) {
  if (IsTerminal(from) || to == TransferState::kPending || to == TransferState::kPartial) {
    return false;
  }
  if (from == TransferState::kInProgress && to == TransferState::kInProgress) return false;
  // PENDING → IN_PROGRESS/COMPLETED/FAILED/CANCELLED; IN_PROGRESS → a terminal state. A target
  // may complete without ever reporting IN_PROGRESS (the blob was already there).
  return true;
}

TransferState AggregateDistribution(const std::vector<TransferState>& targets) {
  bool all_terminal = true, any_started = false, any_completed = false, any_failed = false;
  for (auto s : targets) {
    all_terminal = all_terminal && IsTerminal(s);
    any_started = any_started || s != TransferState::kPending;
    any_completed = any_completed || s == TransferState::kCompleted;
    any_failed = any_failed || s == TransferState::kFailed;
  }
  if (!all_terminal) return any_started ? TransferState::kInProgress : TransferState::kPending;
  bool all_completed = true;
  for (auto s : targets) all_completed = all_completed && s == TransferState::kCompleted;
  if (all_completed) return TransferState::kCompleted;  // also: no targets
  if (any_completed) return TransferState::kPartial;
  return any_failed ? TransferState::kFailed : TransferState::kCancelled;
}

std::optional<TransferState> AggregateBundle(const std::vector<TransferState>& distributions) {
  bool failed = false, partial = false, cancelled = false;
  for (auto s : distributions) {
    if (!IsTerminal(s)) return std::nullopt;
    failed = failed || s == TransferState::kFailed;
    partial = partial || s == TransferState::kPartial;
    cancelled = cancelled || s == TransferState::kCancelled;
  }
  if (failed) return TransferState::kFailed;
  if (partial) return TransferState::kPartial;
  if (cancelled) return TransferState::kCancelled;
  return TransferState::kCompleted;
}

}  // namespace peat::attach
