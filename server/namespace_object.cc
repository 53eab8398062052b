#include "server/namespace_object.h"

#include "common/value_codec.h"
#include "server/errors.h"

namespace mproc {

NamespaceObject::NamespaceObject(std::string name,
                                 std::map<std::string, Value> initial)
    : SharedObject(pb::NAMESPACE, std::move(name)),
      attributes_(std::move(initial)) {}

int64_t NamespaceObject::Size() const {
  absl::MutexLock l(&mu_);
  return static_cast<int64_t>(attributes_.size());
}

absl::StatusOr<Value> NamespaceObject::Get(const std::string& attribute) const {
  absl::MutexLock l(&mu_);
  auto it = attributes_.find(attribute);
  if (it == attributes_.end()) return AttributeNotFound(*this, attribute);
  return it->second;
}

namespace {

constexpr char kAttributeTag = 'n';

std::string AttributeKey(absl::string_view attribute) {
  std::string key(1, kAttributeTag);
  key.append(attribute.data(), attribute.size());
  return key;
}

}  // namespace

absl::Status NamespaceObject::Set(const std::string& attribute, Value v) {
  absl::MutexLock l(&mu_);
  if (log().enabled()) {
    absl::Status s =
        log().Put(Describe(), AttributeKey(attribute), EncodeRecord(v));
    if (!s.ok()) return s;
  }
  attributes_.insert_or_assign(attribute, std::move(v));
  return absl::OkStatus();
}

absl::Status NamespaceObject::Delete(const std::string& attribute) {
  absl::MutexLock l(&mu_);
  auto it = attributes_.find(attribute);
  if (it == attributes_.end()) return AttributeNotFound(*this, attribute);
  if (log().enabled()) {
    absl::Status s = log().Delete(Describe(), AttributeKey(attribute));
    if (!s.ok()) return s;
  }
  attributes_.erase(it);
  return absl::OkStatus();
}

void NamespaceObject::Snapshot(std::vector<LogChange>* out) const {
  absl::MutexLock l(&mu_);
  for (const auto& [attribute, v] : attributes_) {
    out->push_back(LogChange::Put(AttributeKey(attribute), EncodeRecord(v)));
  }
}

absl::Status NamespaceObject::Restore(absl::string_view key,
                                      absl::string_view value) {
  if (key.empty() || key[0] != kAttributeTag) return BadRecord(*this, key);
  absl::StatusOr<Value> v = DecodeValue(value);
  if (!v.ok())
    return Annotate(*this, absl::DataLossError(v.status().message()));
  absl::MutexLock l(&mu_);
  attributes_.insert_or_assign(std::string(key.substr(1)), *std::move(v));
  return absl::OkStatus();
}

absl::StatusOr<Map> NamespaceObject::Items(AnswerBudget* budget) const {
  absl::MutexLock l(&mu_);
  Map out;
  for (const auto& [k, v] : attributes_) {
    if (!budget->Spend(2 + static_cast<int64_t>(k.size()) +
                       ApproximateWireBytes(v))) {
      return budget->Exceeded(*this, "items");
    }
    out.emplace(Value(k), v);
  }
  return out;
}

}  // namespace mproc
