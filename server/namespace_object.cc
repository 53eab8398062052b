#include "server/namespace_object.h"

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

void NamespaceObject::Set(const std::string& attribute, Value v) {
  absl::MutexLock l(&mu_);
  attributes_.insert_or_assign(attribute, std::move(v));
}

absl::Status NamespaceObject::Delete(const std::string& attribute) {
  absl::MutexLock l(&mu_);
  if (attributes_.erase(attribute) == 0) {
    return AttributeNotFound(*this, attribute);
  }
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
