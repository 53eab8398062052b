// The element types of typed Values and Arrays, like the type codes of
// Python's multiprocessing.Value('i', 0) and Array('d', 10).
#ifndef MPROC_SERVER_ELEMENT_TYPE_H_
#define MPROC_SERVER_ELEMENT_TYPE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/value.h"

namespace mproc {

enum class ElementType { kInt, kDouble, kBool, kString, kBytes };

// "int", "double", "bool", "string", "bytes", or a Python type code
// ("i", "l", "q", "b", "h" → int; "d", "f" → double; "?" → bool;
// "c" → bytes; "u" → string). INVALID_ARGUMENT otherwise.
absl::StatusOr<ElementType> ParseElementType(absl::string_view code);

const char* ElementTypeName(ElementType type);

// 0, 0.0, false, "" or b"": the value of a fresh element.
Value ZeroValue(ElementType type);

// `v` as an element of `type`: the same type, or an int widened to a
// double. INVALID_ARGUMENT naming both types otherwise (no object name:
// callers Annotate).
absl::StatusOr<Value> CoerceToElement(ElementType type, const Value& v);

}  // namespace mproc

#endif  // MPROC_SERVER_ELEMENT_TYPE_H_
