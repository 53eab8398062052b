// The errors the manager's objects return, built in one place so every
// message names the object and the fault the same way
// ("dict 'config': key 'x' not found").
#ifndef MPROC_SERVER_ERRORS_H_
#define MPROC_SERVER_ERRORS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/value.h"
#include "server/shared_object.h"

namespace mproc {

// NOT_FOUND, like Python's KeyError.
absl::Status KeyNotFound(const SharedObject& object, const Value& key);

// NOT_FOUND for a namespace attribute, like AttributeError.
absl::Status AttributeNotFound(const SharedObject& object,
                               absl::string_view attribute);

// OUT_OF_RANGE, like IndexError.
absl::Status IndexOutOfRange(const SharedObject& object, int64_t index,
                             size_t length);

// INVALID_ARGUMENT: `what` (e.g. "index of get") must be `wanted`.
absl::Status WrongArgumentType(const SharedObject& object,
                               absl::string_view what, absl::string_view wanted,
                               const Value& got);

// FAILED_PRECONDITION: the name is taken by an object of another kind.
absl::Status WrongKind(const SharedObject& existing, pb::Kind wanted);

// DATA_LOSS: a recorded key (object_log.h) the object cannot read.
absl::Status BadRecord(const SharedObject& object, absl::string_view key);

// The same status with "<object>: " in front of its message.
absl::Status Annotate(const SharedObject& object, const absl::Status& status);

}  // namespace mproc

#endif  // MPROC_SERVER_ERRORS_H_
