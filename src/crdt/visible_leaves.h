// The leaves of a document state that render, in path order: the conflict rule of document.h
// applied to a register map. A leaf is a live scalar/array register not hidden by its
// descendants, or an empty-object marker with no live descendants. A scalar/array register at P
// that has live descendants renders only if it is newer than all of them (ties go to the
// descendants); otherwise P renders as an object of its descendants. Object markers never hide
// anything. The root register ("") is never a leaf.
//
// Applies to every register of the map: a live document renders the registers its deletes cover
// too (document.h), and Render is called only on a live document.
// Header-only so Render and Put inline the callback; stateless; thread-safe on a const map.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "crdt/document.h"
#include "crdt/path.h"

namespace peat::crdt {

// Calls fn(path, reg) for every leaf of [first, end) in path order; stops early when fn returns
// false. The range must hold every descendant of each path in it (a whole map, or one top-level
// key's subtree): a leaf's visibility depends only on its descendants.
template <typename Fn>
void ForEachVisibleLeaf(std::map<std::string, Register>::const_iterator first,
                        std::map<std::string, Register>::const_iterator end, Fn&& fn) {
  auto it = first;
  while (it != end) {
    const std::string& path = it->first;
    const Register& reg = it->second;
    if (reg.kind == RegisterKind::kTombstone || path.empty()) {
      ++it;
      continue;
    }
    auto next = std::next(it);
    if (reg.kind == RegisterKind::kObject) {
      // An empty object unless some live register lies below it.
      while (next != end && next->second.kind == RegisterKind::kTombstone &&
             IsDescendant(next->first, path)) {
        ++next;
      }
      if (next == end || !IsDescendant(next->first, path)) {
        if (!fn(std::string_view(path), reg)) return;
      }
      ++it;
      continue;
    }
    // Scalar or array: compare with its live descendants (contiguous right after it).
    bool has_live_descendant = false;
    Timestamp newest_descendant;
    while (next != end && IsDescendant(next->first, path)) {
      if (next->second.kind != RegisterKind::kTombstone) {
        if (!has_live_descendant || newest_descendant < next->second.ts) {
          newest_descendant = next->second.ts;
        }
        has_live_descendant = true;
      }
      ++next;
    }
    if (!has_live_descendant || newest_descendant < reg.ts) {
      if (!fn(std::string_view(path), reg)) return;
      it = next;  // the scalar wins: its descendants are hidden
    } else {
      ++it;  // the descendants win: render P as an object
    }
  }
}

// Every leaf of a whole register map.
template <typename Fn>
void ForEachVisibleLeaf(const std::map<std::string, Register>& regs, Fn&& fn) {
  ForEachVisibleLeaf(regs.begin(), regs.end(), std::forward<Fn>(fn));
}

}  // namespace peat::crdt
