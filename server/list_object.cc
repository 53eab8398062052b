#include "server/list_object.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/errors.h"
#include "server/python_index.h"

namespace mproc {

ListObject::ListObject(std::string name, List initial)
    : SharedObject(pb::LIST, std::move(name)), items_(std::move(initial)) {}

int64_t ListObject::Size() const {
  absl::MutexLock l(&mu_);
  return static_cast<int64_t>(items_.size());
}

int64_t ListObject::Append(Value item) {
  absl::MutexLock l(&mu_);
  items_.push_back(std::move(item));
  return static_cast<int64_t>(items_.size());
}

int64_t ListObject::Extend(const List& items) {
  absl::MutexLock l(&mu_);
  items_.insert(items_.end(), items.begin(), items.end());
  return static_cast<int64_t>(items_.size());
}

absl::StatusOr<Value> ListObject::Get(int64_t index) const {
  absl::MutexLock l(&mu_);
  std::optional<size_t> pos = ResolveIndex(index, items_.size());
  if (!pos) return IndexOutOfRange(*this, index, items_.size());
  return items_[*pos];
}

absl::Status ListObject::Set(int64_t index, Value item) {
  absl::MutexLock l(&mu_);
  std::optional<size_t> pos = ResolveIndex(index, items_.size());
  if (!pos) return IndexOutOfRange(*this, index, items_.size());
  items_[*pos] = std::move(item);
  return absl::OkStatus();
}

void ListObject::Insert(int64_t index, Value item) {
  absl::MutexLock l(&mu_);
  items_.insert(items_.begin() + ClampInsertIndex(index, items_.size()),
                std::move(item));
}

absl::StatusOr<Value> ListObject::Pop(int64_t index) {
  absl::MutexLock l(&mu_);
  if (items_.empty()) {
    return absl::OutOfRangeError(
        absl::StrCat(Describe(), ": pop from empty list"));
  }
  std::optional<size_t> pos = ResolveIndex(index, items_.size());
  if (!pos) return IndexOutOfRange(*this, index, items_.size());
  Value out = std::move(items_[*pos]);
  items_.erase(items_.begin() + *pos);
  return out;
}

absl::Status ListObject::Remove(const Value& item) {
  absl::MutexLock l(&mu_);
  auto it = std::find(items_.begin(), items_.end(), item);
  if (it == items_.end()) {
    return absl::NotFoundError(absl::StrCat(
        Describe(), ": remove(x): ", item.ToString(), " not in list"));
  }
  items_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ListObject::Index(const Value& item) const {
  absl::MutexLock l(&mu_);
  auto it = std::find(items_.begin(), items_.end(), item);
  if (it == items_.end()) {
    return absl::NotFoundError(
        absl::StrCat(Describe(), ": ", item.ToString(), " is not in list"));
  }
  return static_cast<int64_t>(it - items_.begin());
}

int64_t ListObject::Count(const Value& item) const {
  absl::MutexLock l(&mu_);
  return std::count(items_.begin(), items_.end(), item);
}

absl::StatusOr<List> ListObject::Slice(std::optional<int64_t> start,
                                       std::optional<int64_t> stop,
                                       AnswerBudget* budget) const {
  absl::MutexLock l(&mu_);
  auto [begin, end] = ResolveSlice(start, stop, items_.size());
  for (auto i = begin; i < end; ++i) {
    if (!budget->Spend(items_[i])) return budget->Exceeded(*this, "slice");
  }
  return List(items_.begin() + begin, items_.begin() + end);
}

void ListObject::Clear() {
  absl::MutexLock l(&mu_);
  items_.clear();
}

}  // namespace mproc
