// The validity rules of a Value read from outside the process, one set for
// every decoder (the proto conversion in common/wire.h and the binary codec
// in common/value_codec.h), so a value one accepts the other accepts too:
//   - nesting at most kMaxValueDepth lists/maps deep;
//   - map keys are scalars (not lists or maps);
//   - a map holds each key once.
// Each check returns INVALID_ARGUMENT naming the fault; a decoder may
// re-code it (the codec answers DATA_LOSS with the byte offset).
#ifndef MPROC_COMMON_VALUE_CHECKS_H_
#define MPROC_COMMON_VALUE_CHECKS_H_

#include "absl/status/status.h"
#include "common/value.h"

namespace mproc {

inline constexpr int kMaxValueDepth = 512;

// `depth` is the number of lists/maps around the value being read (0 for
// the top level).
absl::Status CheckValueDepth(int depth);

// A key of a map: a scalar.
absl::Status CheckMapKeyType(Value::Type type);

// The error for a key read twice in one map.
absl::Status DuplicateMapKey(const Value& key);

}  // namespace mproc

#endif  // MPROC_COMMON_VALUE_CHECKS_H_
