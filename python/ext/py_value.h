// Python objects to mproc::Value and back, for the Python package.
//
// Native kinds: None, bool, int (int64), float, str, bytes, list and dict
// (of exactly those types, not subclasses) become the Value of the same
// kind, so a C++ client sees {"a": 1} as a map. What has no native kind
// becomes an Opaque value (common/value.h) in a canonical form where one
// exists, so equal objects are equal keys in the manager:
//   "tuple", "set", "frozenset": the items' Values in the value codec
//       (common/value_codec.h) — a set's sorted by Value order;
//   "int": an int beyond int64, as its decimal digits;
//   "pickle": anything else, pickled (protocol 4) — compared by its bytes.
// Must be called with the GIL held; Python errors propagate as
// pybind11::error_already_set.
#ifndef MPROC_PYTHON_EXT_PY_VALUE_H_
#define MPROC_PYTHON_EXT_PY_VALUE_H_

#include <pybind11/pybind11.h>

#include "common/value.h"

namespace mproc {
namespace python {

// The Python callables the conversion needs: pickle.dumps(obj) → bytes,
// pickle.loads(bytes) → obj, and the type to wrap an opaque value of a
// format this module does not know (called as type(format, data)). Set
// once at import.
void SetCodecHooks(pybind11::object dumps, pybind11::object loads,
                   pybind11::object opaque_type);

Value ToValue(pybind11::handle object);
// A list's items (for calls that take a List).
List ToList(pybind11::handle iterable);
pybind11::object FromValue(const Value& value);

}  // namespace python
}  // namespace mproc

#endif  // MPROC_PYTHON_EXT_PY_VALUE_H_
