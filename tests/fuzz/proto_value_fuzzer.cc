// libFuzzer target: a wire pb::Value (parsed from arbitrary bytes) turned
// into an mproc::Value (common/wire.h). Whatever is accepted must survive
// Value -> proto -> Value unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/value.h"
#include "common/wire.h"
#include "proto/mproc.pb.h"

namespace {

// Equality that also holds for NaN (Value's == follows IEEE).
bool SameEncoding(const mproc::Value& a, const mproc::Value& b) {
  return a.ToString() == b.ToString();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mproc::pb::Value wire;
  if (!wire.ParseFromArray(data, static_cast<int>(size))) return 0;
  absl::StatusOr<mproc::Value> value = mproc::ValueFromProto(wire);
  if (!value.ok()) {
    if (value.status().code() != absl::StatusCode::kInvalidArgument) {
      std::abort();
    }
    return 0;
  }
  absl::StatusOr<mproc::Value> again =
      mproc::ValueFromProto(mproc::ValueToProto(*value));
  if (!again.ok() || !SameEncoding(*value, *again)) std::abort();
  return 0;
}
