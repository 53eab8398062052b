#include "python/ext/py_value.h"

#include <algorithm>
#include <string>
#include <utility>

#include "common/value_codec.h"

namespace py = pybind11;

namespace mproc {
namespace python {
namespace {

struct Hooks {
  py::object dumps;
  py::object loads;
  py::object opaque_type;
  py::object proxy_type;
  py::object to_ref;
  py::object from_ref;
};

// Leaked on purpose: Python objects must not be released after the
// interpreter is gone.
Hooks& TheHooks() {
  static Hooks* hooks = new Hooks();
  return *hooks;
}

constexpr char kTuple[] = "tuple";
constexpr char kSet[] = "set";
constexpr char kFrozenSet[] = "frozenset";
constexpr char kBigInt[] = "int";
constexpr char kPickle[] = "pickle";
constexpr char kReference[] = "ref";

std::string Encoded(const List& items) {
  std::string out;
  EncodeValue(Value(items), &out);
  return out;
}

Value Pickled(py::handle object) {
  if (!TheHooks().dumps) throw std::runtime_error("mproc: codec not set up");
  py::bytes data = TheHooks().dumps(object);
  return Value(Opaque{kPickle, std::string(data)});
}

List ItemsOf(py::handle iterable, const std::string& destination) {
  List items;
  if (PyList_CheckExact(iterable.ptr()) || PyTuple_CheckExact(iterable.ptr())) {
    py::sequence seq = py::reinterpret_borrow<py::sequence>(iterable);
    items.reserve(seq.size());
  }
  for (py::handle item : iterable) {
    items.push_back(ToValue(item, destination));
  }
  return items;
}

Value FromLong(py::handle object) {
  int overflow = 0;
  const long long i = PyLong_AsLongLongAndOverflow(object.ptr(), &overflow);
  if (overflow == 0) {
    if (i == -1 && PyErr_Occurred()) throw py::error_already_set();
    return Value(static_cast<int64_t>(i));
  }
  // Decimal digits, unless Python refuses that many (its int/str limit):
  // then pickled, which has no limit.
  PyObject* text = PyObject_Str(object.ptr());
  if (text == nullptr) {
    PyErr_Clear();
    return Pickled(object);
  }
  std::string digits = py::reinterpret_steal<py::str>(text);
  return Value(Opaque{kBigInt, std::move(digits)});
}

List DecodedItems(const Opaque& o) {
  absl::StatusOr<Value> items = DecodeValue(o.data);
  if (!items.ok() || !items->is_list()) {
    throw py::value_error("mproc: a corrupt " + o.format + " value");
  }
  return std::move(items->mutable_list());
}

py::object Decoded(const Opaque& o, const std::string& address) {
  return FromValue(Value(DecodedItems(o)), address);
}

// A stored proxy: [typeid, name, args...].
py::object FromReference(const Opaque& o, const std::string& address) {
  List items = DecodedItems(o);
  if (address.empty() || items.size() < 2 || !items[0].is_string() ||
      !items[1].is_string()) {
    return TheHooks().opaque_type(py::str(o.format), py::bytes(o.data));
  }
  py::list args;
  for (size_t i = 2; i < items.size(); ++i) {
    args.append(FromValue(items[i], address));
  }
  return TheHooks().from_ref(address, items[0].string_value(),
                             items[1].string_value(), args);
}

// A proxy stored into the manager at `destination` (empty: anywhere).
Value Reference(py::handle proxy, const std::string& destination) {
  py::tuple ref = TheHooks().to_ref(proxy);
  const auto address = ref[3].cast<std::string>();
  if (!destination.empty() && address != destination) {
    throw py::value_error(
        "mproc: a proxy of the manager at " + address +
        " cannot be stored in the manager at " + destination +
        " (a stored proxy names an object of the same manager)");
  }
  List items{ToValue(ref[0], destination), ToValue(ref[1], destination)};
  for (py::handle arg : py::reinterpret_borrow<py::object>(ref[2])) {
    items.push_back(ToValue(arg, destination));
  }
  return Value(Opaque{kReference, Encoded(items)});
}

py::object FromOpaque(const Opaque& o, const std::string& address) {
  if (o.format == kPickle) return TheHooks().loads(py::bytes(o.data));
  if (o.format == kReference) return FromReference(o, address);
  if (o.format == kTuple) return py::tuple(Decoded(o, address));
  if (o.format == kSet) return py::set(Decoded(o, address));
  if (o.format == kFrozenSet) {
    PyObject* frozen = PyFrozenSet_New(Decoded(o, address).ptr());
    if (frozen == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(frozen);
  }
  if (o.format == kBigInt) {
    PyObject* i = PyLong_FromString(o.data.c_str(), nullptr, 10);
    if (i == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(i);
  }
  return TheHooks().opaque_type(py::str(o.format), py::bytes(o.data));
}

}  // namespace

void SetCodecHooks(py::object dumps, py::object loads, py::object opaque_type,
                   py::object proxy_type, py::object to_ref,
                   py::object from_ref) {
  Hooks& hooks = TheHooks();
  hooks.dumps = std::move(dumps);
  hooks.loads = std::move(loads);
  hooks.opaque_type = std::move(opaque_type);
  hooks.proxy_type = std::move(proxy_type);
  hooks.to_ref = std::move(to_ref);
  hooks.from_ref = std::move(from_ref);
}

namespace {

// Python's recursion limit, so a self-containing list raises RecursionError
// instead of overflowing the C stack.
class RecursionGuard {
 public:
  explicit RecursionGuard(const char* where) {
    if (Py_EnterRecursiveCall(where) != 0) throw py::error_already_set();
  }
  ~RecursionGuard() { Py_LeaveRecursiveCall(); }
  RecursionGuard(const RecursionGuard&) = delete;
  RecursionGuard& operator=(const RecursionGuard&) = delete;
};

}  // namespace

Value ToValue(py::handle object, const std::string& destination) {
  RecursionGuard guard(" in converting a value for mproc");
  PyObject* o = object.ptr();
  if (o == Py_None) return Value();
  if (PyBool_Check(o)) return Value(o == Py_True);
  if (PyLong_CheckExact(o)) return FromLong(object);
  if (PyFloat_CheckExact(o)) return Value(PyFloat_AS_DOUBLE(o));
  if (PyUnicode_CheckExact(o)) {
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(o, &size);
    if (text == nullptr) {  // lone surrogates: no UTF-8 form
      PyErr_Clear();
      return Pickled(object);
    }
    return Value(std::string(text, static_cast<size_t>(size)));
  }
  if (PyBytes_CheckExact(o)) {
    return Value(Bytes{std::string(PyBytes_AS_STRING(o),
                                   static_cast<size_t>(PyBytes_GET_SIZE(o)))});
  }
  if (PyList_CheckExact(o)) return Value(ItemsOf(object, destination));
  if (PyDict_CheckExact(o)) {
    Map map;
    PyObject* key = nullptr;
    PyObject* item = nullptr;
    Py_ssize_t pos = 0;
    while (PyDict_Next(o, &pos, &key, &item)) {
      Value k = ToValue(key, destination);
      if (!k.is_scalar())
        return Pickled(object);  // cannot happen for hashables
      map.insert_or_assign(std::move(k), ToValue(item, destination));
    }
    return Value(std::move(map));
  }
  if (PyTuple_CheckExact(o))
    return Value(Opaque{kTuple, Encoded(ItemsOf(object, destination))});
  if (PySet_CheckExact(o) || PyFrozenSet_CheckExact(o)) {
    List items = ItemsOf(object, destination);
    std::sort(items.begin(), items.end());
    return Value(
        Opaque{PySet_CheckExact(o) ? kSet : kFrozenSet, Encoded(items)});
  }
  if (TheHooks().proxy_type &&
      PyObject_IsInstance(o, TheHooks().proxy_type.ptr()) == 1) {
    return Reference(object, destination);
  }
  // An opaque value read from the manager goes back as it came.
  if (TheHooks().opaque_type &&
      o->ob_type ==
          reinterpret_cast<PyTypeObject*>(TheHooks().opaque_type.ptr())) {
    py::tuple pair = py::reinterpret_borrow<py::tuple>(object);
    return Value(Opaque{pair[0].cast<std::string>(),
                        std::string(pair[1].cast<py::bytes>())});
  }
  return Pickled(object);
}

List ToList(py::handle iterable, const std::string& destination) {
  return ItemsOf(iterable, destination);
}

py::object FromValue(const Value& value, const std::string& address) {
  RecursionGuard guard(" in converting a value from mproc");
  switch (value.type()) {
    case Value::Type::kNull:
      return py::none();
    case Value::Type::kBool:
      return py::bool_(value.bool_value());
    case Value::Type::kInt:
      return py::reinterpret_steal<py::object>(
          PyLong_FromLongLong(value.int_value()));
    case Value::Type::kDouble:
      return py::float_(value.double_value());
    case Value::Type::kString: {
      const std::string& s = value.string_value();
      return py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(
          s.data(), static_cast<Py_ssize_t>(s.size()), "strict"));
    }
    case Value::Type::kBytes:
      return py::bytes(value.bytes_value());
    case Value::Type::kList: {
      const List& items = value.list_value();
      py::list out(items.size());
      for (size_t i = 0; i < items.size(); ++i) {
        out[i] = FromValue(items[i], address);
      }
      return std::move(out);
    }
    case Value::Type::kMap: {
      py::dict out;
      for (const auto& [k, v] : value.map_value())
        out[FromValue(k, address)] = FromValue(v, address);
      return std::move(out);
    }
    case Value::Type::kOpaque:
      return FromOpaque(value.opaque_value(), address);
  }
  return py::none();
}

}  // namespace python
}  // namespace mproc
