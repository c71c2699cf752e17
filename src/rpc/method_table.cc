#include "rpc/method_table.h"

namespace peat::rpc {

void MethodTable::Add(MethodSpec spec) {
  auto path = spec.path;
  methods_.insert_or_assign(std::move(path), std::move(spec));
}

const MethodSpec* MethodTable::Find(std::string_view path) const {
  auto it = methods_.find(path);
  return it == methods_.end() ? nullptr : &it->second;
}

}  // namespace peat::rpc
