#include "server/typed_value_object.h"

#include "absl/strings/str_cat.h"
#include "common/value_codec.h"
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

namespace {
constexpr char kValueKey[] = "v";
}  // namespace

absl::Status TypedValueObject::StoreLocked(Value v) {
  if (log().enabled()) {
    absl::Status s = log().Put(Describe(), kValueKey, EncodeRecord(v));
    if (!s.ok()) return s;
  }
  value_ = std::move(v);
  return absl::OkStatus();
}

void TypedValueObject::Snapshot(std::vector<LogChange>* out) const {
  absl::MutexLock l(&mu_);
  out->push_back(LogChange::Put(kValueKey, EncodeRecord(value_)));
}

absl::Status TypedValueObject::Restore(absl::string_view key,
                                       absl::string_view value) {
  if (key != kValueKey) return BadRecord(*this, key);
  absl::StatusOr<Value> v = DecodeValue(value);
  if (v.ok()) v = CoerceToElement(type_, *v);
  if (!v.ok())
    return Annotate(*this, absl::DataLossError(v.status().message()));
  absl::MutexLock l(&mu_);
  value_ = *std::move(v);
  return absl::OkStatus();
}

Value TypedValueObject::Get() const {
  absl::MutexLock l(&mu_);
  return value_;
}

absl::Status TypedValueObject::Set(const Value& v) {
  absl::StatusOr<Value> coerced = CoerceToElement(type_, v);
  if (!coerced.ok()) return Annotate(*this, coerced.status());
  absl::MutexLock l(&mu_);
  return StoreLocked(*std::move(coerced));
}

absl::StatusOr<Value> TypedValueObject::Add(const Value& delta) {
  absl::MutexLock l(&mu_);
  absl::StatusOr<Value> sum = AddToElement(type_, value_, delta);
  if (!sum.ok()) return Annotate(*this, sum.status());
  if (absl::Status s = StoreLocked(*sum); !s.ok()) return s;
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
  if (swapped) {
    if (absl::Status s = StoreLocked(*std::move(coerced)); !s.ok()) return s;
  }
  return Value(List{Value(swapped), value_});
}

}  // namespace mproc
