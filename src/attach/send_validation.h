// The sender's checks of a SendAttachments request, in the exact order of
// docs/spec/ATTACHMENTS.md §2 (steps 1a–4h, with the R deviations), ending in the race-free open of
// every file (§12). The first failing check answers; per-file checks run file by file (all checks
// of file i before file i+1). Steps 0 (no root configured → UNIMPLEMENTED), 5 (concurrency cap),
// 6 (bundle_id identity) and 8 (streamed SHA-256) are the caller's.
//
// Order and answers (every message starts with the field path, then ": "):
//   1a `files` empty                              INVALID_ARGUMENT     files
//   1b more than max_files_per_bundle             RESOURCE_EXHAUSTED   files
//   2  Σ size_bytes overflows u64 or > bundle cap RESOURCE_EXHAUSTED   files
//   3a no scope                                   INVALID_ARGUMENT     scope
//   3b node_list without ids                      INVALID_ARGUMENT     scope.node_list.node_ids
//   3c more ids than max_node_list_len            RESOURCE_EXHAUSTED   scope.node_list.node_ids
//   3R a node id empty, > 1024 B, control char    INVALID_ARGUMENT     ….node_ids[k]
//   3d formation / capable scope                  FAILED_PRECONDITION  scope.formation / .capable
//   3R bundle_id > 1024 B or a control char       INVALID_ARGUMENT     bundle_id
//   then per file i:
//   4a sha256 not exactly 32 bytes (no I/O)       INVALID_ARGUMENT     files[i].sha256
//   4b root_name not configured (incl. "")        INVALID_ARGUMENT     files[i].root_name
//   4c relative_path syntax                       INVALID_ARGUMENT     files[i].relative_path
//   4d–4f, 7: OpenBeneath (path_confinement.h)    INVALID_ARGUMENT     ….relative_path / files[i]
//   4g on-disk size ≠ size_bytes                  INVALID_ARGUMENT     files[i].size_bytes
//   4h size_bytes > max_file_bytes                RESOURCE_EXHAUSTED   files[i].size_bytes
// "Control character" means C0 (0x00–0x1F), DEL and the C1 range U+0080–U+009F.
// Pure apart from the opens; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "attach/path_confinement.h"
#include "attach/send_request.h"
#include "common/status.h"

namespace peat::attach {

// The --attachment-* caps of §1 (defaults as there).
struct AttachmentLimits {
  uint64_t max_file_bytes = 268435456;     // 256 MiB
  uint64_t max_bundle_bytes = 1073741824;  // 1 GiB
  uint64_t max_files_per_bundle = 64;
  uint64_t max_node_list_len = 256;
};

// The files of `request`, opened and checked, in request order.
StatusOr<std::vector<OpenedFile>> ValidateSendRequest(
    const SendRequest& request, const AttachmentLimits& limits,
    const std::map<std::string, AttachmentRoot>& roots);

// True iff `text` holds a control character (C0, DEL, or a C1 code point U+0080–U+009F encoded as
// UTF-8).
bool HasControlCharacter(std::string_view text);

// The R syntax rule for a node id or bundle_id (§2 "R deviations"): at most 1024 bytes, no NUL or
// control character, and (unless `allow_empty`) not empty. INVALID_ARGUMENT "<field>: …".
Status CheckIdSyntax(std::string_view value, std::string_view field, bool allow_empty);

}  // namespace peat::attach
