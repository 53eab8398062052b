// libFuzzer target: Value::FromJson (the CLI's and tools' input) on
// arbitrary text. Whatever parses must print as JSON that parses back to
// the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<mproc::Value> value = mproc::Value::FromJson(input);
  if (!value.ok()) return 0;
  const std::string printed = value->ToJson();
  absl::StatusOr<mproc::Value> again = mproc::Value::FromJson(printed);
  if (!again.ok() || again->ToJson() != printed) std::abort();
  return 0;
}
