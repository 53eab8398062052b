#include "server/typed_value_object.h"

#include "absl/strings/str_cat.h"
#include "server/errors.h"
#include "server/numeric.h"

namespace mproc {

absl::StatusOr<Value> AddToElement(ElementType type, const Value& current,
                                   const Value& delta) {
  if (type != ElementType::kInt && type != ElementType::kDouble) {
    return absl::InvalidArgumentError(
        absl::StrCat("add needs an int or double element type, not ",
                     ElementTypeName(type)));
  }
  if (type == ElementType::kInt && !delta.is_int()) {
    return absl::InvalidArgumentError(
        absl::StrCat("element type is int, so delta must be an int, got ",
                     delta.type_name(), " ", delta.ToString()));
  }
  absl::StatusOr<Value> sum = AddNumbers(current, delta);
  if (!sum.ok()) return sum;
  return CoerceToElement(type, *sum);
}

TypedValueObject::TypedValueObject(std::string name, ElementType type,
                                   Value initial)
    : SharedObject(pb::VALUE, std::move(name)),
      type_(type),
      value_(std::move(initial)) {}

Value TypedValueObject::Get() const {
  absl::MutexLock l(&mu_);
  return value_;
}

absl::Status TypedValueObject::Set(const Value& v) {
  absl::StatusOr<Value> coerced = CoerceToElement(type_, v);
  if (!coerced.ok()) return Annotate(*this, coerced.status());
  absl::MutexLock l(&mu_);
  value_ = *std::move(coerced);
  return absl::OkStatus();
}

absl::StatusOr<Value> TypedValueObject::Add(const Value& delta) {
  absl::MutexLock l(&mu_);
  absl::StatusOr<Value> sum = AddToElement(type_, value_, delta);
  if (!sum.ok()) return Annotate(*this, sum.status());
  value_ = *sum;
  return sum;
}

absl::StatusOr<Value> TypedValueObject::CompareAndSwap(const Value& expected,
                                                       const Value& desired) {
  absl::StatusOr<Value> coerced = CoerceToElement(type_, desired);
  if (!coerced.ok()) return Annotate(*this, coerced.status());
  absl::MutexLock l(&mu_);
  // An int `expected` matches a double value of the same magnitude.
  absl::StatusOr<Value> want = CoerceToElement(type_, expected);
  const bool swapped = want.ok() && *want == value_;
  if (swapped) value_ = *std::move(coerced);
  return Value(List{Value(swapped), value_});
}

}  // namespace mproc
