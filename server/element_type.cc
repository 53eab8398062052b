#include "server/element_type.h"

#include "absl/strings/str_cat.h"

namespace mproc {

absl::StatusOr<ElementType> ParseElementType(absl::string_view code) {
  if (code == "int" || code == "i" || code == "l" || code == "q" ||
      code == "b" || code == "h") {
    return ElementType::kInt;
  }
  if (code == "double" || code == "d" || code == "f" || code == "float") {
    return ElementType::kDouble;
  }
  if (code == "bool" || code == "?") return ElementType::kBool;
  if (code == "string" || code == "str" || code == "u") {
    return ElementType::kString;
  }
  if (code == "bytes" || code == "c") return ElementType::kBytes;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown element type '", code,
                   "' (use int, double, bool, string or bytes)"));
}

const char* ElementTypeName(ElementType type) {
  switch (type) {
    case ElementType::kInt:
      return "int";
    case ElementType::kDouble:
      return "double";
    case ElementType::kBool:
      return "bool";
    case ElementType::kString:
      return "string";
    case ElementType::kBytes:
      return "bytes";
  }
  return "unknown";
}

Value ZeroValue(ElementType type) {
  switch (type) {
    case ElementType::kInt:
      return Value(0);
    case ElementType::kDouble:
      return Value(0.0);
    case ElementType::kBool:
      return Value(false);
    case ElementType::kString:
      return Value("");
    case ElementType::kBytes:
      return Value(Bytes{});
  }
  return Value();
}

absl::StatusOr<Value> CoerceToElement(ElementType type, const Value& v) {
  switch (type) {
    case ElementType::kInt:
      if (v.is_int()) return v;
      break;
    case ElementType::kDouble:
      if (v.is_number()) return Value(v.AsDouble());
      break;
    case ElementType::kBool:
      if (v.is_bool()) return v;
      break;
    case ElementType::kString:
      if (v.is_string()) return v;
      break;
    case ElementType::kBytes:
      if (v.is_bytes()) return v;
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("element type is ", ElementTypeName(type), ", got ",
                   v.type_name(), " ", v.ToString()));
}

}  // namespace mproc
