#include "common/value_checks.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace mproc {

absl::Status CheckValueDepth(int depth) {
  if (depth <= kMaxValueDepth) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("value nests deeper than ", kMaxValueDepth, " levels"));
}

absl::Status CheckMapKeyType(Value::Type type) {
  if (type != Value::Type::kList && type != Value::Type::kMap) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("map keys must be scalars, got a ",
                   type == Value::Type::kList ? "list" : "map"));
}

absl::Status DuplicateMapKey(const Value& key) {
  constexpr size_t kShown = 64;  // a key may be megabytes long
  std::string shown = key.ToString();
  if (shown.size() > kShown)
    shown = absl::StrCat(shown.substr(0, kShown), "...");
  return absl::InvalidArgumentError(
      absl::StrCat("map key ", shown, " occurs twice"));
}

}  // namespace mproc
