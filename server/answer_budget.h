// Bounds the work of building one answer. An operation that answers with
// many values (a dict's items, a slice, a get_many) spends each value's
// approximate wire size on the budget while it builds, and stops as soon as
// the answer could not be sent anyway — so one request for everything in a
// huge object costs the event loop at most about one message's worth of
// copying, never the whole object.
//
// The sizes are lower bounds of the protobuf encoding (value_codec's byte
// count, or ApproximateWireBytes below): an answer the budget refuses
// would have been refused after building too. One that passes is still
// measured exactly by the dispatcher before it is sent.
#ifndef MPROC_SERVER_ANSWER_BUDGET_H_
#define MPROC_SERVER_ANSWER_BUDGET_H_

#include <cstdint>

#include "absl/status/status.h"
#include "common/value.h"
#include "server/shared_object.h"

namespace mproc {

// A lower bound of the bytes `value` takes in a protobuf answer. Linear in
// the value's size, like copying it.
int64_t ApproximateWireBytes(const Value& value);

class AnswerBudget {
 public:
  // `limit`: the largest answer the manager sends, in bytes.
  explicit AnswerBudget(int64_t limit) : limit_(limit) {}

  // Adds `bytes` to the answer; false once it is over the limit.
  bool Spend(int64_t bytes) {
    spent_ += bytes;
    return spent_ <= limit_;
  }
  bool Spend(const Value& value) { return Spend(ApproximateWireBytes(value)); }

  int64_t spent() const { return spent_; }
  int64_t limit() const { return limit_; }

  // RESOURCE_EXHAUSTED: `op` on `object` would answer more than the limit.
  absl::Status Exceeded(const SharedObject& object, const char* op) const;

 private:
  const int64_t limit_;
  int64_t spent_ = 0;
};

// The message of every answer refused for its size: names the object, the
// operation and both sizes ("at least" when building stopped early).
absl::Status AnswerTooLarge(const std::string& object, const char* op,
                            int64_t bytes, bool at_least, int64_t limit);

}  // namespace mproc

#endif  // MPROC_SERVER_ANSWER_BUDGET_H_
