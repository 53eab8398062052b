// A shared fixed-length typed array, like Python's
// multiprocessing.Array('d', 10), with atomic per-element add.
// Thread-safe.
#ifndef MPROC_SERVER_ARRAY_OBJECT_H_
#define MPROC_SERVER_ARRAY_OBJECT_H_

#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/value.h"
#include "server/answer_budget.h"
#include "server/element_type.h"
#include "server/shared_object.h"

namespace mproc {

class ArrayObject : public SharedObject {
 public:
  // `elements` must already be of `type`; the length never changes.
  ArrayObject(std::string name, ElementType type, List elements);

  int64_t Size() const override { return length_; }
  ElementType type() const { return type_; }
  // {"type": the element type's name}.
  Map Details() const override {
    return {{Value("type"), Value(ElementTypeName(type_))}};
  }

  // OUT_OF_RANGE for an index outside [-len, len).
  absl::StatusOr<Value> Get(int64_t index) const;
  // OUT_OF_RANGE, or INVALID_ARGUMENT if `v` does not fit the type.
  absl::Status Set(int64_t index, const Value& v);
  // RESOURCE_EXHAUSTED, before copying anything, if the slice would not
  // fit in an answer.
  absl::StatusOr<List> Slice(std::optional<int64_t> start,
                             std::optional<int64_t> stop,
                             AnswerBudget* budget) const;
  // The element's new value; errors as TypedValueObject::Add, plus
  // OUT_OF_RANGE for the index.
  absl::StatusOr<Value> Add(int64_t index, const Value& delta);
  // (Writes also fail UNAVAILABLE when the change cannot be recorded.)

  // Recorded in chunks of kChunk elements: 'c' + chunk number -> the
  // chunk's elements, encoded as a list. A write rewrites its chunk.
  void Snapshot(std::vector<LogChange>* out) const override;
  absl::Status Restore(absl::string_view key, absl::string_view value) override;

 private:
  static constexpr size_t kChunk = 256;
  // The record of the chunk holding `pos`, with element `pos` as `v`.
  std::string EncodeChunkLocked(size_t pos, const Value& v) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records element `pos` as `v`, then stores it.
  absl::Status StoreLocked(size_t pos, Value v)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ElementType type_;
  const int64_t length_;

  mutable absl::Mutex mu_;
  List elements_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mproc

#endif  // MPROC_SERVER_ARRAY_OBJECT_H_
