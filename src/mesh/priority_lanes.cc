#include "mesh/priority_lanes.h"

#include <algorithm>

namespace peat::mesh {

std::vector<PriorityLane> BuildPriorityLanes(const std::map<std::string, int>& classes) {
  std::map<int, std::vector<std::string>, std::greater<>> by_class;
  std::vector<std::string> not_default;
  for (const auto& [collection, cls] : classes) {
    const int c = std::clamp(cls, 1, 5);
    if (c == kDefaultPriorityClass) continue;  // the default lane covers it
    by_class[c].push_back(collection);
    not_default.push_back(collection);
  }
  by_class.try_emplace(kDefaultPriorityClass);
  std::vector<PriorityLane> lanes;
  for (auto& [cls, collections] : by_class) {
    PriorityLane lane;
    lane.priority_class = cls;
    if (cls == kDefaultPriorityClass) {
      lane.collections = not_default;
      lane.exclude = !not_default.empty();
    } else {
      lane.collections = std::move(collections);
    }
    lanes.push_back(std::move(lane));
  }
  return lanes;
}

}  // namespace peat::mesh
