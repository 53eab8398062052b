// Shared by Value::ToString and Value::ToJson: writing lists and maps as
// "[a, b]" and "{k: v, ...}" with per-element writers.
#ifndef MPROC_COMMON_VALUE_FORMAT_INTERNAL_H_
#define MPROC_COMMON_VALUE_FORMAT_INTERNAL_H_

#include <string>

#include "common/value.h"

namespace mproc {
namespace value_internal {

// Appends "[" item ", " item ... "]", each item written by `write_item`.
template <typename WriteItem>
void AppendList(std::string* out, const List& list, WriteItem write_item) {
  out->push_back('[');
  const char* sep = "";
  for (const Value& item : list) {
    out->append(sep);
    write_item(out, item);
    sep = ", ";
  }
  out->push_back(']');
}

// Appends "{" key ": " value ", " ... "}" with the given writers.
template <typename WriteKey, typename WriteItem>
void AppendMap(std::string* out, const Map& map, WriteKey write_key,
               WriteItem write_item) {
  out->push_back('{');
  const char* sep = "";
  for (const auto& [key, item] : map) {
    out->append(sep);
    write_key(out, key);
    out->append(": ");
    write_item(out, item);
    sep = ", ";
  }
  out->push_back('}');
}

}  // namespace value_internal
}  // namespace mproc

#endif  // MPROC_COMMON_VALUE_FORMAT_INTERNAL_H_
