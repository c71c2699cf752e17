#include "service/typed_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace peat::service {

namespace pb = peat::sidecar::v1;
using json = nlohmann::json;

namespace {

json Strings(const google::protobuf::RepeatedPtrField<std::string>& v) {
  json a = json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

// Lenient readers: a missing or mistyped field yields the proto default.
std::string Str(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
double Num(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}
// Integers: JSON integers, or floats with an integral value.
int64_t Int(const json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end()) return 0;
  if (it->is_number_unsigned()) {
    auto u = it->get<uint64_t>();
    return u <= static_cast<uint64_t>(INT64_MAX) ? static_cast<int64_t>(u) : 0;  // out of range
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18) {
      return static_cast<int64_t>(d);
    }
  }
  return 0;
}
uint32_t U32(const json& j, const char* k) {
  int64_t v = Int(j, k);
  return v >= 0 && v <= 0xFFFFFFFFLL ? static_cast<uint32_t>(v) : 0;
}
int EnumValue(const json& j, const char* k) {
  int64_t v = Int(j, k);
  return v >= INT32_MIN && v <= INT32_MAX ? static_cast<int>(v) : 0;
}
bool OptStr(const json& j, const char* k, std::string* out) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}
bool OptNum(const json& j, const char* k, double* out) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_number()) return false;
  *out = it->get<double>();
  return true;
}
template <typename Repeated>
void StrList(const json& j, const char* k, Repeated* out) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_array()) return;
  for (const auto& e : *it) {
    if (e.is_string()) out->Add(e.get<std::string>());
  }
}
json Parse(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : json::object();
}
// The document's own "id" field, else its document id.
std::string IdOr(const json& j, std::string_view doc_id) {
  std::string id = Str(j, "id");
  return id.empty() ? std::string(doc_id) : id;
}
json OptionalString(bool has, const std::string& v) { return has ? json(v) : json(nullptr); }
json OptionalDouble(bool has, double v) { return has ? json(v) : json(nullptr); }

}  // namespace

std::string NodeToJson(const pb::Node& m) {
  json j = {{"id", m.id()},
            {"node_type", m.node_type()},
            {"name", m.name()},
            {"status", static_cast<int>(m.status())},
            {"latitude", m.latitude()},
            {"longitude", m.longitude()},
            {"altitude_m", m.altitude_m()},
            {"readiness", m.readiness()},
            {"capabilities", Strings(m.capabilities())},
            {"unit_id", OptionalString(m.has_unit_id(), m.unit_id())},
            {"callsign", OptionalString(m.has_callsign(), m.callsign())}};
  return j.dump();
}

std::string CellToJson(const pb::Cell& m) {
  json j = {{"id", m.id()},
            {"name", m.name()},
            {"status", static_cast<int>(m.status())},
            {"node_count", m.node_count()},
            {"center_latitude", m.center_latitude()},
            {"center_longitude", m.center_longitude()},
            {"capabilities", Strings(m.capabilities())},
            {"formation_id", OptionalString(m.has_formation_id(), m.formation_id())},
            {"leader_id", OptionalString(m.has_leader_id(), m.leader_id())}};
  return j.dump();
}

std::string TrackToJson(const pb::Track& m) {
  json j = {{"id", m.id()},
            {"source_node", m.source_node()},
            {"cell_id", OptionalString(m.has_cell_id(), m.cell_id())},
            {"formation_id", OptionalString(m.has_formation_id(), m.formation_id())},
            {"latitude", m.latitude()},
            {"longitude", m.longitude()},
            {"altitude_m", OptionalDouble(m.has_altitude_m(), m.altitude_m())},
            {"cep_m", OptionalDouble(m.has_cep_m(), m.cep_m())},
            {"heading_deg", OptionalDouble(m.has_heading_deg(), m.heading_deg())},
            {"speed_mps", OptionalDouble(m.has_speed_mps(), m.speed_mps())},
            {"classification", m.classification()},
            {"confidence", m.confidence()},
            {"category", static_cast<int>(m.category())}};
  return j.dump();
}

std::string CommandToJson(const pb::Command& m) {
  json j = {{"id", m.id()},
            {"target_id", m.target_id()},
            {"command_type", m.command_type()},
            {"status", static_cast<int>(m.status())},
            {"created_at", m.created_at()},
            {"expires_at", m.expires_at()},
            {"payload_json", m.payload_json()}};
  return j.dump();
}

pb::Node NodeFromJson(std::string_view text, std::string_view doc_id) {
  json j = Parse(text);
  pb::Node m;
  m.set_id(IdOr(j, doc_id));
  m.set_node_type(Str(j, "node_type"));
  m.set_name(Str(j, "name"));
  m.set_status(static_cast<pb::NodeStatus>(EnumValue(j, "status")));
  m.set_latitude(Num(j, "latitude"));
  m.set_longitude(Num(j, "longitude"));
  m.set_altitude_m(Num(j, "altitude_m"));
  m.set_readiness(Num(j, "readiness"));
  StrList(j, "capabilities", m.mutable_capabilities());
  std::string s;
  if (OptStr(j, "unit_id", &s)) m.set_unit_id(s);
  if (OptStr(j, "callsign", &s)) m.set_callsign(s);
  return m;
}

pb::Cell CellFromJson(std::string_view text, std::string_view doc_id) {
  json j = Parse(text);
  pb::Cell m;
  m.set_id(IdOr(j, doc_id));
  m.set_name(Str(j, "name"));
  m.set_status(static_cast<pb::CellStatus>(EnumValue(j, "status")));
  m.set_node_count(U32(j, "node_count"));
  m.set_center_latitude(Num(j, "center_latitude"));
  m.set_center_longitude(Num(j, "center_longitude"));
  StrList(j, "capabilities", m.mutable_capabilities());
  std::string s;
  if (OptStr(j, "formation_id", &s)) m.set_formation_id(s);
  if (OptStr(j, "leader_id", &s)) m.set_leader_id(s);
  return m;
}

pb::Track TrackFromJson(std::string_view text, std::string_view doc_id) {
  json j = Parse(text);
  pb::Track m;
  m.set_id(IdOr(j, doc_id));
  m.set_source_node(Str(j, "source_node"));
  std::string s;
  if (OptStr(j, "cell_id", &s)) m.set_cell_id(s);
  if (OptStr(j, "formation_id", &s)) m.set_formation_id(s);
  m.set_latitude(Num(j, "latitude"));
  m.set_longitude(Num(j, "longitude"));
  double d;
  if (OptNum(j, "altitude_m", &d)) m.set_altitude_m(d);
  if (OptNum(j, "cep_m", &d)) m.set_cep_m(d);
  if (OptNum(j, "heading_deg", &d)) m.set_heading_deg(d);
  if (OptNum(j, "speed_mps", &d)) m.set_speed_mps(d);
  m.set_classification(Str(j, "classification"));
  m.set_confidence(Num(j, "confidence"));
  m.set_category(static_cast<pb::TrackCategory>(EnumValue(j, "category")));
  return m;
}

pb::Command CommandFromJson(std::string_view text, std::string_view doc_id) {
  json j = Parse(text);
  pb::Command m;
  m.set_id(IdOr(j, doc_id));
  m.set_target_id(Str(j, "target_id"));
  m.set_command_type(Str(j, "command_type"));
  m.set_status(static_cast<pb::CommandStatus>(EnumValue(j, "status")));
  m.set_created_at(Int(j, "created_at"));
  m.set_expires_at(Int(j, "expires_at"));
  m.set_payload_json(Str(j, "payload_json"));
  return m;
}

}  // namespace peat::service
