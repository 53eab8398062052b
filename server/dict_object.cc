#include "server/dict_object.h"

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

List DictObject::Keys() const {
  absl::MutexLock l(&mu_);
  List out;
  out.reserve(entries_.size());
  entries_.ForEach([&out](Value key, Value) { out.push_back(std::move(key)); });
  return out;
}

List DictObject::Values() const {
  absl::MutexLock l(&mu_);
  List out;
  out.reserve(entries_.size());
  entries_.ForEach(
      [&out](Value, Value value) { out.push_back(std::move(value)); });
  return out;
}

Map DictObject::Items() const {
  absl::MutexLock l(&mu_);
  Map out;
  entries_.ForEach([&out](Value key, Value value) {
    out.emplace(std::move(key), std::move(value));
  });
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

Map DictObject::GetMany(const List& keys) const {
  absl::MutexLock l(&mu_);
  Map out;
  for (const Value& key : keys) {
    if (std::optional<Value> found = entries_.Find(key)) {
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
