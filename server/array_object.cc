#include "server/array_object.h"

#include "server/errors.h"
#include "server/python_index.h"
#include "server/typed_value_object.h"

namespace mproc {

ArrayObject::ArrayObject(std::string name, ElementType type, List elements)
    : SharedObject(pb::ARRAY, std::move(name)),
      type_(type),
      length_(static_cast<int64_t>(elements.size())),
      elements_(std::move(elements)) {}

absl::StatusOr<Value> ArrayObject::Get(int64_t index) const {
  absl::MutexLock l(&mu_);
  std::optional<size_t> pos = ResolveIndex(index, elements_.size());
  if (!pos) return IndexOutOfRange(*this, index, elements_.size());
  return elements_[*pos];
}

absl::Status ArrayObject::Set(int64_t index, const Value& v) {
  absl::StatusOr<Value> coerced = CoerceToElement(type_, v);
  if (!coerced.ok()) return Annotate(*this, coerced.status());
  absl::MutexLock l(&mu_);
  std::optional<size_t> pos = ResolveIndex(index, elements_.size());
  if (!pos) return IndexOutOfRange(*this, index, elements_.size());
  elements_[*pos] = *std::move(coerced);
  return absl::OkStatus();
}

absl::StatusOr<List> ArrayObject::Slice(std::optional<int64_t> start,
                                        std::optional<int64_t> stop,
                                        AnswerBudget* budget) const {
  absl::MutexLock l(&mu_);
  auto [begin, end] = ResolveSlice(start, stop, elements_.size());
  // Every element is a scalar of at least two bytes on the wire.
  if (!budget->Spend(2 * static_cast<int64_t>(end - begin))) {
    return budget->Exceeded(*this, "slice");
  }
  return List(elements_.begin() + begin, elements_.begin() + end);
}

absl::StatusOr<Value> ArrayObject::Add(int64_t index, const Value& delta) {
  absl::MutexLock l(&mu_);
  std::optional<size_t> pos = ResolveIndex(index, elements_.size());
  if (!pos) return IndexOutOfRange(*this, index, elements_.size());
  absl::StatusOr<Value> sum = AddToElement(type_, elements_[*pos], delta);
  if (!sum.ok()) return Annotate(*this, sum.status());
  elements_[*pos] = *sum;
  return sum;
}

}  // namespace mproc
