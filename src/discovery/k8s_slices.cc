#include "discovery/k8s_slices.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>

namespace peat::discovery {

namespace {
namespace dom = simdjson::dom;

std::string_view StringAt(dom::element el, std::string_view key) {
  std::string_view s;
  if (el[key].get_string().get(s) != simdjson::SUCCESS) return {};
  return s;
}

uint16_t PortFrom(std::string_view text) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v == 0 || v > 65535) return 0;
  return static_cast<uint16_t>(v);
}

uint16_t PortOf(dom::element port) {
  int64_t v = 0;
  if (port["port"].get_int64().get(v) != simdjson::SUCCESS || v <= 0 || v > 65535) return 0;
  return static_cast<uint16_t>(v);
}

// The mesh port of a slice (see the header); `named`: found by its name, not guessed.
uint16_t MeshPort(dom::element slice, bool& named) {
  named = false;
  dom::array ports;
  if (slice["ports"].get_array().get(ports) != simdjson::SUCCESS) return 0;
  uint16_t only = 0, first_tcp = 0;
  size_t count = 0;
  for (dom::element p : ports) {
    ++count;
    const uint16_t port = PortOf(p);
    if (port == 0) continue;
    if (StringAt(p, "name") == "mesh") {
      named = true;
      return port;
    }
    only = port;
    const std::string_view proto = StringAt(p, "protocol");
    if (first_tcp == 0 && (proto.empty() || proto == "TCP")) first_tcp = port;
  }
  return count == 1 ? only : first_tcp;
}

K8sSlice SliceFrom(dom::element obj, std::string_view prefix) {
  K8sSlice slice;
  dom::element meta;
  if (obj["metadata"].get(meta) == simdjson::SUCCESS) {
    slice.name = std::string(StringAt(meta, "name"));
    slice.resource_version = std::string(StringAt(meta, "resourceVersion"));
    dom::object annotations;
    if (!prefix.empty() && meta["annotations"].get_object().get(annotations) == simdjson::SUCCESS) {
      for (auto field : annotations) {
        std::string_view value;
        if (field.key.substr(0, prefix.size()) != prefix) continue;
        if (field.value.get_string().get(value) != simdjson::SUCCESS) continue;
        slice.annotations[std::string(field.key.substr(prefix.size()))] = std::string(value);
      }
    }
  }
  slice.mesh_port = MeshPort(obj, slice.port_named);
  if (auto it = slice.annotations.find("mesh-port"); it != slice.annotations.end()) {
    if (const uint16_t port = PortFrom(it->second); port != 0) {
      slice.mesh_port = port;
      slice.port_named = true;
    }
  }
  dom::array endpoints;
  if (obj["endpoints"].get_array().get(endpoints) != simdjson::SUCCESS) return slice;
  for (dom::element e : endpoints) {
    bool terminating = false;
    if (e["conditions"]["terminating"].get_bool().get(terminating) == simdjson::SUCCESS &&
        terminating) {
      continue;
    }
    K8sEndpoint ep;
    dom::array addresses;
    std::string_view ip;
    if (e["addresses"].get_array().get(addresses) == simdjson::SUCCESS && addresses.size() > 0 &&
        addresses.at(0).get_string().get(ip) == simdjson::SUCCESS) {
      ep.ip = std::string(ip);
    }
    dom::element ref;
    if (e["targetRef"].get(ref) == simdjson::SUCCESS && StringAt(ref, "kind") == "Pod") {
      ep.pod_name = std::string(StringAt(ref, "name"));
    }
    if (ep.pod_name.empty()) ep.pod_name = std::string(StringAt(e, "hostname"));
    if (ep.ip.empty() || ep.pod_name.empty()) continue;
    slice.endpoints.push_back(std::move(ep));
  }
  return slice;
}

// The top-level object of `text`; INVALID_ARGUMENT naming `what` when it is not a JSON object.
StatusOr<dom::element> ParseObject(dom::parser& parser, std::string_view text, const char* what) {
  dom::element root;
  if (auto err = parser.parse(text.data(), text.size()).get(root); err) {
    return InvalidArgumentError(std::string(what) +
                                " is not JSON: " + simdjson::error_message(err));
  }
  if (!root.is_object()) return InvalidArgumentError(std::string(what) + " is not an object");
  return root;
}
}  // namespace

