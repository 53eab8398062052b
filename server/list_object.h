// A shared list, like the proxy target of Python's Manager().list().
// Indices follow Python (negative counts from the end). Thread-safe.
#ifndef MPROC_SERVER_LIST_OBJECT_H_
#define MPROC_SERVER_LIST_OBJECT_H_

#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/value.h"
#include "server/answer_budget.h"
#include "server/shared_object.h"

namespace mproc {

class ListObject : public SharedObject {
 public:
  ListObject(std::string name, List initial);

  int64_t Size() const override;

  // Each returns the new length.
  int64_t Append(Value item);
  int64_t Extend(const List& items);
  // OUT_OF_RANGE for an index outside [-len, len).
  absl::StatusOr<Value> Get(int64_t index) const;
  absl::Status Set(int64_t index, Value item);
  // Never fails: the index is clamped, as in Python.
  void Insert(int64_t index, Value item);
  // OUT_OF_RANGE if empty or the index is out of range.
  absl::StatusOr<Value> Pop(int64_t index);
  // Removes the first item equal to `item`; NOT_FOUND if none.
  absl::Status Remove(const Value& item);
  // Position of the first equal item; NOT_FOUND if none.
  absl::StatusOr<int64_t> Index(const Value& item) const;
  int64_t Count(const Value& item) const;
  // RESOURCE_EXHAUSTED, having copied no more than `budget` allows, if the
  // slice would not fit in an answer.
  absl::StatusOr<List> Slice(std::optional<int64_t> start,
                             std::optional<int64_t> stop,
                             AnswerBudget* budget) const;
  void Clear();

 private:
  mutable absl::Mutex mu_;
  List items_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mproc

#endif  // MPROC_SERVER_LIST_OBJECT_H_
