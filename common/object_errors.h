// Errors whose identity a client acts on — an empty or full queue, a
// closed queue, a broken barrier — with their constructors and predicates
// side by side. The identity travels as a status payload (and on the wire
// as Response.error_type, common/wire.h), never recognised by parsing the
// message, so messages can change freely.
//
// Each constructor takes the object's description ("queue 'jobs'") and
// builds the message from it; the code is part of the contract:
//   QueueEmptyError        NOT_FOUND           (Python's queue.Empty)
//   QueueFullError         RESOURCE_EXHAUSTED  (queue.Full)
//   QueueClosedError       FAILED_PRECONDITION (a put after close)
//   QueueDrainedError      OUT_OF_RANGE        (a get after close, once empty)
//   BrokenBarrierError     ABORTED             (threading.BrokenBarrierError)
#ifndef MPROC_COMMON_OBJECT_ERRORS_H_
#define MPROC_COMMON_OBJECT_ERRORS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mproc {

absl::Status QueueEmptyError(absl::string_view queue);
absl::Status QueueFullError(absl::string_view queue, int64_t maxsize);
absl::Status QueueClosedError(absl::string_view queue);
absl::Status QueueDrainedError(absl::string_view queue);
absl::Status BrokenBarrierError(absl::string_view barrier);

bool IsQueueEmpty(const absl::Status& status);
bool IsQueueFull(const absl::Status& status);
// A closed queue: QueueClosedError or QueueDrainedError.
bool IsQueueClosed(const absl::Status& status);
bool IsBrokenBarrier(const absl::Status& status);

// The error's identity ("queue_empty", ...), if it has one. For the wire.
std::optional<std::string> ObjectErrorType(const absl::Status& status);
// `status` carrying identity `type`. For the wire; an empty type is none.
absl::Status WithObjectErrorType(absl::Status status, absl::string_view type);

}  // namespace mproc

#endif  // MPROC_COMMON_OBJECT_ERRORS_H_
