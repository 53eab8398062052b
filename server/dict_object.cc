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

namespace {

constexpr char kEntryTag = 'e';

std::string EntryKey(absl::string_view encoded_key) {
  std::string key;
  key.reserve(encoded_key.size() + 1);
  key.push_back(kEntryTag);
  key.append(encoded_key.data(), encoded_key.size());
  return key;
}

}  // namespace

absl::Status DictObject::SetEncodedLocked(const std::string& key,
                                          const std::string& value) {
  if (log().enabled()) {
    absl::Status s = log().Put(Describe(), EntryKey(key), value);
    if (!s.ok()) return s;
  }
  entries_.SetEncoded(key, value);
  return absl::OkStatus();
}

absl::Status DictObject::EraseEncodedLocked(const std::string& key) {
  if (log().enabled()) {
    absl::Status s = log().Delete(Describe(), EntryKey(key));
    if (!s.ok()) return s;
  }
  entries_.EraseEncoded(key);
  return absl::OkStatus();
}

absl::Status DictObject::Set(const Value& key, const Value& value) {
  const std::string k = CompactMap::EncodeKey(key);
  const std::string v = CompactMap::EncodeValue(value);
  absl::MutexLock l(&mu_);
  return SetEncodedLocked(k, v);
}

absl::StatusOr<Value> DictObject::SetDefault(const Value& key,
                                             const Value& default_value) {
  const std::string k = CompactMap::EncodeKey(key);
  absl::MutexLock l(&mu_);
  if (const CompactMap::Entry* found = entries_.FindEncoded(k)) {
    return found->DecodeValue();
  }
  absl::Status s = SetEncodedLocked(k, CompactMap::EncodeValue(default_value));
  if (!s.ok()) return s;
  return default_value;
}

absl::StatusOr<Value> DictObject::Pop(const Value& key,
                                      const Value* default_value) {
  const std::string k = CompactMap::EncodeKey(key);
  absl::MutexLock l(&mu_);
  const CompactMap::Entry* found = entries_.FindEncoded(k);
  if (found == nullptr) {
    if (default_value != nullptr) return *default_value;
    return KeyNotFound(*this, key);
  }
  Value taken = found->DecodeValue();
  absl::Status s = EraseEncodedLocked(k);
  if (!s.ok()) return s;
  return taken;
}

absl::Status DictObject::Delete(const Value& key) {
  const std::string k = CompactMap::EncodeKey(key);
  absl::MutexLock l(&mu_);
  if (entries_.FindEncoded(k) == nullptr) return KeyNotFound(*this, key);
  return EraseEncodedLocked(k);
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

absl::Status DictObject::Update(const Map& entries) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(entries.size());
  for (const auto& [key, value] : entries) {
    encoded.emplace_back(CompactMap::EncodeKey(key),
                         CompactMap::EncodeValue(value));
  }
  absl::MutexLock l(&mu_);
  if (log().enabled()) {
    std::vector<LogChange> changes;
    changes.reserve(encoded.size());
    for (const auto& [key, value] : encoded) {
      changes.push_back(LogChange::Put(EntryKey(key), value));
    }
    absl::Status s = log().Write(Describe(), changes);
    if (!s.ok()) return s;
  }
  for (const auto& [key, value] : encoded) entries_.SetEncoded(key, value);
  return absl::OkStatus();
}

absl::Status DictObject::Clear() {
  absl::MutexLock l(&mu_);
  if (log().enabled()) {
    const LogChange all = LogChange::DeleteAll();
    absl::Status s = log().Write(Describe(), {&all, 1});
    if (!s.ok()) return s;
  }
  entries_.Clear();
  return absl::OkStatus();
}

void DictObject::Snapshot(std::vector<LogChange>* out) const {
  absl::MutexLock l(&mu_);
  entries_.ForEachAdmitted([](int64_t, int64_t) { return true; },
                           [out](const CompactMap::Entry& e) {
                             out->push_back(LogChange::Put(
                                 EntryKey(e.key()), std::string(e.value())));
                           });
}

absl::Status DictObject::RestoreMany(
    absl::Span<const std::pair<std::string, std::string>> records) {
  absl::MutexLock l(&mu_);
  for (const auto& [key, value] : records) {
    if (key.empty() || key[0] != kEntryTag) return BadRecord(*this, key);
    entries_.SetEncoded(absl::string_view(key).substr(1), value);
  }
  return absl::OkStatus();
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
  absl::Status s = SetEncodedLocked(CompactMap::EncodeKey(key),
                                    CompactMap::EncodeValue(*sum));
  if (!s.ok()) return s;
  return sum;
}

}  // namespace mproc
