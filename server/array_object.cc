#include "server/array_object.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/value_codec.h"
#include "server/errors.h"
#include "server/python_index.h"
#include "server/typed_value_object.h"

namespace mproc {

ArrayObject::ArrayObject(std::string name, ElementType type, List elements)
    : SharedObject(pb::ARRAY, std::move(name)),
      type_(type),
      length_(static_cast<int64_t>(elements.size())),
      elements_(std::move(elements)) {}

namespace {
constexpr char kChunkTag = 'c';
}  // namespace

std::string ArrayObject::EncodeChunkLocked(size_t pos, const Value& v) const {
  const size_t begin = pos - pos % kChunk;
  const size_t end = std::min(elements_.size(), begin + kChunk);
  List chunk(elements_.begin() + begin, elements_.begin() + end);
  chunk[pos - begin] = v;
  return EncodeRecord(Value(std::move(chunk)));
}

absl::Status ArrayObject::StoreLocked(size_t pos, Value v) {
  if (log().enabled()) {
    absl::Status s = log().Put(Describe(), SequenceKey(kChunkTag, pos / kChunk),
                               EncodeChunkLocked(pos, v));
    if (!s.ok()) return s;
  }
  elements_[pos] = std::move(v);
  return absl::OkStatus();
}

void ArrayObject::Snapshot(std::vector<LogChange>* out) const {
  absl::MutexLock l(&mu_);
  for (size_t begin = 0; begin < elements_.size(); begin += kChunk) {
    out->push_back(LogChange::Put(SequenceKey(kChunkTag, begin / kChunk),
                                  EncodeChunkLocked(begin, elements_[begin])));
  }
}

absl::Status ArrayObject::Restore(absl::string_view key,
                                  absl::string_view value) {
  uint64_t chunk = 0;
  if (!ParseSequenceKey(key, kChunkTag, &chunk)) return BadRecord(*this, key);
  absl::StatusOr<Value> v = DecodeValue(value);
  absl::MutexLock l(&mu_);
  const uint64_t begin = chunk * kChunk;
  if (!v.ok() || !v->is_list() || begin >= elements_.size() ||
      v->list_value().size() !=
          std::min<size_t>(kChunk, elements_.size() - begin)) {
    return absl::DataLossError(absl::StrCat(Describe(), ": chunk ", chunk,
                                            " of its record is damaged"));
  }
  for (size_t i = 0; i < v->list_value().size(); ++i) {
    absl::StatusOr<Value> element = CoerceToElement(type_, v->list_value()[i]);
    if (!element.ok()) {
      return absl::DataLossError(absl::StrCat(
          Describe(), ": chunk ", chunk, ": ", element.status().message()));
    }
    elements_[begin + i] = *std::move(element);
  }
  return absl::OkStatus();
}

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
  return StoreLocked(*pos, *std::move(coerced));
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
  if (absl::Status s = StoreLocked(*pos, *sum); !s.ok()) return s;
  return sum;
}

}  // namespace mproc
