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
//   "ref": a proxy (a nested proxy, as Python 3.6+ stores one): the codec
//       list [typeid, object name, open arguments...], naming an object of
//       the same manager — resolved against whichever address the reader
//       reaches that manager by (a proxy of another manager is refused);
//   "pickle": anything else, pickled (protocol 4) — compared by its bytes.
// Must be called with the GIL held; Python errors propagate as
// pybind11::error_already_set.
#ifndef MPROC_PYTHON_EXT_PY_VALUE_H_
#define MPROC_PYTHON_EXT_PY_VALUE_H_

#include <pybind11/pybind11.h>

#include <string>

#include "common/value.h"

namespace mproc {
namespace python {

// The Python objects the conversion needs, set once at import:
//   dumps(obj) → bytes and loads(bytes) → obj (pickle's);
//   opaque_type(format, data): wraps an opaque value of a format this
//       module does not know;
//   proxy_type: the proxies' base class; to_ref(proxy) → (typeid, name,
//       args, manager address) and from_ref(address, typeid, name, args)
//       → proxy.
void SetCodecHooks(pybind11::object dumps, pybind11::object loads,
                   pybind11::object opaque_type, pybind11::object proxy_type,
                   pybind11::object to_ref, pybind11::object from_ref);

// `destination`: the address of the manager the value goes to (a proxy in
// it must be of that manager: ValueError otherwise); empty: any.
Value ToValue(pybind11::handle object, const std::string& destination);
// An iterable's items (for calls that take a List).
List ToList(pybind11::handle iterable, const std::string& destination);
// `address`: the manager the value was read from (references resolve
// against it); empty: references come back as opaque_type values.
pybind11::object FromValue(const Value& value, const std::string& address = "");

}  // namespace python
}  // namespace mproc

#endif  // MPROC_PYTHON_EXT_PY_VALUE_H_
