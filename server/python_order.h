// Python's `<` on the values a list holds, for list.sort in the manager.
#ifndef MPROC_SERVER_PYTHON_ORDER_H_
#define MPROC_SERVER_PYTHON_ORDER_H_

#include "absl/status/statusor.h"
#include "common/value.h"

namespace mproc {

// Whether a < b as Python decides it: bools, ints and doubles compare by
// value with each other (1 == 1.0 == True), strings by code point, bytes
// by byte, lists element by element (then by length). INVALID_ARGUMENT,
// as Python's TypeError "'<' not supported between instances of 'str' and
// 'int'", for values that do not compare: different kinds, None, maps.
// Opaque values (pickled Python objects) are refused with a message that
// says so: only the client that pickled them can compare them.
absl::StatusOr<bool> PythonLess(const Value& a, const Value& b);

// Sorts `items` stably by PythonLess (descending if `reverse`, keeping
// equal items in their order, as list.sort does); on an error leaves them
// in an unspecified order.
absl::Status PythonSort(List& items, bool reverse);

}  // namespace mproc

#endif  // MPROC_SERVER_PYTHON_ORDER_H_
