// Arithmetic on Values for the atomic add operations of dict, Value and
// Array.
#ifndef MPROC_SERVER_NUMERIC_H_
#define MPROC_SERVER_NUMERIC_H_

#include "absl/status/statusor.h"
#include "common/value.h"

namespace mproc {

// current + delta, both ints or doubles (int + double gives a double, as in
// Python). INVALID_ARGUMENT if either is not a number; OUT_OF_RANGE if an
// int sum overflows int64. Messages carry no object name: callers Annotate.
absl::StatusOr<Value> AddNumbers(const Value& current, const Value& delta);

}  // namespace mproc

#endif  // MPROC_SERVER_NUMERIC_H_
