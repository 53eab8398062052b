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

  // Every write fails UNAVAILABLE, changing nothing, if the change cannot
  // be recorded (object_log.h).

  // Each returns the new length.
  absl::StatusOr<int64_t> Append(Value item);
  absl::StatusOr<int64_t> Extend(const List& items);
  // OUT_OF_RANGE for an index outside [-len, len).
  absl::StatusOr<Value> Get(int64_t index) const;
  absl::Status Set(int64_t index, Value item);
  // The index is clamped, as in Python.
  absl::Status Insert(int64_t index, Value item);
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
  absl::Status Clear();
  // items[start:stop] = items (Python's slice rules; nullopt: open).
  absl::Status SetSlice(std::optional<int64_t> start,
                        std::optional<int64_t> stop, const List& items);
  absl::Status Reverse();
  // PythonSort's errors (server/python_order.h); the list is then
  // unchanged.
  absl::Status Sort(bool reverse);

  // Recorded as a snapshot ('a' -> the encoded list) and the edits made
  // since ('o' + sequence -> [opcode, position, argument]), which are
  // folded into a new snapshot once they outnumber the items.
  void Snapshot(std::vector<LogChange>* out) const override;
  absl::Status Restore(absl::string_view key, absl::string_view value) override;

 private:
  enum Edit : int64_t { kAppend, kExtend, kSet, kInsert, kErase };
  // Records an edit before it is made (UNAVAILABLE if it cannot be).
  absl::Status RecordLocked(Edit edit, int64_t position, const Value* argument)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Once the edits outnumber the items, records the list as it is now in
  // their place.
  void MaybeSnapshotLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records `next` as the whole list and makes it so (for the edits that
  // move many items).
  absl::Status ReplaceAllLocked(List next) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies a recorded edit; false if it does not fit the list.
  bool ApplyLocked(Edit edit, int64_t position, Value argument)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  List items_ ABSL_GUARDED_BY(mu_);
  // Edits recorded since the last snapshot.
  int64_t edits_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mproc

#endif  // MPROC_SERVER_LIST_OBJECT_H_
