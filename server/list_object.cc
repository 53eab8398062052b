#include "server/list_object.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/value_codec.h"
#include "server/errors.h"
#include "server/python_index.h"
#include "server/python_order.h"

namespace mproc {

ListObject::ListObject(std::string name, List initial)
    : SharedObject(pb::LIST, std::move(name)), items_(std::move(initial)) {}

int64_t ListObject::Size() const {
  absl::MutexLock l(&mu_);
  return static_cast<int64_t>(items_.size());
}

namespace {

constexpr char kSnapshotKey[] = "a";
constexpr char kEditTag = 'o';
// Edits kept before a snapshot, at least.
constexpr int64_t kMinEditsBeforeSnapshot = 64;

}  // namespace

absl::Status ListObject::RecordLocked(Edit edit, int64_t position,
                                      const Value* argument) {
  if (!log().enabled()) return absl::OkStatus();
  List record{Value(static_cast<int64_t>(edit)), Value(position)};
  if (argument != nullptr) record.push_back(*argument);
  absl::Status s =
      log().Put(Describe(), SequenceKey(kEditTag, log().NextSequence()),
                EncodeRecord(Value(std::move(record))));
  if (s.ok()) ++edits_;
  return s;
}

void ListObject::MaybeSnapshotLocked() {
  if (!log().enabled() ||
      edits_ <= std::max<int64_t>(kMinEditsBeforeSnapshot,
                                  static_cast<int64_t>(items_.size()))) {
    return;
  }
  const LogChange changes[] = {
      LogChange::DeleteAll(),
      LogChange::Put(kSnapshotKey, EncodeRecord(items_))};
  // If it fails, the edits stay recorded and the next write tries again.
  if (log().Write(Describe(), changes).ok()) edits_ = 0;
}

bool ListObject::ApplyLocked(Edit edit, int64_t position, Value argument) {
  const auto size = static_cast<int64_t>(items_.size());
  switch (edit) {
    case kAppend:
      items_.push_back(std::move(argument));
      return true;
    case kExtend:
      if (!argument.is_list()) return false;
      items_.insert(items_.end(), argument.list_value().begin(),
                    argument.list_value().end());
      return true;
    case kSet:
      if (position < 0 || position >= size) return false;
      items_[position] = std::move(argument);
      return true;
    case kInsert:
      if (position < 0 || position > size) return false;
      items_.insert(items_.begin() + position, std::move(argument));
      return true;
    case kErase:
      if (position < 0 || position >= size) return false;
      items_.erase(items_.begin() + position);
      return true;
  }
  return false;
}

void ListObject::Snapshot(std::vector<LogChange>* out) const {
  absl::MutexLock l(&mu_);
  out->push_back(LogChange::Put(kSnapshotKey, EncodeRecord(items_)));
}

absl::Status ListObject::Restore(absl::string_view key,
                                 absl::string_view value) {
  absl::StatusOr<Value> v = DecodeValue(value);
  absl::MutexLock l(&mu_);
  uint64_t seq = 0;
  if (key == kSnapshotKey && v.ok() && v->is_list()) {
    items_ = std::move(v->mutable_list());
    return absl::OkStatus();
  }
  if (ParseSequenceKey(key, kEditTag, &seq) && v.ok() && v->is_list() &&
      v->list_value().size() >= 2 && v->list_value()[0].is_int() &&
      v->list_value()[1].is_int()) {
    List& record = v->mutable_list();
    const int64_t edit = record[0].int_value();
    Value argument = record.size() > 2 ? std::move(record[2]) : Value();
    if (edit >= kAppend && edit <= kErase &&
        ApplyLocked(static_cast<Edit>(edit), record[1].int_value(),
                    std::move(argument))) {
      log().SawSequence(seq);
      ++edits_;
      return absl::OkStatus();
    }
  }
  return absl::DataLossError(absl::StrCat(
      Describe(), ": an edit in its record does not fit the list (", key.size(),
      "-byte key)"));
}

absl::StatusOr<int64_t> ListObject::Append(Value item) {
  absl::MutexLock l(&mu_);
  if (absl::Status s = RecordLocked(kAppend, 0, &item); !s.ok()) return s;
  items_.push_back(std::move(item));
  MaybeSnapshotLocked();
  return static_cast<int64_t>(items_.size());
}

absl::StatusOr<int64_t> ListObject::Extend(const List& items) {
  absl::MutexLock l(&mu_);
  if (log().enabled()) {
    const Value all(items);
    if (absl::Status s = RecordLocked(kExtend, 0, &all); !s.ok()) return s;
  }
  items_.insert(items_.end(), items.begin(), items.end());
  MaybeSnapshotLocked();
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
  const auto at = static_cast<int64_t>(*pos);
  if (absl::Status s = RecordLocked(kSet, at, &item); !s.ok()) return s;
  items_[*pos] = std::move(item);
  MaybeSnapshotLocked();
  return absl::OkStatus();
}

absl::Status ListObject::Insert(int64_t index, Value item) {
  absl::MutexLock l(&mu_);
  const size_t pos = ClampInsertIndex(index, items_.size());
  if (absl::Status s = RecordLocked(kInsert, static_cast<int64_t>(pos), &item);
      !s.ok()) {
    return s;
  }
  items_.insert(items_.begin() + pos, std::move(item));
  MaybeSnapshotLocked();
  return absl::OkStatus();
}

absl::StatusOr<Value> ListObject::Pop(int64_t index) {
  absl::MutexLock l(&mu_);
  if (items_.empty()) {
    return absl::OutOfRangeError(
        absl::StrCat(Describe(), ": pop from empty list"));
  }
  std::optional<size_t> pos = ResolveIndex(index, items_.size());
  if (!pos) return IndexOutOfRange(*this, index, items_.size());
  if (absl::Status s =
          RecordLocked(kErase, static_cast<int64_t>(*pos), nullptr);
      !s.ok()) {
    return s;
  }
  Value out = std::move(items_[*pos]);
  items_.erase(items_.begin() + *pos);
  MaybeSnapshotLocked();
  return out;
}

absl::Status ListObject::Remove(const Value& item) {
  absl::MutexLock l(&mu_);
  auto it = std::find(items_.begin(), items_.end(), item);
  if (it == items_.end()) {
    return absl::NotFoundError(absl::StrCat(
        Describe(), ": remove(x): ", item.ToString(), " not in list"));
  }
  if (absl::Status s = RecordLocked(
          kErase, static_cast<int64_t>(it - items_.begin()), nullptr);
      !s.ok()) {
    return s;
  }
  items_.erase(it);
  MaybeSnapshotLocked();
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

absl::Status ListObject::ReplaceAllLocked(List next) {
  if (log().enabled()) {
    const LogChange changes[] = {
        LogChange::DeleteAll(),
        LogChange::Put(kSnapshotKey, EncodeRecord(next))};
    if (absl::Status s = log().Write(Describe(), changes); !s.ok()) return s;
    edits_ = 0;
  }
  items_ = std::move(next);
  return absl::OkStatus();
}

absl::Status ListObject::Clear() {
  absl::MutexLock l(&mu_);
  return ReplaceAllLocked(List{});
}

absl::Status ListObject::SetSlice(std::optional<int64_t> start,
                                  std::optional<int64_t> stop,
                                  const List& items) {
  absl::MutexLock l(&mu_);
  auto [begin, end] = ResolveSlice(start, stop, items_.size());
  List next;
  next.reserve(items_.size() - (end - begin) + items.size());
  next.insert(next.end(), items_.begin(), items_.begin() + begin);
  next.insert(next.end(), items.begin(), items.end());
  next.insert(next.end(), items_.begin() + end, items_.end());
  return ReplaceAllLocked(std::move(next));
}

absl::Status ListObject::Reverse() {
  absl::MutexLock l(&mu_);
  return ReplaceAllLocked(List(items_.rbegin(), items_.rend()));
}

absl::Status ListObject::Sort(bool reverse) {
  absl::MutexLock l(&mu_);
  List next = items_;
  if (absl::Status s = PythonSort(next, reverse); !s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat(Describe(), ": sort: ", s.message()));
  }
  return ReplaceAllLocked(std::move(next));
}

}  // namespace mproc
