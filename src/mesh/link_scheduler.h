// LinkScheduler: what a replication session sends next when its send window has room
// (docs/spec/ATTACHMENTS.md §15.4). Document batches and blob pieces share one window and the
// priority classes 5 (critical) … 1 (bulk):
//   - each send opportunity serves the highest class with data; within a class documents first;
//   - classes below the top class (the session's highest document lane) stop at ¾ of the window
//     (SendWindow::CanSend(top = false)), so a critical document or piece always finds room;
//   - anti-starvation: after 8 consecutive sends above a waiting unit, one unit of the
//     longest-waiting one goes out;
//   - a blob piece is clamp(window / 4, 4 KiB, 64 KiB): once a higher class arrives, at most one
//     more lower piece goes out beyond what the window (≈ 100 ms of queue) already holds.
// The session asks Order() for the units that have data, tries them in that order (a unit may
// turn out to have nothing after all, or no room), and reports the one it sent with OnSent().
//
// A pure value type: no clock, no I/O. Not thread-safe (one session, on the mesh loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace peat::mesh {

enum class UnitKind : uint8_t { kDocument = 0, kBlobPiece = 1 };

struct SendUnit {
  int priority_class = 3;
  UnitKind kind = UnitKind::kDocument;

  friend bool operator==(const SendUnit&, const SendUnit&) = default;
  // Scheduling order: higher class first, documents before pieces within a class.
  bool Before(const SendUnit& other) const {
    if (priority_class != other.priority_class) return priority_class > other.priority_class;
    return kind < other.kind;
  }
};

class LinkScheduler {
 public:
  static constexpr int kStarvationLimit = 8;

  // `top_class`: the highest document class of the session; units of that class or above may
  // fill the whole window.
  explicit LinkScheduler(int top_class = 3) : top_class_(top_class) {}

  // The units of `ready` (each with data waiting; duplicates ignored) in the order to try.
  std::vector<SendUnit> Order(const std::vector<SendUnit>& ready);
  // `unit` (one of the last Order's) went out.
  void OnSent(const SendUnit& unit);

  // Whether `priority_class` may fill the whole window (else it stops at ¾).
  bool IsTop(int priority_class) const { return priority_class >= top_class_; }
  // Piece size for a window of `window_bytes`.
  static size_t PieceBytes(size_t window_bytes);

  int consecutive_above() const { return consecutive_above_; }

 private:
  static int Key(const SendUnit& u) { return u.priority_class * 2 + static_cast<int>(u.kind); }

  int top_class_;
  std::vector<SendUnit> last_ready_;
  std::map<int, uint64_t> waiting_since_;  // Key → tick it started waiting
  uint64_t tick_ = 0;
  int consecutive_above_ = 0;  // sends in a row while a lower unit waited
};

}  // namespace peat::mesh
