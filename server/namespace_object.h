// A shared namespace: named attributes, like Manager().Namespace().
// Thread-safe.
#ifndef MPROC_SERVER_NAMESPACE_OBJECT_H_
#define MPROC_SERVER_NAMESPACE_OBJECT_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/value.h"
#include "server/answer_budget.h"
#include "server/shared_object.h"

namespace mproc {

class NamespaceObject : public SharedObject {
 public:
  NamespaceObject(std::string name, std::map<std::string, Value> initial);

  int64_t Size() const override;

  // NOT_FOUND if the attribute is not set.
  absl::StatusOr<Value> Get(const std::string& attribute) const;
  // UNAVAILABLE only if the change cannot be recorded (object_log.h).
  absl::Status Set(const std::string& attribute, Value v);
  // NOT_FOUND if the attribute is not set.
  absl::Status Delete(const std::string& attribute);
  // All attributes, sorted by name.
  // Every attribute, within `budget` (RESOURCE_EXHAUSTED if they would not
  // fit in an answer).
  absl::StatusOr<Map> Items(AnswerBudget* budget) const;

  // Recorded as 'n' + attribute -> encoded value.
  void Snapshot(std::vector<LogChange>* out) const override;
  absl::Status Restore(absl::string_view key, absl::string_view value) override;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, Value> attributes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mproc

#endif  // MPROC_SERVER_NAMESPACE_OBJECT_H_
