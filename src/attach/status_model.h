// The status model of attachment distributions (docs/spec/ATTACHMENTS.md §7): the state of one
// target (written in its status document), the transitions a target may make, and the aggregate
// of a distribution (over its targets) and of a bundle (over its distributions).
//
//   target:       PENDING → IN_PROGRESS → COMPLETED; PENDING/IN_PROGRESS → FAILED | CANCELLED;
//                 a terminal state never changes.
//   distribution: terminal only when every target is — all COMPLETED → COMPLETED; some COMPLETED
//                 and some FAILED/CANCELLED → PARTIAL; none COMPLETED and any FAILED → FAILED;
//                 else CANCELLED. Before that: PENDING until a target starts, then IN_PROGRESS.
//                 No targets → COMPLETED.
//   bundle:       any FAILED → FAILED, else any PARTIAL → PARTIAL, else any CANCELLED →
//                 CANCELLED, else COMPLETED (only once every distribution is terminal).
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peat::attach {

// Values equal the wire enum DistributionStatus.
enum class TransferState {
  kPending = 1,
  kInProgress = 2,
  kCompleted = 3,
  kPartial = 4,  // distributions and bundles only
  kFailed = 5,
  kCancelled = 6,
};

bool IsTerminal(TransferState s);
// The lowercase name used in status documents ("pending", "in_progress", …).
std::string_view StateName(TransferState s);
// The state of a status document's `status` field; nullopt for anything else (including
// "partial", which no target can be in).
std::optional<TransferState> ParseTargetState(std::string_view name);

// Whether a target in `from` may move to `to` (§7 table). Terminal states never move; nothing
// moves back to PENDING; PARTIAL is not a target state.
bool TargetTransitionAllowed(TransferState from, TransferState to);

// Aggregate of a distribution over its targets' states (§7).
TransferState AggregateDistribution(const std::vector<TransferState>& targets);
// Aggregate of a bundle over its distributions' states; nullopt while any is not terminal.
std::optional<TransferState> AggregateBundle(const std::vector<TransferState>& distributions);

}  // namespace peat::attach
