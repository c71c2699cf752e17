#include "cli/commands.h"

#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/derive_id.h"
#include "cli/node_address.h"
#include "cli/port_forward.h"
#include "cli/query_args.h"
#include "cli/rpc_client.h"
#include "cli/table.h"
#include "common/host_port.h"
#include "crypto/sha256.h"
#include "peat/sidecar/v1/sidecar.pb.h"
#include "service/subscription_query.h"

namespace peat::cli {

namespace {

namespace pb = peat::sidecar::v1;
using nlohmann::json;

// An error with the name of what failed (an RPC, or an input such as "put").
struct Failure {
  std::string what;
  Status status;
};

// `NODE_PHASE_SYNCING` → `SYNCING`.
std::string EnumLabel(const std::string& name, std::string_view prefix) {
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

std::string CodeName(StatusCode code) {
  std::string name(StatusCodeName(code));
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

class Runner {
 public:
  Runner(const Invocation& inv, std::istream& in, std::ostream& out, std::ostream& err,
         NodeAddress address)
      : inv_(inv),
        in_(in),
        out_(out),
        err_(err),
        http_(std::move(address),
              std::chrono::milliseconds(static_cast<int64_t>(inv.timeout_secs * 1000))),
        rpc_(http_) {}

  int Run();

 private:
  // Calls `method`; on error records it (Fail) and returns false.
  bool Call(std::string_view method, const google::protobuf::Message& req,
            google::protobuf::Message& resp) {
    Status st = rpc_.Call(method, req, resp);
    if (!st.ok()) return Fail(std::string(method), st);
    return true;
  }
  bool Fail(std::string what, Status st) {
    failure_ = Failure{std::move(what), std::move(st)};
    return false;
  }
  bool text() const { return inv_.output == OutputFormat::kText; }
  bool pretty() const { return inv_.output == OutputFormat::kJson; }
  // The answer as JSON (json: pretty; ndjson: one line).
  void PrintMessage(const google::protobuf::Message& m) { out_ << ToJson(m, pretty()) << "\n"; }
  // json: the whole answer; ndjson: one line per row. False (nothing printed) for text.
  template <typename Rows>
  bool PrintList(const google::protobuf::Message& whole, const Rows& rows) {
    if (text()) return false;
    if (inv_.output == OutputFormat::kJson) {
      PrintMessage(whole);
    } else {
      for (const auto& row : rows) PrintMessage(row);
    }
    return true;
  }
  void PrintJson(const json& j) { out_ << (pretty() ? j.dump(2) : j.dump()) << "\n"; }
  void PrintLine(const std::string& line) { out_ << FitToWidth(line, kDefaultWidth) << "\n"; }

  bool Status_();
  bool PeersList();
  bool PeersConnect();
  bool PeersDisconnect();
  bool SyncStartStop(bool start);
  bool SyncStats();
  bool Query();
  bool Get();
  bool Put();
  bool Delete();
  bool Observe();
  bool AttachSend();
  bool AttachStatus();
  bool AttachWatch();
  bool AttachCancel();
  bool Configs();
  bool Console();

  // Every live document of `collection` (ListDocuments + GetDocument), id → canonical JSON.
  bool ReadCollection(const std::string& collection, std::map<std::string, std::string>& docs);

  const Invocation& inv_;
  std::istream& in_;
  std::ostream& out_;
  std::ostream& err_;
  HttpClient http_;
  RpcClient rpc_;
  std::optional<Failure> failure_;
  bool console_stopped_ = false;  // `peat console` ends only by a signal
};

int Runner::Run() {
  const auto& c = inv_.command;
  auto is = [&](std::initializer_list<std::string_view> path) {
    return std::equal(c.begin(), c.end(), path.begin(), path.end());
  };
  bool ok = false;
  if (is({"status"}))
    ok = Status_();
  else if (is({"peers", "list"}))
    ok = PeersList();
  else if (is({"peers", "connect"}))
    ok = PeersConnect();
  else if (is({"peers", "disconnect"}))
    ok = PeersDisconnect();
  else if (is({"sync", "start"}))
    ok = SyncStartStop(true);
  else if (is({"sync", "stop"}))
    ok = SyncStartStop(false);
  else if (is({"sync", "stats"}))
    ok = SyncStats();
  else if (is({"query"}))
    ok = Query();
  else if (is({"get"}))
    ok = Get();
  else if (is({"put"}))
    ok = Put();
  else if (is({"delete"}))
    ok = Delete();
  else if (is({"observe"}))
    ok = Observe();
  else if (is({"attach", "send"}))
    ok = AttachSend();
  else if (is({"attach", "status"}))
    ok = AttachStatus();
  else if (is({"attach", "watch"}))
    ok = AttachWatch();
  else if (is({"attach", "cancel"}))
    ok = AttachCancel();
  else if (is({"configs"}))
    ok = Configs();
  else if (is({"console"}))
    ok = Console();
  else
    Fail("peat", InvalidArgumentError("unknown command"));
  out_.flush();
  if (ok) return kExitOk;
  if (http_.interrupted() || console_stopped_) return kExitInterrupted;
  const Status& st = failure_->status;
  err_ << "peat: " << failure_->what << ": " << CodeName(st.code()) << ": " << st.message() << "\n";
  return ExitCodeFor(st.code());
}

bool Runner::Status_() {
  pb::GetStatusResponse r;
  if (!Call("GetStatus", pb::GetStatusRequest(), r)) return false;
  if (!text()) return PrintMessage(r), true;
  out_ << RenderKeyValues({{"node id", r.node_id()},
                           {"endpoint id", r.endpoint_addr()},
                           {"phase", EnumLabel(pb::NodePhase_Name(r.phase()), "NODE_PHASE_")},
                           {"sync", r.sync_active() ? "active" : "stopped"},
                           {"peers", std::to_string(r.connected_peers()) + " connected"}});
  return true;
}

bool Runner::PeersList() {
  pb::ListPeersResponse r;
  if (!Call("ListPeers", pb::ListPeersRequest(), r)) return false;
  if (PrintList(r, r.peers())) return true;
  Table t({"ENDPOINT ID", "CONNECTED", "ADDRESSES"});
  for (const auto& p : r.peers()) {
    std::string addrs;
    for (const auto& a : p.addresses()) addrs += (addrs.empty() ? "" : ", ") + a;
    t.AddRow({p.endpoint_id(), p.connected() ? "yes" : "no", addrs.empty() ? "-" : addrs});
  }
  out_ << t.Render();
  return true;
}

bool Runner::PeersConnect() {
  pb::ConnectPeerRequest req;
  req.set_endpoint_id(inv_.endpoint_id);
  for (const auto& a : inv_.addresses) req.add_addresses(a);
  req.set_relay_url(inv_.relay_url);
  pb::ConnectPeerResponse r;
  if (!Call("ConnectPeer", req, r)) return false;
  if (!text()) return PrintMessage(r), true;
  PrintLine("connecting to " + inv_.endpoint_id + " (redialed until peers disconnect)");
  return true;
}

bool Runner::PeersDisconnect() {
  pb::DisconnectPeerRequest req;
  req.set_endpoint_id(inv_.endpoint_id);
  pb::DisconnectPeerResponse r;
  if (!Call("DisconnectPeer", req, r)) return false;
  if (!text()) return PrintMessage(r), true;
  PrintLine("disconnected " + inv_.endpoint_id);
  return true;
}

bool Runner::SyncStartStop(bool start) {
  bool ok =
      start ? Call("StartSync", pb::StartSyncRequest(), *std::make_unique<pb::StartSyncResponse>())
            : Call("StopSync", pb::StopSyncRequest(), *std::make_unique<pb::StopSyncResponse>());
  if (!ok) return false;
  if (!text()) return PrintJson(json::object()), true;
  PrintLine(start ? "sync started" : "sync stopped");
  return true;
}

bool Runner::SyncStats() {
  pb::GetSyncStatsResponse r;
  if (!Call("GetSyncStats", pb::GetSyncStatsRequest(), r)) return false;
  if (!text()) return PrintMessage(r), true;
  out_ << RenderKeyValues({{"sync", r.sync_active() ? "active" : "stopped"},
                           {"connected peers", std::to_string(r.connected_peers())},
                           {"bytes sent", std::to_string(r.bytes_sent())},
                           {"bytes received", std::to_string(r.bytes_received())}});
  return true;
}

bool Runner::ReadCollection(const std::string& collection,
                            std::map<std::string, std::string>& docs) {
  pb::ListDocumentsRequest list;
  list.set_collection(collection);
  pb::ListDocumentsResponse ids;
  if (!Call("ListDocuments", list, ids)) return false;
  for (const auto& id : ids.doc_ids()) {
    pb::GetDocumentRequest get;
    get.set_collection(collection);
    get.set_doc_id(id);
    pb::GetDocumentResponse doc;
    if (!Call("GetDocument", get, doc)) return false;
    if (doc.has_json_data()) docs[id] = doc.json_data();  // absent: deleted meanwhile
  }
  return true;
}

bool Runner::Query() {
  auto query = BuildQuery(inv_.where, inv_.any, inv_.query_json);
  if (!query.ok()) return Fail("query", query.status());
  auto filter = query->has_value() ? service::SubscriptionFilter::Compile(**query)
                                   : StatusOr(service::SubscriptionFilter::MatchAll());
  std::map<std::string, std::string> docs;
  if (!ReadCollection(inv_.collection, docs)) return false;
  Table t({"DOC ID", "DOCUMENT"});
  json all = json::array();
  for (const auto& [id, text_json] : docs) {
    json doc = json::parse(text_json, nullptr, /*allow_exceptions=*/false);
    if (!filter->Matches(doc)) continue;
    json row = {{"collection", inv_.collection}, {"docId", id}, {"document", doc}};
    switch (inv_.output) {
      case OutputFormat::kText:
        t.AddRow({id, text_json});
        break;
      case OutputFormat::kJson:
        all.push_back(std::move(row));
        break;
      case OutputFormat::kNdjson:
        PrintJson(row);
        break;
    }
  }
  if (text()) out_ << t.Render();
  if (pretty()) PrintJson(all);
  return true;
}

bool Runner::Get() {
  pb::GetDocumentRequest req;
  req.set_collection(inv_.collection);
  req.set_doc_id(inv_.doc_id);
  pb::GetDocumentResponse r;
  if (!Call("GetDocument", req, r)) return false;
  if (!r.has_json_data()) {
    return Fail("GetDocument", NotFoundError("no document '" + inv_.doc_id + "' in collection '" +
                                             inv_.collection + "'"));
  }
  json doc = json::parse(r.json_data(), nullptr, /*allow_exceptions=*/false);
  if (text()) {
    out_ << doc.dump(2) << "\n";
    return true;
  }
  PrintJson({{"collection", inv_.collection}, {"docId", inv_.doc_id}, {"document", doc}});
  return true;
}

bool Runner::Put() {
  std::string body;
  if (!inv_.file.empty()) {
    std::ifstream f(inv_.file, std::ios::binary);
    if (!f) return Fail("put", InvalidArgumentError("cannot read --file " + inv_.file));
    body.assign(std::istreambuf_iterator<char>(f), {});
  } else if (inv_.json_text.empty() || inv_.json_text == "-") {
    body.assign(std::istreambuf_iterator<char>(in_), {});
  } else {
    body = inv_.json_text;
  }
  try {
    json doc = json::parse(body);
    if (!doc.is_object()) {
      return Fail("put", InvalidArgumentError("the document must be a JSON object, got " +
                                              std::string(doc.type_name())));
    }
  } catch (const json::parse_error& e) {
    return Fail("put",
                InvalidArgumentError(std::string("the document is not valid JSON: ") + e.what()));
  }
  pb::PutDocumentRequest req;
  req.set_collection(inv_.collection);
  req.set_doc_id(inv_.doc_id);
  req.set_json_data(body);
  pb::PutDocumentResponse r;
  if (!Call("PutDocument", req, r)) return false;
  if (!text()) return PrintMessage(r), true;
  PrintLine("put " + inv_.collection + "/" + inv_.doc_id);
  return true;
}

bool Runner::Delete() {
  pb::DeleteDocumentRequest req;
  req.set_collection(inv_.collection);
  req.set_doc_id(inv_.doc_id);
  pb::DeleteDocumentResponse r;
  if (!Call("DeleteDocument", req, r)) return false;
  if (!text()) return PrintMessage(r), true;
  PrintLine("deleted " + inv_.collection + "/" + inv_.doc_id);
  return true;
}

bool Runner::Observe() {
  auto query = BuildQuery(inv_.where, inv_.any, inv_.query_json);
  if (!query.ok()) return Fail("observe", query.status());
  if (inv_.since_now && inv_.collections.empty()) {
    return Fail("observe", InvalidArgumentError("--since-now needs the collections to observe"));
  }
  http_.CancelOnSignals();
  // --since-now: the state before subscribing; the snapshot's copies of it are skipped.
  std::map<std::string, std::string> before;
  if (inv_.since_now) {
    for (const auto& c : inv_.collections) {
      std::map<std::string, std::string> docs;
      if (!ReadCollection(c, docs)) return false;
      for (auto& [id, j] : docs) before[c + '\0' + id] = std::move(j);
    }
  }
  pb::SubscribeRequest req;
  for (const auto& c : inv_.collections) req.add_collections(c);
  if (query->has_value()) *req.mutable_query() = **query;
  pb::DocumentChange scratch;
  Status st = rpc_.Stream("Subscribe", req, scratch, [&](const google::protobuf::Message& m) {
    const auto& ev = static_cast<const pb::DocumentChange&>(m);
    if (!before.empty()) {
      auto it = before.find(ev.collection() + '\0' + ev.doc_id());
      if (it != before.end()) {
        bool same = ev.change_type() == pb::CHANGE_TYPE_UPSERT && ev.json_data() == it->second;
        before.erase(it);
        if (same) return Status::Ok();
      }
    }
    std::string type = EnumLabel(pb::ChangeType_Name(ev.change_type()), "CHANGE_TYPE_");
    if (text()) {
      std::string line = type + std::string(type.size() < 6 ? 6 - type.size() : 0, ' ') + "  " +
                         ev.collection() + "/" + ev.doc_id();
      if (ev.has_json_data()) line += "  " + ev.json_data();
      PrintLine(line);
    } else {
      json doc = ev.has_json_data() ? json::parse(ev.json_data(), nullptr, false) : json(nullptr);
      out_ << json{{"changeType", type},
                   {"collection", ev.collection()},
                   {"docId", ev.doc_id()},
                   {"document", doc}}
                  .dump()
           << "\n";
    }
    out_.flush();
    return Status::Ok();
  });
  if (!st.ok()) return Fail("Subscribe", st);
  return true;
}

bool Runner::AttachSend() {
  pb::SendAttachmentsRequest req;
  for (const auto& rel : inv_.paths) {
    std::string local = inv_.dir + "/" + rel;
    std::ifstream f(local, std::ios::binary);
    if (!f) return Fail("attach send", InvalidArgumentError("cannot read " + local));
    Sha256 hasher;
    uint64_t size = 0;
    std::string chunk(1 << 16, '\0');
    while (f.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || f.gcount() > 0) {
      hasher.Update(std::string_view(chunk.data(), static_cast<size_t>(f.gcount())));
      size += static_cast<uint64_t>(f.gcount());
    }
    auto digest = hasher.Finish();
    if (!digest.ok()) return Fail("attach send", digest.status());
    auto* file = req.add_files();
    file->set_root_name(inv_.root);
    file->set_relative_path(rel);
    file->set_size_bytes(size);
    file->set_sha256(std::string(digest->begin(), digest->end()));
  }
  if (!inv_.to_nodes.empty()) {
    for (const auto& n : inv_.to_nodes) req.mutable_scope()->mutable_node_list()->add_node_ids(n);
  } else if (!inv_.formation.empty()) {
    req.mutable_scope()->mutable_formation()->set_formation_id(inv_.formation);
  } else {
    req.mutable_scope()->mutable_all_nodes();
  }
  if (!inv_.priority.empty()) {
    std::string name = "ATTACHMENT_PRIORITY_" + inv_.priority;
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    pb::AttachmentPriority p;
    if (pb::AttachmentPriority_Parse(name, &p)) req.set_priority(p);
  }
  if (!inv_.bundle_id.empty()) req.set_bundle_id(inv_.bundle_id);
  pb::SendAttachmentsResponse r;
  if (!Call("SendAttachments", req, r)) return false;
  if (!text()) return PrintMessage(r), true;
  PrintLine("bundle " + r.bundle_id());
  Table t({"FILE", "DISTRIBUTION ID", "BLOB TOKEN"});
  t.KeepWhole(1);
  for (const auto& h : r.handles()) {
    std::string path = h.file_index() < inv_.paths.size() ? inv_.paths[h.file_index()] : "?";
    t.AddRow({path, h.distribution_id(), h.blob_token()});
  }
  out_ << t.Render();
  return true;
}

bool Runner::AttachStatus() {
  pb::GetAttachmentDistributionRequest req;
  req.set_distribution_id(inv_.distribution_id);
  pb::GetAttachmentDistributionResponse r;
  if (!Call("GetAttachmentDistribution", req, r)) return false;
  if (!text()) return PrintMessage(r), true;
  std::vector<std::pair<std::string, std::string>> kv = {
      {"status", EnumLabel(pb::DistributionStatus_Name(r.status()), "DISTRIBUTION_STATUS_")},
      {"bytes", std::to_string(r.bytes_transferred()) + " / " + std::to_string(r.bytes_total())}};
  if (r.has_error()) kv.emplace_back("error", r.error());
  out_ << RenderKeyValues(kv);
  Table t({"NODE", "STATUS", "BYTES"});
  for (const auto& n : r.per_node()) {
    t.AddRow({n.node_id(),
              EnumLabel(pb::DistributionStatus_Name(n.status()), "DISTRIBUTION_STATUS_"),
              std::to_string(n.bytes_transferred())});
  }
  if (t.rows() > 0) out_ << "\n" << t.Render();
  return true;
}

bool Runner::AttachWatch() {
  http_.CancelOnSignals();
  pb::SubscribeAttachmentBundleRequest req;
  req.set_bundle_id(inv_.bundle_id);
  pb::AttachmentProgress scratch;
  Status st = rpc_.Stream(
      "SubscribeAttachmentBundle", req, scratch, [&](const google::protobuf::Message& m) {
        const auto& p = static_cast<const pb::AttachmentProgress&>(m);
        if (!text()) {
          out_ << ToJson(p, false) << "\n";
        } else {
          std::string line =
              p.distribution_id() + "  " +
              EnumLabel(pb::DistributionStatus_Name(p.status()), "DISTRIBUTION_STATUS_") + "  " +
              std::to_string(p.bytes_transferred()) + "/" + std::to_string(p.bytes_total());
          if (p.has_changed_node()) {
            line += "  node " + p.changed_node().node_id() + " " +
                    EnumLabel(pb::DistributionStatus_Name(p.changed_node().status()),
                              "DISTRIBUTION_STATUS_");
          }
          if (p.has_error()) line += "  error: " + p.error();
          PrintLine(line);
        }
        out_.flush();
        return Status::Ok();
      });
  if (!st.ok()) return Fail("SubscribeAttachmentBundle", st);
  return true;
}

bool Runner::AttachCancel() {
  pb::CancelAttachmentDistributionRequest req;
  req.set_distribution_id(inv_.distribution_id);
  pb::CancelAttachmentDistributionResponse r;
  if (!Call("CancelAttachmentDistribution", req, r)) return false;
  if (!text()) return PrintMessage(r), true;
  PrintLine(r.was_cancelled() ? "cancelled " + inv_.distribution_id
                              : inv_.distribution_id + " was not cancelled (already settled)");
  return true;
}

bool Runner::Configs() {
  pb::ListCollectionConfigsResponse r;
  if (!Call("ListCollectionConfigs", pb::ListCollectionConfigsRequest(), r)) return false;
  if (PrintList(r, r.configs())) return true;
  Table t({"COLLECTION", "POLICY", "SOFT DELETE TTL", "TOMBSTONE TTL"});
  auto ttl = [](bool has, uint64_t secs) { return has ? std::to_string(secs) + "s" : "-"; };
  for (const auto& c : r.configs()) {
    t.AddRow({c.collection(),
              EnumLabel(pb::DeletionPolicy_Name(c.deletion_policy()), "DELETION_POLICY_"),
              ttl(c.has_soft_delete_ttl_secs(), c.soft_delete_ttl_secs()),
              ttl(c.has_tombstone_ttl_secs(), c.tombstone_ttl_secs())});
  }
  out_ << t.Render();
  return true;
}

bool Runner::Console() {
  auto listen = ParseHostPort(inv_.console_listen, HostPortRules{.allow_port_zero = true});
  if (!listen.ok()) return Fail("console --listen", listen.status());
  if (!IsLoopbackIp(listen->host)) {
    return Fail("console --listen",
                InvalidArgumentError("'" + inv_.console_listen +
                                     "' is not a loopback address: the forward carries the whole "
                                     "API without authentication, so it listens on 127.0.0.1 or "
                                     "::1 only"));
  }
  pb::GetStatusResponse status;  // the node must answer before the browser is sent to it
  if (!Call("GetStatus", pb::GetStatusRequest(), status)) return false;
  PortForward forward(http_.address());
  if (Status st = forward.Listen(listen->host, listen->port); !st.ok()) {
    return Fail("console", st);
  }
  const std::string url = "http://" + FormatHostPort(listen->host, forward.port()) + "/console/";
  if (text()) {
    out_ << "console of node " << status.endpoint_addr() << " (" << http_.address().ToString()
         << ")\n"
         << url << "\nCtrl-C to stop\n";
  } else {
    PrintJson({{"url", url},
               {"node", http_.address().ToString()},
               {"endpointId", status.endpoint_addr()}});
  }
  out_.flush();
  if (inv_.open_browser) {
    // The browser is the desktop's business: started, not waited for, its failure only said.
    const char* argv[] = {"xdg-open", url.c_str(), nullptr};
    pid_t pid = 0;
    if (posix_spawnp(&pid, "xdg-open", nullptr, nullptr, const_cast<char* const*>(argv), environ) !=
        0) {
      err_ << "peat console: cannot start xdg-open; open " << url << " yourself\n";
    }
  }
  forward.Run(nullptr);
  console_stopped_ = true;
  return false;
}

int RunDerive(const Invocation& inv, std::ostream& out, std::ostream& err) {
  std::ostringstream id;
  int rc = RunDeriveId(inv.shared_key, inv.node_id, id, err, "peat derive-id");
  if (rc != 0) return kExitMalformed;
  std::string endpoint = id.str();
  if (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
  if (inv.output == OutputFormat::kText) {
    out << endpoint << "\n";
  } else {
    json j = {{"endpointId", endpoint}, {"nodeId", inv.node_id}};
    out << (inv.output == OutputFormat::kJson ? j.dump(2) : j.dump()) << "\n";
  }
  return kExitOk;
}

}  // namespace

int ExitCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
      return kExitAuth;
    case StatusCode::kNotFound:
      return kExitNotFound;
    case StatusCode::kInvalidArgument:
      return kExitMalformed;
    default:
      return kExitError;
  }
}

int RunInvocation(const Invocation& inv, std::istream& in, std::ostream& out, std::ostream& err) {
  if (inv.command.size() == 1 && inv.command[0] == "derive-id") return RunDerive(inv, out, err);
  if (inv.command.size() == 1 && inv.command[0] == "completion") {
    out << BashCompletion();
    return kExitOk;
  }
  NodeAddress address = DefaultNodeAddress();
  if (!inv.node.empty()) {
    auto parsed = ParseNodeAddress(inv.node);
    if (!parsed.ok()) {
      err << "peat: --node: " << parsed.status().message() << "\n";
      return kExitMalformed;
    }
    address = *parsed;
  }
  Runner runner(inv, in, out, err, std::move(address));
  return runner.Run();
}

}  // namespace peat::cli
