// gRPC server reflection: grpc.reflection.v1.ServerReflection/ServerReflectionInfo and its
// v1alpha twin, so grpcurl, buf curl, Postman and evans need nothing but the address.
//
// ReflectionIndex answers one request at a time from a DescriptorPool (the node passes the
// generated pool: the descriptors compiled into the binary): list_services, file_by_filename,
// file_containing_symbol, file_containing_extension and all_extension_numbers_of_type. It
// discloses only the files of the services it serves and their transitive imports (the mesh
// protocol, also compiled in, stays private); a file answer carries the file first, then every
// file it imports, directly or not, each once. A request it cannot answer gets an error_response
// (NOT_FOUND for an unknown file, symbol or extension; INVALID_ARGUMENT for an empty request) and
// the stream goes on. Immutable after construction: thread-safe.
#pragma once

#include <google/protobuf/descriptor.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "grpc/reflection/v1/reflection.pb.h"
#include "rpc/method_table.h"

namespace peat::service {

class ReflectionIndex {
 public:
  // `services`: full names of the served services; names `pool` does not know are left out.
  ReflectionIndex(const google::protobuf::DescriptorPool& pool,
                  const std::vector<std::string>& services);

  grpc::reflection::v1::ServerReflectionResponse Answer(
      const grpc::reflection::v1::ServerReflectionRequest& request) const;

  const std::vector<std::string>& services() const { return services_; }

 private:
  const google::protobuf::FileDescriptor* Disclosed(
      const google::protobuf::FileDescriptor* f) const;
  // `file` and its imports, or NOT_FOUND ("<what> not found") when it is null or not disclosed.
  void AnswerFile(const google::protobuf::FileDescriptor* file, const std::string& what,
                  grpc::reflection::v1::ServerReflectionResponse* out) const;

  const google::protobuf::DescriptorPool& pool_;
  std::vector<std::string> services_;  // sorted
  // Each disclosed file, serialized (FileDescriptorProto), and the files it imports transitively.
  std::map<std::string, std::string> serialized_;
  std::map<std::string, std::vector<std::string>> imports_;
};

// The full names of the services `table` serves ("/pkg.Service/Method" → "pkg.Service"), sorted.
std::vector<std::string> ServedServices(const rpc::MethodTable& table);

// Registers both ServerReflectionInfo methods (v1, v1alpha) over the generated descriptor pool.
// Call it after every other service is registered: it lists the services in `table` then,
// itself included.
void RegisterReflectionService(rpc::MethodTable& table);

}  // namespace peat::service
