#include "service/reflection_service.h"

#include <google/protobuf/descriptor.pb.h>

#include <algorithm>
#include <memory>
#include <type_traits>

#include "common/status.h"
#include "grpc/reflection/v1alpha/reflection.pb.h"

namespace peat::service {

namespace gpb = google::protobuf;
namespace rpb = grpc::reflection::v1;

namespace {

constexpr const char* kV1Service = "grpc.reflection.v1.ServerReflection";
constexpr const char* kV1AlphaService = "grpc.reflection.v1alpha.ServerReflection";
// Answers queued on the connection and not yet sent: a client that sends requests without reading
// the answers is stopped here rather than buffered without bound.
constexpr size_t kMaxPendingBytes = 1 << 20;

void SetError(StatusCode code, std::string message, rpb::ServerReflectionResponse* out) {
  auto* e = out->mutable_error_response();
  e->set_error_code(static_cast<int>(code));
  e->set_error_message(std::move(message));
}

// Symbols may come fully qualified with a leading dot (".pkg.Type").
std::string_view WithoutLeadingDot(std::string_view name) {
  if (!name.empty() && name.front() == '.') name.remove_prefix(1);
  return name;
}

}  // namespace

ReflectionIndex::ReflectionIndex(const gpb::DescriptorPool& pool,
                                 const std::vector<std::string>& services)
    : pool_(pool) {
  std::vector<const gpb::FileDescriptor*> pending;
  for (const auto& name : services) {
    const gpb::ServiceDescriptor* service = pool.FindServiceByName(name);
    if (!service) continue;
    services_.push_back(name);
    pending.push_back(service->file());
  }
  std::sort(services_.begin(), services_.end());
  services_.erase(std::unique(services_.begin(), services_.end()), services_.end());

  while (!pending.empty()) {
    const gpb::FileDescriptor* file = pending.back();
    pending.pop_back();
    if (serialized_.count(file->name())) continue;
    gpb::FileDescriptorProto proto;
    file->CopyTo(&proto);
    serialized_[file->name()] = proto.SerializeAsString();
    // Transitive imports, each once, nearest first.
    std::vector<std::string>& imports = imports_[file->name()];
    std::set<std::string> seen{file->name()};
    std::vector<const gpb::FileDescriptor*> frontier{file};
    for (size_t i = 0; i < frontier.size(); ++i) {
      for (int d = 0; d < frontier[i]->dependency_count(); ++d) {
        const gpb::FileDescriptor* dep = frontier[i]->dependency(d);
        if (!seen.insert(dep->name()).second) continue;
        imports.push_back(dep->name());
        frontier.push_back(dep);
        pending.push_back(dep);
      }
    }
  }
}

const gpb::FileDescriptor* ReflectionIndex::Disclosed(const gpb::FileDescriptor* f) const {
  return f && serialized_.count(f->name()) ? f : nullptr;
}

void ReflectionIndex::AnswerFile(const gpb::FileDescriptor* file, const std::string& what,
                                 rpb::ServerReflectionResponse* out) const {
  if (!Disclosed(file)) return SetError(StatusCode::kNotFound, what + " not found", out);
  auto* files = out->mutable_file_descriptor_response();
  files->add_file_descriptor_proto(serialized_.at(file->name()));
  for (const auto& name : imports_.at(file->name())) {
    files->add_file_descriptor_proto(serialized_.at(name));
  }
}

rpb::ServerReflectionResponse ReflectionIndex::Answer(
    const rpb::ServerReflectionRequest& request) const {
  rpb::ServerReflectionResponse out;
  out.set_valid_host(request.host());
  *out.mutable_original_request() = request;
  switch (request.message_request_case()) {
    case rpb::ServerReflectionRequest::kListServices:
      for (const auto& name : services_) {
        out.mutable_list_services_response()->add_service()->set_name(name);
      }
      break;
    case rpb::ServerReflectionRequest::kFileByFilename: {
      const std::string& name = request.file_by_filename();
      AnswerFile(pool_.FindFileByName(name), "file \"" + name + "\"", &out);
      break;
    }
    case rpb::ServerReflectionRequest::kFileContainingSymbol: {
      std::string symbol(WithoutLeadingDot(request.file_containing_symbol()));
      AnswerFile(pool_.FindFileContainingSymbol(symbol), "symbol \"" + symbol + "\"", &out);
      break;
    }
    case rpb::ServerReflectionRequest::kFileContainingExtension: {
      const auto& ext = request.file_containing_extension();
      std::string type_name(WithoutLeadingDot(ext.containing_type()));
      const gpb::Descriptor* type = pool_.FindMessageTypeByName(type_name);
      const gpb::FieldDescriptor* field =
          type && Disclosed(type->file())
              ? pool_.FindExtensionByNumber(type, ext.extension_number())
              : nullptr;
      AnswerFile(
          field ? field->file() : nullptr,
          "extension " + std::to_string(ext.extension_number()) + " of \"" + type_name + "\"",
          &out);
      break;
    }
    case rpb::ServerReflectionRequest::kAllExtensionNumbersOfType: {
      std::string type_name(WithoutLeadingDot(request.all_extension_numbers_of_type()));
      const gpb::Descriptor* type = pool_.FindMessageTypeByName(type_name);
      if (!type || !Disclosed(type->file())) {
        SetError(StatusCode::kNotFound, "message type \"" + type_name + "\" not found", &out);
        break;
      }
      auto* numbers = out.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(type->full_name());
      std::vector<const gpb::FieldDescriptor*> extensions;
      pool_.FindAllExtensions(type, &extensions);
      for (const auto* e : extensions) {
        if (Disclosed(e->file())) numbers->add_extension_number(e->number());
      }
      break;
    }
    case rpb::ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
      SetError(StatusCode::kInvalidArgument,
               "the request sets none of list_services, file_by_filename, file_containing_symbol, "
               "file_containing_extension, all_extension_numbers_of_type",
               &out);
      break;
  }
  return out;
}

std::vector<std::string> ServedServices(const rpc::MethodTable& table) {
  std::set<std::string> names;
  table.ForEach([&names](const rpc::MethodSpec& m) {
    std::string_view path = m.path;
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    auto slash = path.rfind('/');
    if (slash != std::string_view::npos && slash > 0) names.emplace(path.substr(0, slash));
  });
  return {names.begin(), names.end()};
}

namespace {

// One ServerReflectionInfo method. v1alpha has the same wire format as v1: its messages are
// answered through their v1 twins.
template <typename Req, typename Resp>
void AddReflectionMethod(rpc::MethodTable& table, const std::string& service,
                         std::shared_ptr<const ReflectionIndex> index) {
  table.AddBidi<Req>("/" + service + "/ServerReflectionInfo",
                     [index](const std::shared_ptr<rpc::ServerCall>& call, const Req* request) {
                       if (!request)
                         return call->Finish(Status::Ok());  // the client sent its last request
                       if (call->PendingBytes() > kMaxPendingBytes) {
                         return call->Finish(ResourceExhaustedError(
                             "reflection client sends requests without reading the answers"));
                       }
                       auto response = std::make_unique<Resp>();
                       if constexpr (std::is_same_v<Req, rpb::ServerReflectionRequest>) {
                         *response = index->Answer(*request);
                       } else {
                         rpb::ServerReflectionRequest v1;
                         v1.ParseFromString(request->SerializeAsString());
                         response->ParseFromString(index->Answer(v1).SerializeAsString());
                       }
                       call->Write(std::move(response));
                     });
}

}  // namespace

void RegisterReflectionService(rpc::MethodTable& table) {
  std::vector<std::string> services = ServedServices(table);
  services.emplace_back(kV1Service);
  services.emplace_back(kV1AlphaService);
  auto index =
      std::make_shared<const ReflectionIndex>(*gpb::DescriptorPool::generated_pool(), services);
  AddReflectionMethod<rpb::ServerReflectionRequest, rpb::ServerReflectionResponse>(
      table, kV1Service, index);
  AddReflectionMethod<grpc::reflection::v1alpha::ServerReflectionRequest,
                      grpc::reflection::v1alpha::ServerReflectionResponse>(table, kV1AlphaService,
                                                                           index);
}

}  // namespace peat::service