StatusOr<K8sSliceList> ParseSliceList(std::string_view body, std::string_view annotation_prefix) {
  dom::parser parser;
  PEAT_ASSIGN_OR_RETURN(dom::element root, ParseObject(parser, body, "the EndpointSlice list"));
  // An answer without "items" (or with something else there) is not a list: never read as "no
  // peers", which would drop every pod.
  dom::element items_el;
  if (root["items"].get(items_el) != simdjson::SUCCESS) {
    return InvalidArgumentError("the EndpointSlice list has no items");
  }
  if (!items_el.is_array() && !items_el.is_null()) {
    return InvalidArgumentError("the EndpointSlice list: items is not a list");
  }
  K8sSliceList list;
  dom::element meta;
  if (root["metadata"].get(meta) == simdjson::SUCCESS) {
    list.resource_version = std::string(StringAt(meta, "resourceVersion"));
  }
  dom::array items;
  if (items_el.get_array().get(items) == simdjson::SUCCESS) {
    for (dom::element item : items) {
      if (!item.is_object()) continue;
      K8sSlice slice = SliceFrom(item, annotation_prefix);
      if (!slice.name.empty()) list.items.push_back(std::move(slice));
    }
  }
  return list;
}

StatusOr<K8sWatchEvent> ParseWatchEvent(std::string_view line, std::string_view annotation_prefix) {
  dom::parser parser;
  PEAT_ASSIGN_OR_RETURN(dom::element root, ParseObject(parser, line, "a watch event"));
  const std::string_view type = StringAt(root, "type");
  dom::element obj;
  if (root["object"].get(obj) != simdjson::SUCCESS || !obj.is_object()) {
    return InvalidArgumentError("a watch event has no object");
  }
  K8sWatchEvent ev;
  if (type == "ERROR") {
    ev.type = K8sEventType::kError;
    int64_t code = 0;
    if (obj["code"].get_int64().get(code) == simdjson::SUCCESS) ev.code = static_cast<int>(code);
    ev.message = std::string(StringAt(obj, "message"));
    return ev;
  }
  if (type == "ADDED") {
    ev.type = K8sEventType::kAdded;
  } else if (type == "MODIFIED") {
    ev.type = K8sEventType::kModified;
  } else if (type == "DELETED") {
    ev.type = K8sEventType::kDeleted;
  } else if (type == "BOOKMARK") {
    ev.type = K8sEventType::kBookmark;
  } else {
    return InvalidArgumentError("a watch event has an unknown type \"" + std::string(type) + "\"");
  }
  ev.slice = SliceFrom(obj, annotation_prefix);
  if (ev.type != K8sEventType::kBookmark && ev.slice.name.empty()) {
    return InvalidArgumentError("a watch event names no slice");
  }
  return ev;
}

std::map<std::string, K8sPeer> DesiredPeers(const std::map<std::string, K8sSlice>& slices,
                                            const std::string& own_pod,
                                            const std::string& own_endpoint_id,
                                            const DeriveEndpointId& derive) {
  // Once one slice names its mesh port, slices that do not are not read at all (not per pod:
  // slices change one at a time, so a pod leaving the named slice first would briefly be left
  // with only its guessed address, and be dialed there).
  bool any_named = false;
  for (const auto& [name, slice] : slices) any_named = any_named || slice.port_named;
  std::map<std::string, K8sPeer> out;
  for (const auto& [name, slice] : slices) {
    if (slice.mesh_port == 0 || (any_named && !slice.port_named)) continue;
    for (const auto& ep : slice.endpoints) {
      if (ep.pod_name == own_pod) continue;
      auto id = derive(ep.pod_name);
      if (!id.ok() || *id == own_endpoint_id) continue;
      const bool v6 = ep.ip.find(':') != std::string::npos;
      std::string address =
          (v6 ? "[" + ep.ip + "]" : ep.ip) + ":" + std::to_string(slice.mesh_port);
      K8sPeer& peer = out[*id];
      peer.pod_name = ep.pod_name;
      if (std::find(peer.addresses.begin(), peer.addresses.end(), address) ==
          peer.addresses.end()) {
        peer.addresses.push_back(std::move(address));
      }
    }
  }
  return out;
}

K8sReconcilePlan PlanReconcile(const std::map<std::string, K8sPeer>& desired,
                               std::map<std::string, std::vector<std::string>>& proposed,
                               const std::set<std::string>& connected,
                               const std::set<std::string>& dialing) {
  K8sReconcilePlan plan;
  for (auto it = proposed.begin(); it != proposed.end();) {
    if (desired.count(it->first)) {
      ++it;
    } else {
      plan.drops.push_back(it->first);
      it = proposed.erase(it);
    }
  }
  for (const auto& [id, peer] : desired) {
    auto [known, added] = proposed.try_emplace(id, peer.addresses);
    const bool moved = !added && known->second != peer.addresses;
    known->second = peer.addresses;
    if (dialing.count(id) || (connected.count(id) && !moved)) continue;
    plan.dials.push_back(id);
  }
  return plan;
}

}  // namespace peat::discovery
