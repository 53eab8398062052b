// libFuzzer target: the binary value codec's decoder (common/value_codec.h)
// on arbitrary bytes. Whatever it accepts must re-encode to the same bytes
// (the encoding is canonical) and decode to an equal value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/value.h"
#include "common/value_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<mproc::Value> value = mproc::DecodeValue(input);
  if (!value.ok()) {
    if (value.status().code() != absl::StatusCode::kDataLoss) std::abort();
    return 0;
  }
  std::string again;
  mproc::EncodeValue(*value, &again);
  if (again != input) std::abort();
  return 0;
}
