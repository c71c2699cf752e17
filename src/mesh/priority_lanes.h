// Priority lanes: how a replication session orders what it sends (DESIGN.md "Priority"). Each
// collection has a class (--collection-priority; 5 critical, 4 priority, 3 routine = the
// default, 2 low, 1 bulk). A lane is the part of the change feed of one class: the routine lane
// is "every collection not given another class", the others list their collections. The
// sender keeps a cursor per lane and always serves the highest lane that has changes, so a
// critical change overtakes a bulk backlog in catch-up and in live streaming.
//
// Pure value types; thread-compatible.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace peat::mesh {

inline constexpr int kDefaultPriorityClass = 3;  // routine

struct PriorityLane {
  int priority_class = kDefaultPriorityClass;
  std::vector<std::string> collections;  // empty + !exclude = every collection
  bool exclude = false;                  // true: every collection except `collections`
};

// Lanes for a collection → class map, highest class first; always at least one lane. Classes
// outside 1..5 are clamped.
std::vector<PriorityLane> BuildPriorityLanes(const std::map<std::string, int>& classes);

}  // namespace peat::mesh
