#include "server/numeric.h"

#include "absl/strings/str_cat.h"

namespace mproc {

absl::StatusOr<Value> AddNumbers(const Value& current, const Value& delta) {
  if (!delta.is_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat("delta must be an int or double, got ", delta.type_name(),
                     " ", delta.ToString()));
  }
  if (!current.is_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot add to a ", current.type_name(), " (",
                     current.ToString(), "): not a number"));
  }
  if (current.is_int() && delta.is_int()) {
    int64_t sum;
    if (__builtin_add_overflow(current.int_value(), delta.int_value(), &sum)) {
      return absl::OutOfRangeError(absl::StrCat(
          current.int_value(), " + ", delta.int_value(), " overflows int64"));
    }
    return Value(sum);
  }
  return Value(current.AsDouble() + delta.AsDouble());
}

}  // namespace mproc
