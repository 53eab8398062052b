// A shared dict, like the proxy target of Python's Manager().dict().
// Keys are scalar Values; iteration order is unspecified but the same for
// Keys(), Values() and Items() between writes. Thread-safe.
#ifndef MPROC_SERVER_DICT_OBJECT_H_
#define MPROC_SERVER_DICT_OBJECT_H_

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/value.h"
#include "server/answer_budget.h"
#include "server/compact_map.h"
#include "server/shared_object.h"

namespace mproc {

class DictObject : public SharedObject {
 public:
  // `initial` entries; callers have checked that keys are scalars.
  DictObject(std::string name, const Map& initial);

  int64_t Size() const override;

  // The value for `key`; `*default_value` if absent and given, else
  // NOT_FOUND.
  absl::StatusOr<Value> Get(const Value& key, const Value* default_value) const;
  // Writes fail (UNAVAILABLE) only when the change cannot be recorded
  // (object_log.h); then nothing changed.
  absl::Status Set(const Value& key, const Value& value);
  // The stored value, after storing `default_value` if `key` was absent.
  absl::StatusOr<Value> SetDefault(const Value& key,
                                   const Value& default_value);
  // Removes and returns the value; `*default_value` or NOT_FOUND if absent.
  absl::StatusOr<Value> Pop(const Value& key, const Value* default_value);
  // NOT_FOUND if absent.
  absl::Status Delete(const Value& key);
  bool Contains(const Value& key) const;
  // The whole dict, built within `budget`: RESOURCE_EXHAUSTED, having
  // copied no more than the budget allows, if the answer would not fit.
  absl::StatusOr<List> Keys(AnswerBudget* budget) const;
  absl::StatusOr<List> Values(AnswerBudget* budget) const;
  absl::StatusOr<Map> Items(AnswerBudget* budget) const;
  absl::Status Update(const Map& entries);
  absl::Status Clear();
  // The entries for those of `keys` that are present, within `budget`.
  absl::StatusOr<Map> GetMany(const List& keys, AnswerBudget* budget) const;
  // Atomically adds `delta` to the number at `key` (absent counts as 0 of
  // delta's type) and returns the new value. INVALID_ARGUMENT if the
  // stored value or delta is not a number; OUT_OF_RANGE on int overflow.
  absl::StatusOr<Value> Add(const Value& key, const Value& delta);

  // Recorded as one key per entry: 'e' + encoded key -> encoded value.
  void Snapshot(std::vector<LogChange>* out) const override;
  absl::Status RestoreMany(
      absl::Span<const std::pair<std::string, std::string>> records) override;

 private:
  // Records and stores one encoded entry.
  absl::Status SetEncodedLocked(const std::string& key,
                                const std::string& value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records the removal of an encoded key that is present, then removes it.
  absl::Status EraseEncodedLocked(const std::string& key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // Entries as encoded bytes: ~50 bytes a small entry (a node map of
  // Values took ~125, a flat one ~170).
  CompactMap entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mproc

#endif  // MPROC_SERVER_DICT_OBJECT_H_
