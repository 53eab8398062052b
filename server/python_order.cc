#include "server/python_order.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace mproc {
namespace {

const char* PythonTypeName(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull:
      return "NoneType";
    case Value::Type::kBool:
      return "bool";
    case Value::Type::kInt:
      return "int";
    case Value::Type::kDouble:
      return "float";
    case Value::Type::kString:
      return "str";
    case Value::Type::kBytes:
      return "bytes";
    case Value::Type::kList:
      return "list";
    case Value::Type::kMap:
      return "dict";
    case Value::Type::kOpaque:
      return "object";
  }
  return "object";
}

bool IsPythonNumber(const Value& v) { return v.is_bool() || v.is_number(); }

// Exact for every int64 (x86's long double has a 64-bit mantissa).
long double NumberOf(const Value& v) {
  if (v.is_bool()) return v.bool_value() ? 1 : 0;
  if (v.is_int()) return static_cast<long double>(v.int_value());
  return static_cast<long double>(v.double_value());
}

// Python's ==, for the first differing items of two lists.
bool PythonEqual(const Value& a, const Value& b) {
  if (IsPythonNumber(a) && IsPythonNumber(b)) {
    return NumberOf(a) == NumberOf(b);
  }
  if (a.is_list() && b.is_list()) {
    const List& x = a.list_value();
    const List& y = b.list_value();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!PythonEqual(x[i], y[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

absl::StatusOr<bool> PythonLess(const Value& a, const Value& b) {
  if (a.is_opaque() || b.is_opaque()) {
    return absl::InvalidArgumentError(
        "opaque values (pickled Python objects) do not compare in the "
        "manager");
  }
  if (IsPythonNumber(a) && IsPythonNumber(b)) return NumberOf(a) < NumberOf(b);
  if (a.is_string() && b.is_string()) {
    return a.string_value() < b.string_value();
  }
  if (a.is_bytes() && b.is_bytes()) return a.bytes_value() < b.bytes_value();
  if (a.is_list() && b.is_list()) {
    const List& x = a.list_value();
    const List& y = b.list_value();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!PythonEqual(x[i], y[i])) return PythonLess(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'<' not supported between instances of '",
                   PythonTypeName(a), "' and '", PythonTypeName(b), "'"));
}

absl::Status PythonSort(List& items, bool reverse) {
  absl::Status error;
  std::stable_sort(items.begin(), items.end(),
                   [&](const Value& a, const Value& b) {
                     if (!error.ok()) return false;
                     absl::StatusOr<bool> less =
                         reverse ? PythonLess(b, a) : PythonLess(a, b);
                     if (!less.ok()) {
                       error = less.status();
                       return false;
                     }
                     return *less;
                   });
  return error;
}

}  // namespace mproc
