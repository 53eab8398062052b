// A shared typed scalar, like Python's multiprocessing.Value('i', 0) —
// but every operation, including add and compare-and-swap, is atomic on
// the manager. Thread-safe.
#ifndef MPROC_SERVER_TYPED_VALUE_OBJECT_H_
#define MPROC_SERVER_TYPED_VALUE_OBJECT_H_

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/value.h"
#include "server/element_type.h"
#include "server/shared_object.h"

namespace mproc {

class TypedValueObject : public SharedObject {
 public:
  // `initial` must already be of `type` (see CoerceToElement).
  TypedValueObject(std::string name, ElementType type, Value initial);

  int64_t Size() const override { return 1; }
  ElementType type() const { return type_; }
  // {"type": the element type's name}.
  Map Details() const override {
    return {{Value("type"), Value(ElementTypeName(type_))}};
  }

  Value Get() const;
  // INVALID_ARGUMENT if `v` does not fit the element type.
  absl::Status Set(const Value& v);
  // The new value. INVALID_ARGUMENT for non-numeric types or deltas, or a
  // double delta on an int value; OUT_OF_RANGE on overflow.
  absl::StatusOr<Value> Add(const Value& delta);
  // Stores `desired` if the value equals `expected`. Returns
  // [swapped, value after the call].
  absl::StatusOr<Value> CompareAndSwap(const Value& expected,
                                       const Value& desired);
  // (Writes also fail UNAVAILABLE when the change cannot be recorded.)

  // Recorded as one key, 'v' -> the encoded value.
  void Snapshot(std::vector<LogChange>* out) const override;
  absl::Status Restore(absl::string_view key, absl::string_view value) override;

 private:
  // Records `v`, then stores it.
  absl::Status StoreLocked(Value v) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ElementType type_;

  mutable absl::Mutex mu_;
  Value value_ ABSL_GUARDED_BY(mu_);
};

// Adds `delta` to an element of `type` (shared by Value and Array): only
// int and double elements; an int element takes only int deltas.
absl::StatusOr<Value> AddToElement(ElementType type, const Value& current,
                                   const Value& delta);

}  // namespace mproc

#endif  // MPROC_SERVER_TYPED_VALUE_OBJECT_H_
