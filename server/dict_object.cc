#include "server/dict_object.h"

#include "server/errors.h"
#include "server/numeric.h"

namespace mproc {

DictObject::DictObject(std::string name, const Map& initial)
    : SharedObject(pb::DICT, std::move(name)),
      entries_(initial.begin(), initial.end()) {}

int64_t DictObject::Size() const {
  absl::MutexLock l(&mu_);
  return static_cast<int64_t>(entries_.size());
}

absl::StatusOr<Value> DictObject::Get(const Value& key,
                                      const Value* default_value) const {
  absl::MutexLock l(&mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) return it->second;
  if (default_value != nullptr) return *default_value;
  return KeyNotFound(*this, key);
}

void DictObject::Set(const Value& key, Value value) {
  absl::MutexLock l(&mu_);
  entries_.insert_or_assign(key, std::move(value));
}

Value DictObject::SetDefault(const Value& key, const Value& default_value) {
  absl::MutexLock l(&mu_);
  return entries_.try_emplace(key, default_value).first->second;
}

absl::StatusOr<Value> DictObject::Pop(const Value& key,
                                      const Value* default_value) {
  absl::MutexLock l(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (default_value != nullptr) return *default_value;
    return KeyNotFound(*this, key);
  }
  Value out = std::move(it->second);
  entries_.erase(it);
  return out;
}

absl::Status DictObject::Delete(const Value& key) {
  absl::MutexLock l(&mu_);
  if (entries_.erase(key) == 0) return KeyNotFound(*this, key);
  return absl::OkStatus();
}

bool DictObject::Contains(const Value& key) const {
  absl::MutexLock l(&mu_);
  return entries_.contains(key);
}

List DictObject::Keys() const {
  absl::MutexLock l(&mu_);
  List out;
  out.reserve(entries_.size());
  for (const auto& entry : entries_) out.push_back(entry.first);
  return out;
}

List DictObject::Values() const {
  absl::MutexLock l(&mu_);
  List out;
  out.reserve(entries_.size());
  for (const auto& entry : entries_) out.push_back(entry.second);
  return out;
}

Map DictObject::Items() const {
  absl::MutexLock l(&mu_);
  return Map(entries_.begin(), entries_.end());
}

void DictObject::Update(Map entries) {
  absl::MutexLock l(&mu_);
  for (auto& [key, value] : entries) {
    entries_.insert_or_assign(key, std::move(value));
  }
}

void DictObject::Clear() {
  absl::MutexLock l(&mu_);
  entries_.clear();
}

Map DictObject::GetMany(const List& keys) const {
  absl::MutexLock l(&mu_);
  Map out;
  for (const Value& key : keys) {
    auto it = entries_.find(key);
    if (it != entries_.end()) out.emplace(key, it->second);
  }
  return out;
}

absl::StatusOr<Value> DictObject::Add(const Value& key, const Value& delta) {
  absl::MutexLock l(&mu_);
  auto it = entries_.find(key);
  const Value zero = delta.is_double() ? Value(0.0) : Value(0);
  absl::StatusOr<Value> sum =
      AddNumbers(it == entries_.end() ? zero : it->second, delta);
  if (!sum.ok()) return Annotate(*this, sum.status());
  if (it == entries_.end()) {
    entries_.emplace(key, *sum);
  } else {
    it->second = *sum;
  }
  return sum;
}

}  // namespace mproc
