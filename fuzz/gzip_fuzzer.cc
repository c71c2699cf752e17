// GzipDecompress on arbitrary bytes with a 64 KiB limit. Invariants: never more than max_out
// bytes; errors are INVALID_ARGUMENT or RESOURCE_EXHAUSTED; a successful result of n bytes
// decodes identically with max_out = n and is refused as RESOURCE_EXHAUSTED with max_out = n - 1
// (the limit is exact); GzipCompress of the output inflates back to it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "rpc/gzip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kMaxOut = 64 * 1024;
  const std::string in(reinterpret_cast<const char*>(data), size);

  auto out = peat::rpc::GzipDecompress(in, kMaxOut);
  if (!out.ok()) {
    const auto code = out.status().code();
    FUZZ_CHECK(code == peat::StatusCode::kInvalidArgument ||
               code == peat::StatusCode::kResourceExhausted);
    return 0;
  }
  const size_t n = out->size();
  FUZZ_CHECK(n <= kMaxOut);

  auto exact = peat::rpc::GzipDecompress(in, n);
  FUZZ_CHECK(exact.ok());
  FUZZ_CHECK(*exact == *out);
  if (n > 0) {
    auto too_small = peat::rpc::GzipDecompress(in, n - 1);
    FUZZ_CHECK(!too_small.ok());
    FUZZ_CHECK(too_small.status().code() == peat::StatusCode::kResourceExhausted);
  }

  auto again = peat::rpc::GzipDecompress(peat::rpc::GzipCompress(*out), kMaxOut);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *out);
  return 0;
}
