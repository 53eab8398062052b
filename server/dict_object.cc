#include "server/dict_object.h"

#include <algorithm>

#include "server/errors.h"
#include "server/numeric.h"

namespace mproc {

DictObject::DictObject(std::string name, const Map& initial)
    : SharedObject(pb::DICT, std::move(name)) {
  for (const auto& [key, value] : initial) entries_.Set(key, value);
}

int64_t DictObject::Size() const {
  absl::MutexLock l(&mu_);
  return static_cast<int64_t>(entries_.size());
}

absl::StatusOr<Value> DictObject::Get(const Value& key,
                                      const Value* default_value) const {
  absl::MutexLock l(&mu_);
  if (std::optional<Value> found = entries_.Find(key)) return *std::move(found);
  if (default_value != nullptr) return *default_value;
  return KeyNotFound(*this, key);
}

void DictObject::Set(const Value& key, Value value) {
  absl::MutexLock l(&mu_);
  entries_.Set(key, value);
}

Value DictObject::SetDefault(const Value& key, const Value& default_value) {
  absl::MutexLock l(&mu_);
  return entries_.SetDefault(key, default_value);
}

absl::StatusOr<Value> DictObject::Pop(const Value& key,
                                      const Value* default_value) {
  absl::MutexLock l(&mu_);
  if (std::optional<Value> taken = entries_.Take(key)) return *std::move(taken);
  if (default_value != nullptr) return *default_value;
  return KeyNotFound(*this, key);
}

absl::Status DictObject::Delete(const Value& key) {
  absl::MutexLock l(&mu_);
  if (!entries_.Erase(key)) return KeyNotFound(*this, key);
  return absl::OkStatus();
}

bool DictObject::Contains(const Value& key) const {
  absl::MutexLock l(&mu_);
  return entries_.Contains(key);
}

namespace {

// Room for the entries an answer can hold: each costs at least two bytes,
// so a huge dict asked for all at once does not allocate for all of it.
size_t ReserveWithin(size_t entries, const AnswerBudget& budget) {
  return std::min<size_t>(entries, budget.limit() / 2);
}

}  // namespace

// Each entry costs at least its encoded key and value plus a byte of
// framing each in the answer (value_codec is no larger than protobuf).
absl::StatusOr<List> DictObject::Keys(AnswerBudget* budget) const {
  absl::MutexLock l(&mu_);
  List out;
  out.reserve(ReserveWithin(entries_.size(), *budget));
  const bool fit = entries_.ForEachAdmitted(
      [budget](int64_t key, int64_t) { return budget->Spend(key + 1); },
      [&out](const CompactMap::Entry& e) { out.push_back(e.DecodeKey()); });
  if (!fit) return budget->Exceeded(*this, "keys");
  return out;
}

absl::StatusOr<List> DictObject::Values(AnswerBudget* budget) const {
  absl::MutexLock l(&mu_);
  List out;
  out.reserve(ReserveWithin(entries_.size(), *budget));
  const bool fit = entries_.ForEachAdmitted(
      [budget](int64_t, int64_t value) { return budget->Spend(value + 1); },
      [&out](const CompactMap::Entry& e) { out.push_back(e.DecodeValue()); });
  if (!fit) return budget->Exceeded(*this, "values");
  return out;
}

absl::StatusOr<Map> DictObject::Items(AnswerBudget* budget) const {
  absl::MutexLock l(&mu_);
  Map out;
  const bool fit = entries_.ForEachAdmitted(
      [budget](int64_t key, int64_t value) {
        return budget->Spend(key + value + 2);
      },
      [&out](const CompactMap::Entry& e) {
        out.emplace(e.DecodeKey(), e.DecodeValue());
      });
  if (!fit) return budget->Exceeded(*this, "items");
  return out;
}

void DictObject::Update(Map entries) {
  absl::MutexLock l(&mu_);
  for (const auto& [key, value] : entries) entries_.Set(key, value);
}

void DictObject::Clear() {
  absl::MutexLock l(&mu_);
  entries_.Clear();
}

absl::StatusOr<Map> DictObject::GetMany(const List& keys,
                                        AnswerBudget* budget) const {
  absl::MutexLock l(&mu_);
  Map out;
  for (const Value& key : keys) {
    if (std::optional<Value> found = entries_.Find(key)) {
      if (!budget->Spend(ApproximateWireBytes(key) +
                         ApproximateWireBytes(*found))) {
        return budget->Exceeded(*this, "get_many");
      }
      out.emplace(key, *std::move(found));
    }
  }
  return out;
}

absl::StatusOr<Value> DictObject::Add(const Value& key, const Value& delta) {
  absl::MutexLock l(&mu_);
  std::optional<Value> current = entries_.Find(key);
  const Value zero = delta.is_double() ? Value(0.0) : Value(0);
  absl::StatusOr<Value> sum = AddNumbers(current ? *current : zero, delta);
  if (!sum.ok()) return Annotate(*this, sum.status());
  entries_.Set(key, *sum);
  return sum;
}

}  // namespace mproc
