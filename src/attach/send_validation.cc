#include "attach/send_validation.h"

#include "attach/distribution_doc.h"
#include "common/identifier.h"

namespace peat::attach {
namespace {

std::string Indexed(std::string_view field, size_t i) {
  return std::string(field) + "[" + std::to_string(i) + "]";
}

std::string Exceeds(uint64_t got, std::string_view what, std::string_view flag, uint64_t cap) {
  return std::to_string(got) + " " + std::string(what) + " exceed --attachment-" +
         std::string(flag) + " (" + std::to_string(cap) + ")";
}

// Steps 1a, 1b and 2.
Status CheckFileCounts(const std::vector<FileSpec>& files, const AttachmentLimits& limits) {
  if (files.empty()) return InvalidArgumentError("files: must list at least one file");
  if (files.size() > limits.max_files_per_bundle) {
    return ResourceExhaustedError("files: " + Exceeds(files.size(), "files", "max-files-per-bundle",
                                                      limits.max_files_per_bundle));
  }
  uint64_t total = 0;
  for (const FileSpec& f : files) {
    if (__builtin_add_overflow(total, f.size_bytes, &total)) {
      return ResourceExhaustedError("files: the sizes sum past 2^64 bytes");
    }
  }
  if (total > limits.max_bundle_bytes) {
    return ResourceExhaustedError(
        "files: " + Exceeds(total, "bytes in total", "max-bundle-bytes", limits.max_bundle_bytes));
  }
  return Status::Ok();
}

// Step 3 with the R syntax checks.
Status CheckScope(const SendRequest& r, const AttachmentLimits& limits) {
  constexpr std::string_view kIds = "scope.node_list.node_ids";
  switch (r.scope) {
    case ScopeKind::kNone:
      return InvalidArgumentError("scope: must be set (all_nodes or node_list)");
    case ScopeKind::kAllNodes:
      break;
    case ScopeKind::kNodeList:
      if (r.node_ids.empty()) {
        return InvalidArgumentError(std::string(kIds) + ": must list at least one node id");
      }
      if (r.node_ids.size() > limits.max_node_list_len) {
        return ResourceExhaustedError(
            std::string(kIds) + ": " +
            Exceeds(r.node_ids.size(), "ids", "max-node-list-len", limits.max_node_list_len));
      }
      for (size_t k = 0; k < r.node_ids.size(); ++k) {
        PEAT_RETURN_IF_ERROR(CheckIdSyntax(r.node_ids[k], Indexed(kIds, k), false));
      }
      break;
    case ScopeKind::kFormation:
      return FailedPreconditionError(
          "scope.formation: formation scopes are not supported; use all_nodes or node_list");
    case ScopeKind::kCapable:
      return FailedPreconditionError(
          "scope.capable: capability scopes are not supported; use all_nodes or node_list");
  }
  if (r.bundle_id) PEAT_RETURN_IF_ERROR(CheckIdSyntax(*r.bundle_id, "bundle_id", true));
  return Status::Ok();
}

// Steps 4a–4h and 7 for file `i`.
StatusOr<OpenedFile> CheckFile(const FileSpec& f, size_t i, const AttachmentLimits& limits,
                               const std::map<std::string, AttachmentRoot>& roots) {
  const std::string field = Indexed("files", i);
  if (f.sha256.size() != 32) {
    return InvalidArgumentError(field + ".sha256: must be exactly 32 bytes (got " +
                                std::to_string(f.sha256.size()) + ")");
  }
  // Text that goes into the distribution document must fit what receivers accept (§6 limits).
  if (f.display_name && f.display_name->size() > kMaxDocNameBytes) {
    return InvalidArgumentError(field + ".display_name: longer than " +
                                std::to_string(kMaxDocNameBytes) + " bytes");
  }
  if (f.content_type && f.content_type->size() > kMaxDocTextBytes) {
    return InvalidArgumentError(field + ".content_type: longer than " +
                                std::to_string(kMaxDocTextBytes) + " bytes");
  }
  auto root = roots.find(f.root_name);
  if (f.root_name.empty()) {
    return InvalidArgumentError(field + ".root_name: must name an attachment root");
  }
  if (root == roots.end()) {
    return InvalidArgumentError(field + ".root_name: `" + f.root_name +
                                "` is not a configured attachment root");
  }
  PEAT_RETURN_IF_ERROR(CheckRelativePathSyntax(f.relative_path, field + ".relative_path"));
  PEAT_ASSIGN_OR_RETURN(OpenedFile opened, OpenBeneath(root->second, f.relative_path, field));
  const auto on_disk = static_cast<uint64_t>(opened.st.st_size);
  if (on_disk != f.size_bytes) {
    return InvalidArgumentError(field + ".size_bytes: " + std::to_string(f.size_bytes) +
                                " does not match the file's size on disk (" +
                                std::to_string(on_disk) + ")");
  }
  if (f.size_bytes > limits.max_file_bytes) {
    return ResourceExhaustedError(
        field +
        ".size_bytes: " + Exceeds(f.size_bytes, "bytes", "max-file-bytes", limits.max_file_bytes));
  }
  return opened;
}

}  // namespace

bool HasControlCharacter(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return true;
    // U+0080..U+009F are C2 80..C2 9F in UTF-8.
    if (c == 0xc2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return true;
    }
  }
  return false;
}

Status CheckIdSyntax(std::string_view value, std::string_view field, bool allow_empty) {
  const std::string f(field);
  if (value.empty() && !allow_empty) return InvalidArgumentError(f + ": must not be empty");
  if (value.size() > kMaxIdentifierBytes) {
    return InvalidArgumentError(f + ": is " + std::to_string(value.size()) +
                                " bytes; the limit is " + std::to_string(kMaxIdentifierBytes));
  }
  if (value.find('\0') != std::string_view::npos) {
    return InvalidArgumentError(f + ": contains a NUL character");
  }
  if (HasControlCharacter(value)) return InvalidArgumentError(f + ": contains a control character");
  return Status::Ok();
}

StatusOr<std::vector<OpenedFile>> ValidateSendRequest(
    const SendRequest& request, const AttachmentLimits& limits,
    const std::map<std::string, AttachmentRoot>& roots) {
  PEAT_RETURN_IF_ERROR(CheckFileCounts(request.files, limits));
  PEAT_RETURN_IF_ERROR(CheckScope(request, limits));
  std::vector<OpenedFile> opened;
  opened.reserve(request.files.size());
  for (size_t i = 0; i < request.files.size(); ++i) {
    PEAT_ASSIGN_OR_RETURN(OpenedFile f, CheckFile(request.files[i], i, limits, roots));
    opened.push_back(std::move(f));
  }
  return opened;
}

}  // namespace peat::attach
