// Conversions between mproc's C++ types and the wire messages of
// proto/mproc.proto. Used by both the client library and the manager.
#ifndef MPROC_COMMON_WIRE_H_
#define MPROC_COMMON_WIRE_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/value.h"
#include "proto/mproc.pb.h"

namespace mproc {

// Writes `v` into `*out` (cleared first). Lossless.
void ValueToProto(const Value& v, pb::Value* out);
pb::Value ValueToProto(const Value& v);
// The same for a bare map or list, without wrapping it in a Value first.
void MapToProto(const Map& m, pb::Value* out);
void ListToProto(const List& l, pb::Value* out);

// Reads a wire value. INVALID_ARGUMENT if it breaks a rule of
// common/value_checks.h (too deep, a map key that is a list or map, a key
// that occurs twice). Strings are valid UTF-8: protobuf's parser checks
// them.
absl::StatusOr<Value> ValueFromProto(const pb::Value& v);

// Stores a status in a Response (code, message and error type).
void StatusToResponse(const absl::Status& s, pb::Response* out);

// The status a Response carries (with its error type as the payload
// common/object_errors.h tests); OK when its code is 0.
absl::Status StatusFromResponse(const pb::Response& r);

}  // namespace mproc

#endif  // MPROC_COMMON_WIRE_H_
